"""`recagents serve` and its shim `python app_main.py`: one command, one set of flags, the same
safety rules. The LLM flags become settings (not environment variables); setup is a function
call before serving; a taken port or an open API beyond loopback stops it before anything is
built."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from recagents.cli.serve import llm_overrides
from recagents.settings import PROJECT_ROOT, Settings

APP_MAIN = PROJECT_ROOT / "app_main.py"
NO_KEY = Settings(_env_file=None, openai_api_key=None, llm_provider="auto")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"llm": "gpt-4.1"}, {"llm_provider": "openai", "llm_model": "gpt-4.1"}),
        ({"self_host": True}, {"llm_provider": "ollama"}),
        (
            {"self_host": True, "llm": "qwen2.5:7b"},
            {"llm_provider": "ollama", "ollama_model": "qwen2.5:7b"},
        ),
        (
            {"base_url": "http://127.0.0.1:9/v1", "llm": "m"},
            {
                "llm_provider": "openai-compatible",
                "llm_base_url": "http://127.0.0.1:9/v1",
                "llm_model": "m",
            },
        ),
        ({"llm": "local"}, {"llm_provider": "local"}),
        (
            {"provider": "local", "llm": "qwen2.5-coder-0.5b"},
            {"llm_provider": "local", "local_model": "qwen2.5-coder-0.5b"},
        ),
        # --model names the model of the provider in use (here auto → local: no OpenAI key)
        ({"model": "qwen2.5-coder-0.5b"}, {"local_model": "qwen2.5-coder-0.5b"}),
        ({"llm": "gpt-4.1", "model": "gpt-4o"}, {"llm_provider": "openai", "llm_model": "gpt-4o"}),
        ({}, {}),
    ],
)
def test_flags_follow_the_peer_project(flags, expected):
    assert llm_overrides(NO_KEY, **flags) == expected


@pytest.fixture
def serve_cli(monkeypatch):
    """serve_cli(*args) -> (result, calls): what ran, in order (setup, create_app, uvicorn)."""
    from recagents.cli.main import app
    from recagents.settings import get_settings

    for key in [k for k in os.environ if k.startswith("RECAGENTS_")] + ["OPENAI_API_KEY"]:
        monkeypatch.delenv(key, raising=False)
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(
        "recagents.build.run_setup", lambda settings, **kw: calls.append(("setup", settings))
    )

    def create_app(settings, **kwargs):
        calls.append(("create_app", (settings, kwargs)))
        return "the app"

    monkeypatch.setattr("recagents.web.host.create_app", create_app)
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(("uvicorn", kw)))

    def run(*args: str):
        get_settings.cache_clear()
        calls.clear()
        try:
            result = CliRunner().invoke(app, ["serve", "--port", str(free_port()), *args])
        finally:
            get_settings.cache_clear()
        return result, list(calls)

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_setup_runs_first_as_a_function_with_the_flags_settings(serve_cli):
    result, calls = serve_cli("--self_host", "--llm", "qwen2.5:3b", "--mode", "plan")
    assert result.exit_code == 0, result.output
    assert [name for name, _ in calls] == ["setup", "create_app", "uvicorn"]
    settings, kwargs = calls[1][1]
    assert calls[0][1] is settings
    assert (settings.llm_provider, settings.ollama_model) == ("ollama", "qwen2.5:3b")
    assert "RECAGENTS_LLM_PROVIDER" not in os.environ  # flags are settings, not the environment
    assert kwargs["mode"] == "plan" and kwargs["bind_host"] == "127.0.0.1"


def test_setup_only_and_no_setup(serve_cli):
    result, calls = serve_cli("--setup-only")
    assert result.exit_code == 0 and [name for name, _ in calls] == ["setup"]
    result, calls = serve_cli("--no-setup", "--engine", "bpr", "--no-chat")
    assert result.exit_code == 0 and [name for name, _ in calls] == ["create_app", "uvicorn"]
    assert calls[0][1][1]["recommend_via"] == "engine" and calls[0][1][1]["chat"] is False
    result, calls = serve_cli("--no-setup", "--engine", "fast")
    assert result.exit_code != 0 and not calls


def test_bad_flag_values_are_refused(serve_cli):
    result, calls = serve_cli("--provider", "nope")
    assert result.exit_code != 0 and not calls
    result, calls = serve_cli("--provider", "local", "--model", "qwen-huge")
    assert result.exit_code != 0 and not calls
    assert "local_model" in str(result.exception)


def run_app_main(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECAGENTS_")}
    return subprocess.run(
        [sys.executable, str(APP_MAIN), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        env={**clean, **env, "RECAGENTS_DATA_DIR": "/nonexistent/recagents-data"},
    )


def test_a_taken_port_gets_a_clear_error_naming_the_flag():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_app_main("--port", str(port))
    assert out.returncode == 2
    assert f"port {port}" in out.stderr and "--port" in out.stderr
    assert "Traceback" not in out.stderr


def test_app_main_refuses_an_open_api_beyond_loopback_like_serve():
    out = run_app_main("--host", "0.0.0.0", "--port", str(free_port()))
    assert out.returncode == 2, out.stderr
    assert "RECAGENTS_API_TOKENS" in out.stderr and "Traceback" not in out.stderr
