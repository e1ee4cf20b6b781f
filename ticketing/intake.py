"""`receive`: the one entry every channel calls.

In one transaction: store the raw message (a redelivery is recognised by (channel, external id)
and answered as the first delivery was), find or register the sender, attach the message to the
open ticket it names, or open a work order with triage, SLA deadlines, an audit event and the
acknowledgement in the outbox. The caller acknowledges to its channel only after this returns.

This is the hot path of every channel, so it speaks SQLAlchemy Core, one statement per row, with
no ORM unit of work: about ten statements for a new ticket (bench/intake.py measures it).
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from classifier.triage import Triage
from ticketing import complaints
from ticketing.channel_state import NonceReplayed, claim_nonce
from ticketing.confirmations import confirmation_of, resolved_ticket_of
from ticketing.contracts import contracts_of
from ticketing.db import upsert
from ticketing.desk import Desk
from ticketing.directory import (
    ContactRef,
    contact_for,
    contact_touch,
    fill_profile,
    find_contact,
    mark_undeliverable,
)
from ticketing.fields import InvalidField, clean_intake_fields
from ticketing.lifecycle import Status
from ticketing.model import Inbound, IntakeResult, Outcome
from ticketing.notices import reply_address, supervisor_notice
from ticketing.numbering import next_ticket_no, ticket_no_pattern
from ticketing.orm import (
    Attachment,
    ConversationMessage,
    Event,
    InboundMessage,
    SecondaryVendor,
    Vendor,
    WorkOrder,
)
from ticketing.outbox import Outbound, enqueue
from ticketing.profile import Profile, parse_profile
from ticketing.responsibility import decide
from ticketing.routing import route_to_vendors
from ticketing.service_period import service_period
from ticketing.sla import deadlines
from ticketing.sla_marks import first_check
from ticketing.surveys import digit_answer, pending_for, record_answer, record_comment

# the channels where a person (agent, API client) vouches for the ticket number named
_STAFF_CHANNELS = frozenset({"phone", "api"})
_WO = WorkOrder.__table__
_CONVERSATION = ConversationMessage.__table__
_EVENTS = Event.__table__
# built once: constructing statements costs more than executing them from the compiled cache
_INSERT_CONVERSATION = insert(_CONVERSATION)
_INSERT_EVENT = insert(_EVENTS)
_INSERT_TICKET = insert(_WO).returning(_WO.c.id)
_TOUCH_TICKET = update(_WO).where(_WO.c.id == bindparam("ticket_id"))


class UnknownVendor(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown vendor {name!r}")
        self.name = name


@dataclass(frozen=True)
class _Ticket:
    """The few columns of a work order that intake reads back."""

    id: int
    ticket_no: str
    status: str
    level: str
    respond_due: datetime
    contact_id: int | None
    org_name: str | None


async def receive(desk: Desk, inbound: Inbound) -> IntakeResult:
    """Store and process one inbound message; committed when this returns."""
    (result,) = await receive_many(desk, [inbound])
    if isinstance(result, Exception):
        raise result
    return result


async def receive_many(desk: Desk, inbounds: list[Inbound]) -> list[IntakeResult | Exception]:
    """Process several messages in one transaction (group commit). A message that fails
    validation fails alone (its own savepoint); results are in the order of `inbounds`.

    The work runs on a worker thread over the desk's synchronous writer engine: per statement
    the sync drivers cost a fraction of the async ones (bench/intake.py shows the figures).
    """
    return await asyncio.to_thread(receive_many_sync, desk, inbounds)


def receive_many_sync(desk: Desk, inbounds: list[Inbound]) -> list[IntakeResult | Exception]:
    pattern = ticket_no_pattern(desk.prefix)
    # triage in one batch (the pipeline is several times faster per text that way), except for
    # follow-ups naming a ticket, which usually need none
    named = [_named_ticket(pattern, i) for i in inbounds]
    todo = [k for k, name in enumerate(named) if name is None]
    triaged = desk.classifier.triage_many([_triage_text(inbounds[k]) for k in todo])
    triages: list[Triage | None] = [None] * len(inbounds)
    for k, triage in zip(todo, triaged, strict=True):
        triages[k] = triage
    results: list[IntakeResult | Exception] = []
    deferred = _Deferred()
    with desk.writer.connect() as conn, conn.begin():
        for inbound, triage, ticket_no in zip(inbounds, triages, named, strict=True):
            try:
                checked = _check(conn, inbound, desk.clock())  # refusals: before any write
            except (InvalidField, UnknownVendor, NonceReplayed) as exc:
                results.append(exc)
                continue
            results.append(
                _receive_one(desk, conn, inbound, triage, ticket_no, checked, deferred)
            )
        deferred.flush(conn)
    # anything raised after the checks rolls the whole batch back; GroupCommitter then
    # retries its messages one by one
    return results


@dataclass(frozen=True)
class _Checked:
    fields: dict[str, Any]
    vendor_ids: dict[str, int]


def _check(conn: Connection, inbound: Inbound, now: datetime) -> _Checked:
    """Everything that can refuse a message: a refused message writes nothing, so a batch needs
    no savepoint per message. (The nonce claim, last, is a write only when it succeeds.)"""
    if inbound.received_at.tzinfo is None:
        raise InvalidField("reported_at", "时间必须带时区")
    if inbound.conversational and not inbound.sender.as_dict():
        raise InvalidField("sender", "缺少发送人")
    fields = clean_intake_fields(inbound.fields)
    primary = fields.get("primary_vendor")
    names = ([primary] if primary else []) + fields.get("secondary_vendors", [])
    checked = _Checked(fields, _vendor_ids(conn, names))
    if inbound.replay_guard is not None:
        claim_nonce(conn, inbound.replay_guard, now)
    return checked


@dataclass
class _Deferred:
    """Rows nothing in the batch reads back (events, conversation, contact touches, results),
    written once per batch with executemany: statements, not rows, are what intake pays for."""

    conversation: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)  # raw id -> result
    touches: dict[frozenset[str], list[dict[str, Any]]] = field(default_factory=dict)

    def event(self, **values: Any) -> None:
        self.events.append(_EVENT_DEFAULTS | values)

    def touch(self, contact_id: int, now: datetime, **values: Any) -> None:
        params = {"contact_id": contact_id, "last_inbound_at": now} | values
        self.touches.setdefault(frozenset(values), []).append(params)

    def flush(self, conn: Connection) -> None:
        if self.conversation:
            conn.execute(_INSERT_CONVERSATION, self.conversation)
        if self.events:
            conn.execute(_INSERT_EVENT, self.events)
        if self.results:
            conn.execute(
                _REMEMBER_RESULT,
                [{"raw_id": k, "result": v} for k, v in self.results.items()],
            )
        for columns, params in self.touches.items():
            conn.execute(contact_touch(columns), params)


_EVENT_DEFAULTS: dict[str, Any] = {"field": None, "old": None, "new": None, "data": {}}


def _triage_text(inbound: Inbound) -> str:
    return f"{inbound.subject}\n{inbound.text}" if inbound.subject else inbound.text


def _named_ticket(pattern: re.Pattern[str], inbound: Inbound) -> str | None:
    match = pattern.search(_triage_text(inbound)) or pattern.search(" ".join(inbound.thread_refs))
    return match.group(0).upper() if match else None


def _receive_one(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    triage: Triage | None,
    named: str | None,
    checked: _Checked,
    deferred: _Deferred,
) -> IntakeResult:
    now = desk.clock()
    raw_id = _store_raw(conn, inbound, now)
    if raw_id is None:
        return _replay(conn, inbound, deferred)
    # a robot (bounce, auto-reply) is looked up, never registered as a person
    contact = (
        find_contact(conn, inbound.sender)
        if inbound.automatic
        else contact_for(conn, inbound.sender, now)
    )
    if inbound.conversational:
        assert contact is not None  # _check made sure the message has a sender
        result = _converse(desk, conn, inbound, raw_id, contact, triage, named, now, deferred)
    elif inbound.automatic:
        result = _machine_mail(desk, conn, inbound, raw_id, contact, named, now, deferred)
    elif contact is not None and (answered := _answer(
        desk, conn, inbound, raw_id, contact, inbound.text.strip(), named, now, deferred,
        comments=False,
    )) is not None:
        result = answered
    elif (storm := _storm_ticket(conn, inbound, contact, now)) is not None:
        _append(desk, conn, storm, inbound, raw_id, now, deferred)
        deferred.event(
            work_order_id=storm.id, actor=inbound.actor, action="throttled",
            data={"channel": inbound.channel_detail, "inbound_id": raw_id}, at=now,
        )
        result = _result("throttled", storm)
    else:
        ticket = _attachable(conn, named, contact, inbound) if named else None
        if ticket is not None:
            _append(desk, conn, ticket, inbound, raw_id, now, deferred)
            result = _result("appended", ticket)
        else:
            triage = triage or desk.classifier.triage(_triage_text(inbound))
            ticket = _open(
                desk, conn, inbound, raw_id, triage, checked, contact, named, now, deferred
            )
            result = _result("created", ticket)
    deferred.results[raw_id] = {
        "outcome": result.outcome,
        "ticket_no": result.ticket_no,
        "asks_profile": result.asks_profile,
    }
    return result


def _answer(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    contact: ContactRef,
    text: str,
    named: str | None,
    now: datetime,
    deferred: _Deferred,
    *,
    comments: bool,
) -> IntakeResult | None:
    """A reply to something we asked the user: a survey digit (and, in a chat, the comment
    after it), "认可" / "不认可" to a settled complaint, "已解决" / "未解决" to a solution."""
    if contact.is_new:
        return None
    args = (conn, inbound, raw_id, contact, text, named, now, deferred)
    return (
        _survey_reply(desk, *args, comments=comments)
        or _complaint_answer(desk, *args)
        or _confirmation(*args)
    )


def _survey_reply(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    contact: ContactRef,
    text: str,
    named: str | None,
    now: datetime,
    deferred: _Deferred,
    *,
    comments: bool,
) -> IntakeResult | None:
    """A digit answering the user's survey (and, in a chat, the comment that follows it)."""
    pending = pending_for(conn, contact.id, now)
    if pending is None or (named is not None and named != pending.ticket_no):
        return None
    answer = digit_answer(text)
    if pending.answered_at is None and answer is not None:
        record_answer(desk, conn, pending.survey_id, answer, None, inbound.actor, now)
        outcome: Outcome = "survey_answered"
    elif pending.answered_at is not None and comments and text and answer is None:
        record_comment(conn, pending.survey_id, text, inbound.actor, now)
        outcome = "survey_comment"
    else:
        return None
    deferred.conversation.append(_inbound_row(pending.work_order_id, inbound, raw_id, now))
    return IntakeResult(outcome=outcome, ticket_no=pending.ticket_no)


