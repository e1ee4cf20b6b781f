"""People correcting triage: the change is applied, audited, and kept for retraining."""

from __future__ import annotations

from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from classifier.corpus import Example
from ticketing import audit, complaints
from ticketing.desk import Desk
from ticketing.fields import InvalidField, check_choice
from ticketing.orm import TriageCorrection, WorkOrder
from ticketing.workflow import Actor, load_order

CORRECTABLE = ("level", "product_category", "complaint")
# the corpus knows the channel a user wrote in, not our channel_detail's api/web split
_CORPUS_CHANNEL = {"wechat": "wechat", "email": "email", "phone": "phone", "web": "web",
                   "api": "web"}


def _check(field: str, value: Any) -> Any:
    if field != "complaint":
        return check_choice(field, value)
    if not isinstance(value, bool):
        raise InvalidField(field, "应为 true / false 之一")
    return value


async def correct_triage(
    desk: Desk, ticket_no: str, actor: Actor, changes: dict[str, Any]
) -> WorkOrder:
    """Apply a person's level / category / complaint; unchanged values record nothing."""
    for field in changes:
        if field not in CORRECTABLE:
            raise InvalidField(field, "不支持的字段")
    checked = {field: _check(field, value) for field, value in changes.items()}
    async with desk.uow() as uow:
        session = uow.session
        order = await load_order(session, ticket_no, actor, lock=True)
        now = desk.clock()
        for field, new in checked.items():
            old = getattr(order, field)
            if old == new:
                continue
            setattr(order, field, new)
            session.add(
                TriageCorrection(
                    work_order_id=order.id,
                    field=field,
                    old=None if old is None else str(old),
                    new=str(new),
                    actor=actor.name,
                    at=now,
                )
            )
            audit.record(
                session,
                at=now,
                actor=actor.name,
                action="triage_corrected",
                work_order_id=order.id,
                field=field,
                old=old,
                new=new,
            )
            order.needs_review = False
            if field == "complaint" and new:  # a person says it is one: it enters the ledger
                await session.flush()
                await session.run_sync(lambda s, o=order: complaints.file(
                    desk, s.connection(), o.id, "agent", o.description, actor.name, now))
        order.updated_at = now
        await uow.commit()
        return order


def as_example(order: WorkOrder, known_places: frozenset[str]) -> Example:
    return Example(
        text=order.description,
        channel=_CORPUS_CHANNEL.get(order.channel_detail, "web"),
        level=order.level,
        category=order.product_category,
        complaint=order.complaint,
        brand=order.product_brand,
        model=order.product_model,
        location=order.site_district if order.site_district in known_places else None,
    )


async def export_corrections(session: AsyncSession, out: TextIO, desk: Desk) -> int:
    """Write every corrected ticket, with the labels people settled on, in the corpus format."""
    corrected = select(TriageCorrection.work_order_id).distinct()
    orders = await session.scalars(
        select(WorkOrder).where(WorkOrder.id.in_(corrected)).order_by(WorkOrder.id)
    )
    places = desk.regions.names()
    count = 0
    for order in orders:
        out.write(as_example(order, places).to_json() + "\n")
        count += 1
    return count
