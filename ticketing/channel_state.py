"""Small state the channels share across processes: API access tokens, seen nonces.

The interface of `get`/`set`/`delete` is the one wechatpy expects of a token `session`, so the
WeChat client keeps its access token here, in the database every process uses: one token per
AppID, not one per process (each fetch of a new token invalidates the previous one).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, select
from sqlalchemy.engine import Connection

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

    def claim_nonce(self, guard: ReplayGuard) -> None:
        """`claim_nonce` in a transaction of its own (for what does not go through intake)."""
        with self._engine.begin() as conn:
            claim_nonce(conn, guard, self._clock())

    def sweep(self, prefix: str) -> int:
        """Forget the expired entries under `prefix` (`nonce:`); returns how many."""
        with self._engine.begin() as conn:
            return conn.execute(
                delete(ChannelState).where(
                    ChannelState.expires_at <= self._clock(), ChannelState.key.like(prefix + "%")
                )
            ).rowcount


@dataclass(frozen=True)
class ReplayGuard:
    """A request's nonce (`key`) and a digest of its body: the same request may come again
    (WeChat retrying), another body with the same nonce may not."""

    key: str
    digest: str
    ttl: timedelta


class NonceReplayed(Exception):
    def __init__(self) -> None:
        super().__init__("replayed nonce with another body")


@functools.cache
def _claim(dialect: str) -> Any:
    stmt = upsert(dialect)(_STATE)
    return stmt.on_conflict_do_update(
        index_elements=[_STATE.c.key],
        set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
        where=_STATE.c.expires_at <= bindparam("now"),  # only an expired entry is replaced
    ).returning(_STATE.c.key)


def claim_nonce(conn: Connection, guard: ReplayGuard, now: datetime) -> None:
    """Record the nonce; NonceReplayed if a live entry holds another digest (nothing written).

    One statement when the nonce is new, which is the hot path of plaintext mode.
    """
    params = {"key": guard.key, "value": guard.digest, "expires_at": now + guard.ttl, "now": now}
    if conn.execute(_claim(conn.dialect.name), params).first() is not None:
        return
    seen = conn.execute(select(_STATE.c.value).where(_STATE.c.key == guard.key)).scalar_one()
    if seen != guard.digest:
        raise NonceReplayed()