def _complaint_answer(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    contact: ContactRef,
    text: str,
    named: str | None,
    now: datetime,
    deferred: _Deferred,
) -> IntakeResult | None:
    """"认可" / "不认可" about the user's settled complaint, applied here."""
    said = complaints.answer_to_remedy(text)
    settled = complaints.awaiting_user(conn, contact.id) if said else None
    if said is None or settled is None:
        return None
    complaint_id, ticket_id, ticket_no = settled
    complaints.move(desk, conn, complaint_id, said, inbound.actor, now, note=text)
    deferred.conversation.append(_inbound_row(ticket_id, inbound, raw_id, now))
    outcome: Outcome = "complaint_confirmed" if said == "confirmed" else "complaint_reopened"
    return IntakeResult(outcome=outcome, ticket_no=ticket_no)


def _confirmation(
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    contact: ContactRef,
    text: str,
    named: str | None,
    now: datetime,
    deferred: _Deferred,
) -> IntakeResult | None:
    """"已解决" / "未解决" about the user's resolved ticket: recorded here, applied through
    the lifecycle by the channel after the commit (confirmations.apply)."""
    said = confirmation_of(text.removeprefix(named or "").strip() if named else text)
    if said is None:
        return None
    waiting = resolved_ticket_of(conn, contact.id, now)
    if waiting is None or (named is not None and named != waiting[1]):
        return None
    deferred.conversation.append(_inbound_row(waiting[0], inbound, raw_id, now))
    deferred.event(work_order_id=waiting[0], actor=inbound.actor, action=f"user_{said}",
                   data={"channel": inbound.channel_detail}, at=now)
    return IntakeResult(outcome="confirmed" if said == "confirmed" else "disputed",
                        ticket_no=waiting[1])


