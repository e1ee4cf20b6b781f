"""Shared fixtures: a real SQLite file and a real PostgreSQL database for every storage test.

`db_url` is parametrized over both backends, so each test that uses it runs twice. PostgreSQL is
found at XCDESK_TEST_PG_URL (default: the local server as user postgres); the session creates its
own database there and drops it at the end. Set XCDESK_TEST_SKIP_PG=1 to run on SQLite only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from classifier.triage import Triager
from server.runtime import build_classifier, build_desk
from server.settings import load_settings
from ticketing.db import Database, create_engine
from ticketing.desk import Desk
from ticketing.migrate import upgrade
from ticketing.orm import Base

PG_ADMIN_URL = os.environ.get(
    "XCDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SKIP_PG = os.environ.get("XCDESK_TEST_SKIP_PG") == "1"
T = TypeVar("T")
BACKENDS = ["sqlite"] if SKIP_PG else ["sqlite", "postgresql"]


class Clock:
    """A clock tests can move; starts at a fixed moment so deadlines are checkable by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even while a test's loop is running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _migrate(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    run_in_thread(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin = make_url(PG_ADMIN_URL)
    name = f"xcdesk_test_{uuid.uuid4().hex[:10]}"

    async def admin_run(sql: str) -> None:
        conn = await asyncpg.connect(
            host=admin.host, port=admin.port or 5432, user=admin.username,
            password=admin.password, database=admin.database,
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        run_in_thread(admin_run(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); start it, point "
            "XCDESK_TEST_PG_URL at one, or set XCDESK_TEST_SKIP_PG=1"
        )
    url = admin.set(database=name).render_as_string(hide_password=False)
    _migrate(url)
    yield url
    run_in_thread(admin_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "xcdesk.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    await _truncate_pg(url)
    return url


@pytest.fixture
def clock() -> Clock:
    # 2026-11-27 09:00 in Guangxi (UTC+8)
    return Clock(datetime(2026, 11, 27, 1, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def triager() -> Triager:
    """The shipped classifier, loaded once for the whole run."""
    return build_classifier(load_settings())


@pytest.fixture
async def desk(db_url: str, clock: Clock, triager: Triager) -> AsyncIterator[Desk]:
    settings = load_settings()
    database = Database.open(db_url)
    yield replace(build_desk(settings, database, triager), clock=clock)
    await database.dispose()
