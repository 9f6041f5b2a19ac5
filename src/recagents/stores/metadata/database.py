"""Engines for the metadata store: one code path for SQLite and MySQL/MariaDB.

``read_only=True`` gives the agent-side access path; the database itself refuses writes on it
(SQLite ``PRAGMA query_only``, MySQL ``SET SESSION TRANSACTION READ ONLY``), so nothing an agent
can call may write, whatever SQL reaches it. On MySQL the agent side can also connect as its own
SELECT-only user (``RECAGENTS_DATABASE_READONLY_URL``; ``engine_for`` picks it), so even a
session that left read-only mode has no write privilege.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from recagents.errors import BackendUnavailableError, InvalidArgumentError
from recagents.settings import Settings

_UNKNOWN_DATABASE = 1049
DATABASE_SETTING = "RECAGENTS_DATABASE_URL"
READONLY_SETTING = "RECAGENTS_DATABASE_READONLY_URL"
_SETTING_OF: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _hint(url: str) -> str:
    return (
        f"cannot reach the metadata database {make_url(url).render_as_string(hide_password=True)}"
    )


def engine_for(settings: Settings, *, read_only: bool) -> Engine:
    """The engine of ``settings``' metadata store: the agent-side URL
    (``settings.agent_database_url``, a SELECT-only user when configured) when ``read_only``,
    else the build URL."""
    if read_only and settings.database_readonly_url:
        return make_engine(settings.agent_database_url, read_only=True, setting=READONLY_SETTING)
    return make_engine(settings.sqlalchemy_url, read_only=read_only)


def make_engine(url: str, *, read_only: bool = False, setting: str = DATABASE_SETTING) -> Engine:
    """Create an engine for ``url``; raises ``InvalidArgumentError`` for a malformed URL.

    ``setting`` is the variable that gave ``url``: errors name it.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidArgumentError(
            f"{setting} is not a valid SQLAlchemy URL ({exc}); "
            "e.g. mysql+pymysql://user:pw@127.0.0.1:3306/recagents or sqlite:///data/x.sqlite"
        ) from exc
    kwargs: dict = {"pool_pre_ping": True}
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif backend in ("mysql", "mariadb"):
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        kwargs["connect_args"] = {"connect_timeout": 5, "read_timeout": 60, "write_timeout": 60}
        kwargs["pool_recycle"] = 3600
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise InvalidArgumentError(
            f"unsupported {setting} backend {backend!r}: use sqlite:/// or mysql+pymysql://"
        ) from exc
    _SETTING_OF[engine] = setting

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
        cursor = dbapi_conn.cursor()
        if backend == "sqlite":
            cursor.execute("PRAGMA foreign_keys=ON")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
        elif read_only:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
        cursor.close()

    return engine


def _create_mysql_database(url: str) -> None:
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""), pool_pre_ping=True)
    try:
        with server.begin() as conn:
            conn.execute(
                text(
                    f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
    finally:
        server.dispose()


def check_connection(engine: Engine, *, create_database: bool = False) -> None:
    """Connect once; a clear ``BackendUnavailableError`` if the database cannot be reached.

    With ``create_database=True`` a missing MySQL database is created (setup does this).
    """
    url = engine.url.render_as_string(hide_password=False)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
        if (
            create_database
            and code == _UNKNOWN_DATABASE
            and engine.url.get_backend_name()
            in (
                "mysql",
                "mariadb",
            )
        ):
            _create_mysql_database(url)
            return check_connection(engine)
        setting = _SETTING_OF.get(engine, DATABASE_SETTING)
        raise BackendUnavailableError(
            f"{_hint(url)}: {exc.orig}. Check that the server runs and that "
            f"{setting} (user, password, host, port, database) is right."
        ) from exc