def _machine_mail(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    contact: ContactRef | None,
    named: str | None,
    now: datetime,
    deferred: _Deferred,
) -> IntakeResult:
    """An auto-reply, a list mail or a bounce: kept, never a ticket, never answered."""
    if inbound.bounce_for:
        mark_undeliverable(conn, inbound.bounce_for, now)
    ticket = _attachable(conn, named, contact, inbound) if named else None
    if ticket is None:
        return IntakeResult(outcome="ignored")
    _append(desk, conn, ticket, inbound, raw_id, now, deferred)
    return _result("appended", ticket)


def _storm_ticket(
    conn: Connection, inbound: Inbound, contact: ContactRef | None, now: datetime
) -> _Ticket | None:
    """The ticket a message from a sender over their hourly limit joins, if over it."""
    limit = inbound.new_tickets_per_hour
    if limit is None or contact is None or contact.is_new:
        return None
    recent = conn.execute(
        _RECENT_TICKETS, {"contact_id": contact.id, "since": now - timedelta(hours=1)}
    ).scalar_one()
    if recent < limit:
        return None
    row = conn.execute(_OPEN_OF_CONTACT, {"contact_id": contact.id}).first()
    if row is None:
        return None
    values = dict(row._mapping)
    del values["updated_at"]
    return _Ticket(**values)


