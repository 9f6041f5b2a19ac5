"""Privacy rules every tool call of the assistant passes, whatever the prompt says.

- Personal fields (the zip code) are read only for one named user, when the user's message
  explicitly asks for it; otherwise they are never requested, and removed from any result.
- One turn may read the personal data (profile, history, neighbours) of at most
  ``max_users_per_turn`` distinct users: no bulk export.
- The REST API applies the same classification (``user_fields_allowed``): demographics and
  rating dates need a token with the ``personal`` scope, the zip code also an explicit request,
  and profile reads are rate-limited per token (``RECAGENTS_API_PERSONAL_RATE_LIMIT``).
"""

from __future__ import annotations

import re
from typing import Any

from recagents.errors import RecagentsError
from recagents.vocabulary import USER_FIELDS

PERSONAL_FIELDS = frozenset({"zip_code"})
DEMOGRAPHIC_FIELDS = frozenset({"age", "age_group", "gender", "occupation"})
PERSONAL_TOOLS = frozenset({"user_metadata", "recent_interactions", "similar_users"})
_ASKS_PERSONAL = re.compile(r"\b(zip|zipcode|postal|post ?code)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")


class PolicyError(RecagentsError):
    """A call the assistant refuses to make (the message says why)."""


def asks_for_personal(question: str) -> bool:
    """The message explicitly asks for a personal field, naming exactly one user (one id)."""
    question = question or ""
    return bool(_ASKS_PERSONAL.search(question)) and len(set(_NUMBER.findall(question))) == 1


def check_call(
    tool: str, args: dict, question: str, users_read: set[int], max_users: int
) -> tuple[dict, bool]:
    """The arguments to run ``tool`` with, and whether its result may keep personal fields.

    Raises ``PolicyError`` for a call that would read too many users' data."""
    args = dict(args)
    if tool in PERSONAL_TOOLS and isinstance(args.get("user_id"), int):
        users = users_read | {args["user_id"]}
        if len(users) > max_users:
            raise PolicyError(
                f"declined: this request reads the personal data of more than {max_users} users; "
                "bulk export of user data is not offered"
            )
    if tool != "user_metadata":
        return args, False
    fields = args.get("fields") or list(USER_FIELDS)
    allowed = asks_for_personal(question) and not users_read - {args.get("user_id")}
    if not allowed:
        fields = [f for f in fields if f not in PERSONAL_FIELDS]
        if not fields:
            raise PolicyError(
                "declined: a zip code is given only for one named user, on explicit request"
            )
    args["fields"] = fields
    return args, allowed


def scrub(value: Any) -> Any:
    """``value`` without personal fields, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in PERSONAL_FIELDS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def user_fields_allowed(*, personal_scope: bool, asks_zip: bool) -> frozenset[str]:
    """The user fields a REST API caller may read, by the rules above: demographics only with
    the API's ``personal`` scope, and a zip code only with it AND an explicit request for it
    (``?zip_code=true``, one user per request); a ``read`` token gets none of them."""
    if not personal_scope:
        return frozenset()
    return DEMOGRAPHIC_FIELDS | (PERSONAL_FIELDS if asks_zip else frozenset())
