"""The Ollama path against a loopback stand-in that speaks Ollama's HTTP API.

The stand-in checks the wire protocol only (/api/chat with NDJSON streaming, /api/tags); the
answers it builds from the requested JSON schema are not model output.
"""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from recagents.llm.accounting import UsageTracker
from recagents.llm.factory import make_chat_model
from recagents.llm.failures import LLMConfigError, LLMUnavailableError
from recagents.llm.structured import constrain_ids, structured_call

MODEL = "qwen2.5:7b"


def _first_enum(schema: dict) -> object:
    pick = schema["$defs"]["Pick"]["properties"]["item_id"]
    return pick["enum"][-1]


def ollama_standin(method: str, path: str, body):
    """Ollama's API as documented: /api/tags, /api/show, /api/chat (NDJSON stream or one JSON)."""
    if method == "GET" and path == "/api/tags":
        tags = {"models": [{"name": MODEL, "model": MODEL, "size": 1, "digest": "x"}]}
        return 200, {"Content-Type": "application/json"}, json.dumps(tags).encode()
    if method == "GET" and path == "/":
        return 200, {"Content-Type": "text/plain"}, b"Ollama is running"
    if method == "POST" and path == "/api/chat":
        if body.get("model") != MODEL:
            err = {"error": f"model '{body.get('model')}' not found"}
            return 404, {"Content-Type": "application/json"}, json.dumps(err).encode()
        fmt = body.get("format")
        if isinstance(fmt, dict):  # structured: answer inside the requested schema
            text = json.dumps({"picks": [{"item_id": _first_enum(fmt), "reason": "fits"}]})
        else:
            text = "Hello from the stand-in."
        pieces = [text[: len(text) // 2], text[len(text) // 2 :]]
        base = {"model": MODEL, "created_at": "2025-01-01T00:00:00Z"}
        final = {
            **base,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 1000,
            "prompt_eval_count": 42,
            "prompt_eval_duration": 500_000,
            "eval_count": 7,
            "eval_duration": 400_000,
        }
        headers = {"Content-Type": "application/x-ndjson"}
        if body.get("stream", True):
            lines = [
                {**base, "message": {"role": "assistant", "content": p}, "done": False}
                for p in pieces
            ]
            return 200, headers, [json.dumps(obj).encode() + b"\n" for obj in [*lines, final]]
        final["message"]["content"] = text
        return 200, {"Content-Type": "application/json"}, json.dumps(final).encode()
    return 404, {"Content-Type": "text/plain"}, b"404 page not found"


class Pick(BaseModel):
    item_id: int
    reason: str = Field(description="short")


class Ranking(BaseModel):
    picks: list[Pick]


@pytest.fixture
def ollama(stub_http, make_settings):
    with stub_http(ollama_standin) as server:
        settings = make_settings(llm_provider="ollama", ollama_base_url=server.url)
        yield server, settings


def test_plain_chat_and_usage(ollama):
    server, settings = ollama
    handle = make_chat_model(settings)
    assert handle.backend == "ollama" and handle.model == MODEL
    answer = handle.chat_model.invoke("hi")
    assert answer.text == "Hello from the stand-in."
    method, path, body = server.requests[-1]
    assert (method, path) == ("POST", "/api/chat")
    assert body["messages"][-1] == {"role": "user", "content": "hi"}
    assert body["options"]["num_ctx"] == settings.ollama_num_ctx
    assert body["options"]["num_predict"] == settings.llm_max_tokens
    usage = handle.usage.usage()
    assert (usage.llm_calls, usage.tokens_in, usage.tokens_out) == (1, 42, 7)


def test_structured_sends_schema_as_format(ollama):
    server, settings = ollama
    handle = make_chat_model(settings)
    schema = constrain_ids(Ranking, [3, 8, 13])
    turn = UsageTracker()
    result = structured_call(handle, schema, "rank", config={"callbacks": [turn]})
    fmt = server.requests[-1][2]["format"]
    assert fmt["$defs"]["Pick"]["properties"]["item_id"]["enum"] == [3, 8, 13]
    assert result.value.picks[0].item_id == 13 and result.attempts == 1
    assert turn.usage().tokens_in == 42


def test_missing_model_says_ollama_pull(ollama):
    _, settings = ollama
    handle = make_chat_model(settings, model="llama9:1b")
    with pytest.raises(LLMConfigError, match=r"ollama pull llama9:1b") as info:
        structured_call(handle, Ranking, "rank")
    assert "RECAGENTS_OLLAMA_MODEL" in str(info.value)


def test_unreachable_ollama_is_retried_then_named(make_settings, monkeypatch):
    import socket

    from recagents.llm import failures

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    delays: list[float] = []
    monkeypatch.setattr(failures.time, "sleep", delays.append)
    settings = make_settings(llm_provider="ollama", ollama_base_url=url, llm_max_retries=2)
    with pytest.raises(LLMUnavailableError, match="RECAGENTS_OLLAMA_BASE_URL") as info:
        structured_call(make_chat_model(settings), Ranking, "rank")
    assert "ollama serve" in str(info.value)
    assert delays == [0.5, 1.0]  # bounded: 2 retries with exponential backoff