def _converse(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    contact: ContactRef,
    triage: Triage | None,
    named: str | None,
    now: datetime,
    deferred: _Deferred,
) -> IntakeResult:
    """The dialogue rules of a chat channel, where a user writes many short messages.

    A message joins the ticket it names, or the user's one open ticket of the last
    `follow_up_window`; "新问题" opens a new ticket instead. A user we know too little about
    is asked once for unit, name and phone, and the answer fills their entry and tickets.
    """
    text = inbound.text.strip()
    recent_since = now - inbound.follow_up_window
    answered = _answer(desk, conn, inbound, raw_id, contact, text, named, now, deferred,
                       comments=True)
    if answered is not None:
        return answered
    ticket = _attachable(conn, named, contact, inbound) if named else None
    if ticket is None and _awaits_profile(contact):
        profile = parse_profile(text)
        if profile is not None:
            deferred.touch(contact.id, now)
            return _take_profile(conn, contact, profile, inbound, raw_id, now, deferred)
    asks_new = text.startswith(NEW_ISSUE)
    if asks_new and not text.removeprefix(NEW_ISSUE).strip(" ：:，,。.!！"):
        # a bare "新问题": the next message opens the new ticket
        deferred.touch(contact.id, now, new_issue_at=now)
        return IntakeResult(outcome="new_issue_prompt")
    pending_new = contact.new_issue_at is not None and contact.new_issue_at >= recent_since
    if ticket is None and not asks_new and not pending_new and not contact.is_new:
        ticket = _single_recent_open(conn, contact.id, recent_since)
    if ticket is not None:
        deferred.touch(contact.id, now)
        _append(desk, conn, ticket, inbound, raw_id, now, deferred)
        return _result("appended", ticket)
    triage = triage or desk.classifier.triage(_triage_text(inbound))
    ticket = _open(
        desk, conn, inbound, raw_id, triage, _Checked({}, {}), contact, named, now, deferred
    )
    asks = not contact.profile_complete and contact.profile_requested_at is None
    extra: dict[str, Any] = {"new_issue_at": None} if pending_new else {}
    if asks:
        extra["profile_requested_at"] = now
    deferred.touch(contact.id, now, **extra)
    return _result("created", ticket, asks_profile=asks)


NEW_ISSUE = "新问题"


def _awaits_profile(contact: ContactRef) -> bool:
    return contact.profile_requested_at is not None and not contact.profile_complete


def _take_profile(
    conn: Connection,
    contact: ContactRef,
    profile: Profile,
    inbound: Inbound,
    raw_id: int,
    now: datetime,
    deferred: _Deferred,
) -> IntakeResult:
    """The answer to our question: fill the contact and their open tickets."""
    contact = fill_profile(conn, contact, profile, now)
    rows = conn.execute(
        select(*_TICKET_COLUMNS)
        .where(_WO.c.contact_id == contact.id, _WO.c.status != Status.CLOSED.value)
        .order_by(_WO.c.id.desc())
    ).all()
    values = {
        "org_name": contact.org_name,
        "contact_name": contact.name,
        "contact_phone": profile.phone,
        "updated_at": now,
    }
    for row in rows:
        conn.execute(update(_WO).where(_WO.c.id == row.id).values(**values))
        deferred.event(
            work_order_id=row.id,
            actor=inbound.actor,
            action="contact_filled",
            data={"channel": inbound.channel_detail, "inbound_id": raw_id},
            at=now,
        )
    if not rows:
        return IntakeResult(outcome="profiled")
    latest = _Ticket(**rows[0]._mapping)
    deferred.conversation.append(_inbound_row(latest.id, inbound, raw_id, now))
    return _result("profiled", replace(latest, org_name=contact.org_name))


