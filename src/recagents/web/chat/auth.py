"""The chat UI's own login (separate from the REST API's tokens).

Login, the conversation sidebar and resume are on when a password is configured
(``RECAGENTS_CHAT_PASSWORD``) and Chainlit has its JWT secret (``CHAINLIT_AUTH_SECRET``, from
``chainlit create-secret``); otherwise the chat is one anonymous conversation per tab — which is
allowed only where the REST API is open too: on a loopback address without API tokens
(``login_required``). Elsewhere a chat without login is refused (``ChatGate``: 403).
"""

from __future__ import annotations

import hmac
import os

from recagents.settings import Settings


def auth_enabled(settings: Settings) -> bool:
    return bool(settings.chat_password and os.environ.get("CHAINLIT_AUTH_SECRET"))


def password_ok(settings: Settings, username: str, password: str) -> bool:
    """Constant-time comparison of both the user name and the password."""
    if settings.chat_password is None:
        return False
    user_ok = hmac.compare_digest(username.encode(), settings.chat_user.encode())
    secret = settings.chat_password.get_secret_value().encode()
    return user_ok & hmac.compare_digest(password.encode(), secret)


def login_required(settings: Settings, bind_host: str | None) -> bool:
    """The REST API's rule, for the chat: anonymous use only on a loopback address and only
    while the API itself is open (no API tokens). Anywhere else the chat needs its login."""
    from recagents.web.api.deps import configured_tokens, is_loopback

    return not is_loopback(bind_host) or bool(configured_tokens(settings))


def refusal(settings: Settings, bind_host: str | None) -> str | None:
    """Why the chat must not be served as configured (login required but not set up), or None."""
    if not login_required(settings, bind_host) or auth_enabled(settings):
        return None
    from recagents.web.api.deps import is_loopback

    why = (
        f"this server listens on {bind_host!r} (not loopback)"
        if not is_loopback(bind_host)
        else "API tokens are configured (RECAGENTS_API_TOKENS)"
    )
    return (
        f"the chat needs a login: {why}. Set RECAGENTS_CHAT_PASSWORD and CHAINLIT_AUTH_SECRET "
        "(`chainlit create-secret`), or serve without the chat (--no-chat)"
    )


class ChatGate:
    """ASGI wrapper of the mounted chat: when ``refusal`` says the chat may not run as
    configured, every request to it (page, API, socket) gets 403 with the reason; otherwise
    requests pass to Chainlit, whose own login then applies, with bodies up to
    ``RECAGENTS_API_MAX_BODY_BYTES`` (413 past it)."""

    def __init__(self, app, settings: Settings, bind_host: str | None) -> None:
        from starlette.middleware.body_limit import RequestBodyLimitMiddleware

        self.app = RequestBodyLimitMiddleware(app, max_body_size=settings.api_max_body_bytes)
        self.reason = refusal(settings, bind_host)

    async def __call__(self, scope, receive, send) -> None:
        if self.reason is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "login required"})
            return
        from starlette.responses import JSONResponse

        response = JSONResponse({"detail": self.reason, "code": "chat_login_required"}, 403)
        await response(scope, receive, send)
