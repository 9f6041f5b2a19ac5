"""User facts: demographics and the history under the view."""

from __future__ import annotations

from datetime import UTC, datetime

from recagents.services.context import ServiceContext
from recagents.services.requests import HistoryRequest, UserMetadataRequest
from recagents.services.results import History, RatedItem, UserProfile
from recagents.stores.metadata.user_groups import age_group_of
from recagents.vocabulary import USER_FIELDS

GENDERS = {"M": "male", "F": "female"}


def user_profile(ctx: ServiceContext, req: UserMetadataRequest) -> UserProfile:
    """The asked fields of a user (all by default); ``n_ratings`` counts visible ratings."""
    user = ctx.store.user(req.user_id)
    fields = list(dict.fromkeys(req.fields or USER_FIELDS))
    values = {
        "age": user["age"],
        "age_group": age_group_of(user["age"]),
        "gender": GENDERS.get(user["gender"], user["gender"]),
        "occupation": user["occupation"],
        "zip_code": user["zip_code"],
    }
    if "n_ratings" in fields:
        values["n_ratings"] = len(ctx.history(user["user_id"]))
    return UserProfile(user_id=user["user_id"], **{f: values[f] for f in fields})


def recent_interactions(ctx: ServiceContext, req: HistoryRequest) -> History:
    """The user's ``n`` most recent visible ratings, newest first."""
    rows = ctx.history(req.user_id)
    items = [
        RatedItem(
            item_id=r["item_id"],
            title=r["title"],
            rating=r["rating"],
            timestamp=r["timestamp"],
            date=datetime.fromtimestamp(r["timestamp"], UTC).date().isoformat(),
        )
        for r in rows[: req.n]
    ]
    return History(user_id=req.user_id, total=len(rows), items=items)