def _single_recent_open(conn: Connection, contact_id: int, since: datetime) -> _Ticket | None:
    """The contact's open ticket touched since `since`, if there is exactly one open."""
    rows = conn.execute(_OPEN_OF_CONTACT, {"contact_id": contact_id}).all()
    if len(rows) != 1 or rows[0].updated_at < since:
        return None
    values = dict(rows[0]._mapping)
    del values["updated_at"]
    return _Ticket(**values)


def _result(
    outcome: Outcome, ticket: _Ticket, first: Outcome | None = None, asks_profile: bool = False
) -> IntakeResult:
    return IntakeResult(
        outcome=outcome,
        ticket_no=ticket.ticket_no,
        level=ticket.level,
        status=ticket.status,
        respond_due=ticket.respond_due,
        first_outcome=first,
        asks_profile=asks_profile,
    )


_TICKET_COLUMNS = (
    _WO.c.id,
    _WO.c.ticket_no,
    _WO.c.status,
    _WO.c.level,
    _WO.c.respond_due,
    _WO.c.contact_id,
    _WO.c.org_name,
)

_RECENT_TICKETS = select(func.count()).where(
    _WO.c.contact_id == bindparam("contact_id"), _WO.c.created_at >= bindparam("since")
)
_OPEN_OF_CONTACT = (
    select(*_TICKET_COLUMNS, _WO.c.updated_at)
    .where(_WO.c.contact_id == bindparam("contact_id"), _WO.c.status != Status.CLOSED.value)
    .order_by(_WO.c.updated_at.desc())
    .limit(2)
)


def _store_raw(conn: Connection, inbound: Inbound, now: datetime) -> int | None:
    """Insert the raw message; None when this (channel, external id) is already stored."""
    params = {
        "channel": inbound.channel_detail,
        "external_id": inbound.external_id,
        "received_at": inbound.received_at,
        "stored_at": now,
        "sender": inbound.sender.as_dict(),
        "subject": inbound.subject,
        "text": inbound.text,
        "raw": inbound.raw,
    }
    return (conn.execute(_raw_insert(conn.dialect.name), params)).scalar_one_or_none()


@functools.cache
def _raw_insert(dialect: str) -> Any:
    table = InboundMessage.__table__
    return (
        upsert(dialect)(table)
        .on_conflict_do_nothing(index_elements=[table.c.channel, table.c.external_id])
        .returning(table.c.id)
    )


_REMEMBER_RESULT = (
    update(InboundMessage.__table__)
    .where(InboundMessage.__table__.c.id == bindparam("raw_id"))
    .values(result=bindparam("result"))
)


def _replay(conn: Connection, inbound: Inbound, deferred: _Deferred) -> IntakeResult:
    """A redelivery: answer what the first delivery got (with the ticket as it is now)."""
    raw = InboundMessage.__table__
    row = conn.execute(
        select(raw.c.id, raw.c.result).where(
            raw.c.channel == inbound.channel_detail, raw.c.external_id == inbound.external_id
        )
    ).one()
    # the first delivery may be earlier in this very batch, its result not yet written
    stored = row.result or deferred.results[row.id]
    first: Outcome = stored["outcome"]
    if stored["ticket_no"] is None:
        return IntakeResult(outcome="duplicate", first_outcome=first)
    ticket = conn.execute(select(*_TICKET_COLUMNS).where(_WO.c.ticket_no == stored["ticket_no"]))
    return _result(
        "duplicate", _Ticket(**ticket.one()._mapping), first=first,
        asks_profile=stored["asks_profile"],
    )


def _attachable(
    conn: Connection, ticket_no: str, contact: ContactRef | None, inbound: Inbound
) -> _Ticket | None:
    """The open ticket a message names, if the sender may add to it.

    Anyone can type a ticket number, so a message joins it only from the ticket's own contact,
    a colleague of the same unit, or a staff channel; otherwise it opens a ticket of its own.
    """
    row = (
        conn.execute(select(*_TICKET_COLUMNS).where(_WO.c.ticket_no == ticket_no))
    ).one_or_none()
    if row is None or row.status == Status.CLOSED:
        return None
    ticket = _Ticket(**row._mapping)
    if inbound.channel_detail in _STAFF_CHANNELS:
        return ticket
    if contact is None:
        return None
    if ticket.contact_id == contact.id:
        return ticket
    same_unit = contact.org_name is not None and contact.org_name == ticket.org_name
    return ticket if same_unit else None


