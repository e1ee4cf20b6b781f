"""Scheduled care reminders (用户关怀): the free service period ending, and maintenance tips.

A unit's contacts are told when the free service period (免费服务保障期) of a product it bought
ends within `CARE_WINDOW`, so they can report a fault while it is still repaired for free; and
every so often they get a maintenance tip (保养知识) for a kind of product they use. Either is a
message nobody asked for, so a contact gets at most one of them per `ONE_PER` (both kinds
count), only in the daytime, and the free-period notice goes first: it has a deadline, a tip
can wait a week.

What was sent is kept in `care_messages` (one row per contact and topic: `period:{contract}`
or `tip:{category}:{index}`). A free-period notice is never repeated; tips cycle through the
category's list, the ones not yet sent first, and a repeated tip updates its row's `sent_at`.
The row and the outbox message are written in the caller's transaction (the SLA watcher's
pass), so a crash loses or doubles nothing.

A pass reads in a few set-based queries (contacts due, contracts ending, categories, latest
tickets, what was sent), decides per contact in memory, and writes what it chose.
"""

from __future__ import annotations

import functools
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from ticketing.db import upsert
from ticketing.desk import Desk
from ticketing.notices import user_address, user_notice
from ticketing.orm import CareMessage, Contact, Contract, WorkOrder
from ticketing.outbox import enqueue
from ticketing.service_period import FREE_YEARS, HARDWARE, anniversary, service_period

CARE_WINDOW = timedelta(days=30)  # tell of a free period ending this soon (both ends included)
ONE_PER = timedelta(days=7)  # at most one care message per contact in this time, any kind
# A category's tips come at most this often to one contact: with a single kind of product a
# weekly tip would be noise; with several, the weekly cap alternates between them.
TIP_EVERY = timedelta(days=30)
# Unsolicited messages go out in office hours (local time), never at night.
DAYTIME = (time(9, 0), time(18, 0))
# Messages queued per pass at most: the first pass after a deployment would otherwise queue one
# for every contact in one transaction; the rest follow on the next passes.
MAX_PER_PASS = 500
MAX_TIP_CHARS = 60
# channels a ticket can be answered on; a contact whose latest ticket came another way (API,
# web form) is reached through their own identifiers instead
_REPLY_CHANNELS = frozenset({"wechat", "email", "phone"})

_CONTACTS = Contact.__table__
_CONTRACTS = Contract.__table__
_WO = WorkOrder.__table__
_CARE = CareMessage.__table__


@dataclass(frozen=True)
class CareTips:
    """Maintenance tips per product category id, in the order they are sent."""

    by_category: Mapping[str, tuple[str, ...]]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.by_category)

    def tips(self, category: str) -> tuple[str, ...]:
        return self.by_category.get(category, ())


def load_tips(path: Path) -> CareTips:
    """Tips from a TOML file of `category = ["tip", …]`; refuses empty or overlong tips, as a
    broken file should fail at start-up, not when a message is rendered."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    tips: dict[str, tuple[str, ...]] = {}
    for category, items in data.items():
        if not isinstance(items, list) or not items:
            raise ValueError(f"{path}: {category}: a non-empty list of tips is expected")
        for tip in items:
            if not isinstance(tip, str) or not tip.strip():
                raise ValueError(f"{path}: {category}: empty tip")
            if len(tip) > MAX_TIP_CHARS:
                raise ValueError(f"{path}: {category}: tip longer than {MAX_TIP_CHARS}: {tip}")
        tips[category] = tuple(t.strip() for t in items)
    return CareTips(tips)


@dataclass(frozen=True)
class _Ticket:
    """A contact's latest ticket about a category: what a notice cites, and how they wrote."""

    id: int
    ticket_no: str
    channel_detail: str
    reported_at: datetime


@dataclass(frozen=True)
class _Ending:
    """A contract whose free period ends within the window."""

    id: int
    category: str
    brand: str
    model: str
    free_until: date


@dataclass(frozen=True)
class _Choice:
    step: str  # care_period / care_tip (the notice step and the CareMessage kind)
    topic: str
    category: str
    context: dict[str, Any]


