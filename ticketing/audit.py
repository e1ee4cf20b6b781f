"""Writing the append-only event log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.orm import Event


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _row(
    at: datetime, actor: str, action: str, work_order_id: int | None, field: str | None,
    old: Any, new: Any, data: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "work_order_id": work_order_id, "actor": actor, "action": action, "field": field,
        "old": _text(old), "new": _text(new), "data": data or {}, "at": at,
    }


def record_sync(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    work_order_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    data: dict[str, Any] | None = None,
) -> None:
    """`record` for the Core paths (intake's writer, the watcher, the dispatcher)."""
    conn.execute(
        insert(Event.__table__),
        _row(at, actor, action, work_order_id, field, old, new, data),
    )


def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    work_order_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    data: dict[str, Any] | None = None,
) -> Event:
    event = Event(**_row(at, actor, action, work_order_id, field, old, new, data))
    session.add(event)
    return event
