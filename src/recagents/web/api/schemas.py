"""Request and response bodies of the REST API (agentic_rec's shape, plus our fields).

agentic_rec sends ``{text, history: [{item_id, event_datetime, event_name, event_value}], limit}``
and reads ``{items: [{id, text, explanation}]}``; every body here accepts that and answers a
superset of it. The bounds are the ARAG request's own (``MAX_TEXT``, ``MAX_HISTORY``,
``MAX_AGENT_K``) and the services' (``MAX_INTERACTIONS``): one place each.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi.openapi.models import Example
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    model_validator,
)

from recagents.agents.state import MAX_AGENT_K, MAX_HISTORY, MAX_TEXT, HistoryEvent
from recagents.llm.accounting import Usage
from recagents.services.requests import FilterRequest

MAX_ID = 2**31 - 1
MAX_MESSAGE = 4000  # the assistant's own limit (recagents.assistant.run.MAX_QUESTION)
DEFAULT_LIMIT = 10  # agentic_rec's default

ASCII_INT = re.compile(r"0|[1-9][0-9]{0,9}")  # ASCII only: no "²", "①", "٥٠", "1_0", " 1"


def _ascii_int(value: Any) -> Any:
    """An integer from a URL: ASCII digits (Python's ``int`` also takes Unicode digits,
    underscores, signs and spaces)."""
    if isinstance(value, str) and not ASCII_INT.fullmatch(value):
        raise ValueError("expected 1 to 10 ASCII digits without a leading zero")
    return value


def _id_in_range(value: str) -> str:
    if int(value) > MAX_ID:
        raise ValueError(f"an id is at most {MAX_ID}")
    return value


# An id as the client sends it: a JSON number (not a boolean, not a float), or a string of
# ASCII digits (agentic_rec's type). The answer's ids take the same type (see
# ``recagents.web.api.adapters.id_type``).
IdIn = (
    Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
    | Annotated[str, Field(pattern=r"^[1-9][0-9]{0,9}$"), AfterValidator(_id_in_range)]
)
# An integer from a URL path or query: ASCII digits (the route's Path/Query bounds apply), or 422.
AsciiInt = Annotated[int, BeforeValidator(_ascii_int)]


def _iso_datetime(value: Any) -> Any:
    """An ISO 8601 date-time (string) → the same, normalised (naive UTC), so histories sort."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("event_datetime is an ISO 8601 date-time, e.g. 2000-12-31T22:12:40")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            "event_datetime is an ISO 8601 date-time, e.g. 2000-12-31T22:12:40"
        ) from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat()


class HistoryIn(BaseModel):
    """One event of an ad-hoc history, agentic_rec's shape, validated: an id of ASCII digits
    (or a number), a rating 1-5 (a JSON number; missing: counted as liked), an ISO 8601
    date-time."""

    model_config = ConfigDict(extra="ignore")

    item_id: IdIn
    event_datetime: Annotated[str | None, BeforeValidator(_iso_datetime)] = None
    event_name: Annotated[str | None, Field(max_length=64)] = None
    event_value: Annotated[
        StrictFloat | StrictInt | None, Field(ge=1, le=5, allow_inf_nan=False)
    ] = Field(None, description="The rating, 1-5.")

    def event(self) -> HistoryEvent:
        """The agents' event (same fields)."""
        return HistoryEvent.model_validate(self.model_dump())


Limit = Annotated[
    int, Field(ge=1, le=MAX_AGENT_K, description=f"How many items (1 to {MAX_AGENT_K}).")
]
Text = Annotated[str | None, Field(max_length=MAX_TEXT)]
Alpha = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1, allow_inf_nan=False)]
History = Annotated[
    list[HistoryIn],
    Field(
        max_length=MAX_HISTORY,
        description=f"Past interactions (at most {MAX_HISTORY}); `event_value` is a rating 1-5 "
        "(missing: counted as liked). Ids outside the catalogue are dropped and reported.",
    ),
]

AGENTIC_REC_EXAMPLE = {  # agentic_rec's README request, unchanged
    "text": "25-year-old male, software engineer, enjoys sci-fi and thriller films",
    "history": [
        {
            "item_id": "1193",
            "event_datetime": "2000-12-31T22:12:40",
            "event_name": "rating",
            "event_value": 5,
        },
        {
            "item_id": "661",
            "event_datetime": "2000-12-31T22:35:09",
            "event_name": "rating",
            "event_value": 3,
        },
    ],
    "limit": 10,
}


