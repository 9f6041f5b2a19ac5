"""`app_main.py`: flags, the port check, and the host app in-process (pages, lifespan)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from recagents.errors import RecagentsError
from recagents.resources import AppResources, current_resources
from recagents.settings import PROJECT_ROOT

APP_MAIN = PROJECT_ROOT / "app_main.py"


def load_app_main():
    spec = importlib.util.spec_from_file_location("app_main", APP_MAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def clean_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith("RECAGENTS_")]:
        monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--llm", "gpt-4.1"],
            {"RECAGENTS_LLM_PROVIDER": "openai", "RECAGENTS_LLM_MODEL": "gpt-4.1"},
        ),
        (["--self_host"], {"RECAGENTS_LLM_PROVIDER": "ollama"}),
        (
            ["--self_host", "--llm", "qwen2.5:7b"],
            {"RECAGENTS_LLM_PROVIDER": "ollama", "RECAGENTS_OLLAMA_MODEL": "qwen2.5:7b"},
        ),
        (
            ["--base-url", "http://127.0.0.1:9/v1", "--llm", "m"],
            {
                "RECAGENTS_LLM_PROVIDER": "openai-compatible",
                "RECAGENTS_LLM_BASE_URL": "http://127.0.0.1:9/v1",
                "RECAGENTS_LLM_MODEL": "m",
            },
        ),
        (["--llm", "local"], {"RECAGENTS_LLM_PROVIDER": "local"}),
        ([], {}),
    ],
)
def test_flags_follow_the_peer_project(clean_env, argv, expected):
    app_main = load_app_main()
    app_main.apply_flags(app_main.parse_args(argv))
    got = {k: v for k, v in os.environ.items() if k.startswith("RECAGENTS_")}
    assert got == expected


def test_a_taken_port_gets_a_clear_error_naming_the_flag():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, str(APP_MAIN), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=PROJECT_ROOT,
        )
    assert out.returncode == 2
    assert f"port {port}" in out.stderr and "--port" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_host_serves_the_chat_offline_and_owns_no_passed_resources(
    tool_settings, agent_services, scripted_llm
):
    from recagents.web.host import create_app

    resources = AppResources(tool_settings, agent_services, llm=scripted_llm(lambda m: "hi"))
    app = create_app(resources=resources, chat=True)
    with TestClient(app) as client:
        assert current_resources() is resources
        home = client.get("/", follow_redirects=False)
        assert home.status_code in (302, 307) and home.headers["location"] == "/chat"
        page = client.get("/chat/", headers={"accept-encoding": "gzip"})
        assert page.status_code == 200 and '<div id="root">' in page.text
        assert "https://fonts.googleapis.com" not in page.text
        assert "cdn.jsdelivr.net" not in page.text
        assert "<link" in page.text  # the page's own stylesheet is kept
    with pytest.raises(RecagentsError, match="not started"):
        current_resources()
    assert agent_services.store is not None  # passed-in resources are not closed by the host
    assert agent_services.store.counts()["items"] > 0
