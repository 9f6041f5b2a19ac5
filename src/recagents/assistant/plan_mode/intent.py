"""Understand a message: ONE grammar-constrained object, the intent and its typed slots.

A small model fills one flat form far more reliably than it writes a multi-step program with
references, and the form is short (tens of tokens): ``{"intent": "recommend", "user_id": 3,
"k": 3, "filters": {"genres": ["Horror"]}}``. The slots are typed with the services' own
request models (``FilterRequest`` conditions, ``PopularRequest`` groups, item/user fields), so
the grammar cannot emit a value the tools would refuse.

Every slot value must be grounded in the message or an earlier turn (``ground``): invented
filter values are dropped (the plan checks' stems, roles and comparison directions), a user id
nobody gave turns into a question for it, the count is the one the message states, and a
reference title must name a catalogue movie. The compiler (``compiler.py``) turns the grounded
form into the tool chain.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from recagents.assistant.plan_mode.message_rules import (
    capitalised_title,
)
from recagents.assistant.plan_mode.plan_checks import (
    Genre,
)
from recagents.assistant.prompts import ROLE, SAFETY, as_data
from recagents.services.requests import (
    FilterRequest,
    ItemField,
    NumericArg,
    UserField,
)
from recagents.settings import MAX_K

Intent = Literal[
    "recommend",
    "recommend_similar_to_item",
    "recommend_by_storyline",
    "popular",
    "user_facts",
    "item_facts",
    "user_history",
    "similar_users",
    "audience_share",
    "catalogue_statistic",
    "explain_previous",
    "more_like_previous",
    "clarify",
    "other",
]
INTENT_HELP: dict[str, str] = {
    "recommend": "personal recommendations for a user (optionally with hard filters, a mood "
    "or theme, or only movies popular with a group)",
    "recommend_similar_to_item": "movies like a named movie (optionally for a user)",
    "recommend_by_storyline": "movies whose story matches a described plot, theme or mood "
    "(optionally ranked for a user)",
    "popular": "the most popular movies, overall, of a kind, or with a user group",
    "user_facts": "a user's profile (age, gender, occupation...)",
    "item_facts": "facts about named movies (director, duration, rating, plot...)",
    "user_history": "what a user watched or rated recently",
    "similar_users": "users with the same taste as a user",
    "audience_share": "what share of users would like movies of a kind or a storyline",
    "catalogue_statistic": "a typical value or the most common director/actor/genre/... "
    "among movies of a kind",
    "explain_previous": "why the previous answer's movies were picked (no new data)",
    "more_like_previous": "more recommendations like the previous ones",
    "clarify": "the request is ambiguous or contradictory: ask one question",
    "other": "anything else (greetings, questions about the conversation, declined requests)",
}
Audience = Literal["kid", "teenager", "young_adult", "adult", "senior", "male", "female"]
INTENTS: tuple[str, ...] = get_args(Intent)
MAX_STORYLINE = 300


class SlotFilters(BaseModel):
    """Hard conditions (every returned movie must satisfy all): ``FilterRequest``'s fields,
    with the genres as the catalogue's closed set."""

    model_config = ConfigDict(extra="forbid")

    genres: list[Genre] | None = Field(None, max_length=4)
    actors: list[str] | None = Field(None, max_length=4)
    directors: list[str] | None = Field(None, max_length=4)
    writers: list[str] | None = Field(None, max_length=4)
    countries: list[str] | None = Field(None, max_length=4)
    release_year: NumericArg = None
    imdb_rating: NumericArg = None
    duration_min: NumericArg = None
    imdb_num_reviews: NumericArg = None
    release_month: list[int] | None = Field(None, max_length=12)
    age_ratings: list[str] | None = Field(None, max_length=6)

    def request(self) -> FilterRequest | None:
        """The service's request, or None when no condition is set."""
        given = self.model_dump(exclude_none=True)
        return FilterRequest.model_validate(given) if given else None


class Understanding(BaseModel):
    """What the message asks: the intent and the slots it states (omit what it does not)."""

    model_config = ConfigDict(extra="forbid")

    intent: Intent
    user_id: int | None = Field(None, ge=1, le=100_000)
    k: int | None = Field(None, ge=1, le=MAX_K)
    filters: SlotFilters | None = None
    storyline: str | None = Field(None, max_length=MAX_STORYLINE)
    audience: list[Audience] | None = Field(None, max_length=3)
    reference: str | None = Field(None, max_length=200)  # a movie title the message names
    item_ids: list[int] | None = Field(None, max_length=10)  # movies the message names by id
    fields: list[ItemField | UserField] | None = Field(None, max_length=8)
    question: str | None = Field(None, max_length=200)  # clarify: the question to ask
    # set by the grounding rules only (not in the model's grammar): "popular …" asks for the
    # popular movies of the set; "in his/her age group" for the user's own age group's
    popular: SkipJsonSchema[bool | None] = None
    audience_of_user: SkipJsonSchema[bool | None] = None

    def compact(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)