def send_care(
    desk: Desk, conn: Connection, tips: CareTips, now: datetime, *, limit: int = MAX_PER_PASS
) -> int:
    """One pass: for each contact not sent a care message within `ONE_PER`, queue at most one
    (a free-period notice before a tip). Returns how many were queued."""
    local = now.astimezone(desk.zone)
    if not DAYTIME[0] <= local.time() < DAYTIME[1]:
        return 0
    today = local.date()
    due = _due_contacts(now)
    contacts = conn.execute(
        select(_CONTACTS.c.id, _CONTACTS.c.organisation_id, _CONTACTS.c.name,
               _CONTACTS.c.wechat_openid, _CONTACTS.c.email, _CONTACTS.c.phone,
               _CONTACTS.c.unsubscribed_at, _CONTACTS.c.email_undeliverable_at)
        .where(_CONTACTS.c.id.in_(due))
        .order_by(_CONTACTS.c.id)
    ).all()
    if not contacts:
        return 0
    ending = _ending_contracts(conn, due, today)
    org_categories = _organisation_categories(conn, due)
    tickets = _latest_tickets(conn, due)
    sent = _sent_topics(conn, due)

    queued = 0
    records: list[dict[str, Any]] = []
    for contact in contacts:
        if queued >= limit:
            break
        own = tickets.get(contact.id, {})
        address = user_address(desk, _channel(contact, own.values()), contact)
        if address is None:
            continue  # no way to reach them: nothing sent, nothing recorded
        categories = set(own) | org_categories.get(contact.organisation_id, set())
        choice = _choose(desk, tips, ending.get(contact.organisation_id, []), categories,
                         sent.get(contact.id, {}), now)
        if choice is None:
            continue
        ticket = own.get(choice.category)
        message = user_notice(
            desk, choice.step, address,
            ticket_no=ticket.ticket_no if ticket else None,
            ticket_id=ticket.id if ticket else None,
            # a tip may be sent again in a later cycle: the day tells the occasions apart
            key=f"{choice.topic}:{contact.id}:{today.isoformat()}",
            contact_name=contact.name, **choice.context,
        )
        if enqueue(conn, message, now) is not None:
            queued += 1
        records.append({"contact_id": contact.id, "topic": choice.topic, "kind": choice.step,
                        "sent_at": now})
    if records:
        conn.execute(_record(conn.dialect.name), records)
    return queued


def _due_contacts(now: datetime) -> Any:
    """Ids of contacts a care message may go to now: none sent within `ONE_PER`, and
    something to talk about (a unit, which may have contracts, or a ticket of their own)."""
    recent = (
        select(_CARE.c.id)
        .where(_CARE.c.contact_id == _CONTACTS.c.id, _CARE.c.sent_at > now - ONE_PER)
        .exists()
    )
    reported = select(_WO.c.id).where(_WO.c.contact_id == _CONTACTS.c.id).exists()
    return select(_CONTACTS.c.id).where(
        ~recent, or_(_CONTACTS.c.organisation_id.is_not(None), reported)
    )


def _ending_contracts(conn: Connection, due: Any, today: date) -> dict[int, list[_Ending]]:
    """Per unit, its contracts whose free period ends in [today, today + CARE_WINDOW], soonest
    first. The sale-date range is narrowed in SQL (a day of slack either side for 29 February),
    then `service_period` decides exactly."""
    last = today + CARE_WINDOW
    ranges = []
    for kind, years in FREE_YEARS.items():
        is_kind = _CONTRACTS.c.product_category.in_(HARDWARE)
        ranges.append(and_(
            is_kind if kind == "hardware" else ~is_kind,
            _CONTRACTS.c.sale_date >= anniversary(today, -years) - timedelta(days=1),
            _CONTRACTS.c.sale_date <= anniversary(last, -years) + timedelta(days=1),
        ))
    rows = conn.execute(
        select(_CONTRACTS.c.id, _CONTRACTS.c.organisation_id, _CONTRACTS.c.product_category,
               _CONTRACTS.c.product_brand, _CONTRACTS.c.product_model, _CONTRACTS.c.sale_date)
        .where(or_(*ranges),
               _CONTRACTS.c.organisation_id.in_(
                   select(_CONTACTS.c.organisation_id).where(_CONTACTS.c.id.in_(due))))
    )
    found: dict[int, list[_Ending]] = defaultdict(list)
    for row in rows:
        free_until = service_period(row.sale_date, row.product_category).free_until
        if today <= free_until <= last:
            found[row.organisation_id].append(_Ending(
                row.id, row.product_category, row.product_brand or "", row.product_model or "",
                free_until))
    for contracts in found.values():
        contracts.sort(key=lambda c: (c.free_until, c.id))
    return found


