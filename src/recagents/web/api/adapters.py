"""The API's adapters: request bodies → ARAG requests, ARAG results and catalogue rows →
agentic_rec's response shape. Synchronous (the routers run it in worker threads); reads go
through ``ServiceContext`` and its ``MetadataStore`` (the repositories).

Ids: an answer's ids are JSON numbers when the request named its users/items by numbers, and
strings otherwise (agentic_rec's type: string ids in → string ids out; ids taken from a URL
path and requests naming no id at all get strings too).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from pydantic import ValidationError

from recagents.agents import AgentsConfig, ARAGResult, RecRequest, recommend_with_agents
from recagents.agents.run import stream_agents
from recagents.agents.state import MAX_TEXT, HistoryEvent
from recagents.errors import InvalidArgumentError, RecagentsError
from recagents.services.context import ServiceContext
from recagents.services.requests import FilterRequest, UserMetadataRequest, validation_problems
from recagents.services.users import user_profile
from recagents.vocabulary import ITEM_PAGE_FIELDS
from recagents.web.api.errors import LLMDownError
from recagents.web.api.schemas import (
    ComponentHealth,
    HealthOut,
    HistoryIn,
    Interaction,
    ItemOut,
    RecommendBody,
    RecommendedItem,
    RecommendResponse,
    ResponseUsage,
    UserOut,
)

log = logging.getLogger(__name__)

IdOut = Callable[[int], int | str]
ITEM_FIELDS = ITEM_PAGE_FIELDS
SIMILAR_RATING = 5.0  # "items like X": X counts as a loved item of an ad-hoc history


def id_type(*ids: object) -> IdOut:
    """``int`` when every id given is a JSON number (and there is one), else ``str``."""
    given = [i for i in ids if i is not None]
    if given and all(type(i) is int for i in given):
        return int
    return str


def body_id_type(body) -> IdOut:
    history = [e.item_id for e in getattr(body, "history", [])]
    return id_type(getattr(body, "user_id", None), getattr(body, "item_id", None), *history)


def item_text(detail: dict) -> str:
    """The description (plot) agentic_rec returns as ``text``; title and genres when none."""
    for key in ("description", "storyline"):
        if text := " ".join(str(detail.get(key) or "").split()):
            return text
    genres = ", ".join(detail.get("genres") or [])
    return f"{detail.get('title') or ''} | {genres}".strip(" |")


def rec_request(**values) -> RecRequest:
    try:
        return RecRequest.model_validate(values)
    except ValidationError as exc:
        raise InvalidArgumentError(f"invalid request: {validation_problems(exc)}") from exc


# --- requests ----------------------------------------------------------------------------------
def recommend_request(body: RecommendBody) -> RecRequest:
    return rec_request(
        user_id=None if body.user_id is None else int(body.user_id),
        text=body.text,
        history=[e.event() for e in body.history],
        query=body.query,
        k=body.limit,
        filters=body.filters,
        alpha=body.alpha,
    )


def user_request(
    ctx: ServiceContext,
    user_id: int,
    *,
    text: str | None,
    query: str | None,
    limit: int,
    filters: FilterRequest | None,
) -> RecRequest:
    ctx.store.require_user(user_id)  # an unknown user is a 404 here, never a cold start
    return rec_request(user_id=user_id, text=text, query=query, k=limit, filters=filters)


def similar_request(
    ctx: ServiceContext,
    item_id: int | None,
    *,
    text: str | None,
    history: list[HistoryIn],
    limit: int,
    filters: FilterRequest | None,
) -> RecRequest:
    """Items like ``item_id`` (and/or like ``text`` / ``history``): the agents' cold start with
    the item as a loved history item and its plot as the text (so Swing neighbours, BPR fold-in
    and plot search all look for what resembles it); the item itself is never returned."""
    plot = None
    events = [e.event() for e in history]
    if item_id is not None:
        (detail,) = ctx.store.item_details([item_id], ("title", "description", "storyline"))
        events.insert(0, HistoryEvent(item_id=item_id, event_value=SIMILAR_RATING))
        plot = item_text(detail)[:MAX_TEXT]
    return rec_request(
        text=plot or text, query=text if plot else None, history=events, k=limit, filters=filters
    )


# --- recommending -------------------------------------------------------------------------------
def run_agents(
    ctx: ServiceContext, req: RecRequest, llm, config: AgentsConfig | None
) -> ARAGResult:
    """The ARAG graph (``llm=None``: retrieval only).

    The embedded server (a child process of ours): one that died since the last request is
    restarted first; one that dies DURING this request gives this request the agents' flagged
    fallback (retrieval order, template explanations, ``fallback: true``, the error in
    ``errors``) at once instead of a restart inside it, and is restarted in the background for
    the next one. A remote backend that is unreachable or times out raises ``LLMDownError``
    (503): the operator has to act there."""
    if llm is None:
        return recommend_with_agents(ctx, req, None, config=config)
    embedded = getattr(llm, "server", None) is not None
    if embedded:
        llm.recover()
        llm_now = replace(llm, transport_retries=0)  # no restart-and-retry inside this request
    else:
        llm_now = llm
    down: list[str] = []
    result: ARAGResult | None = None
    for node, update in stream_agents(ctx, req, llm_now, config=config):
        if node == "result":
            result = update
        elif isinstance(update, dict) and update.get("llm_down"):
            down.extend(update.get("errors") or [node])
    assert result is not None  # stream_agents always ends with it
    if down and embedded:
        log.warning("the embedded LLM failed during a request (%s): restarting it", down[0])
        threading.Thread(target=_restart, args=(llm,), name="llm-restart", daemon=True).start()
        return result
    if down:
        raise LLMDownError(f"the LLM is unavailable ({'; '.join(down)})")
    return result


def _restart(llm) -> None:
    try:
        llm.recover()
    except Exception as exc:  # noqa: BLE001 - the next request tries again and reports it
        log.warning("restarting the embedded LLM failed: %s", exc)


def recommend_response(ctx: ServiceContext, result: ARAGResult, out: IdOut) -> RecommendResponse:
    pages = item_pages(ctx, [i.id for i in result.items])
    items = [
        RecommendedItem(
            id=out(i.id),
            text=pages[i.id].text,
            title=i.title,
            year=i.year,
            genres=i.genres,
            score=i.score,
            explanation=i.explanation,
            filled=i.filled,
        )
        for i in result.items
    ]
    return RecommendResponse(
        items=items,
        usage=ResponseUsage.model_validate(result.usage.model_dump()),
        fallback=result.fallback,
        retrieval=result.retrieval,
        errors=result.errors,
    )


# --- users and items ---------------------------------------------------------------------------
def user_out(
    ctx: ServiceContext,
    user_id: int,
    out: IdOut,
    history_limit: int,
    *,
    fields: frozenset[str] = frozenset(),
    dates: bool = False,
) -> UserOut:
    """The user's page: ratings always; of the personal fields only ``fields`` (see
    ``recagents.assistant.policy.user_fields_allowed``), rating dates only with ``dates``."""
    rows = ctx.history(user_id)
    recent = list(reversed(rows[:history_limit]))  # oldest first, like agentic_rec
    personal: dict = {}
    if fields:
        profile = user_profile(ctx, UserMetadataRequest(user_id=user_id))
        personal = {f: getattr(profile, f) for f in fields}
        if {"age", "gender", "occupation"} <= fields:
            personal["text"] = f"{profile.age}-year-old {profile.gender}, {profile.occupation}"
    return UserOut(
        id=out(user_id),
        n_ratings=len(rows),
        **personal,
        history=[
            Interaction(
                item_id=out(r["item_id"]),
                title=r["title"],
                event_datetime=datetime.fromtimestamp(r["timestamp"], UTC)
                .replace(tzinfo=None)
                .isoformat()
                if dates
                else None,
                event_value=float(r["rating"]),
            )
            for r in recent
        ],
    )


_ITEMS: WeakKeyDictionary = WeakKeyDictionary()  # store → {item id → ItemOut}


def cached_item(ctx: ServiceContext, item_id: int, out: IdOut) -> ItemOut | None:
    """The item page if it was read before (the agent-side store is read-only), else None."""
    item = _ITEMS.get(ctx.store, {}).get(item_id)
    return None if item is None else item.model_copy(update={"id": out(item_id)})


def item_pages(ctx: ServiceContext, item_ids: list[int]) -> dict[int, ItemOut]:
    """The items' pages (numeric ids), read from the store once (one batch for the misses)."""
    cache = _ITEMS.setdefault(ctx.store, {})
    missing = [i for i in dict.fromkeys(item_ids) if i not in cache]
    if missing:
        for detail in ctx.store.item_details(missing, ITEM_FIELDS):
            cache[detail["item_id"]] = ItemOut(
                id=detail["item_id"], text=item_text(detail), **detail
            )
    return {i: cache[i] for i in item_ids}