def _author(inbound: Inbound) -> str | None:
    s = inbound.sender
    return s.name or s.email or s.phone or s.wechat_openid


def _inbound_row(ticket_id: int, inbound: Inbound, raw_id: int, now: datetime) -> dict[str, Any]:
    return {
        "work_order_id": ticket_id,
        "direction": "in",
        "channel": inbound.channel_detail,
        "author": _author(inbound),
        "body": inbound.text,
        "inbound_id": raw_id,
        "outbox_id": None,
        "created_at": now,
    }


def _append(
    desk: Desk,
    conn: Connection,
    ticket: _Ticket,
    inbound: Inbound,
    raw_id: int,
    now: datetime,
    deferred: _Deferred,
) -> None:
    deferred.conversation.append(_inbound_row(ticket.id, inbound, raw_id, now))
    conn.execute(_TOUCH_TICKET, {"ticket_id": ticket.id, "updated_at": now})
    if inbound.site_district:
        _relocate(desk, conn, ticket.id, inbound.site_district, inbound.actor, now, deferred)
    _keep_attachments(conn, ticket.id, inbound, raw_id, now)
    deferred.event(
        work_order_id=ticket.id,
        actor=inbound.actor,
        action="message_added",
        data={"channel": inbound.channel_detail, "inbound_id": raw_id},
        at=now,
    )
    if not inbound.automatic and complaints.mentions_complaint(inbound.text):
        complaints.file(desk, conn, ticket.id, "message", inbound.text, inbound.actor, now)


def _triage_record(triage: Triage, set_by_person: list[str]) -> dict[str, Any]:
    # by hand, not dataclasses.asdict: its deep copy cost a tenth of intake's time
    record = {f.name: getattr(triage, f.name) for f in dataclass_fields(triage)}
    record["location"] = asdict(triage.location) if triage.location else None
    record["overrides"] = list(triage.overrides)
    record["set_by_person"] = set_by_person
    return record


