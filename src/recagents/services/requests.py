"""Request models of the services: the ONE place each argument bound is written.

The tools expose these schemas to the LLM (so a model sees the allowed ranges), the API reuses
them, and a service called directly validates through them: ``Request.of(**kwargs)`` turns a
validation error into ``InvalidArgumentError`` with the same wording a tool failure has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from recagents.errors import InvalidArgumentError
from recagents.settings import MAX_K
from recagents.vocabulary import DEFAULT_ITEM_FIELDS, ItemField, SearchMode, UserField
from recagents.vocabulary import DEFAULT_SEARCH_MODE as DEFAULT_MODE

if TYPE_CHECKING:
    from recagents.stores.metadata.item_filters import Op

MAX_NEIGHBOURS = 100
MAX_METADATA_ITEMS = 50
MAX_INTERACTIONS = 200
MAX_NAMES = 20  # names (genres, people, countries, ratings) in one filter list
MAX_NAME_LENGTH = 200
MAX_CONDITIONS = 10  # numeric conditions on one field
USER_ID = Field(ge=1, description="MovieLens user id (1-943).")


def _k(default: int, what: str = "How many items to return") -> Any:
    return Field(default, ge=1, le=MAX_K, description=f"{what} (1 to {MAX_K}).")


def validation_problems(exc: ValidationError, schema: type[BaseModel] | None = None) -> str:
    """'field: message (field description)' for the first few errors."""
    fields = schema.model_fields if schema is not None else {}
    problems = []
    for err in exc.errors()[:6]:
        loc = err.get("loc", ())
        where = ".".join(str(p) for p in loc) or "arguments"
        info = fields.get(str(loc[0])) if loc else None
        hint = f" ({info.description})" if info is not None and info.description else ""
        problems.append(f"{where}: {err.get('msg')}{hint}")
    return "; ".join(problems)


class Request(BaseModel):
    """Base for requests: unknown argument names are an error a caller (or LLM) can read."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def of(cls, **kwargs: Any) -> Self:
        try:
            return cls.model_validate(kwargs)
        except ValidationError as exc:
            raise InvalidArgumentError(
                f"invalid arguments: {validation_problems(exc, cls)}"
            ) from exc


def _as_list(value: Any) -> Any:
    """A single string/number where a list is expected becomes a one-element list."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str | int | float | dict):
        return [value]
    return value


# Bounded, so one request cannot ask for thousands of name look-ups.
Name = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]
NameList = Annotated[
    Annotated[list[Name], Field(max_length=MAX_NAMES)] | None, BeforeValidator(_as_list)
]


class NumericCondition(BaseModel):
    """One comparison: {"request": "higher", "threshold": 7} means value > 7."""

    model_config = ConfigDict(extra="forbid")

    request: Literal["lower", "higher", "exact", "at_most", "at_least"] = Field(
        description="lower: < threshold; higher: > threshold; at_most: <=; at_least: >=; exact: =="
    )
    threshold: float = Field(allow_inf_nan=False)


def _as_conditions(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return [{"request": "exact", "threshold": value}]
    return _as_list(value)


NumericArg = Annotated[
    Annotated[list[NumericCondition], Field(max_length=MAX_CONDITIONS)] | None,
    BeforeValidator(_as_conditions),
    Field(
        description='A condition {"request": "lower"|"higher"|"at_most"|"at_least"|'
        '"exact", "threshold": number}, or a list of them (all must hold, e.g. a range), '
        "or a bare number meaning exact."
    ),
]
Month = Annotated[int, Field(ge=1, le=12)]

REQUEST_TO_OP: dict[str, Op] = {
    "lower": "lt",
    "higher": "gt",
    "exact": "eq",
    "at_most": "le",
    "at_least": "ge",
}
OP_TEXT = {"lt": "<", "gt": ">", "eq": "=", "le": "<=", "ge": ">="}


class FilterRequest(Request):
    genres: NameList = Field(None, description="Genres the movie must ALL have, e.g. ['Horror'].")
    actors: NameList = Field(None, description="Actors who must ALL appear (full names).")
    directors: NameList = Field(None, description="Directors (full names); all must match.")
    writers: NameList = Field(None, description="Writers (full names); all must match.")
    countries: NameList = Field(None, description="Production country; any of these.")
    release_year: NumericArg = None
    imdb_rating: NumericArg = None
    duration_min: NumericArg = None
    imdb_num_reviews: NumericArg = None
    release_month: Annotated[
        Annotated[list[Month], Field(max_length=12)] | None, BeforeValidator(_as_list)
    ] = Field(None, description="Release month number(s) 1-12; any of these.")
    age_ratings: NameList = Field(None, description="Age certificates, e.g. ['PG-13', 'R']; any.")


class RecommendRequest(Request):
    user_id: int = USER_ID
    k: int = _k(10)


class SearchRequest(Request):
    query: str = Field(
        min_length=1, max_length=1000, description="What the plot should be about, in plain words."
    )
    k: int = _k(10)
    genres: NameList = Field(None, description="Only items with ANY of these genres.")
    year_from: int | None = Field(None, description="Earliest release year (inclusive).")
    year_to: int | None = Field(None, description="Latest release year (inclusive).")
    mode: SearchMode = Field(
        DEFAULT_MODE,
        description="dense: by meaning (a theme, mood or story in other words); keyword: BM25 "
        "over title, genres, plot and credited names (a title word, a name, a rare term); "
        "hybrid: both, fused by reciprocal rank.",
    )


class PopularRequest(Request):
    k: int = _k(20)
    user_group: NameList = Field(
        None,
        description="Count only ratings by this user group: kid (<=12), teenager (13-19), "
        "young_adult (20-30), adult (31-60), senior (61+), male, female. Several age groups "
        "(or both genders) add up; an age group with a gender means both must hold, e.g. "
        "['female', 'teenager']. Omit for everybody.",
    )


class LikePercentageRequest(Request):
    min_rating: int | None = Field(
        None,
        ge=1,
        le=5,
        description="Count a user only if they rated one of the items at least this much "
        "(e.g. 4). Default: any rating counts (implicit feedback, as the recommender does).",
    )


class ItemMetadataRequest(Request):
    fields: list[ItemField] | None = Field(
        None, description=f"Which fields to return (default {list(DEFAULT_ITEM_FIELDS)})."
    )


class UserMetadataRequest(Request):
    user_id: int = USER_ID
    fields: list[UserField] | None = Field(None, description="Which fields (default all).")


class HistoryRequest(Request):
    user_id: int = USER_ID
    n: int = Field(
        20,
        ge=1,
        le=MAX_INTERACTIONS,
        description=f"How many of the most recent ratings (1 to {MAX_INTERACTIONS}).",
    )


class SimilarUsersRequest(Request):
    user_id: int = USER_ID
    n: int = Field(
        10, ge=1, le=MAX_NEIGHBOURS, description=f"How many similar users (1 to {MAX_NEIGHBOURS})."
    )


class FavouritesRequest(Request):
    user_id: int = USER_ID
    k: int = _k(10)
    n_users: int = Field(
        20,
        ge=1,
        le=MAX_NEIGHBOURS,
        description=f"How many similar users to pool (1 to {MAX_NEIGHBOURS}).",
    )
