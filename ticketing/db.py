"""Engine construction: the async driver is chosen from a plain URL, SQLite is tuned for a helpdesk.

SQLite runs in WAL mode with synchronous=FULL (a committed ticket survives power loss) and every
transaction starts with BEGIN IMMEDIATE, so two writers queue on the busy timeout instead of failing
when a read transaction tries to upgrade to a write.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def async_url(url: str) -> URL:
    """sqlite:///x.db -> sqlite+aiosqlite; postgresql:// and postgres:// -> postgresql+asyncpg."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upsert(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which has `on_conflict_do_nothing/update` on both backends."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = async_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_size"] = pool_size
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **kwargs)
    if parsed.drivername.startswith("sqlite"):
        _tune_sqlite(engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