def _organisation_categories(conn: Connection, due: Any) -> dict[int, set[str]]:
    """Per unit, the product categories it has contracts for."""
    rows = conn.execute(
        select(_CONTRACTS.c.organisation_id, _CONTRACTS.c.product_category).distinct()
        .where(_CONTRACTS.c.organisation_id.in_(
            select(_CONTACTS.c.organisation_id).where(_CONTACTS.c.id.in_(due))))
    )
    found: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        found[row.organisation_id].add(row.product_category)
    return found


def _latest_tickets(conn: Connection, due: Any) -> dict[int, dict[str, _Ticket]]:
    """Per contact and category, their latest ticket (one window-function query)."""
    rank = func.row_number().over(
        partition_by=(_WO.c.contact_id, _WO.c.product_category),
        order_by=(_WO.c.reported_at.desc(), _WO.c.id.desc()),
    ).label("rank")
    ranked = (
        select(_WO.c.id, _WO.c.contact_id, _WO.c.product_category, _WO.c.ticket_no,
               _WO.c.channel_detail, _WO.c.reported_at, rank)
        .where(_WO.c.contact_id.in_(due))
        .subquery()
    )
    found: dict[int, dict[str, _Ticket]] = defaultdict(dict)
    for row in conn.execute(select(ranked).where(ranked.c.rank == 1)):
        found[row.contact_id][row.product_category] = _Ticket(
            row.id, row.ticket_no, row.channel_detail, row.reported_at)
    return found


def _sent_topics(conn: Connection, due: Any) -> dict[int, dict[str, datetime]]:
    """Per contact, each topic already sent and when it was last sent."""
    found: dict[int, dict[str, datetime]] = defaultdict(dict)
    rows = conn.execute(
        select(_CARE.c.contact_id, _CARE.c.topic, _CARE.c.sent_at)
        .where(_CARE.c.contact_id.in_(due))
    )
    for row in rows:
        found[row.contact_id][row.topic] = row.sent_at
    return found


def _channel(contact: Any, tickets: Iterable[_Ticket]) -> str | None:
    """How to reach a contact: as they last reported (WeChat, e-mail, or the hotline for SMS);
    with no such ticket, WeChat if we know their openid, else e-mail."""
    latest = max(tickets, key=lambda t: (t.reported_at, t.id), default=None)
    if latest is not None and latest.channel_detail in _REPLY_CHANNELS:
        return latest.channel_detail
    if contact.wechat_openid:
        return "wechat"
    if contact.email:
        return "email"
    return None


def _choose(
    desk: Desk,
    tips: CareTips,
    ending: list[_Ending],
    categories: set[str],
    sent: dict[str, datetime],
    now: datetime,
) -> _Choice | None:
    """The one message for a contact: the free period ending soonest that they have not been
    told of; else the next tip of the category whose tips they have waited for longest."""
    for contract in ending:
        topic = f"period:{contract.id}"
        if topic not in sent:
            return _Choice("care_period", topic, contract.category, {
                "product": _product(desk, contract.category, contract.brand, contract.model),
                "period_end": contract.free_until,
            })
    never = datetime.min.replace(tzinfo=now.tzinfo)
    waiting = []
    for order, category in enumerate(tips.categories):
        if category not in categories:
            continue
        last = max((at for t, at in sent.items() if t.startswith(f"tip:{category}:")),
                   default=None)
        if last is None or last <= now - TIP_EVERY:
            waiting.append((last or never, order, category))
    if not waiting:
        return None
    _, _, category = min(waiting)
    texts = tips.tips(category)
    topics = [f"tip:{category}:{i}" for i in range(len(texts))]
    unsent = [i for i, t in enumerate(topics) if t not in sent]
    # all sent: start the cycle again from the one sent longest ago
    index = unsent[0] if unsent else min(range(len(topics)), key=lambda i: (sent[topics[i]], i))
    return _Choice("care_tip", topics[index], category, {
        "product": desk.vocabulary.label("product_category", category),
        "tip": texts[index],
    })


def _product(desk: Desk, category: str, brand: str, model: str) -> str:
    """A product as the user knows it: brand and model, then the category's Chinese name."""
    return " ".join(p for p in (brand, model, desk.vocabulary.label("product_category", category))
                    if p)


@functools.cache
def _record(dialect: str) -> Any:
    """Insert a care message, or (a tip sent again) move its `sent_at` to now."""
    stmt = upsert(dialect)(_CARE)
    return stmt.on_conflict_do_update(
        index_elements=[_CARE.c.contact_id, _CARE.c.topic],
        set_={"sent_at": stmt.excluded.sent_at, "kind": stmt.excluded.kind},
    )
