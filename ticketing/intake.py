"""`receive`: the one entry every channel calls.

In one transaction: store the raw message (a redelivery is recognised by (channel, external id)
and answered as the first delivery was), find or register the sender, attach the message to the
open ticket it names, or open a work order with triage, SLA deadlines, an audit event and the
acknowledgement in the outbox. The caller acknowledges to its channel only after this returns.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from classifier.triage import Triage
from ticketing import audit
from ticketing.desk import Desk
from ticketing.directory import contact_for, vendor_named
from ticketing.fields import InvalidField, clean_intake_fields
from ticketing.lifecycle import Status
from ticketing.model import Inbound, IntakeResult, Outcome
from ticketing.numbering import next_ticket_no, ticket_no_pattern, upsert
from ticketing.orm import (
    Contact,
    ConversationMessage,
    InboundMessage,
    SecondaryVendor,
    WorkOrder,
)
from ticketing.outbox import Outbound, enqueue
from ticketing.sla import deadlines

# the channels where a person (agent, API client) vouches for the ticket number named
_STAFF_CHANNELS = frozenset({"phone", "api"})


class UnknownVendor(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown vendor {name!r}")
        self.name = name


async def receive(desk: Desk, inbound: Inbound) -> IntakeResult:
    """Store and process one inbound message; committed when this returns."""
    (result,) = await receive_many(desk, [inbound])
    if isinstance(result, Exception):
        raise result
    return result


async def receive_many(desk: Desk, inbounds: list[Inbound]) -> list[IntakeResult | Exception]:
    """Process several messages in one transaction (group commit), each in its own savepoint,
    so one bad message fails alone. Results are in the order of `inbounds`."""
    pattern = ticket_no_pattern(desk.prefix)
    # Classifying is pure and the slowest step: do it before taking the write lock.
    triages = [
        None if _named_ticket(pattern, i) else desk.classifier.triage(_triage_text(i))
        for i in inbounds
    ]
    results: list[IntakeResult | Exception] = []
    async with desk.uow() as uow:
        session = uow.session
        for inbound, triage in zip(inbounds, triages, strict=True):
            try:
                async with session.begin_nested():
                    results.append(await _receive_one(desk, session, inbound, triage, pattern))
            except (InvalidField, UnknownVendor) as exc:
                results.append(exc)
        await uow.commit()
    return results


def _triage_text(inbound: Inbound) -> str:
    return f"{inbound.subject}\n{inbound.text}" if inbound.subject else inbound.text


def _named_ticket(pattern: re.Pattern[str], inbound: Inbound) -> str | None:
    match = pattern.search(_triage_text(inbound))
    return match.group(0).upper() if match else None


async def _receive_one(
    desk: Desk,
    session: AsyncSession,
    inbound: Inbound,
    triage: Triage | None,
    pattern: re.Pattern[str],
) -> IntakeResult:
    if inbound.received_at.tzinfo is None:
        raise InvalidField("reported_at", "时间必须带时区")
    now = desk.clock()
    raw_id = await _store_raw(session, inbound, now)
    if raw_id is None:
        return await _replay(session, inbound)
    fields = clean_intake_fields(inbound.fields)
    contact = await contact_for(session, inbound.sender, now)
    named = _named_ticket(pattern, inbound)
    order = await _attachable(session, named, contact, inbound) if named else None
    outcome: Outcome
    if order is not None:
        await _append(session, order, inbound, raw_id, now)
        outcome = "appended"
    else:
        triage = triage or desk.classifier.triage(_triage_text(inbound))
        order = await _open(desk, session, inbound, raw_id, triage, fields, contact, named, now)
        outcome = "created"
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == raw_id)
        .values(work_order_id=order.id, outcome=outcome)
    )
    return _result(outcome, order)


def _result(outcome: Outcome, order: WorkOrder, first: Outcome | None = None) -> IntakeResult:
    return IntakeResult(
        outcome=outcome,
        ticket_no=order.ticket_no,
        level=order.level,
        status=order.status,
        respond_due=order.respond_due,
        first_outcome=first,
    )


async def _store_raw(session: AsyncSession, inbound: Inbound, now: datetime) -> int | None:
    """Insert the raw message; None when this (channel, external id) is already stored."""
    table = InboundMessage.__table__
    stmt = (
        upsert(session)(table)
        .values(
            channel=inbound.channel_detail,
            external_id=inbound.external_id,
            received_at=inbound.received_at,
            stored_at=now,
            sender=inbound.sender.as_dict(),
            subject=inbound.subject,
            text=inbound.text,
            raw=inbound.raw,
        )
        .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.external_id])
        .returning(table.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _replay(session: AsyncSession, inbound: Inbound) -> IntakeResult:
    """A redelivery: answer what the first delivery got, write nothing."""
    row = (
        await session.execute(
            select(InboundMessage.outcome, WorkOrder)
            .join(WorkOrder, WorkOrder.id == InboundMessage.work_order_id)
            .where(
                InboundMessage.channel == inbound.channel_detail,
                InboundMessage.external_id == inbound.external_id,
            )
        )
    ).one()
    return _result("duplicate", row.WorkOrder, first=row.outcome)


async def _attachable(
    session: AsyncSession, ticket_no: str, contact: Contact | None, inbound: Inbound
) -> WorkOrder | None:
    """The open ticket a message names, if the sender may add to it.

    Anyone can type a ticket number, so a message joins it only from the ticket's own contact,
    a colleague of the same unit, or a staff channel; otherwise it opens a ticket of its own.
    """
    order = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == ticket_no))
    if order is None or order.status == Status.CLOSED:
        return None
    if inbound.channel_detail in _STAFF_CHANNELS:
        return order
    if contact is None:
        return None
    if order.contact_id == contact.id:
        return order
    org = contact.organisation
    return order if org is not None and org.name == order.org_name else None


async def _append(
    session: AsyncSession, order: WorkOrder, inbound: Inbound, raw_id: int, now: datetime
) -> None:
    session.add(
        ConversationMessage(
            work_order_id=order.id,
            direction="in",
            channel=inbound.channel_detail,
            author=_author(inbound),
            body=inbound.text,
            inbound_id=raw_id,
            created_at=now,
        )
    )
    order.updated_at = now
    audit.record(
        session,
        at=now,
        actor=inbound.actor,
        action="message_added",
        work_order_id=order.id,
        data={"channel": inbound.channel_detail, "inbound_id": raw_id},
    )
    await session.flush()


def _author(inbound: Inbound) -> str | None:
    s = inbound.sender
    return s.name or s.email or s.phone or s.wechat_openid


def _triage_record(triage: Triage, set_by_person: list[str]) -> dict[str, Any]:
    record = asdict(triage)
    record["overrides"] = list(triage.overrides)
    record["set_by_person"] = set_by_person
    return record


async def _open(
    desk: Desk,
    session: AsyncSession,
    inbound: Inbound,
    raw_id: int,
    triage: Triage,
    fields: dict[str, Any],
    contact: Contact | None,
    mentioned: str | None,
    now: datetime,
) -> WorkOrder:
    org = contact.organisation if contact else None
    site = (
        inbound.site_district
        or fields.get("site_district")
        or (triage.location.district if triage.location else None)
        or (org.district if org else None)
    )
    district = desk.regions.lookup(site) if site else None
    same_city = district.same_city if district else None
    due = deadlines(desk.sla, inbound.received_at, same_city)
    primary = await _vendor(session, fields.get("primary_vendor"))
    secondaries = [await _vendor(session, name) for name in fields.get("secondary_vendors", [])]
    person_set = sorted(k for k in fields if k in {"level", "product_category", "complaint"})
    confident = triage.confidence >= desk.review_threshold
    order = WorkOrder(
        ticket_no=await next_ticket_no(session, desk.prefix, now, desk.zone),
        status=Status.RECEIVED.value,
        org_name=fields.get("org_name") or inbound.sender.org_name or (org.name if org else None),
        contact_name=fields.get("contact_name")
        or inbound.sender.name
        or (contact.name if contact else None),
        contact_phone=fields.get("contact_phone")
        or inbound.sender.phone
        or (contact.phone if contact else None),
        channel=inbound.channel,
        channel_detail=inbound.channel_detail,
        reported_at=inbound.received_at,
        accepted_at=inbound.accepted_at,
        created_at=now,
        handling_mode=fields.get("handling_mode"),
        product_category=fields.get("product_category", triage.category),
        product_brand=fields.get("product_brand", triage.brand),
        product_model=fields.get("product_model", triage.model),
        rated=False,
        level=fields.get("level", triage.level),
        complaint=fields.get("complaint", triage.complaint),
        description=inbound.text,
        site_district=district.name if district else site,
        same_city=same_city,
        respond_due=due.respond_due,
        arrive_due=due.arrive_due,
        resolve_due=due.resolve_due,
        primary_vendor=primary,
        escalation_tier=1,
        sale_date=fields.get("sale_date"),
        contact_id=contact.id if contact else None,
        triage=_triage_record(triage, person_set),
        needs_review=not confident and not {"level", "product_category"} <= set(person_set),
        updated_at=now,
    )
    order.secondary_links = [SecondaryVendor(vendor=v) for v in secondaries]
    session.add(order)
    await session.flush()
    session.add(
        ConversationMessage(
            work_order_id=order.id,
            direction="in",
            channel=inbound.channel_detail,
            author=_author(inbound),
            body=inbound.text,
            inbound_id=raw_id,
            created_at=now,
        )
    )
    audit.record(
        session,
        at=now,
        actor=inbound.actor,
        action="created",
        work_order_id=order.id,
        field="status",
        new=order.status,
        data={
            "channel": inbound.channel_detail,
            "level": order.level,
            "product_category": order.product_category,
            "triage_source": triage.source,
            "confidence": triage.confidence,
            "mentioned_ticket": mentioned,
        },
    )
    await _queue_ack(desk, session, order, contact, inbound, now)
    return order


async def _vendor(session: AsyncSession, name: str | None):  # type: ignore[no-untyped-def]
    if not name:
        return None
    vendor = await vendor_named(session, name)
    if vendor is None:
        raise UnknownVendor(name)
    return vendor


def _reply_address(contact: Contact | None, channel_detail: str) -> tuple[str, str] | None:
    """Where the acknowledgement goes: back on the channel the user wrote in."""
    if contact is None:
        return None
    if channel_detail == "wechat" and contact.wechat_openid:
        return "wechat", contact.wechat_openid
    if channel_detail == "email" and contact.email:
        return "email", contact.email
    return None  # phone and API callers get their answer on the spot


async def _queue_ack(
    desk: Desk,
    session: AsyncSession,
    order: WorkOrder,
    contact: Contact | None,
    inbound: Inbound,
    now: datetime,
) -> None:
    address = _reply_address(contact, inbound.channel_detail)
    if address is None:
        return
    channel, recipient = address
    body = desk.templates.render(
        "ack.txt.j2",
        ticket_no=order.ticket_no,
        contact_name=order.contact_name,
        level_label=desk.vocabulary.label("level", order.level),
        respond_due=order.respond_due,
        arrive_due=order.arrive_due,
        same_city=order.same_city,
    )
    outbox_id = await enqueue(
        session,
        Outbound(
            dedupe_key=f"ack:{order.ticket_no}",
            channel=channel,
            recipient=recipient,
            kind="ack",
            subject=f"[{order.ticket_no}] 问题已受理登记",
            body=body,
            payload={"in_reply_to": inbound.external_id},
            work_order_id=order.id,
        ),
        now,
    )
    session.add(
        ConversationMessage(
            work_order_id=order.id,
            direction="out",
            channel=channel,
            author="xcdesk",
            body=body,
            outbox_id=outbox_id,
            created_at=now,
        )
    )