def _vendor_ids(conn: Connection, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = conn.execute(select(Vendor.name, Vendor.id).where(Vendor.name.in_(names)))
    found = {row.name: row.id for row in rows}
    for name in names:
        if name not in found:
            raise UnknownVendor(name)
    return found


def work_order_values(
    desk: Desk,
    inbound: Inbound,
    triage: Triage,
    *,
    ticket_no: str,
    now: datetime,
    fields: dict[str, Any] | None = None,
    contact: ContactRef | None = None,
    vendor_ids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The `work_orders` row for a new report: people's fields over the triage, SLA from the site.

    Pure: everything it needs from the database is passed in.
    """
    fields = fields or {}
    vendor_ids = vendor_ids or {}
    site = (
        inbound.site_district
        or fields.get("site_district")
        or (triage.location.district if triage.location else None)
        or (contact.org_district if contact else None)
    )
    district = desk.regions.lookup(site) if site else None
    same_city = district.same_city if district else None
    due = deadlines(desk.sla, inbound.received_at, same_city)
    primary = fields.get("primary_vendor")
    person_set = sorted(k for k in fields if k in {"level", "product_category", "complaint"})
    confident = triage.confidence >= desk.review_threshold
    sender = inbound.sender
    return {
        "ticket_no": ticket_no,
        "status": Status.RECEIVED.value,
        "org_name": fields.get("org_name") or sender.org_name or (contact and contact.org_name),
        "contact_name": fields.get("contact_name") or sender.name or (contact and contact.name),
        "contact_phone": fields.get("contact_phone")
        or sender.phone
        or (contact and contact.phone),
        "channel": inbound.channel,
        "channel_detail": inbound.channel_detail,
        "reported_at": inbound.received_at,
        "accepted_at": inbound.accepted_at,
        "created_at": now,
        "handling_mode": fields.get("handling_mode"),
        "product_category": fields.get("product_category", triage.category),
        "product_brand": fields.get("product_brand", triage.brand),
        "product_model": fields.get("product_model", triage.model),
        "rated": False,
        "level": fields.get("level", triage.level),
        "complaint": fields.get("complaint", triage.complaint),
        "description": inbound.text,
        "site_district": district.name if district else site,
        "same_city": same_city,
        "respond_due": due.respond_due,
        "arrive_due": due.arrive_due,
        "resolve_due": due.resolve_due,
        "primary_vendor_id": vendor_ids[primary] if primary else None,
        "escalation_tier": 1,
        "sale_date": fields.get("sale_date"),
        "in_free_period": (
            service_period(fields["sale_date"], fields.get("product_category", triage.category))
            .in_free_period(inbound.received_at.astimezone(desk.zone).date())
            if fields.get("sale_date")
            else None
        ),
        "responsibility_basis": "signed_by" if primary else None,
        "contact_id": contact.id if contact else None,
        "triage": _triage_record(triage, person_set),
        "needs_review": not confident and not {"level", "product_category"} <= set(person_set),
        "updated_at": now,
    }


def _open(
    desk: Desk,
    conn: Connection,
    inbound: Inbound,
    raw_id: int,
    triage: Triage,
    checked: _Checked,
    contact: ContactRef | None,
    mentioned: str | None,
    now: datetime,
    deferred: _Deferred,
) -> _Ticket:
    fields, vendor_ids = checked.fields, checked.vendor_ids
    secondaries = fields.get("secondary_vendors", [])
    values = work_order_values(
        desk,
        inbound,
        triage,
        ticket_no=next_ticket_no(conn, desk.prefix, now, desk.zone),
        now=now,
        fields=fields,
        contact=contact,
        vendor_ids=vendor_ids,
    )
    secondary_ids = [vendor_ids[n] for n in secondaries]
    if values["primary_vendor_id"] is None and values["org_name"]:
        secondary_ids = _responsibility(desk, conn, values) or secondary_ids
    values["sla_check_at"] = first_check(values)
    ticket_id = (
        conn.execute(_INSERT_TICKET, values)
    ).scalar_one()
    if secondary_ids:
        conn.execute(
            insert(SecondaryVendor.__table__),
            [{"work_order_id": ticket_id, "vendor_id": v} for v in secondary_ids],
        )
    route_to_vendors(
        desk, conn, ticket_id, values["ticket_no"], values["primary_vendor_id"], secondary_ids,
        "new", now,
    )
    if values["level"] == "P1" and desk.supervisor_email:
        body = desk.templates.render("supervisor_p1.txt.j2", **values)
        p1 = supervisor_notice(desk, values["ticket_no"], ticket_id, "p1", "一级（重大）问题", body)
        if p1 is not None:
            enqueue(conn, p1, now)
    deferred.event(
        work_order_id=ticket_id,
        actor=inbound.actor,
        action="created",
        field="status",
        new=values["status"],
        data={
            "channel": inbound.channel_detail,
            "level": values["level"],
            "product_category": values["product_category"],
            "triage_source": triage.source,
            "confidence": triage.confidence,
            "mentioned_ticket": mentioned,
        },
        at=now,
    )
    conversation = deferred.conversation
    conversation.append(_inbound_row(ticket_id, inbound, raw_id, now))
    ack = _acknowledgement(desk, values, ticket_id, contact, inbound)
    if ack is not None:
        outbox_id = enqueue(conn, ack, now)
        conversation.append(
            {
                "work_order_id": ticket_id,
                "direction": "out",
                "channel": ack.channel,
                "author": "xcdesk",
                "body": ack.body,
                "inbound_id": None,
                "outbox_id": outbox_id,
                "created_at": now,
            }
        )
    _keep_attachments(conn, ticket_id, inbound, raw_id, now)
    source = _complaint_source(inbound, fields, values["complaint"])
    if source is not None:
        complaints.file(desk, conn, ticket_id, source, inbound.text, inbound.actor, now)
    return _Ticket(
        id=ticket_id,
        ticket_no=values["ticket_no"],
        status=values["status"],
        level=values["level"],
        respond_due=values["respond_due"],
        contact_id=values["contact_id"],
        org_name=values["org_name"],
    )


def _complaint_source(inbound: Inbound, fields: dict[str, Any], flagged: bool) -> str | None:
    """Why a new report is a complaint, if it is: a person said so (or said it is not), the
    user wrote "投诉", or the classifier flagged it."""
    if "complaint" in fields:
        return "agent" if fields["complaint"] else None
    if complaints.mentions_complaint(inbound.text):
        return "message"
    return "classifier" if flagged else None


def _responsibility(desk: Desk, conn: Connection, values: dict[str, Any]) -> list[int]:
    """Fill the responsible companies from the contracts registry (section 二); returns the
    secondary ones. A first-inquiry case leaves the primary for a person to pick."""
    found = contracts_of(conn, values["org_name"], values["product_category"])
    decision = decide(found, values["product_category"], values["product_brand"],
                      values["product_model"])
    if decision is None:
        return []
    values["primary_vendor_id"] = decision.primary_id
    values["responsibility_basis"] = decision.basis
    if values["sale_date"] is None and decision.sale_date is not None:
        values["sale_date"] = decision.sale_date
        period = service_period(decision.sale_date, values["product_category"])
        values["in_free_period"] = period.in_free_period(
            values["reported_at"].astimezone(desk.zone).date()
        )
    return list(decision.secondary_ids)


def _relocate(
    desk: Desk,
    conn: Connection,
    ticket_id: int,
    site: str,
    actor: str,
    now: datetime,
    deferred: _Deferred,
) -> None:
    """The user told us where the problem is (a shared location): set the site, and the
    arrival and solution deadlines that depend on it (同城/异地)."""
    district = desk.regions.lookup(site)
    if district is None:
        return
    row = conn.execute(
        select(_WO.c.site_district, _WO.c.reported_at).where(_WO.c.id == ticket_id)
    ).one()
    if row.site_district == district.name:
        return
    due = deadlines(desk.sla, row.reported_at, district.same_city)
    conn.execute(
        update(_WO)
        .where(_WO.c.id == ticket_id)
        .values(
            site_district=district.name,
            same_city=district.same_city,
            arrive_due=due.arrive_due,
            resolve_due=due.resolve_due,
        )
    )
    deferred.event(
        work_order_id=ticket_id,
        actor=actor,
        action="field_changed",
        field="site_district",
        old=row.site_district,
        new=district.name,
        at=now,
    )


def _keep_attachments(
    conn: Connection, ticket_id: int, inbound: Inbound, raw_id: int, now: datetime
) -> None:
    """Store the files of the message; queue the download of those the channel only names."""
    for ref in inbound.attachments:
        fetch = ref.data is None
        attachment_id = conn.execute(
            _INSERT_ATTACHMENT,
            {
                "work_order_id": ticket_id,
                "inbound_id": raw_id,
                "channel": inbound.channel_detail,
                "media_ref": ref.media_ref,
                "filename": ref.filename,
                "content_type": ref.content_type,
                "size": None if fetch else len(ref.data or b""),
                "data": ref.data,
                "status": "pending" if fetch else "stored",
                "created_at": now,
                "stored_at": None if fetch else now,
            },
        ).scalar_one()
        if fetch and ref.media_ref:
            enqueue(
                conn,
                Outbound(
                    dedupe_key=f"fetch:{inbound.channel_detail}:{ref.media_ref}",
                    channel=inbound.channel_detail,
                    recipient=ref.media_ref,
                    kind="fetch_media",
                    body="",
                    payload={"attachment_id": attachment_id, "kind": ref.kind},
                    work_order_id=ticket_id,
                ),
                now,
            )


_INSERT_ATTACHMENT = insert(Attachment.__table__).returning(Attachment.__table__.c.id)


def _acknowledgement(
    desk: Desk,
    values: dict[str, Any],
    ticket_id: int,
    contact: ContactRef | None,
    inbound: Inbound,
) -> Outbound | None:
    if contact is None or inbound.conversational:  # a chat channel answers in its reply
        return None
    address = reply_address(inbound.channel_detail, contact.wechat_openid, contact.email)
    if address is None:
        return None
    channel, recipient = address
    ticket_no = values["ticket_no"]
    body = desk.templates.render(
        "ack.txt.j2",
        ticket_no=ticket_no,
        contact_name=values["contact_name"],
        level_label=desk.vocabulary.label("level", values["level"]),
        respond_due=values["respond_due"],
        arrive_due=values["arrive_due"],
        same_city=values["same_city"],
    )
    return Outbound(
        dedupe_key=f"ack:{ticket_no}",
        channel=channel,
        recipient=recipient,
        kind="ack",
        subject=f"[{ticket_no}] 问题已受理登记",
        body=body,
        payload={"in_reply_to": inbound.external_id, "ticket_no": ticket_no},
        work_order_id=ticket_id,
    )
