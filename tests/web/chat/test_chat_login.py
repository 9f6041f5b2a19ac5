"""The chat's login follows the REST API's rule (issue 20): anonymous only on a loopback address
without API tokens; elsewhere the chat needs its login, and without one it is refused (403) —
it does not serve an open chat beside a protected API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.responses import PlainTextResponse
from typer.testing import CliRunner

from recagents.resources import AppResources
from recagents.web.chat.auth import login_required, refusal

NO_LOGIN = {"chat_password": None, "api_tokens": None}


@pytest.mark.parametrize(
    ("host", "tokens", "required"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("127.0.0.1", "alpha", True),
        ("0.0.0.0", None, True),
        ("192.168.1.5", "alpha", True),
    ],
)
def test_login_required_where_the_api_needs_tokens(tool_settings, host, tokens, required):
    update = {"api_tokens": SecretStr(tokens) if tokens else None}
    assert login_required(tool_settings.model_copy(update=update), host) is required


def test_refusal_names_the_reason_and_the_fix(tool_settings, monkeypatch):
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    plain = tool_settings.model_copy(update=NO_LOGIN)
    assert refusal(plain, "127.0.0.1") is None
    off = refusal(plain, "0.0.0.0")
    assert "not loopback" in off and "RECAGENTS_CHAT_PASSWORD" in off and "--no-chat" in off
    tokens = refusal(plain.model_copy(update={"api_tokens": SecretStr("a")}), "127.0.0.1")
    assert "RECAGENTS_API_TOKENS" in tokens
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "x" * 40)
    login = plain.model_copy(update={"chat_password": SecretStr("pw")})
    assert refusal(login, "0.0.0.0") is None


def _host(settings, services, llm, bind_host, monkeypatch):
    """The host with a stand-in chat mounted where Chainlit's goes (Chainlit's own app is
    process-wide and takes its mount once; test_app_main serves the real one)."""
    import chainlit.utils

    from recagents.web.host import create_app

    async def chat_page(scope, receive, send):
        await PlainTextResponse("the chat")(scope, receive, send)

    monkeypatch.setattr(
        chainlit.utils, "mount_chainlit", lambda app, target, path: app.mount(path, chat_page)
    )
    resources = AppResources(settings, services, llm=llm)
    return create_app(resources=resources, chat=True, bind_host=bind_host)


@pytest.mark.parametrize(
    ("host", "tokens", "status"),
    [("0.0.0.0", "alpha", 403), ("127.0.0.1", "alpha", 403), ("127.0.0.1", None, 200)],
)
def test_the_chat_without_login_is_served_only_where_the_api_is_open(
    tool_settings, agent_services, scripted_llm, monkeypatch, host, tokens, status
):
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    update = {**NO_LOGIN, "api_tokens": SecretStr(tokens) if tokens else None}
    settings = tool_settings.model_copy(update=update)
    app = _host(settings, agent_services, scripted_llm(lambda m: "hi"), host, monkeypatch)
    with TestClient(app) as client:
        for path in ("/chat/", "/chat/project/settings", "/chat/ws/socket.io/?EIO=4"):
            page = client.get(path)
            assert page.status_code == status, path
            if status == 403:
                assert page.json()["code"] == "chat_login_required"
            else:
                assert page.text == "the chat"
        if tokens:  # the API's own rule, unchanged
            assert client.get("/items/1").status_code == 401
            auth = {"Authorization": f"Bearer {tokens}"}
            assert client.get("/items/1", headers=auth).status_code == 200


def test_serve_refuses_an_open_chat_off_loopback(monkeypatch):
    from recagents.cli.main import app

    for key in ("RECAGENTS_CHAT_PASSWORD", "CHAINLIT_AUTH_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RECAGENTS_API_TOKENS", "alpha")
    from recagents.settings import get_settings

    get_settings.cache_clear()
    started: list = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: started.append(kw))
    try:
        result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0 and not started
    assert "chat needs a login" in (result.output + str(result.exception))
