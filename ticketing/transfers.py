"""Moving primary responsibility (section 二, 责任判定): transfer, refusal, the liaison chain,
arbitration, and the first-inquiry pick.

- The primary company may ask another seller to take the ticket, with a reason. The other
  company accepts (it becomes primary, the first stays as secondary) or refuses.
- A refusal, or no answer within 24 hours, goes to the local liaison (本地联络员); still
  unresolved 24 hours later to the city liaison (设区市联络员); then to the bureau for technical
  arbitration (自治区数据局技术仲裁). Each step is an event with its deadline, and the supervisor
  is told. The SLA watcher moves the chain on (`escalate_due_transfers`).
- A supervisor (liaison or bureau) may decide at any point (`decide_responsibility`, basis
  `arbitration`); in a first-inquiry case the agent or user picks the primary (basis
  `first_inquiry`).
- Whenever responsibility moves, the new primary gets the ticket and the user is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing import audit, notices
from ticketing.desk import Desk
from ticketing.notices import supervisor_notice, user_address, user_notice
from ticketing.orm import Contact, SecondaryVendor, Transfer, Vendor, WorkOrder
from ticketing.outbox import enqueue
from ticketing.routing import route_to_vendors
from ticketing.workflow import Actor, load_order

WAIT = timedelta(hours=24)
TOP_LEVEL = 3
LEVELS = {
    1: "本地信创产品服务保障联络单位联络员",
    2: "设区市信创产品服务保障联络单位联络员",
    3: "自治区数据局（技术仲裁）",
}
_OPEN = ("pending", "refused", "escalated")
_TRANSFERS = Transfer.__table__


class TransferRefused(Exception):
    """The request cannot be taken; `message` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _vendor(session: AsyncSession, name: str) -> Vendor:
    vendor = await session.scalar(select(Vendor).where(Vendor.name == name))
    if vendor is None:
        raise TransferRefused(f"未登记的企业：{name}")
    return vendor


async def _open_transfer(session: AsyncSession, order_id: int) -> Transfer | None:
    return await session.scalar(
        select(Transfer).where(Transfer.work_order_id == order_id, Transfer.status.in_(_OPEN))
    )


async def request_transfer(
    desk: Desk, ticket_no: str, actor: Actor, to_vendor: str, reason: str
) -> Transfer:
    if not reason.strip():
        raise TransferRefused("转移主责需要说明理由")
    async with desk.uow() as uow:
        session = uow.session
        order = await load_order(session, ticket_no, actor, lock=True)
        if actor.role == "vendor" and order.primary_vendor_id != actor.vendor_id:
            raise TransferRefused("只有主责企业可以申请转移主责")
        if order.primary_vendor_id is None:
            raise TransferRefused("工单尚无主责企业（首问责任制：请先指定主责企业）")
        target = await _vendor(session, to_vendor)
        if target.id == order.primary_vendor_id:
            raise TransferRefused("不能转移给自己")
        if await _open_transfer(session, order.id) is not None:
            raise TransferRefused("该工单已有未完成的主责转移")
        now = desk.clock()
        transfer = Transfer(
            work_order_id=order.id, from_vendor_id=order.primary_vendor_id,
            to_vendor_id=target.id, reason=reason.strip(), status="pending", level=0,
            requested_at=now, due_at=now + WAIT,
        )
        session.add(transfer)
        await session.flush()
        audit.record(session, at=now, actor=actor.name, action="transfer_requested",
                     work_order_id=order.id,
                     data={"to": target.name, "reason": reason.strip(),
                           "answer_by": (now + WAIT).isoformat()})
        await session.run_sync(lambda s: route_to_vendors(
            desk, s.connection(), order.id, order.ticket_no, target.id, (),
            f"transfer_request_{transfer.id}", now))
        await uow.commit()
        return transfer


async def answer_transfer(
    desk: Desk, ticket_no: str, actor: Actor, accept: bool, note: str = ""
) -> Transfer:
    async with desk.uow() as uow:
        session = uow.session
        order = await load_order(session, ticket_no, Actor(actor.name, "agent"), lock=True)
        transfer = await _open_transfer(session, order.id)
        if transfer is None or transfer.status != "pending":
            raise TransferRefused("该工单没有待答复的主责转移")
        if actor.role == "vendor" and actor.vendor_id != transfer.to_vendor_id:
            raise TransferRefused("只有被转移方可以答复")
        now = desk.clock()
        if accept:
            await _move(desk, session, order, transfer.to_vendor_id, actor, now,
                        basis=order.responsibility_basis, reason="transfer")
            transfer.status, transfer.due_at = "accepted", None
        else:
            transfer.status, transfer.level, transfer.due_at = "refused", 1, now + WAIT
            await session.flush()
            await session.run_sync(lambda s: _escalated(
                desk, s.connection(), order.id, order.ticket_no, transfer.id, 1,
                transfer.due_at, now, note))
        transfer.decided_at, transfer.decided_by = now, actor.name
        transfer.decision_note = note or None
        audit.record(session, at=now, actor=actor.name,
                     action="transfer_accepted" if accept else "transfer_refused",
                     work_order_id=order.id, data={"note": note})
        await uow.commit()
        return transfer