def item_out(ctx: ServiceContext, item_id: int, out: IdOut) -> ItemOut:
    return item_pages(ctx, [item_id])[item_id].model_copy(update={"id": out(item_id)})


# --- health -------------------------------------------------------------------------------------
def _safely(check: Callable[[], dict]) -> ComponentHealth:
    try:
        return ComponentHealth(**check())
    except (RecagentsError, OSError, RuntimeError, ValueError) as exc:  # reported, not raised
        return ComponentHealth(status="error", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a driver's own error (e.g. SQLAlchemy's)
        return ComponentHealth(status="error", error=f"{type(exc).__name__}: {exc}")


def health(resources) -> HealthOut:
    """The stores, the model and the LLM backend, each with a status; nothing is started or
    loaded here (a part not used yet says so)."""
    ctx: ServiceContext = resources.services
    settings = resources.settings

    def metadata() -> dict:
        info = ctx.store.build_info  # one query: the database answers
        return {
            "status": "ok" if info.get("fingerprint") else "error",
            "database": settings.display_database_url,
            "items": len(ctx.store.item_ids),
            "users": len(ctx.store.user_ids),
            "enrichment": info.get("enrichment"),
        }

    def vectors() -> dict:
        where = {"qdrant": settings.qdrant_url or str(settings.qdrant_path)}
        if ctx.vectors is None:
            return {"status": "not loaded (opens on the first search)", **where}
        return {"status": "ok", "vectors": ctx.vectors.count(), **where}

    def model() -> dict:
        rec = ctx.recommender
        if rec is None:
            return {
                "status": "not loaded (loads on the first recommendation)",
                "name": settings.recommender,
            }
        return {"status": "ok", "name": rec.model, "users": rec.n_users, "items": rec.n_items}

    components = {
        "metadata": _safely(metadata),
        "vectors": _safely(vectors),
        "model": _safely(model),
        "llm": _safely(resources.llm_status),
    }
    stores = [components[k] for k in ("metadata", "vectors", "model")]
    if any(c.status == "error" for c in stores):
        status = "error"
    elif components["llm"].status in ("down", "error"):  # retrieval (?llm=false) still answers
        status = "degraded"
    else:
        status = "ok"
    return HealthOut(status=status, components=components)
