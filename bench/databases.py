"""A fresh, empty database per benchmark round: a SQLite file in a temporary folder, or a
PostgreSQL database created on the server and dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


class Unavailable(Exception):
    """The PostgreSQL server cannot be reached: the backend is not measured."""


@contextlib.contextmanager
def fresh_database(backend: str, pg_url: str, name: str) -> Iterator[str]:
    """The URL of a new empty database for `backend` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"xcdesk-bench-{name}-") as tmp:
            yield f"sqlite:///{Path(tmp) / f'{name}.db'}"
        return
    database = f"xcdesk_bench_{name}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(pg_url, f'CREATE DATABASE "{database}"'))
    except OSError as exc:
        raise Unavailable(str(exc)) from exc
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{database}"
    finally:
        asyncio.run(_admin(pg_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
