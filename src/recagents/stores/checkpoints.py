"""The LangGraph checkpointer of conversations and the agents' LangGraph Store, in the
configured database.

SQLite (the embedded default, ``langgraph-checkpoint-sqlite``) or MySQL/MariaDB
(``langgraph-checkpoint-mysql``'s PyMySQL saver) — the same database the metadata lives in, so
one URL configures both. Conversation state (messages, candidate sets, the last
recommendation) is what the saver persists; it writes, so it uses the read-write URL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from sqlalchemy.engine import make_url

from recagents.errors import BackendUnavailableError, InvalidArgumentError


@contextmanager
def open_checkpointer(database_url: str) -> Iterator[BaseCheckpointSaver]:
    """A ready checkpointer (tables created) for a SQLAlchemy-style database URL."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = _connect_sqlite(url)
        try:
            sqlite_saver = SqliteSaver(conn)
            sqlite_saver.setup()
            yield sqlite_saver
        finally:
            conn.close()
    elif backend in ("mysql", "mariadb"):
        from langgraph.checkpoint.mysql.pymysql import PyMySQLSaver

        conn = _connect_mysql(database_url, "conversation store")
        try:
            mysql_saver = PyMySQLSaver(conn)
            mysql_saver.setup()
            _align_collation(conn)
            yield mysql_saver
        finally:
            conn.close()
    else:
        raise InvalidArgumentError(
            f"no conversation checkpointer for database backend {backend!r}: use sqlite or mysql"
        )


def _connect_sqlite(url, **options) -> sqlite3.Connection:
    path = url.database or ":memory:"
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return sqlite3.connect(path, check_same_thread=False, **options)


def _connect_mysql(database_url: str, what: str):
    import pymysql

    url = make_url(database_url)
    try:
        return pymysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            database=url.database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
        )
    except pymysql.MySQLError as exc:
        raise BackendUnavailableError(
            f"cannot open the {what} at {url.render_as_string(hide_password=True)}: {exc}"
        ) from exc


@contextmanager
def open_store(database_url: str) -> Iterator[BaseStore]:
    """A ready LangGraph ``Store`` (key-value, tables created) in the configured database: what
    the agents persist across requests (User Understanding's profiles, ``agents.profiles``)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        from langgraph.store.sqlite import SqliteStore

        conn = _connect_sqlite(url, isolation_level=None)
        try:
            store = SqliteStore(conn)
            store.setup()
            yield store
        finally:
            conn.close()
    elif backend in ("mysql", "mariadb"):
        from langgraph.store.mysql.pymysql import PyMySQLStore

        conn = _connect_mysql(database_url, "agents' store")
        try:
            mysql_store = PyMySQLStore(conn)
            mysql_store.setup()
            yield mysql_store
        finally:
            conn.close()
    else:
        raise InvalidArgumentError(
            f"no LangGraph store for database backend {backend!r}: use sqlite or mysql"
        )


_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def _align_collation(conn) -> None:
    """Give the saver's tables utf8mb4's default collation.

    The saver's read query compares its columns with a ``JSON_TABLE`` column declared
    ``CHARACTER SET utf8mb4``, which takes that charset's default collation; tables created in a
    database with another default (ours: utf8mb4_unicode_ci) then fail with "Illegal mix of
    collations". Converting once makes both sides agree (MariaDB and MySQL alike).
    """
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS "
            "WHERE CHARACTER_SET_NAME = 'utf8mb4'"
        )
        (default,) = cursor.fetchone()
        cursor.execute(
            "SELECT DISTINCT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
            "DATABASE() AND TABLE_NAME IN %s AND COLLATION_NAME IS NOT NULL "
            "AND COLLATION_NAME NOT IN (%s, 'utf8mb4_bin')",
            (_TABLES, default),
        )
        for (table,) in cursor.fetchall():
            cursor.execute(
                f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE {default}"
            )
