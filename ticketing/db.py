"""Engines: the drivers are chosen from a plain URL, SQLite is tuned for a helpdesk.

Each database gets two engines: an async one (aiosqlite / asyncpg) for the request handlers and
the ORM use cases, and a sync one (sqlite3 / psycopg) that the intake hot path drives from worker
threads, because per statement the sync drivers cost a fraction of the async ones
(aiosqlite hops to its own thread several times per statement).

SQLite runs in WAL mode with synchronous=FULL (a committed ticket survives power loss) and every
transaction starts with BEGIN IMMEDIATE, so two writers queue on the busy timeout instead of failing
when a read transaction tries to upgrade to a write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def _parse(url: str) -> URL:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    return make_url(url)


def async_url(url: str) -> URL:
    """sqlite:///x.db -> sqlite+aiosqlite; postgresql:// and postgres:// -> postgresql+asyncpg."""
    parsed = _parse(url)
    return parsed.set(drivername=_ASYNC_DRIVERS[parsed.get_backend_name()])


def sync_url(url: str) -> URL:
    """The same database through the sync driver (sqlite3, psycopg)."""
    parsed = _parse(url)
    return parsed.set(drivername=_SYNC_DRIVERS[parsed.get_backend_name()])


def upsert(dialect: str) -> Callable[..., Any]:
    """The dialect's INSERT, which has `on_conflict_do_nothing/update` on both backends."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _tune_sqlite(sync_engine: Engine) -> None:
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


def _options(parsed: URL, echo: bool, pool_size: int) -> dict[str, Any]:
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return {"echo": echo}
    return {"echo": echo, "pool_size": pool_size, "pool_pre_ping": True}


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = async_url(url)
    engine = create_async_engine(parsed, **_options(parsed, echo, pool_size))
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine.sync_engine)
    return engine


def create_writer(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    parsed = sync_url(url)
    engine = create_sync_engine(parsed, **_options(parsed, echo, pool_size))
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine


@dataclass(frozen=True)
class Database:
    """Both engines of one database."""

    engine: AsyncEngine
    writer: Engine

    @classmethod
    def open(cls, url: str, *, echo: bool = False, pool_size: int = 10) -> Database:
        return cls(
            engine=create_engine(url, echo=echo, pool_size=pool_size),
            writer=create_writer(url, echo=echo, pool_size=pool_size),
        )

    async def dispose(self) -> None:
        await self.engine.dispose()
        self.writer.dispose()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
