"""The ledger export (服务保障台账): every work order under its field ids.

JSON lines keep ids and ISO timestamps for machines (the central platform); CSV is for people:
Chinese headers and labels, local times, UTF-8 with a BOM so spreadsheet software detects it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.orm import WorkOrder
from ticketing.queries import FIELD_IDS, as_json, field_values
from ticketing.vocabulary import Vocabulary

# field id -> vocabulary section of its values
_LABELLED = {
    "status": "status",
    "channel": "channel",
    "channel_detail": "channel_detail",
    "handling_mode": "handling_mode",
    "product_category": "product_category",
    "level": "level",
    "satisfaction": "satisfaction",
    "responsibility_basis": "responsibility_basis",
    "same_city": "same_city",
}
_BATCH = 500


async def work_orders(session: AsyncSession, since: datetime | None) -> AsyncIterator[WorkOrder]:
    stmt = select(WorkOrder).order_by(WorkOrder.id).execution_options(yield_per=_BATCH)
    if since is not None:
        stmt = stmt.where(WorkOrder.reported_at >= since)
    result = await session.stream_scalars(stmt)
    async for order in result:
        yield order


def csv_headers(vocabulary: Vocabulary) -> list[str]:
    return [vocabulary.field_names[name] for name in FIELD_IDS]


def csv_cell(value: Any, vocabulary: Vocabulary, zone: ZoneInfo, section: str | None = None) -> str:
    """A value as people read it: its Chinese label (from vocabulary `section`), 是/否, a local
    time, a date, items joined by "；"; "" for nothing. Shared by the complaint ledger."""
    if value is None:
        return ""
    if section is not None:
        return vocabulary.label(section, value)
    if isinstance(value, bool):
        return vocabulary.label("bool", value)
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def csv_writer(out: TextIO, headers: Iterable[str]) -> Any:
    """A CSV writer on `out` that spreadsheet software opens as UTF-8 (a BOM first)."""
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(headers)
    return writer


async def export(
    session: AsyncSession,
    out: TextIO,
    fmt: str,
    vocabulary: Vocabulary,
    zone: ZoneInfo,
    since: datetime | None = None,
) -> int:
    """Write the ledger to `out`; returns the number of work orders written."""
    count = 0
    writer = None
    if fmt == "csv":
        writer = csv_writer(out, csv_headers(vocabulary))
    async for order in work_orders(session, since):
        values = field_values(order)
        if writer is not None:
            writer.writerow([csv_cell(values[k], vocabulary, zone, _LABELLED.get(k))
                             for k in FIELD_IDS])
        else:
            out.write(json.dumps(as_json(values), ensure_ascii=False) + "\n")
        count += 1
    return count
