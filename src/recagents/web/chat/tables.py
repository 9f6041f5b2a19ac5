"""The tables of the chat's data layer (``chat_*``, beside the metadata and checkpoint tables)
and the conversions between their rows and Chainlit's dicts.

Plain column types on SQLite and MySQL/MariaDB (JSON is stored as text, keys are binary-collated
utf8mb4 strings), no foreign keys; ``seq`` columns keep the creation order of threads and steps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from chainlit.types import ThreadDict
from sqlalchemy.dialects import mysql

if TYPE_CHECKING:
    from chainlit.step import StepDict

_DB = ("mysql", "mariadb")
Key = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), *_DB)
LongText = sa.Text().with_variant(mysql.LONGTEXT(), *_DB)
Stamp = sa.String(40)
_OPTS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
MESSAGE_TYPES = ("user_message", "assistant_message")

metadata = sa.MetaData()
users = sa.Table(
    "chat_users", metadata,
    sa.Column("id", Key, primary_key=True),
    sa.Column("identifier", Key, nullable=False, unique=True),
    sa.Column("display_name", LongText),
    sa.Column("metadata", LongText),
    sa.Column("created_at", Stamp),
    **_OPTS,
)  # fmt: skip
threads = sa.Table(
    "chat_threads", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # creation order
    sa.Column("id", Key, nullable=False, unique=True),
    sa.Column("created_at", Stamp),
    sa.Column("name", LongText),
    sa.Column("user_id", Key, index=True),
    sa.Column("user_identifier", Key),
    sa.Column("tags", LongText),
    sa.Column("metadata", LongText),
    sqlite_autoincrement=True, **_OPTS,
)  # fmt: skip
steps = sa.Table(
    "chat_steps", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # tiebreak of createdAt
    sa.Column("id", Key, nullable=False, unique=True),
    sa.Column("thread_id", Key, nullable=False, index=True),
    sa.Column("parent_id", Key),
    sa.Column("name", LongText),
    sa.Column("type", sa.String(64)),
    sa.Column("input", LongText),
    sa.Column("output", LongText),
    sa.Column("metadata", LongText),
    sa.Column("created_at", Stamp),
    sa.Column("start_time", Stamp),
    sa.Column("end_time", Stamp),
    sa.Column("is_error", sa.Boolean),
    sa.Column("extra", LongText),  # the rest of the StepDict
    sqlite_autoincrement=True, **_OPTS,
)  # fmt: skip
elements = sa.Table(
    "chat_elements", metadata,
    sa.Column("id", Key, primary_key=True),
    sa.Column("thread_id", Key, index=True),
    sa.Column("for_id", Key, index=True),
    sa.Column("data", LongText),  # the ElementDict
    **_OPTS,
)  # fmt: skip
feedbacks = sa.Table(
    "chat_feedback", metadata,
    sa.Column("id", Key, primary_key=True),
    sa.Column("for_id", Key, nullable=False, index=True),
    sa.Column("thread_id", Key, index=True),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("comment", LongText),
    **_OPTS,
)  # fmt: skip

# StepDict key -> column (metadata, feedback and everything else are handled apart)
STEP_COLUMNS = {
    "id": "id", "threadId": "thread_id", "parentId": "parent_id", "name": "name",
    "type": "type", "input": "input", "output": "output", "createdAt": "created_at",
    "start": "start_time", "end": "end_time", "isError": "is_error",
}  # fmt: skip


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dump_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def load_json(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def upsert(conn: sa.Connection, table: sa.Table, row_id: str, **values: Any) -> None:
    if conn.execute(sa.select(table.c.id).where(table.c.id == row_id)).first() is None:
        conn.execute(table.insert().values(id=row_id, **values))
    else:
        conn.execute(table.update().where(table.c.id == row_id).values(**values))


def thread_dict(row: sa.Row) -> ThreadDict:
    return ThreadDict(
        id=row.id, createdAt=row.created_at, name=row.name, userId=row.user_id,
        userIdentifier=row.user_identifier, tags=load_json(row.tags),
        metadata=load_json(row.metadata, {}), steps=[], elements=[],
    )  # fmt: skip


def step_dict(row: sa.Row, vote: dict | None = None) -> StepDict:
    step = load_json(row.extra, {})
    step.update({key: getattr(row, col) for key, col in STEP_COLUMNS.items()})
    step["isError"] = None if row.is_error is None else bool(row.is_error)
    step["metadata"] = load_json(row.metadata, {})
    if vote is not None:
        step["feedback"] = vote
    return step
