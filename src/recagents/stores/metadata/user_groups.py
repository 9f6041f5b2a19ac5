"""User groups (age and gender), derived from ``users`` at query time.

kid ≤ 12, teenager 13–19, young_adult 20–30, adult 31–60, senior ≥ 61; male / female from
``users.gender``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, or_

from recagents.errors import InvalidArgumentError
from recagents.stores.metadata.models import User

AGE_GROUPS: dict[str, tuple[int, int]] = {
    "kid": (0, 12),
    "teenager": (13, 19),
    "young_adult": (20, 30),
    "adult": (31, 60),
    "senior": (61, 200),
}
GENDER_GROUPS: dict[str, str] = {"male": "M", "female": "F"}
USER_GROUPS: tuple[str, ...] = (*AGE_GROUPS, *GENDER_GROUPS)
_GROUP_ALIASES = {
    "kids": "kid",
    "child": "kid",
    "children": "kid",
    "teen": "teenager",
    "teens": "teenager",
    "teenagers": "teenager",
    "young_adults": "young_adult",
    "adults": "adult",
    "seniors": "senior",
    "elderly": "senior",
    "men": "male",
    "males": "male",
    "man": "male",
    "women": "female",
    "females": "female",
    "woman": "female",
}


def age_group_of(age: int) -> str:
    for name, (low, high) in AGE_GROUPS.items():
        if low <= age <= high:
            return name
    return "senior"


def normalise_group(name: str) -> str:
    """``"Young adults"`` → ``"young_adult"``; ``InvalidArgumentError`` listing the valid groups."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    key = _GROUP_ALIASES.get(key, key)
    if key not in USER_GROUPS:
        raise InvalidArgumentError(
            f"unknown user group {name!r}: use one or more of {list(USER_GROUPS)}"
        )
    return key


def group_clause(groups: Sequence[str]) -> ColumnElement[bool] | None:
    """Users in ANY listed age group AND (if genders are listed) of ANY listed gender."""
    ages = [AGE_GROUPS[g] for g in groups if g in AGE_GROUPS]
    genders = [GENDER_GROUPS[g] for g in groups if g in GENDER_GROUPS]
    parts: list[ColumnElement[bool]] = []
    if ages:
        parts.append(or_(*(User.age.between(low, high) for low, high in ages)))
    if genders:
        parts.append(User.gender.in_(genders))
    return and_(*parts) if parts else None
