"""Files that came with reports: filled in once a channel has fetched them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.orm import Attachment

_ATTACHMENTS = Attachment.__table__


def store(
    engine: Engine,
    attachment_id: int,
    data: bytes,
    content_type: str | None,
    filename: str | None,
    now: datetime,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(_ATTACHMENTS)
            .where(_ATTACHMENTS.c.id == attachment_id)
            .values(
                data=data,
                size=len(data),
                content_type=content_type,
                filename=filename,
                status="stored",
                error=None,
                stored_at=now,
            )
        )


def fail(engine: Engine, attachment_id: int, reason: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(_ATTACHMENTS)
            .where(_ATTACHMENTS.c.id == attachment_id)
            .values(status="failed", error=reason[:2000])
        )


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    filename: str | None
    content_type: str | None
    size: int | None
    status: str
    channel: str


async def attachments_of(session: AsyncSession, work_order_id: int) -> list[AttachmentInfo]:
    rows = await session.execute(
        select(
            Attachment.id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
            Attachment.status,
            Attachment.channel,
        )
        .where(Attachment.work_order_id == work_order_id)
        .order_by(Attachment.id)
    )
    return [AttachmentInfo(**row._mapping) for row in rows]
