"""Schema building and the repair loop (a scripted chat model: wiring only, no real LLM)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel, Field, ValidationError

from recagents.errors import InvalidArgumentError
from recagents.llm.accounting import UsageTracker
from recagents.llm.capabilities import Capabilities
from recagents.llm.factory import LLMHandle
from recagents.llm.failures import StructuredOutputError
from recagents.llm.structured import constrain_ids, structured_call


class Pick(BaseModel):
    item_id: int = Field(description="a candidate id")
    reason: str


class Ranking(BaseModel):
    """Ranked candidates."""

    picks: list[Pick] = Field(min_length=1, max_length=3)
    fallback_id: int | None = None
    item_id: list[int] = Field(default_factory=list)


def _enum_of(schema: dict, path: list[str]) -> list:
    node = schema
    for key in path:
        node = node[key]
        if isinstance(node, dict) and "$ref" in node:
            node = schema["$defs"][node["$ref"].split("/")[-1]]
    return node["enum"]


def test_constrain_ids_reaches_nested_lists_and_optionals():
    model = constrain_ids(Ranking, [5, 7, 7, 9])
    schema = model.model_json_schema()
    assert _enum_of(schema, ["$defs", "Pick", "properties", "item_id"]) == [5, 7, 9]
    assert _enum_of(schema, ["properties", "item_id", "items"]) == [5, 7, 9]
    model.model_validate({"picks": [{"item_id": 7, "reason": "x"}], "item_id": [5]})
    with pytest.raises(ValidationError):
        model.model_validate({"picks": [{"item_id": 8, "reason": "x"}]})
    with pytest.raises(ValidationError):
        model.model_validate({"picks": [{"item_id": 5, "reason": "x"}], "item_id": [6]})
    with pytest.raises(ValidationError):  # min_length of the original survives
        model.model_validate({"picks": []})
    assert model.__doc__ == Ranking.__doc__
    Ranking.model_validate({"picks": [{"item_id": 8, "reason": "x"}]})  # original untouched


def test_constrain_ids_other_field_and_strings():
    class Choice(BaseModel):
        movie: str
        others: list[str] = []

    model = constrain_ids(Choice, ["tt01", "tt02"], field="movie")
    assert model.model_json_schema()["properties"]["movie"]["enum"] == ["tt01", "tt02"]
    with pytest.raises(ValidationError):
        model.model_validate({"movie": "tt03"})


def test_constrain_ids_errors():
    with pytest.raises(InvalidArgumentError, match="no ids"):
        constrain_ids(Ranking, [])
    with pytest.raises(InvalidArgumentError, match="no field 'movie_id'"):
        constrain_ids(Ranking, [1], field="movie_id")


class ScriptedChat(BaseChatModel):
    """Replies with the scripted texts in order; records what it was sent."""

    replies: list[str]
    seen: list[list[BaseMessage]] = []
    seen_kwargs: list[dict] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        self.seen_kwargs.append(kwargs)
        text = self.replies[min(len(self.seen) - 1, len(self.replies) - 1)]
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        msg = AIMessage(content=text, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=msg)])


def _handle(replies: list[str], attempts: int = 3, backend: str = "local") -> LLMHandle:
    caps = Capabilities(native_tools=False, json_schema=True, context_tokens=4096)
    tracker = UsageTracker()
    chat = ScriptedChat(replies=replies, callbacks=[tracker])
    handle = LLMHandle(chat, backend, "scripted", caps, usage=tracker)
    handle.structured_attempts = attempts
    return handle


GOOD = json.dumps({"picks": [{"item_id": 5, "reason": "fits"}]})
BAD_ID = json.dumps({"picks": [{"item_id": 42, "reason": "invented"}]})


def test_valid_answer_first_try_sends_schema():
    handle = _handle(["```json\n" + GOOD + "\n```"])
    result = structured_call(handle, constrain_ids(Ranking, [5, 7]), "rank")
    assert result.attempts == 1 and result.value.picks[0].item_id == 5
    assert result.method == "json_schema"
    sent = handle.chat_model.seen_kwargs[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["$defs"]["Pick"]["properties"]["item_id"]["enum"] == [5, 7]
    last = handle.chat_model.seen[0][-1]  # small models read the schema too, LAST
    assert last.type == "human" and last.text.startswith("rank") and '"enum":[5,7]' in last.text
    assert result.usage.llm_calls == 1 and result.usage.tokens_in == 10


def test_repair_feeds_the_validation_error_back():
    handle = _handle([BAD_ID, "not json at all", GOOD])
    result = structured_call(handle, constrain_ids(Ranking, [5, 7]), "rank")
    assert result.attempts == 3
    assert result.usage.llm_calls == 3 and result.usage.llm_rounds == 3
    second = handle.chat_model.seen[1]
    assert second[-2].type == "ai" and "42" in second[-2].text
    assert second[-1].type == "human" and "picks.0.item_id" in second[-1].text
    assert "not valid JSON" in handle.chat_model.seen[2][-1].text


def test_gives_up_with_a_clear_error():
    handle = _handle([BAD_ID], attempts=2)
    with pytest.raises(StructuredOutputError, match=r"no valid Ranking in 2 attempt") as info:
        structured_call(handle, constrain_ids(Ranking, [5, 7]), "rank")
    assert info.value.attempts == 2 and "42" in info.value.last_output
    assert len(handle.chat_model.seen) == 2


def test_user_callbacks_see_every_attempt():
    handle = _handle([BAD_ID, GOOD])
    turn = UsageTracker()
    result = structured_call(
        handle, constrain_ids(Ranking, [5]), "rank", config={"callbacks": [turn]}
    )
    assert result.attempts == 2
    assert turn.usage().llm_calls == 2  # the caller's per-turn tracker saw both calls
    assert handle.usage.usage().llm_calls == 2  # and so did the handle's process-wide one


def test_json_mode_binding():
    handle = _handle([GOOD])
    structured_call(handle, Ranking, "rank", method="json_mode")
    assert handle.chat_model.seen_kwargs[0]["response_format"] == {"type": "json_object"}


def test_the_schema_note_leaves_the_prompt_prefix_alone():
    """Everything before the last message is sent as given, so a cached prefix is reused."""
    from langchain_core.messages import HumanMessage, SystemMessage

    prefix = [SystemMessage("shared role"), HumanMessage("shared context")]
    handle = _handle([GOOD, GOOD])
    structured_call(handle, constrain_ids(Ranking, [5, 7]), [*prefix, HumanMessage("task A")])
    structured_call(handle, constrain_ids(Ranking, [5]), [*prefix, HumanMessage("task B")])
    first, second = handle.chat_model.seen
    assert (
        [m.text for m in first[:2]]
        == [m.text for m in second[:2]]
        == ["shared role", "shared context"]
    )


def test_the_compact_grammar_closes_every_object_and_bars_whitespace():
    from recagents.llm.structured import compact_json_grammar

    grammar = compact_json_grammar(Ranking.model_json_schema())
    head, _, body = grammar.partition("start: %json ")
    assert head.startswith("%llguidance") and "\n" not in body
    schema = json.loads(body)
    assert schema["x-guidance"] == {"whitespace_flexible": False}
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Pick"]["additionalProperties"] is False  # nested objects too


def test_priming_sends_nothing_to_a_remote_backend():
    from recagents.llm.priming import prime_prompt_cache

    class Remote:
        backend = "openai"

    assert prime_prompt_cache(Remote(), [[]]) == 0
