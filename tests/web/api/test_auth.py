"""Bearer tokens (RECAGENTS_API_TOKENS): open on loopback without tokens, enforced with them or
beyond loopback; /healthz and the docs stay open."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from recagents.web.api.deps import is_loopback

PROTECTED = [
    ("get", "/items/1", None),
    ("get", "/users/1", None),
    ("post", "/recommend?llm=false", {"limit": 2}),
    ("post", "/recommend/user?llm=false", {"limit": 2}),
    ("post", "/recommend/item?llm=false", {"item_id": 1, "limit": 2}),
    ("post", "/users/1/recommend?llm=false&limit=2", None),
    ("post", "/items/1/recommend?llm=false&limit=2", None),
    ("post", "/chat", {"message": "hi"}),  # refused before the assistant (or the LLM) starts
]


def call(client, method: str, path: str, body, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.request(method, path, json=body, headers=headers)


def test_tokens_are_enforced_when_configured(api_client, agent_services):
    with api_client(agent_services, tokens=" alpha , beta ") as client:
        for method, path, body in PROTECTED:
            missing = call(client, method, path, body)
            assert missing.status_code == 401, path
            assert missing.headers["www-authenticate"] == "Bearer"
            assert call(client, method, path, body, token="gamma").status_code == 403, path
            basic = client.request(method, path, json=body, headers={"Authorization": "Basic x"})
            assert basic.status_code == 401, path
        for token in ("alpha", "beta"):  # spaces around tokens are not part of them
            assert call(client, "get", "/items/1", None, token=token).status_code == 200
        ok = call(client, "post", "/recommend?llm=false", {"limit": 2}, token="beta")
        assert ok.status_code == 200
        for open_path in ("/healthz", "/openapi.json", "/docs"):
            assert client.get(open_path).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_open_on_loopback_without_tokens(api_client, agent_services, host):
    with api_client(agent_services, bind_host=host) as client:
        assert client.get("/items/1").status_code == 200


def test_beyond_loopback_without_tokens_every_api_request_is_refused(api_client, agent_services):
    with api_client(agent_services, bind_host="0.0.0.0") as client:
        for method, path, body in PROTECTED:
            response = call(client, method, path, body, token="anything")
            assert response.status_code == 401, path
            assert "RECAGENTS_API_TOKENS" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_beyond_loopback_with_tokens(api_client, agent_services):
    with api_client(agent_services, bind_host="10.1.2.3", tokens="s3cret") as client:
        assert call(client, "get", "/items/1", None).status_code == 401
        assert call(client, "get", "/items/1", None, token="s3cret").status_code == 200


def test_loopback_detection():
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.org", "", None]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve_cli(monkeypatch):
    """serve_cli(*args, tokens=None) -> (result, uvicorn.run's kwargs or None); nothing listens."""
    from recagents.cli.main import app
    from recagents.settings import get_settings

    def run(*args: str, tokens: str | None = None):
        if tokens is None:
            monkeypatch.delenv("RECAGENTS_API_TOKENS", raising=False)
        else:
            monkeypatch.setenv("RECAGENTS_API_TOKENS", tokens)
        get_settings.cache_clear()
        started: list[dict] = []
        monkeypatch.setattr("uvicorn.run", lambda app, **kw: started.append(kw))
        port = ["--port", str(free_port())]  # (a later --port wins)
        result = CliRunner().invoke(app, ["serve", "--no-chat", "--no-setup", *port, *args])
        get_settings.cache_clear()
        return result, (started[0] if started else None)

    return run


def test_serve_refuses_an_open_api_beyond_loopback(serve_cli):
    result, started = serve_cli("--host", "0.0.0.0")
    assert result.exit_code != 0 and started is None
    assert "RECAGENTS_API_TOKENS" in str(result.exception)
    port = free_port()
    result, started = serve_cli("--host", "0.0.0.0", "--port", str(port), tokens="t1")
    assert result.exit_code == 0, result.output
    assert started == {"host": "0.0.0.0", "port": port, "log_level": "info"}
    result, started = serve_cli()
    assert result.exit_code == 0 and started["host"] == "127.0.0.1"