# --- the prompt -------------------------------------------------------------------------------
INTENT_SYSTEM = f"""{ROLE}

Read the user's message (and the conversation) and fill ONE JSON form saying what it asks.
Write only the keys the message states; omit every other key.
- intent: one of
{chr(10).join(f"  - {name}: {text}" for name, text in INTENT_HELP.items())}
- user_id: the user id the message (or the conversation) gives.
- k: how many movies are asked for.
- filters: hard conditions every movie must meet: genres (catalogue genres only), actors,
  directors, writers (full names, each in its own role), countries, release_year, imdb_rating,
  duration_min, imdb_num_reviews (each a list of {{"request": "lower"|"higher"|"at_most"|
  "at_least"|"exact", "threshold": number}}; "before 1990" is lower 1990), release_month
  (1-12), age_ratings (G, PG, PG-13, R).
- storyline: the plot, theme or mood wanted, in a few plain words (for a mood: the kind of
  story that suits it).
- audience: user groups the movies should be popular with (kid, teenager, young_adult, adult,
  senior, male, female).
- reference: the title of a movie the message names (for "like X" or facts about X).
- item_ids: movie ids the message gives.
- fields: the facts asked for (e.g. directors, duration_min, imdb_rating, storyline, age,
  occupation).
- question: for clarify only, the one question to ask.
Never invent a value the message does not state. A theme word is a storyline, not a person.
{SAFETY}"""


def intent_messages(
    question: str, conversation: str, demos: list, fixed_demos: list | None = None
) -> list:
    """Static system text first (cached by llama.cpp), then the closest examples, the
    conversation and the message. ``fixed_demos``: examples written into the system text
    instead (the same for every message, so the server's prompt cache holds them too)."""
    system = INTENT_SYSTEM
    if fixed_demos:
        system += "\n\nExamples:\n" + "\n".join(d.render() for d in fixed_demos)
    parts = []
    if demos:
        parts.append("Examples:\n" + "\n".join(d.render() for d in demos))
    if conversation:
        parts.append(as_data("conversation", conversation))
    parts.append(as_data("user_message", question))
    parts.append("FORM:")
    return [SystemMessage(system), HumanMessage("\n\n".join(parts))]


# --- the node ---------------------------------------------------------------------------------
INTENT_MAX_TOKENS = 160
_ADULT_RATINGS = {"R", "NC-17"}


_KID_WORDS = re.compile(r"\b(kids?|child|children|toddlers?|little ones|family)\b", re.I)


def contradiction(form: Understanding, question: str = "") -> str | None:
    """A question to ask when the stated constraints cannot hold together, else None."""
    f = form.filters
    ratings = {r.upper() for r in (f.age_ratings or [])} if f else set()
    kids = (
        "kid" in (form.audience or [])
        or (f is not None and "Children's" in (f.genres or []))
        or bool(_KID_WORDS.search(question))
    )
    if ratings & _ADULT_RATINGS and kids:
        return (
            f"Movies rated {'/'.join(sorted(ratings & _ADULT_RATINGS))} are not meant for "
            "children: should I look for children's movies, or for movies rated "
            f"{'/'.join(sorted(ratings & _ADULT_RATINGS))}?"
        )
    if f is not None:
        for key in ("release_year", "imdb_rating", "duration_min", "imdb_num_reviews"):
            low, high = float("-inf"), float("inf")
            for c in getattr(f, key) or []:
                if c.request in ("higher", "at_least"):
                    low = max(low, c.threshold)
                elif c.request in ("lower", "at_most"):
                    high = min(high, c.threshold)
            if low > high:
                return (
                    f"The {key.replace('_', ' ')} conditions exclude each other: which do you mean?"
                )
    return None


def resolve_reference(
    form: Understanding, title_index, question: str = ""
) -> tuple[int | None, str | None]:
    """(catalogue id of the reference movie, or a clarifying question when it is unknown).
    Without a reference slot, a catalogue title the message names is the reference."""
    if form.intent not in ("recommend_similar_to_item", "item_facts"):
        return None, None
    if form.intent in ("recommend_similar_to_item", "item_facts") and form.item_ids:
        if form.intent == "recommend_similar_to_item":
            return form.item_ids[0], None
        return None, None
    if form.reference:
        found = capitalised_title(form.reference.title(), title_index)
        if found is not None:
            return found, None
    if not form.reference:
        if form.intent in ("recommend_similar_to_item", "item_facts") and question:
            found = capitalised_title(question, title_index)
            if found is None:
                named = [ids for ids in title_index.mentions(question) if -1 not in ids]
                found = min(named[-1]) if named else None
            if found is not None:
                return found, None
            return None, "Which movie do you mean? Please give its title or id."
        return None, None
    mentioned = [ids for ids in title_index.mentions(form.reference) if -1 not in ids]
    if mentioned:
        return min(mentioned[0]), None
    return None, f"I could not find the movie {form.reference!r} in the catalogue: which one?"