RECOMMEND_EXAMPLES: dict[str, Example] = {
    "agentic_rec": {
        "summary": "agentic_rec's README request (cold start: text + history, string ids)",
        "value": AGENTIC_REC_EXAMPLE,
    },
    "known_user": {
        "summary": "A known user, with what they ask for now",
        "value": {"user_id": 196, "query": "a light comedy", "limit": 5},
    },
    "filtered": {
        "summary": "Cold start from text, within hard filters",
        "value": {"text": "I love heist movies", "limit": 5, "filters": {"genres": ["Crime"]}},
    },
}
ITEM_EXAMPLES: dict[str, Example] = {
    "item": {"summary": "Items like item 50", "value": {"item_id": 50, "limit": 5}},
    "text": {"summary": "Items like a text", "value": {"text": "a mafia family saga", "limit": 5}},
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecommendBody(_Body):
    """A known user, or a cold start from free text and/or an ad-hoc history."""

    user_id: IdIn | None = Field(
        None, description="MovieLens user id (1-943); omitted: cold start from text/history."
    )
    text: Text = Field(None, description="Free text about the user (demographics, tastes).")
    history: History = []
    query: Text = Field(None, description="What is asked for now (the session intent).")
    limit: Limit = DEFAULT_LIMIT
    filters: FilterRequest | None = Field(None, description="Hard filters on the catalogue.")
    alpha: Alpha | None = Field(
        None,
        description="Graph-enhanced text retrieval: blend of the history (0) and the text (1); "
        "its items lead the candidate pool. Omitted: not used (today's retrieval).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [e["value"] for e in RECOMMEND_EXAMPLES.values()]},
    )


class ItemRecommendBody(_Body):
    """Items similar to an item (``item_id``), to free text, or to a short history."""

    item_id: IdIn | None = Field(None, description="Recommend items similar to this one.")
    text: Text = Field(None, description="Free text: what the items should be like.")
    history: History = []
    limit: Limit = DEFAULT_LIMIT
    filters: FilterRequest | None = Field(None, description="Hard filters on the catalogue.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [e["value"] for e in ITEM_EXAMPLES.values()]},
    )

    @model_validator(mode="after")
    def _something_to_compare(self) -> ItemRecommendBody:
        if self.item_id is None and not (self.text and self.text.strip()) and not self.history:
            raise ValueError("give item_id, text or history: what should the items be like?")
        return self


class UserRecommendBody(_Body):
    """Optional refinements of ``POST /users/{id}/recommend``."""

    text: Text = Field(None, description="More about the user.")
    query: Text = Field(None, description="What is asked for now.")
    limit: Limit = DEFAULT_LIMIT
    filters: FilterRequest | None = None


class SimilarBody(_Body):
    """Optional refinements of ``POST /items/{id}/recommend``."""

    text: Text = Field(None, description="What else the items should be like.")
    limit: Limit = DEFAULT_LIMIT
    filters: FilterRequest | None = None


class ChatBody(_Body):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE, description="The user's turn.")
    thread_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description="Conversation to continue (a new one when omitted; the answer names it).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"message": "Recommend 3 comedies to user 42.", "thread_id": "demo"}]
        },
    )


# --- responses ---------------------------------------------------------------------------------
class RecommendedItem(BaseModel):
    id: int | str = Field(description="Item id, as a number or a string like the request's ids.")
    text: str = Field(description="The item's description (plot); title and genres if none.")
    title: str
    year: int | None
    genres: list[str]
    score: float = Field(description="Fused rank score (higher is better).")
    explanation: str
    filled: bool = Field(description="True: taken from the retrieval order, not the LLM's.")


class ResponseUsage(Usage):
    """The agents' LLM usage (calls, rounds, tokens, seconds, per agent too)."""

    cached: bool | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="True: answered from the answer cache (absent otherwise).",
    )


class RecommendResponse(BaseModel):
    items: list[RecommendedItem]
    usage: ResponseUsage = Field(description="LLM calls, tokens, seconds (per agent too).")
    fallback: bool = Field(
        description="True: the LLM answered nothing usable; the items are in retrieval order."
    )
    retrieval: dict[str, Any] = Field(description="How the candidates were found.")
    errors: list[str] = Field(description="What went wrong in the agents, if anything.")


class Interaction(BaseModel):
    item_id: int | str
    title: str | None
    event_datetime: str | None = Field(
        None, description="When (UTC, ISO 8601): only with ?dates=true and the personal scope."
    )
    event_name: Literal["rating"] = "rating"
    event_value: float = Field(description="The rating, 1-5.")


class UserOut(BaseModel):
    """Personal fields are null unless the token has the ``personal`` scope (the zip code:
    and ``?zip_code=true``)."""

    id: int | str
    text: str | None = Field(None, description="The user in words (age, gender, occupation).")
    age: int | None = None
    age_group: str | None = None
    gender: str | None = None
    occupation: str | None = None
    zip_code: str | None = None
    n_ratings: int
    history: list[Interaction] = Field(description="The most recent ratings, oldest first.")


class ItemOut(BaseModel):
    id: int | str
    text: str = Field(description="The item's description (plot); title and genres if none.")
    title: str
    year: int | None = None
    genres: list[str] = []
    directors: list[str] = []
    writers: list[str] = []
    actors: list[str] = []
    country: str | None = None
    release_month: int | None = None
    duration_min: int | None = None
    age_rating: str | None = None
    imdb_rating: float | None = None
    imdb_num_reviews: int | None = None
    storyline: str | None = None


class ComponentHealth(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str = Field(description="ok | not loaded (opens on first use) | down | error")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "error"]
    components: dict[str, ComponentHealth] | None = Field(
        None, description="Each part's status and details: only for an authorised caller."
    )


class ErrorBody(BaseModel):
    detail: str
    code: str | None = None
    data: Any = None
