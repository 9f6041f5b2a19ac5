"""Unreachable endpoints, timeouts, bad keys, missing models → one clear error (no real LLM)."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from recagents.llm import failures
from recagents.llm.factory import make_chat_model
from recagents.llm.failures import (
    LLMConfigError,
    LLMUnavailableError,
    call_with_retries,
    is_transient,
)
from recagents.llm.structured import structured_call


class Answer(BaseModel):
    ok: bool


def _compat(make_settings, url: str, **kw):
    return make_settings(
        llm_provider="openai-compatible", llm_base_url=f"{url}/v1", llm_model="m", **kw
    )


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


def test_unreachable_endpoint_names_provider_and_setting(make_settings):
    handle = make_chat_model(_compat(make_settings, _closed_port_url(), llm_max_retries=1))
    with pytest.raises(LLMUnavailableError) as info:
        structured_call(handle, Answer, "hi")
    message = str(info.value)
    assert "openai-compatible" in message and "RECAGENTS_LLM_BASE_URL" in message
    assert info.value.setting == "RECAGENTS_LLM_BASE_URL"


def test_plain_chat_failure_is_explained_too(make_settings):
    handle = make_chat_model(_compat(make_settings, _closed_port_url(), llm_max_retries=0))
    with pytest.raises(Exception) as info:
        handle.chat_model.invoke("hi")
    explained = failures.explain_failure(
        info.value, backend=handle.backend, model=handle.model, base_url=handle.base_url
    )
    assert isinstance(explained, LLMUnavailableError)


def test_timeout_is_bounded_and_named(make_settings, stub_http):
    with stub_http(lambda *a: (200, {}, None)) as server:  # accepts, never answers
        settings = _compat(make_settings, server.url, llm_timeout_s=0.5, llm_max_retries=0)
        with pytest.raises(LLMUnavailableError, match="RECAGENTS_LLM_TIMEOUT_S"):
            structured_call(make_chat_model(settings), Answer, "hi")


def _error_reply(status: int, message: str):
    body = json.dumps({"error": {"message": message, "type": "error", "code": status}}).encode()
    return lambda *a: (status, {"Content-Type": "application/json"}, body)


def test_bad_key(make_settings, stub_http):
    with stub_http(_error_reply(401, "Invalid API key")) as server:
        handle = make_chat_model(_compat(make_settings, server.url, llm_api_key="wrong"))
        with pytest.raises(LLMConfigError, match="RECAGENTS_LLM_API_KEY") as info:
            structured_call(handle, Answer, "hi")
    assert "openai-compatible" in str(info.value)
    assert len(server.requests) == 1  # a bad key is not retried


def test_missing_model(make_settings, stub_http):
    with stub_http(_error_reply(404, "model 'm' not found")) as server:
        handle = make_chat_model(_compat(make_settings, server.url))
        with pytest.raises(LLMConfigError, match="RECAGENTS_LLM_MODEL"):
            structured_call(handle, Answer, "hi")


def test_server_errors_are_retried_then_explained(make_settings, stub_http):
    with stub_http(_error_reply(503, "overloaded")) as server:
        handle = make_chat_model(_compat(make_settings, server.url, llm_max_retries=2))
        with pytest.raises(LLMUnavailableError, match="HTTP 503"):
            structured_call(handle, Answer, "hi")
    assert len(server.requests) == 3  # 1 try + 2 client retries with backoff


def test_our_retry_loop_is_bounded_with_backoff(monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(failures.time, "sleep", delays.append)
    calls = []

    def refuse():
        calls.append(1)
        raise ConnectionError("refused")

    recoveries = []
    with pytest.raises(ConnectionError):
        call_with_retries(
            refuse, retries=3, base_delay_s=0.5, before_retry=lambda: recoveries.append(1)
        )
    assert len(calls) == 4 and delays == [0.5, 1.0, 2.0] and len(recoveries) == 3
    assert not is_transient(ValueError("bad schema"))  # never retried
    calls.clear()

    def bad_schema():
        calls.append(1)
        raise ValueError("bad schema")

    with pytest.raises(ValueError):
        call_with_retries(bad_schema, retries=3)
    assert len(calls) == 1


def test_check_command_reports_failure_as_json(make_settings, monkeypatch, tmp_path):
    from recagents.cli import llm as cli

    settings = _compat(make_settings, _closed_port_url(), llm_max_retries=0)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.llm_app, ["check", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "openai-compatible"
    assert report["structured_ok"] is False
    assert "RECAGENTS_LLM_BASE_URL" in report["error"]


def test_unloadable_model_file_fails_fast_with_the_log(tmp_path):
    from recagents.llm.local_server import LocalServer, ServerConfig

    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"this is not a GGUF file" * 100)
    server = LocalServer(ServerConfig(bad, "bad", ctx_size=512, log_dir=tmp_path / "logs"))
    with pytest.raises(LLMUnavailableError, match="exited with code") as info:
        server.start()
    assert "RECAGENTS_LOCAL_MODEL_PATH" in info.value.setting
    assert str(tmp_path / "logs") in str(info.value)  # the log is named and kept
    assert not server.is_alive()
