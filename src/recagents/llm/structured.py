"""Structured output for every agent step: schema-constrained where possible, always validated.

``structured_call(handle, Schema, messages)`` asks the model for one ``Schema`` instance:
- JSON-schema mode where the backend supports it (grammar-constrained on llama.cpp, ``format``
  on Ollama, ``response_format`` on OpenAI), function calling where only tools are supported,
  plain JSON mode otherwise;
- the answer is validated against the Pydantic model; on failure the validation error is fed
  back and the model tries again, at most ``settings.llm_structured_attempts`` times in all;
- then ``StructuredOutputError`` names the schema, the backend and the last error.

``constrain_ids(Model, allowed, field="item_id")`` returns a copy of ``Model`` whose ``field``
(at any depth: nested models, lists) only admits the given ids, so a constrained backend cannot
emit another id and any other backend's stray id fails validation (and is repaired).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    convert_to_messages,
)
from pydantic import BaseModel, ValidationError, create_model

from recagents.errors import InvalidArgumentError
from recagents.llm.accounting import Usage, UsageTracker
from recagents.llm.failures import (
    StructuredOutputError,
    call_with_retries,
    explain_failure,
)

M = TypeVar("M", bound=BaseModel)
Method = Literal["json_schema", "function_calling", "json_mode"]


@dataclass
class StructuredResult(Generic[M]):
    value: M
    attempts: int
    method: str
    raw: str
    usage: Usage


# --- schemas with id enums ------------------------------------------------------------------
def constrain_ids(model: type[M], allowed: Sequence[int | str], field: str = "item_id") -> type[M]:
    """Copy of ``model`` where every field named ``field`` (any depth) admits only ``allowed``."""
    choices = tuple(dict.fromkeys(allowed))
    if not choices:
        raise InvalidArgumentError(f"no ids to constrain {model.__name__}.{field} to")
    new = _rebuild(model, field, Literal[choices], {})  # type: ignore[valid-type]
    if new is model:
        raise InvalidArgumentError(f"{model.__name__} has no field {field!r} at any depth")
    return typing.cast(type[M], new)  # create_model(__base__=model) made a subclass of model


def _replace_leaf(ann: Any, choice: Any) -> Any:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        return types.GenericAlias(list, (_replace_leaf(args[0], choice),))
    if origin in (typing.Union, types.UnionType) and args:
        others = [a for a in args if a is not type(None)]
        replaced = _replace_leaf(others[0], choice) if others else choice
        return replaced | None if type(None) in args else replaced
    return choice


def _rebuild(model: type[BaseModel], field: str, choice: Any, seen: dict) -> type[BaseModel]:
    if model in seen:
        return seen[model]
    seen[model] = model  # recursion guard for self-referencing models
    overrides: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        new_ann = _replace_leaf(ann, choice) if name == field else _walk(ann, field, choice, seen)
        if new_ann is not ann:
            new_info = copy.copy(info)
            new_info.annotation = new_ann
            overrides[name] = (new_ann, new_info)
    if not overrides:
        return model
    new = create_model(model.__name__, __base__=model, __module__=model.__module__, **overrides)
    new.__doc__ = model.__doc__
    seen[model] = new
    return new


def _walk(ann: Any, field: str, choice: Any, seen: dict) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return _rebuild(ann, field, choice, seen)
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if not args:
        return ann
    new_args = tuple(_walk(a, field, choice, seen) for a in args)
    if all(n is o for n, o in zip(new_args, args, strict=True)):
        return ann
    # the annotations are built at runtime: GenericAlias(list, (x,)) is list[x], and so on
    if origin in (list, Sequence, set, frozenset):
        return types.GenericAlias(list, (new_args[0],))
    if origin is tuple:
        return types.GenericAlias(tuple, new_args)
    if origin is dict:
        return types.GenericAlias(dict, (new_args[0], new_args[1]))
    if origin in (typing.Union, types.UnionType):
        return typing.cast(Any, typing.Union)[new_args]
    return ann


def json_schema_of(schema: type[BaseModel]) -> dict:
    return schema.model_json_schema()


def _closed(node: Any) -> Any:
    """Every object of a JSON schema without ``additionalProperties`` gets ``false``: llguidance
    admits extra keys otherwise, and a small model barred from whitespace went on writing
    invented keys (``"interests": [...``) until the token budget ran out."""
    if isinstance(node, list):
        return [_closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _closed(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def compact_json_grammar(js: dict) -> str:
    """The llguidance grammar llama.cpp builds from a JSON schema (``%json``), with its flexible
    whitespace turned off: ``{"a":1,"b":[2,3]}`` and nothing else, so no token goes to newlines
    and indentation; objects admit only their own keys."""
    strict = {**_closed(js), "x-guidance": {"whitespace_flexible": False}}
    return "%llguidance {}\nstart: %json " + json.dumps(strict, separators=(",", ":"))


# --- the call -------------------------------------------------------------------------------
def choose_method(handle) -> Method:
    caps = handle.capabilities
    if caps.json_schema:
        return "json_schema"
    return "function_calling" if caps.native_tools else "json_mode"


def _schema_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", schema.__name__)[:64] or "answer"


def _bind(handle, schema: type[BaseModel], method: Method, compact: bool = False):
    chat, js = handle.chat_model, json_schema_of(schema)
    if method == "function_calling":
        tool = {
            "type": "function",
            "function": {
                "name": _schema_name(schema),
                "description": (schema.__doc__ or f"Return a {schema.__name__}.").strip(),
                "parameters": js,
            },
        }
        return chat.bind_tools([tool], tool_choice=_schema_name(schema))
    if handle.backend == "ollama":
        return chat.bind(format=js if method == "json_schema" else "json")
    if method == "json_schema" and compact and handle.capabilities.compact_json:
        given = getattr(chat, "kwargs", {}).get("extra_body") or {}  # e.g. cache_prompt: false
        return chat.bind(extra_body={**given, "grammar": compact_json_grammar(js)})
    if method == "json_schema":
        fmt = {"name": _schema_name(schema), "schema": js, "strict": False}
        return chat.bind(response_format={"type": "json_schema", "json_schema": fmt})
    return chat.bind(response_format={"type": "json_object"})


def _with_budget(runnable, handle, max_tokens: int | None):
    """A larger output budget for one call (OpenAI-style backends; Ollama keeps num_predict)."""
    if max_tokens is None or handle.backend == "ollama":
        return runnable
    return runnable.bind(max_tokens=max_tokens)


def _with_instructions(
    messages: list[BaseMessage], schema: type[BaseModel], method: Method, backend: str
) -> list[BaseMessage]:
    """Small models follow a schema far better when they also read it (field descriptions).

    The note goes LAST (appended to the final user message): everything before it stays
    byte-identical across calls with different schemas, so llama.cpp reuses the cached prefix.
    """
    if method == "function_calling" or (backend == "openai" and method == "json_schema"):
        return messages
    note = (
        "Answer with one JSON object (no prose, no code fence) that conforms to this JSON "
        f"schema:\n{json.dumps(json_schema_of(schema), separators=(',', ':'))}"
    )
    if messages and isinstance(messages[-1], HumanMessage):
        last = messages[-1]
        return [*messages[:-1], HumanMessage(content=f"{last.text}\n\n{note}")]
    return [*messages, HumanMessage(content=note)]


def _as_messages(messages: str | Sequence[Any]) -> list[BaseMessage]:
    if isinstance(messages, str):
        return [HumanMessage(content=messages)]
    return list(convert_to_messages(messages))


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _raw_of(msg: AIMessage, method: Method) -> str:
    if method == "function_calling" and msg.tool_calls:
        return json.dumps(msg.tool_calls[0]["args"])
    return msg.text.strip()


def _parse_json(raw: str, msg: AIMessage) -> Any:
    """The JSON value of an answer (fences and surrounding prose tolerated)."""
    text = _FENCE.sub(r"\1", raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                pass
        truncated = (msg.response_metadata or {}).get("finish_reason") == "length"
        hint = " (cut off at RECAGENTS_LLM_MAX_TOKENS)" if truncated else ""
        raise ValueError(f"the answer is not valid JSON{hint}: {exc}") from None


def _check(msg: AIMessage, schema: type[M], method: Method) -> tuple[M | None, str, str]:
    """(value or None, raw answer, error text)."""
    raw = _raw_of(msg, method)
    try:
        return schema.model_validate(_parse_json(raw, msg)), raw, ""
    except (ValueError, ValidationError) as exc:
        return None, raw, _describe(exc)


def _describe(exc: Exception, limit: int = 1200) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"]) or "(root)"
            parts.append(
                f"{loc}: {err['msg']} (got {json.dumps(err.get('input'), default=str)[:80]})"
            )
        text = "; ".join(parts)
    else:
        text = str(exc)
    return text[:limit]


def _repair(raw: str, error: str) -> list[BaseMessage]:
    return [
        AIMessage(content=raw or "(empty answer)"),
        HumanMessage(
            content=f"That answer is invalid: {error}\nReply again with only the corrected JSON "
            "object, conforming to the schema and using only allowed values."
        ),
    ]


def _config_with(config: Mapping[str, Any] | None, tracker: UsageTracker) -> dict:
    out = dict(config or {})
    callbacks = out.get("callbacks")
    if callbacks is None:
        out["callbacks"] = [tracker]
    elif isinstance(callbacks, list):
        out["callbacks"] = [*callbacks, tracker]
    else:  # a callback manager
        manager = callbacks.copy()
        manager.add_handler(tracker, inherit=True)
        out["callbacks"] = manager
    return out


def _invoke_once(runnable, messages, config, stream: bool) -> AIMessage:
    if not stream:
        return runnable.invoke(messages, config=config)
    final = None
    for chunk in runnable.stream(messages, config=config):
        final = chunk if final is None else final + chunk
    if final is None:
        raise ValueError("the model streamed no answer")
    return AIMessage(
        content=final.content,
        tool_calls=getattr(final, "tool_calls", []) or [],
        response_metadata=final.response_metadata,
        usage_metadata=final.usage_metadata,
    )


def _setup(handle, schema, messages, attempts, method, schema_note: bool = True):
    method = method or choose_method(handle)
    if attempts is None:
        attempts = handle.structured_attempts
    convo = _as_messages(messages)
    if schema_note or method == "json_mode":  # json_mode has no grammar: the model must read it
        convo = _with_instructions(convo, schema, method, handle.backend)
    return method, max(1, attempts), convo


def _fail(handle, schema, exc: Exception) -> typing.NoReturn:
    err = explain_failure(
        exc, backend=handle.backend, model=handle.model, base_url=handle.base_url,
        timeout_s=handle.timeout_s,
    )  # fmt: skip
    if err is None:
        raise exc
    raise err from exc


def _give_up(handle, schema, attempts: int, raw: str, error: str) -> StructuredOutputError:
    return StructuredOutputError(
        f"{handle.backend} model {handle.model} gave no valid {schema.__name__} in {attempts} "
        f"attempt(s); last error: {error}. Raise RECAGENTS_LLM_STRUCTURED_ATTEMPTS or use a "
        "larger model",
        attempts=attempts,
        last_output=raw,
    )


def structured_call(
    handle,
    schema: type[M],
    messages: str | Sequence[Any],
    *,
    attempts: int | None = None,
    method: Method | None = None,
    stream: bool = False,
    config: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
    schema_note: bool = True,
    compact: bool = False,
) -> StructuredResult[M]:
    """One validated ``schema`` instance from the model (see the module doc). ``max_tokens``
    raises this call's output budget above the configured one (a long list needs more).
    ``schema_note=False`` leaves the JSON schema out of the prompt where a grammar enforces it
    anyway (the caller describes the format more compactly itself). ``compact=True``: JSON
    without whitespace where the backend can (``capabilities.compact_json``); only for schemas
    whose strings are all capped (``maxLength``): a small model that may not end a string with
    its usual ``",\n`` token tends to run on inside it (measured on the 0.5B)."""
    method, attempts, convo = _setup(handle, schema, messages, attempts, method, schema_note)
    runnable = _with_budget(_bind(handle, schema, method, compact), handle, max_tokens)
    tracker = UsageTracker()
    cfg = _config_with(config, tracker)
    raw, error = "", ""
    for attempt in range(1, attempts + 1):
        try:
            msg = call_with_retries(
                functools.partial(_invoke_once, runnable, convo, cfg, stream),
                retries=handle.transport_retries,
                before_retry=handle.recover,
            )
        except Exception as exc:  # noqa: BLE001 - translated to a clear error
            _fail(handle, schema, exc)
        value, raw, error = _check(msg, schema, method)
        if value is not None:
            return StructuredResult(value, attempt, method, raw, tracker.usage())
        convo = [*convo, *_repair(raw, error)]
    raise _give_up(handle, schema, attempts, raw, error)
