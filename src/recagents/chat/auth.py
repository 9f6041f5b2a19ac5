"""The chat UI's own login (separate from the REST API's tokens).

Login, the conversation sidebar and resume are on when a password is configured
(``RECAGENTS_CHAT_PASSWORD``) and Chainlit has its JWT secret (``CHAINLIT_AUTH_SECRET``, from
``chainlit create-secret``); otherwise the chat is one anonymous conversation per tab.
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
