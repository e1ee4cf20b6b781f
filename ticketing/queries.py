"""Read side: one ticket as the API shows it, and filtered, paged lists."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.attachments import attachments_of
from ticketing.directory import mask_phone
from ticketing.orm import Contact, OutboxMessage, SecondaryVendor, Vendor, WorkOrder
from ticketing.service_period import service_period
from ticketing.workflow import Actor

# the order of fields in the API and the ledger: the standard's, then the process's
FIELD_IDS: tuple[str, ...] = (
    "ticket_no",
    "status",
    "org_name",
    "contact_name",
    "contact_phone",
    "channel",
    "channel_detail",
    "reported_at",
    "accepted_at",
    "created_at",
    "handling_mode",
    "responded_at",
    "arrived_at",
    "completed_at",
    "product_category",
    "product_brand",
    "product_model",
    "solution",
    "closed_at",
    "rated",
    "satisfaction",
    "follow_up_feedback",
    "level",
    "complaint",
    "description",
    "site_district",
    "same_city",
    "respond_due",
    "arrive_due",
    "resolve_due",
    "primary_vendor",
    "secondary_vendors",
    "responsibility_basis",
    "escalation_tier",
    "sale_date",
    "in_free_period",
    "needs_review",
)


def field_values(order: WorkOrder) -> dict[str, Any]:
    """The work order under its field ids (datetimes and dates left as objects)."""
    values: dict[str, Any] = {}
    for name in FIELD_IDS:
        if name == "primary_vendor":
            values[name] = order.primary_vendor.name if order.primary_vendor else None
        elif name == "secondary_vendors":
            values[name] = order.secondary_vendors
        else:
            values[name] = getattr(order, name)
    return values


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime | date) else v for k, v in values.items()
    }


def ticket_view(order: WorkOrder, actor: Actor) -> dict[str, Any]:
    """What `actor` may see of a ticket: a vendor that is only secondary sees a masked phone."""
    values = field_values(order)
    if actor.role == "vendor" and order.primary_vendor_id != actor.vendor_id:
        values["contact_phone"] = mask_phone(values["contact_phone"])
    values["triage"] = order.triage
    if order.sale_date is not None:  # the service periods, on the ticket and the vendor's copy
        period = service_period(order.sale_date, order.product_category)
        values["free_period_until"] = period.free_until
        values["service_period_until"] = period.service_until
    return as_json(values)


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    level: str | None = None
    category: str | None = None
    vendor: str | None = None
    since: datetime | None = None  # reported_at >= since
    until: datetime | None = None  # reported_at < until


def _filtered(stmt: Select[Any], flt: TicketFilter, actor: Actor) -> Select[Any]:
    if actor.role == "vendor":
        stmt = stmt.where(_involves_vendor(actor.vendor_id))
    if flt.status:
        stmt = stmt.where(WorkOrder.status == flt.status)
    if flt.level:
        stmt = stmt.where(WorkOrder.level == flt.level)
    if flt.category:
        stmt = stmt.where(WorkOrder.product_category == flt.category)
    if flt.vendor:
        vendor_id = select(Vendor.id).where(Vendor.name == flt.vendor).scalar_subquery()
        stmt = stmt.where(_involves_vendor(vendor_id))
    if flt.since:
        stmt = stmt.where(WorkOrder.reported_at >= flt.since)
    if flt.until:
        stmt = stmt.where(WorkOrder.reported_at < flt.until)
    return stmt


def _involves_vendor(vendor_id: Any) -> Any:
    secondary = select(SecondaryVendor.work_order_id).where(SecondaryVendor.vendor_id == vendor_id)
    return or_(WorkOrder.primary_vendor_id == vendor_id, WorkOrder.id.in_(secondary))


async def list_tickets(
    session: AsyncSession, flt: TicketFilter, actor: Actor, *, limit: int, offset: int
) -> tuple[int, list[WorkOrder]]:
    total = await session.scalar(_filtered(select(func.count(WorkOrder.id)), flt, actor))
    rows = await session.scalars(
        _filtered(select(WorkOrder), flt, actor)
        .order_by(WorkOrder.reported_at.desc(), WorkOrder.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return total or 0, list(rows)


@dataclass(frozen=True)
class OpenTicket:
    """A line of a user's "我的工单": what is open and the next deadline they can expect."""

    ticket_no: str
    status: str
    level: str
    summary: str
    deadline_label: str | None
    deadline: datetime | None


_OPEN_STATUSES_BEFORE_RESPONSE = frozenset({"received", "accepted"})


async def open_tickets_of(session: AsyncSession, wechat_openid: str) -> list[OpenTicket]:
    rows = await session.execute(
        select(
            WorkOrder.ticket_no,
            WorkOrder.status,
            WorkOrder.level,
            WorkOrder.description,
            WorkOrder.respond_due,
            WorkOrder.resolve_due,
        )
        .join(Contact, Contact.id == WorkOrder.contact_id)
        .where(Contact.wechat_openid == wechat_openid, WorkOrder.status != "closed")
        .order_by(WorkOrder.id.desc())
        .limit(10)
    )
    found = []
    for r in rows:
        if r.status in _OPEN_STATUSES_BEFORE_RESPONSE:
            label, due = "答复时限", r.respond_due
        elif r.status == "resolved":
            label, due = None, None
        else:
            label, due = "解决时限", r.resolve_due
        summary = " ".join(r.description.split())
        found.append(
            OpenTicket(
                ticket_no=r.ticket_no,
                status=r.status,
                level=r.level,
                summary=summary[:30] + ("…" if len(summary) > 30 else ""),
                deadline_label=label,
                deadline=due,
            )
        )
    return found


async def ticket_deliveries(session: AsyncSession, work_order_id: int) -> dict[str, Any]:
    """What went out about a ticket (and whether it arrived) and the files that came with it:
    a notice WeChat refused for good shows here as `dead` with its reason."""
    notices = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.channel,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .where(OutboxMessage.work_order_id == work_order_id)
        .order_by(OutboxMessage.id)
    )
    files = await attachments_of(session, work_order_id)
    return {
        "notices": [as_json(dict(row._mapping)) for row in notices],
        "attachments": [asdict(f) for f in files],
    }


def ticket_id_of(conn: Connection, ticket_no: str) -> int | None:
    """The id of the work order numbered `ticket_no`, if there is one (Core paths)."""
    table = WorkOrder.__table__
    found = conn.execute(select(table.c.id).where(table.c.ticket_no == ticket_no)).scalar()
    return None if found is None else int(found)
