"""Grounding the intent form: every slot must come from the message or an earlier turn.

The plan checks apply to slots (invented filter values dropped, comparison directions turned,
the stated count wins); rules from ``message_rules`` restore what the message states outright
(genres, years, age ratings, roles, a described plot, "popular", "in his/her age group") and
fix the intent where the message's words decide it; ``credited_roles`` moves a person to the one
role the catalogue credits them in. Every change is noted (the chat shows the notes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.messages import HumanMessage

from recagents.assistant.memory import known_user_ids, numbers_in
from recagents.assistant.plan_mode.intent import SlotFilters, Understanding
from recagents.assistant.plan_mode.message_rules import (
    FIELD_WORDS,
    OWN_AGE,
    POPULAR,
    RATED,
    RECOMMEND_VERB,
    SIMILARITY,
    cue_intent,
    grounded_audience,
    stated_genres,
    stated_item_ids,
    stated_roles,
    stated_story,
    stated_user,
)
from recagents.assistant.plan_mode.plan_checks import (
    drop_ungrounded_filters,
    fix_directions,
    stated_count,
)
from recagents.assistant.plan_mode.stated_filters import stated_conditions, stated_countries

if TYPE_CHECKING:
    from recagents.assistant.state import AssistantState


def _stated_filters(found: Understanding, question: str) -> tuple[dict, list[str]]:
    """Filters the message states in plain words that the form left out (genres, years)."""
    if found.intent not in FILTERED_INTENTS:
        return {}, []
    have = found.filters.model_dump(exclude_none=True) if found.filters else {}
    added: dict[str, list | None] = {}
    notes: list[str] = []
    genres = [g for g in stated_genres(question) if g not in (have.get("genres") or [])]
    story = (found.storyline or "").lower()
    genres = [g for g in genres if g.lower() not in story]
    if genres:
        added["genres"] = [*(have.get("genres") or []), *genres]
        notes.append(f"added genres {genres} (the message names them)")
    for role, names in stated_roles(question).items():
        for name in names:  # the role the message gives wins over the one the model chose
            for other in ("actors", "directors", "writers"):
                listed = added.get(other, have.get(other)) or []
                kept = [n for n in listed if n.lower() != name.lower()]
                if other != role and len(kept) < len(listed):
                    added[other] = kept or None
            mine = added.get(role, have.get(role)) or []
            if name.lower() not in {n.lower() for n in mine}:
                added[role] = [*mine, name]
                notes.append(f"{name} as one of the {role} (the message says so)")
    if "age_ratings" not in have and (ratings := RATED.findall(question)):
        added["age_ratings"] = sorted({r.upper() for r in ratings})
        notes.append("added age_ratings (the message states them)")
    for key, conds in stated_conditions(question).items():
        # the message's comparison wins on its side (upper / lower / exact bound); the model's
        # bounds on the other side stay (and must still use a number the message gives)
        mine = have.get(key) or []
        sides = {_SIDE[c["request"]] for c in conds}
        merged = [c for c in mine if _SIDE.get(c.get("request")) not in sides] + conds
        if _bounds(merged) != _bounds(mine):
            added[key] = merged
            said = ", ".join(f"{c['request']} {c['threshold']:g}" for c in conds)
            notes.append(f"{key} {said} (the message states it)")
    stated = [c for c in stated_countries(question) if c not in (have.get("countries") or [])]
    if stated:
        added["countries"] = [*(have.get("countries") or []), *stated]
        notes.append(f"added countries {stated} (the message names them)")
    return added, notes


_SIDE = {"lower": "upper", "at_most": "upper", "higher": "lower", "at_least": "lower",
         "exact": "exact"}  # fmt: skip


def _bounds(conds: list[dict]) -> set[tuple[str, float]]:
    return {(c["request"], float(c["threshold"])) for c in conds}


def ground(
    found: Understanding, state: AssistantState, default_k: int | None = None
) -> tuple[Understanding, list[str]]:
    """The form with every value nobody stated removed or corrected, and notes saying what."""
    question = state["question"]
    asked = " ".join(m.text for m in state.get("messages") or [] if isinstance(m, HumanMessage))
    text = asked.lower()
    notes: list[str] = []
    update: dict = {}
    cue = cue_intent(question)
    if cue and cue != found.intent and found.intent not in ("clarify", "other"):
        notes.append(f"intent {found.intent} → {cue} (the message says so)")
        found = found.model_copy(update={"intent": cue})
    if found.user_id is not None and found.user_id not in known_user_ids(state):
        notes.append(f"dropped user_id {found.user_id} (nobody gave it)")
        update["user_id"] = None
    said_user = stated_user(question)
    if found.intent == "popular" and said_user is not None and RECOMMEND_VERB.search(question):
        # "recommend popular comedies to user 11": personal, among the popular ones
        notes.append("intent popular → recommend (a recommendation to a user)")
        found = found.model_copy(update={"intent": "recommend"})
    personal = (*NEEDS_USER, "recommend_by_storyline", "recommend_similar_to_item")
    if found.user_id is None and said_user is not None and found.intent in personal:
        update["user_id"] = said_user  # "… to user 45": the form left it out
        notes.append(f"user_id {said_user} (the message gives it)")
    n = stated_count(question)
    uid = update.get("user_id", found.user_id)
    earlier = [m.text for m in state.get("messages") or [] if isinstance(m, HumanMessage)][:-1]
    if uid is not None and uid == n and said_user != uid and uid not in numbers_in(earlier):
        # "recommend 2 movies to this user": 2 is the count, not the user
        notes.append(f"dropped user_id {uid} (it is the number of movies asked)")
        update["user_id"] = uid = None
    remembered = state.get("user_id")
    if (
        uid is None
        and remembered
        and found.intent in NEEDS_USER
        and said_user is None
        and numbers_in([question]) <= {n}
    ):  # "and 3 more for him": the remembered user
        update["user_id"] = int(remembered)
    k: int | None
    if n:
        k = n
    elif found.k and found.k in numbers_in([question]):
        k = found.k
    else:
        k = default_k
    if k != found.k:
        update["k"] = k
    story = found.storyline
    story_genres = stated_genres(story) if story else []
    if story and story_genres and not _content_words(story, story_genres):
        found = found.model_copy(update={"storyline": None})  # "horror" is a genre, not a plot
        notes.append("dropped storyline made of genre words only")
    added, stated_notes = _stated_filters(found, question)
    notes += stated_notes
    if added:
        have = found.filters.model_dump(exclude_none=True) if found.filters else {}
        found = found.model_copy(update={"filters": SlotFilters.model_validate({**have, **added})})
    found, story_notes = _story_and_intent(found, question)
    notes += story_notes
    if found.intent in _RECOMMENDING and POPULAR.search(question):
        update["popular"] = True
    if found.intent in (*_RECOMMENDING, "popular", "catalogue_statistic") and OWN_AGE.search(
        question
    ):
        update["audience_of_user"] = True
        notes.append("audience: the user's own age group (the message says so)")
    if found.question and found.intent != "clarify":
        update["question"] = None
    if found.intent == "catalogue_statistic" and not found.fields:
        said = question.lower()
        asked_fields = [f for f in STAT_FIELDS if any(w in said for w in FIELD_WORDS[f])]
        if asked_fields:
            found = found.model_copy(update={"fields": asked_fields})
            notes.append(f"fields {asked_fields} (the statistic asks for them)")
    if found.fields:
        said = question.lower()
        kept_fields = [f for f in found.fields if any(w in said for w in FIELD_WORDS.get(f, ()))]
        if len(kept_fields) < len(found.fields):
            notes.append(f"dropped fields {sorted(set(found.fields) - set(kept_fields))}")
        update["fields"] = kept_fields or None
    if found.filters is not None:
        args = found.filters.model_dump(mode="json", exclude_none=True)
        steps, dropped = drop_ungrounded_filters([{"tool": "filter_items", "args": args}], text)
        steps, flipped = fix_directions(steps, question)
        notes += dropped + flipped
        update["filters"] = SlotFilters.model_validate(steps[0]["args"]) if steps else None
    if found.audience:
        kept = grounded_audience(list(found.audience), text)
        if len(kept) < len(found.audience):
            notes.append(f"dropped audience {sorted(set(found.audience) - set(kept))}")
        update["audience"] = kept or None
    by_id = ("recommend_similar_to_item", "item_facts")
    like_movie = found.intent == "catalogue_statistic" and SIMILARITY.search(question)
    if found.intent == "catalogue_statistic" and not like_movie:
        # a statistic uses a movie only as "movies like it"
        found = found.model_copy(update={"item_ids": None, "reference": None})
    elif (
        not found.item_ids
        and (found.intent in by_id or like_movie)
        and (stated := stated_item_ids(question))
    ):
        found = found.model_copy(update={"item_ids": stated})
        notes.append(f"item ids {stated} (the message gives them)")
    if found.item_ids:
        kept_ids = [i for i in found.item_ids if i in numbers_in([asked])]
        if len(kept_ids) < len(found.item_ids):
            notes.append("dropped item ids the message does not give")
        update["item_ids"] = kept_ids or None
    if found.reference and not _mentioned(found.reference, text):
        notes.append(f"dropped reference {found.reference!r} (the message does not name it)")
        update["reference"] = None
    return found.model_copy(update=update), notes


STAT_FIELDS = ("genres", "directors", "actors", "writers", "duration_min", "imdb_rating",
               "country", "age_rating")  # fmt: skip
_RECOMMENDING = ("recommend", "recommend_by_storyline", "recommend_similar_to_item")


def _story_and_intent(found: Understanding, question: str) -> tuple[Understanding, list[str]]:
    """The storyline the message describes, and the recommendation intent that fits what it
    states: "like"/"similar" for a reference movie, a described plot for a storyline search."""
    notes: list[str] = []
    update: dict = {}
    intent = found.intent
    if intent == "recommend_similar_to_item" and not SIMILARITY.search(question):
        intent = "recommend"  # no likeness word: what follows decides plain or storyline
    story = found.storyline
    wants_story = intent in ("audience_share", "recommend_by_storyline", "recommend",
                             "catalogue_statistic")  # fmt: skip
    if wants_story and not story and (said := stated_story(question)):
        update["storyline"] = story = said
        notes.append("storyline from the message's 'about/where …'")
    if intent == "recommend" and story and "storyline" in update:
        intent = "recommend_by_storyline"
    elif intent == "recommend_by_storyline" and not story:
        intent = "recommend"
    if intent != found.intent:
        notes.append(f"intent {found.intent} → {intent} (what the message states)")
        update["intent"] = intent
    return found.model_copy(update=update), notes


_GENRE_FILLER = {"movie", "movies", "film", "films", "genre", "kind", "type", "some", "good", "a"}


def _content_words(story: str, genres: list[str]) -> list[str]:
    """The story's words that are neither a genre's nor filler."""
    genre_words = {w.lower() for g in genres for w in g.replace("-", " ").split()}
    words = [w.strip(".,!?'\"").lower() for w in story.split()]
    return [w for w in words if w and w not in _GENRE_FILLER and not any(
        w.startswith(g[:5]) for g in genre_words)]  # fmt: skip


def credited_roles(found: Understanding, services) -> tuple[Understanding, list[str]]:
    """People moved to the one role the catalogue credits them in ("DiCaprio" as a writer is
    the actor); names credited nowhere, or in the slot's role, stay as they are."""
    from recagents.services.catalog import credited_as

    if found.filters is None:
        return found, []
    have = found.filters.model_dump(exclude_none=True)
    moved, notes = {k: list(have.get(k) or []) for k in ("actors", "directors", "writers")}, []
    for role in ("actors", "directors", "writers"):
        for name in list(have.get(role) or []):
            roles = credited_as(services, name)
            if roles and role not in roles and len(roles) == 1:
                moved[role].remove(name)
                moved[roles[0]].append(name)
                notes.append(f"{name} moved from {role} to {roles[0]} (the catalogue's credits)")
    if not notes:
        return found, []
    filters = SlotFilters.model_validate({**have, **{k: v or None for k, v in moved.items()}})
    return found.model_copy(update={"filters": filters}), notes


def _mentioned(title: str, text: str) -> bool:
    words = [w for w in title.lower().replace(",", " ").split() if len(w) >= 3]
    words = [w for w in words if w not in ("the", "and")]
    return not words or sum(w in text for w in words) >= max(1, (len(words) + 1) // 2)


FILTERED_INTENTS = frozenset(
    {"recommend", "recommend_by_storyline", "recommend_similar_to_item", "popular",
     "audience_share", "catalogue_statistic"}
)  # fmt: skip
NEEDS_USER = frozenset(
    {"recommend", "user_facts", "user_history", "similar_users", "more_like_previous"}
)
