"""Small state the channels share across processes: API access tokens, seen nonces.

The interface of `get`/`set`/`delete` is the one wechatpy expects of a token `session`, so the
WeChat client keeps its access token here, in the database every process uses: one token per
AppID, not one per process (each fetch of a new token invalidates the previous one).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select

from ticketing.db import upsert
from ticketing.orm import ChannelState

_STATE = ChannelState.__table__


@functools.cache
def _put(dialect: str) -> Any:
    stmt = upsert(dialect)(_STATE)
    return stmt.on_conflict_do_update(
        index_elements=[_STATE.c.key],
        set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
    )


@functools.cache
def _add(dialect: str) -> Any:
    return (
        upsert(dialect)(_STATE)
        .on_conflict_do_nothing(index_elements=[_STATE.c.key])
        .returning(_STATE.c.key)
    )


class ChannelStateStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_STATE.c.value, _STATE.c.expires_at).where(_STATE.c.key == key)
            ).one_or_none()
        if row is None or (row.expires_at is not None and row.expires_at <= self._clock()):
            return default
        return row.value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = self._clock() + timedelta(seconds=ttl) if ttl else None
        with self._engine.begin() as conn:
            conn.execute(
                _put(conn.dialect.name), {"key": key, "value": str(value), "expires_at": expires}
            )

    def delete(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(ChannelState).where(ChannelState.key == key))

    def add_once(self, key: str, value: str, ttl: int) -> bool:
        """Store `key` unless a live entry exists; False means it was seen before (a replay).

        Expired entries are swept on the way, so the table holds one window's worth.
        """
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(
                delete(ChannelState).where(
                    ChannelState.expires_at <= now,
                    ChannelState.key.like(key.split(":", 1)[0] + ":%"),
                )
            )
            added = conn.execute(
                _add(conn.dialect.name),
                {"key": key, "value": value, "expires_at": now + timedelta(seconds=ttl)},
            ).scalar_one_or_none()
        return added is not None
