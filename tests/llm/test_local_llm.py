"""The real local Qwen2.5-Coder-0.5B behind the managed xllamacpp server (marked ``llm``).

Assertions are properties any sound model satisfies (non-empty text, schema-valid, ids within
the enum, counts), never one model's wording.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from recagents.llm.accounting import UsageTracker
from recagents.llm.factory import make_chat_model
from recagents.llm.structured import constrain_ids, structured_call

pytestmark = pytest.mark.llm

MOVIES = {
    50: "Star Wars (1977): a farm boy joins rebels against a galactic empire",
    71: "The Lion King (1994): an exiled lion cub returns to claim his kingdom",
    98: "The Silence of the Lambs (1991): an FBI trainee consults a cannibal psychiatrist",
    181: "Return of the Jedi (1983): the rebels strike the empire's new battle station",
    258: "Contact (1997): a scientist receives a radio signal from the stars",
    313: "Titanic (1997): a romance aboard the doomed ocean liner",
}


class Pick(BaseModel):
    item_id: int = Field(description="id of a candidate movie")
    reason: str = Field(description="why it fits the user, at most 12 words")


class Ranking(BaseModel):
    """The best candidates for the user, best first."""

    user_summary: str = Field(description="the user's taste in one short sentence")
    picks: list[Pick] = Field(min_length=2, max_length=3)


def _prompt() -> list[tuple[str, str]]:
    lines = "\n".join(f"{i}: {t}" for i, t in MOVIES.items())
    return [
        ("system", "You are a movie recommender. Only use candidate ids you are given."),
        ("user", f"The user loved Alien and Blade Runner.\nCandidates:\n{lines}\nPick 2 or 3."),
    ]


def test_server_is_local_and_healthy(local_handle):
    assert local_handle.backend == "local" and local_handle.model == "qwen2.5-coder-0.5b"
    assert local_handle.base_url.startswith("http://127.0.0.1:")
    assert local_handle.server.healthy()
    assert not local_handle.capabilities.native_tools and local_handle.capabilities.json_schema


def test_same_server_is_reused(local_handle, llm_settings):
    again = make_chat_model(llm_settings)
    assert again.server is local_handle.server and again.base_url == local_handle.base_url


def test_plain_chat(local_handle):
    before = local_handle.usage.mark()
    reply = local_handle.chat_model.invoke("Name one planet of the solar system. One word.")
    assert isinstance(reply.text, str) and reply.text.strip()
    usage = local_handle.usage.usage(since=before)
    assert usage.llm_calls == 1 and usage.tokens_in > 0 and usage.tokens_out > 0


def test_nested_structured_output_with_id_enum(local_handle):
    schema = constrain_ids(Ranking, list(MOVIES))
    js = schema.model_json_schema()
    assert js["$defs"]["Pick"]["properties"]["item_id"]["enum"] == list(MOVIES)
    result = structured_call(local_handle, schema, _prompt(), stream=True)
    value = result.value
    assert isinstance(value, Ranking)
    schema.model_validate(value.model_dump())  # valid against the constrained schema
    ids = [p.item_id for p in value.picks]
    assert 2 <= len(ids) <= 3 and set(ids) <= set(MOVIES)
    assert result.method == "json_schema" and 1 <= result.attempts <= 3
    call = result.usage.per_call[-1]
    assert call.first_token_s is not None and 0 < call.first_token_s < call.latency_s
    assert result.usage.tokens_in > 100


class Taste(BaseModel):
    summary: str = Field(max_length=60, description="the user's taste in a few words")
    likes: list[Annotated[str, Field(max_length=24)]] = Field(max_length=2)


def test_compact_structured_output_has_no_whitespace_and_no_invented_keys(local_handle):
    prompt = [("user", "A user rated Alien 5/5, Blade Runner 5/5 and Titanic 1/5. Describe "
                       "their taste as JSON with a summary and likes.")]  # fmt: skip
    result = structured_call(local_handle, Taste, prompt, schema_note=False, compact=True)
    parsed = json.loads(result.raw)
    assert set(parsed) <= {"summary", "likes"}  # the object is closed
    assert result.raw == json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    assert result.attempts == 1 and result.value.summary


def test_priming_puts_a_fixed_prefix_into_the_prompt_cache(local_handle):
    from langchain_core.messages import HumanMessage, SystemMessage

    from recagents.llm.priming import prime_prompt_cache

    system = SystemMessage(
        "You rank movies. " + " ".join(f"Rule {n}: be brief." for n in range(60))
    )
    sent = prime_prompt_cache(local_handle, [[system, HumanMessage("warm")]])
    reply = local_handle.chat_model.bind(max_tokens=1).invoke([system, HumanMessage("Fargo?")])
    cached = (reply.usage_metadata or {}).get("input_token_details", {}).get("cache_read") or 0
    assert sent > 300 and cached >= sent - 10  # all but the human part came from the cache


def test_two_concurrent_requests(local_handle):
    turn = UsageTracker()
    chat = local_handle.chat_model.bind(max_tokens=24)
    questions = ["Name a famous science fiction film.", "Name a famous romantic film."]

    def ask(question: str):
        return chat.invoke(question, config={"callbacks": [turn]})

    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(ask, questions))
    assert all(reply.text.strip() for reply in replies)
    usage = turn.usage()
    assert usage.llm_calls == 2 and usage.llm_errors == 0
    assert usage.llm_rounds == 1  # both were in flight at once (the server has 2 slots)


def test_check_command_json(local_handle, llm_settings, monkeypatch):
    from recagents.cli import llm as cli

    monkeypatch.setattr(cli, "get_settings", lambda: llm_settings)
    result = CliRunner().invoke(cli.llm_app, ["check", "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.exit_code == 0, report
    assert report["backend"] == "local" and report["model"] == "qwen2.5-coder-0.5b"
    assert report["structured_ok"] is True
    assert report["prompt_tokens_per_s"] > 0 and report["generation_tokens_per_s"] > 0
    assert report["latency_s"] > 0
    assert report["base_url"] == local_handle.base_url  # reused the running server
