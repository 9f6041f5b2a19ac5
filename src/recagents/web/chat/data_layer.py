"""Chainlit's data layer (conversation sidebar, resume, feedback) on our own SQLAlchemy tables.

Why not ``chainlit.data.sql_alchemy.SQLAlchemyDataLayer``: it needs an async driver and
``sqlalchemy[asyncio]``, its schema (UUID, JSONB, array columns, quoted camelCase names) fights
SQLite and MariaDB, and Chainlit fires ``create_step`` as unawaited tasks, so a step can arrive
before its thread row (foreign-key errors under ``asyncio.gather``). This layer:

- uses the project's sync engine (``make_engine``: SQLite or ``mysql+pymysql``, utf8mb4,
  ``pool_pre_ping``) and plain column types (JSON is stored as text); its tables
  (``chat/tables.py``) are prefixed ``chat_`` so they sit beside the metadata and checkpoint
  tables, and are created on first use;
- never relies on foreign keys: a step for an unknown thread creates a stub thread row;
- runs all database work on ONE dedicated worker thread, off the event loop, so writes reach the
  database in the order Chainlit issued them (a pool such as ``asyncio.to_thread``'s could let
  an ``update_step`` overtake its ``create_step``);
- orders a thread's steps by ``createdAt`` with an insertion sequence as tiebreak, and lists a
  user's threads newest first, omitting threads without any user or assistant message.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from chainlit.context import ChainlitContextException, context
from chainlit.data.base import BaseDataLayer
from chainlit.data.utils import queue_until_user_message
from chainlit.types import (
    Feedback,
    PageInfo,
    PaginatedResponse,
    Pagination,
    ThreadDict,
    ThreadFilter,
)
from chainlit.user import PersistedUser, User
from sqlalchemy.exc import IntegrityError

from recagents.stores.metadata.database import make_engine
from recagents.web.chat.tables import (
    MESSAGE_TYPES,
    STEP_COLUMNS,
    dump_json,
    elements,
    feedbacks,
    load_json,
    metadata,
    now_stamp,
    step_dict,
    steps,
    thread_dict,
    threads,
    upsert,
    users,
)

if TYPE_CHECKING:
    from chainlit.element import Element, ElementDict
    from chainlit.step import StepDict


def _in_worker(method):
    """Turn ``method(self, conn, ...)`` (sync, one transaction) into a coroutine method."""

    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        return await self._run(functools.partial(method, self), *args, **kwargs)

    return wrapper


def _queued(method):
    """Chainlit's ``queue_until_user_message`` (steps of a websocket session wait for its first
    user message), which also runs the call directly outside any Chainlit context."""
    queued = queue_until_user_message()(method)

    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        try:
            context.session  # noqa: B018 - raises outside a Chainlit context
        except ChainlitContextException:
            return await method(self, *args, **kwargs)
        return await queued(self, *args, **kwargs)

    return wrapper


class ChatDataLayer(BaseDataLayer):
    """Chainlit's ``BaseDataLayer`` over a sync SQLAlchemy engine (SQLite or MySQL/MariaDB).

    Every ``@_in_worker`` method is written as sync code on ``conn`` (one transaction) and is
    called by Chainlit as ``await layer.method(...)``, without ``conn``.
    """

    def __init__(self, url: str | None = None, *, engine: sa.Engine | None = None) -> None:
        if (url is None) == (engine is None):
            raise ValueError("ChatDataLayer needs exactly one of url or engine")
        self.engine = engine if engine is not None else make_engine(url)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-data-layer")
        self._ready = False

    async def _run(self, fn, *args, **kwargs):
        """``fn(conn, ...)`` in one transaction on the worker thread; an insert race with
        another process (IntegrityError) is retried once, when the row is then found."""

        def work():
            if not self._ready:
                metadata.create_all(self.engine)
                self._ready = True
            try:
                with self.engine.begin() as conn:
                    return fn(conn, *args, **kwargs)
            except IntegrityError:
                with self.engine.begin() as conn:
                    return fn(conn, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._worker, work)

    @staticmethod
    def _ensure_thread(conn: sa.Connection, thread_id: str) -> sa.Row | None:
        """The thread's row, inserting a stub first when it does not exist."""
        row = conn.execute(sa.select(threads).where(threads.c.id == thread_id)).first()
        if row is None:
            conn.execute(
                threads.insert().values(id=thread_id, created_at=now_stamp(), metadata="{}")
            )
        return row

    # --- users ---------------------------------------------------------------------------
    @staticmethod
    def _user(conn: sa.Connection, identifier: str) -> PersistedUser | None:
        row = conn.execute(sa.select(users).where(users.c.identifier == identifier)).first()
        if row is None:
            return None
        return PersistedUser(
            id=row.id, identifier=row.identifier, display_name=row.display_name,
            metadata=load_json(row.metadata, {}), createdAt=row.created_at,
        )  # fmt: skip

    @_in_worker
    def get_user(self, conn: sa.Connection, identifier: str) -> PersistedUser | None:
        return self._user(conn, identifier)

    @_in_worker
    def create_user(self, conn: sa.Connection, user: User) -> PersistedUser | None:
        values = {"display_name": user.display_name, "metadata": dump_json(user.metadata or {})}
        if self._user(conn, user.identifier) is None:
            new = {
                "id": str(uuid.uuid4()),
                "identifier": user.identifier,
                "created_at": now_stamp(),
            }
            conn.execute(users.insert().values(**new, **values))
        else:
            conn.execute(users.update().where(users.c.identifier == user.identifier), values)
        return self._user(conn, user.identifier)

    # --- threads -------------------------------------------------------------------------
    @_in_worker
    def get_thread_author(self, conn: sa.Connection, thread_id: str) -> str:
        query = sa.select(threads.c.user_identifier).where(threads.c.id == thread_id)
        return conn.execute(query).scalar() or ""

    @_in_worker
    def update_thread(
        self,
        conn: sa.Connection,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict | None = None,
        tags: list[str] | None = None,
    ):
        """Upsert; only the fields given change, ``metadata`` is merged (None removes a key)."""
        row = self._ensure_thread(conn, thread_id)
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if user_id is not None:
            ident = sa.select(users.c.identifier).where(users.c.id == user_id)
            values.update(user_id=user_id, user_identifier=conn.execute(ident).scalar())
        if tags is not None:
            values["tags"] = dump_json(tags)
        if metadata is not None:
            merged = {**(load_json(row.metadata, {}) if row is not None else {}), **metadata}
            values["metadata"] = dump_json({k: v for k, v in merged.items() if v is not None})
        if values:
            conn.execute(threads.update().where(threads.c.id == thread_id).values(**values))

    @_in_worker
    def delete_thread(self, conn: sa.Connection, thread_id: str):
        step_ids = sa.select(steps.c.id).where(steps.c.thread_id == thread_id)
        votes = (feedbacks.c.thread_id == thread_id) | feedbacks.c.for_id.in_(step_ids)
        conn.execute(feedbacks.delete().where(votes))
        conn.execute(elements.delete().where(elements.c.thread_id == thread_id))
        conn.execute(steps.delete().where(steps.c.thread_id == thread_id))
        conn.execute(threads.delete().where(threads.c.id == thread_id))

    @_in_worker
    def list_threads(
        self, conn: sa.Connection, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        """The user's threads that hold a message, newest first (``steps`` left empty)."""
        if not filters.userId:  # Chainlit always passes the persisted user's id
            return PaginatedResponse(pageInfo=PageInfo(False, None, None), data=[])
        has_message = sa.exists().where(
            steps.c.thread_id == threads.c.id, steps.c.type.in_(MESSAGE_TYPES)
        )
        query = sa.select(threads).where(threads.c.user_id == filters.userId, has_message)
        if filters.search:
            term = filters.search.lower()
            query = query.where(sa.func.lower(threads.c.name).contains(term, autoescape=True))
        if filters.feedback is not None:
            query = query.where(
                sa.exists().where(
                    feedbacks.c.for_id == steps.c.id,
                    steps.c.thread_id == threads.c.id,
                    feedbacks.c.value == int(filters.feedback),
                )
            )
        if pagination.cursor:
            cursor = sa.select(threads.c.seq).where(threads.c.id == pagination.cursor)
            query = query.where(threads.c.seq < cursor.scalar_subquery())
        query = query.order_by(threads.c.seq.desc()).limit(max(pagination.first, 0) + 1)
        rows = conn.execute(query).all()
        data = [thread_dict(row) for row in rows[: pagination.first]]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return PaginatedResponse(PageInfo(len(rows) > pagination.first, first, last), data)

    @_in_worker
    def get_thread(self, conn: sa.Connection, thread_id: str) -> ThreadDict | None:
        row = conn.execute(sa.select(threads).where(threads.c.id == thread_id)).first()
        if row is None:
            return None
        thread = thread_dict(row)
        query = sa.select(steps).where(steps.c.thread_id == thread_id)
        rows = conn.execute(query.order_by(steps.c.created_at, steps.c.seq)).all()
        votes = conn.execute(
            sa.select(feedbacks).join(steps, feedbacks.c.for_id == steps.c.id)
            .where(steps.c.thread_id == thread_id)
        ).all()  # fmt: skip
        by_step = {
            f.for_id: {"id": f.id, "forId": f.for_id, "value": f.value, "comment": f.comment}
            for f in votes
        }
        thread["steps"] = [step_dict(r, by_step.get(r.id)) for r in rows]
        query = sa.select(elements.c.data).where(elements.c.thread_id == thread_id)
        thread["elements"] = [load_json(data) for data in conn.execute(query).scalars()]
        return thread

    # --- steps ---------------------------------------------------------------------------
    def _write_step(self, conn: sa.Connection, step: StepDict, overwrite: bool) -> None:
        values = {col: step[key] for key, col in STEP_COLUMNS.items() if key in step}
        if "metadata" in step:
            values["metadata"] = dump_json(step["metadata"] or {})
        extra = {k: v for k, v in step.items() if k not in (*STEP_COLUMNS, "metadata", "feedback")}
        row = conn.execute(sa.select(steps).where(steps.c.id == step["id"])).first()
        if row is None:
            self._ensure_thread(conn, step["threadId"])
            conn.execute(steps.insert().values(extra=dump_json(extra), **values))
        elif overwrite:  # a create never overwrites: an update that overtook it is newer
            values["extra"] = dump_json({**load_json(row.extra, {}), **extra})
            conn.execute(steps.update().where(steps.c.id == step["id"]).values(**values))

    @_queued
    async def create_step(self, step_dict: StepDict):
        await self._run(self._write_step, step_dict, False)

    @_queued
    async def update_step(self, step_dict: StepDict):
        """Upsert."""
        await self._run(self._write_step, step_dict, True)

    @_queued
    @_in_worker
    def delete_step(self, conn: sa.Connection, step_id: str):
        conn.execute(feedbacks.delete().where(feedbacks.c.for_id == step_id))
        conn.execute(elements.delete().where(elements.c.for_id == step_id))
        conn.execute(steps.delete().where(steps.c.id == step_id))

    @_in_worker
    def get_favorite_steps(self, conn: sa.Connection, user_id: str) -> list[StepDict]:
        """Steps whose metadata has ``favorite: true`` (``set_step_favorite`` is the base's)."""
        query = (
            sa.select(steps)
            .join(threads, threads.c.id == steps.c.thread_id)
            .where(threads.c.user_id == user_id, steps.c.metadata.contains('"favorite"'))
            .order_by(steps.c.created_at.desc(), steps.c.seq.desc())
        )
        found = [step_dict(row) for row in conn.execute(query)]
        return [step for step in found if step["metadata"].get("favorite") is True]

    # --- feedback ------------------------------------------------------------------------
    @_in_worker
    def upsert_feedback(self, conn: sa.Connection, feedback: Feedback) -> str:
        feedback_id = feedback.id or str(uuid.uuid4())
        of_step = sa.select(steps.c.thread_id).where(steps.c.id == feedback.forId)
        thread_id = feedback.threadId or conn.execute(of_step).scalar()
        upsert(conn, feedbacks, feedback_id, for_id=feedback.forId, thread_id=thread_id,
                value=int(feedback.value), comment=feedback.comment)  # fmt: skip
        return feedback_id

    @_in_worker
    def delete_feedback(self, conn: sa.Connection, feedback_id: str) -> bool:
        return conn.execute(feedbacks.delete().where(feedbacks.c.id == feedback_id)).rowcount > 0

    # --- elements (inline: stored as their dict, no file is read or uploaded) -------------
    @_queued
    async def create_element(self, element: Element):
        data = dict(element.to_dict())
        if isinstance(getattr(element, "content", None), str):
            data["content"] = element.content  # e.g. cl.Text: rendered again on resume
        await self._run(
            upsert, elements, data["id"], thread_id=data.get("threadId"),
            for_id=data.get("forId"), data=dump_json(data),
        )  # fmt: skip

    @_in_worker
    def get_element(
        self, conn: sa.Connection, thread_id: str, element_id: str
    ) -> ElementDict | None:
        query = sa.select(elements.c.data).where(
            elements.c.id == element_id, elements.c.thread_id == thread_id
        )
        return load_json(conn.execute(query).scalar())

    @_queued
    @_in_worker
    def delete_element(self, conn: sa.Connection, element_id: str, thread_id: str | None = None):
        query = elements.delete().where(elements.c.id == element_id)
        if thread_id is not None:
            query = query.where(elements.c.thread_id == thread_id)
        conn.execute(query)

    # --- the rest ------------------------------------------------------------------------
    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        """Dispose of the engine's connections (after pending writes); it reconnects on use."""
        await asyncio.get_running_loop().run_in_executor(self._worker, self.engine.dispose)
