"""Writing the append-only event log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.orm import Event


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


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
    event = Event(
        work_order_id=work_order_id,
        actor=actor,
        action=action,
        field=field,
        old=_text(old),
        new=_text(new),
        data=data or {},
        at=at,
    )
    session.add(event)
    return event