async def decide_responsibility(
    desk: Desk, ticket_no: str, actor: Actor, vendor_name: str, note: str = ""
) -> WorkOrder:
    """A person decides who is primary: the agent or user in a first-inquiry case, a supervisor
    (liaison, bureau) at any time, which ends an open transfer as arbitration."""
    async with desk.uow() as uow:
        session = uow.session
        order = await load_order(session, ticket_no, actor, lock=True)
        vendor = await _vendor(session, vendor_name)
        transfer = await _open_transfer(session, order.id)
        now = desk.clock()
        if actor.role == "supervisor":
            basis = "arbitration" if transfer is not None else (
                order.responsibility_basis or "arbitration")
        elif order.primary_vendor_id is None:
            basis = "first_inquiry"
        else:
            raise TransferRefused("已有主责企业；变更主责请走转移流程或由联络员、数据局裁定")
        await _move(desk, session, order, vendor.id, actor, now, basis=basis, reason="decided")
        if transfer is not None:
            transfer.status, transfer.due_at = "decided", None
            transfer.decided_at, transfer.decided_by = now, actor.name
            transfer.decision_note = note or None
        await uow.commit()
        return order


async def _move(
    desk: Desk, session: AsyncSession, order: WorkOrder, to_id: int, actor: Actor,
    now: datetime, *, basis: str | None, reason: str,
) -> None:
    old = order.primary_vendor_id
    order.primary_vendor_id = to_id
    order.responsibility_basis = basis
    order.updated_at = now
    if old is not None and old != to_id and all(
        link.vendor_id != old for link in order.secondary_links
    ):
        session.add(SecondaryVendor(work_order_id=order.id, vendor_id=old))
    new = await session.get(Vendor, to_id)
    audit.record(session, at=now, actor=actor.name, action="responsibility_moved",
                 work_order_id=order.id, field="primary_vendor",
                 old=str(old) if old else None, new=new.name if new else str(to_id),
                 data={"basis": basis})
    await session.flush()
    why = f"{reason}_{int(now.timestamp())}"
    await session.run_sync(lambda s: route_to_vendors(
        desk, s.connection(), order.id, order.ticket_no, to_id, (), why, now))
    await _tell_user(desk, session, order, new.name if new else "", now)


async def _tell_user(
    desk: Desk, session: AsyncSession, order: WorkOrder, vendor: str, now: datetime
) -> None:
    contact = await session.get(Contact, order.contact_id) if order.contact_id else None
    address = user_address(desk, order.channel_detail, contact)
    if address is None:
        return
    await notices.queue(session, user_notice(
        desk, "responsibility", address, ticket_no=order.ticket_no, ticket_id=order.id,
        key=now.isoformat(), contact_name=order.contact_name, company=vendor,
    ), now)


def _escalated(
    desk: Desk, conn: Connection, ticket_id: int, ticket_no: str, transfer_id: int,
    level: int, due: datetime | None, now: datetime, note: str = "",
) -> None:
    """Record a step up the liaison chain and tell the supervisor."""
    audit.record_sync(
        conn, at=now, actor="responsibility", action="transfer_escalated",
        work_order_id=ticket_id,
        data={"level": level, "to": LEVELS[level], "note": note,
              "decide_by": due.isoformat() if due else None},
    )
    text = f"工单 {ticket_no} 主责企业未能确认，已报{LEVELS[level]}协调处理"
    notice = supervisor_notice(desk, ticket_no, ticket_id, f"transfer:{transfer_id}:{level}",
                               text)
    if notice is not None:
        enqueue(conn, notice, now)


def escalate_due_transfers(desk: Desk, conn: Connection, now: datetime) -> int:
    """Climb one step of the liaison chain for every transfer left unresolved too long."""
    rows = conn.execute(
        select(_TRANSFERS.c.id, _TRANSFERS.c.level, _TRANSFERS.c.work_order_id,
               WorkOrder.__table__.c.ticket_no)
        .join(WorkOrder.__table__, WorkOrder.__table__.c.id == _TRANSFERS.c.work_order_id)
        .where(_TRANSFERS.c.status.in_(_OPEN), _TRANSFERS.c.due_at <= now)
    ).all()
    for row in rows:
        level = min(row.level + 1, TOP_LEVEL)
        due = now + WAIT if level < TOP_LEVEL else None  # arbitration: until the bureau decides
        conn.execute(
            _TRANSFERS.update().where(_TRANSFERS.c.id == row.id)
            .values(level=level, status="escalated", due_at=due)
        )
        _escalated(desk, conn, row.work_order_id, row.ticket_no, row.id, level, due, now)
    return len(rows)
