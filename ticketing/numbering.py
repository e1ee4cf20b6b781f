"""Ticket numbers PREFIX-YYYYMMDD-NNNN, unique across processes.

The counter row of the day is bumped with one atomic upsert (`INSERT … ON CONFLICT DO UPDATE …
RETURNING`). On PostgreSQL concurrent transactions queue on that row's lock, on SQLite on the write
lock, so two creators can never read the same number; a rolled-back transaction gives its number
back with it.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from ticketing.db import upsert
from ticketing.orm import TicketCounter


def format_ticket_no(prefix: str, day: str, number: int) -> str:
    return f"{prefix}-{day}-{number:04d}"


def ticket_no_pattern(prefix: str) -> re.Pattern[str]:
    # lookarounds instead of \b: Chinese characters count as word characters
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-\d{{8}}-\d{{4,}}(?!\d)", re.IGNORECASE)


@functools.cache
def _bump(dialect: str) -> Any:
    table = TicketCounter.__table__
    return (
        upsert(dialect)(table)
        .on_conflict_do_update(
            index_elements=[table.c.prefix, table.c.day], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )


def next_ticket_no(
    conn: Connection, prefix: str, created_at: datetime, zone: ZoneInfo
) -> str:
    day = created_at.astimezone(zone).strftime("%Y%m%d")
    stmt = _bump(conn.dialect.name)
    number = (conn.execute(stmt, {"prefix": prefix, "day": day, "last": 1})).scalar_one()
    return format_ticket_no(prefix, day, number)
