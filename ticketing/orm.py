"""The schema. Column names of `WorkOrder` are the field ids of the work-order reference."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both backends; SQLite has no zone, so store UTC there."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: every timestamp must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}

class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    district: Mapped[str | None] = mapped_column(String(50))  # county-level unit, e.g. 青秀区
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]

class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    # conversational channels: the customer-service window runs from the last message in
    last_inbound_at: Mapped[datetime | None]
    # when we asked for unit, name and phone (asked once), and when the user said "新问题"
    profile_requested_at: Mapped[datetime | None]
    new_issue_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    # mail to this address bounced: no more mail is sent to it until someone corrects it
    email_undeliverable_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str | None] = mapped_column(String(30))  # supplier / integrator / maker
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

class WorkOrder(Base):
    """服务工单. Columns use the field ids of the work-order reference."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # fields the standard requires
    org_name: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    channel_detail: Mapped[str] = mapped_column(String(20))
    reported_at: Mapped[datetime] = mapped_column(index=True)
    accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    handling_mode: Mapped[str | None] = mapped_column(String(10))
    responded_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    product_category: Mapped[str] = mapped_column(String(20), index=True)
    product_brand: Mapped[str | None] = mapped_column(String(100))
    product_model: Mapped[str | None] = mapped_column(String(100))
    solution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    rated: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    follow_up_feedback: Mapped[str | None] = mapped_column(Text)
    # fields the service process adds
    level: Mapped[str] = mapped_column(String(2), index=True)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    site_district: Mapped[str | None] = mapped_column(String(50))
    same_city: Mapped[bool | None] = mapped_column(Boolean)
    respond_due: Mapped[datetime]
    arrive_due: Mapped[datetime]
    resolve_due: Mapped[datetime]
    primary_vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    responsibility_basis: Mapped[str | None] = mapped_column(String(20))
    escalation_tier: Mapped[int] = mapped_column(Integer, default=1)
    # when the SLA watcher must next look at this ticket (None: nothing left to watch), and
    # the marks it has already acted on ("respond:75", "resolve:100", …)
    sla_check_at: Mapped[datetime | None] = mapped_column(index=True)
    sla_marks: Mapped[list[Any] | None] = mapped_column(JSON)
    sale_date: Mapped[date | None] = mapped_column(Date)
    in_free_period: Mapped[bool | None] = mapped_column(Boolean)
    # bookkeeping
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    triage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]

    primary_vendor: Mapped[Vendor | None] = relationship(lazy="joined")
    secondary_links: Mapped[list[SecondaryVendor]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def secondary_vendors(self) -> list[str]:
        return [link.vendor.name for link in self.secondary_links]

class SecondaryVendor(Base):
    """次责企业 of a work order."""

    __tablename__ = "work_order_secondary_vendors"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), primary_key=True, index=True)

    vendor: Mapped[Vendor] = relationship(lazy="joined")

class TicketCounter(Base):
    """Last number handed out per prefix and calendar day; bumped with an atomic upsert."""

    __tablename__ = "ticket_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last: Mapped[int] = mapped_column(Integer)

class InboundMessage(Base):
    """Raw inbound store: every message exactly as a channel received it, deduplicated."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # wechat, email, phone, api …
    external_id: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime]
    sender: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    # what processing it did (outcome, ticket, questions asked), so a redelivery gets the same
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

class ConversationMessage(Base):
    """Every inbound and outbound message of a ticket, in order."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in / out
    channel: Mapped[str] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), unique=True
    )  # a raw message belongs to exactly one ticket
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime]

class Event(Base):
    """Append-only audit log (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]

class TriageCorrection(Base):
    """A person changed what triage decided; kept as training data for the classifier."""

    __tablename__ = "triage_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))  # level / product_category / complaint
    old: Mapped[str | None] = mapped_column(String(20))
    new: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class OutboxMessage(Base):
    """Everything that leaves the system; a dispatcher claims and sends pending rows."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique per logical notice and recipient, so a retried intake never queues it twice
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/sent/dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

class ApiToken(Base):
    """Bearer tokens; only a SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # agent / vendor / supervisor
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    vendor: Mapped[Vendor | None] = relationship(lazy="joined")

__all__ = [
    "ApiToken",
    "Base",
    "Contact",
    "ConversationMessage",
    "Event",
    "InboundMessage",
    "Organisation",
    "OutboxMessage",
    "SecondaryVendor",
    "TicketCounter",
    "TriageCorrection",
    "UTCDateTime",
    "Vendor",
    "WorkOrder",
]


class Attachment(Base):
    """A file that came with a report (a WeChat picture, a mail attachment).

    The row is written with the report; a channel's media reference (`media_ref`) is fetched
    afterwards through the outbox, so the bytes may arrive later (`status` pending → stored).
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    channel: Mapped[str] = mapped_column(String(20))
    media_ref: Mapped[str | None] = mapped_column(String(300))
    filename: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/stored/failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]


class ChannelState(Base):
    """Small shared state of the channels (an API access token, a seen nonce), with expiry;
    shared by every process on the same database."""

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)


class Call(Base):
    """A hotline call: logged by an agent (`source` "agent") or recorded by the PBX ("pbx").
    The two records of one call are joined through `matched_id`."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("source", "unique_id"),
        Index("ix_calls_caller_started", "caller", "started_at"),
        Index("ix_calls_callback", "callback"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    unique_id: Mapped[str] = mapped_column(String(200))  # PBX record id, or the log's own key
    direction: Mapped[str] = mapped_column(String(3), default="in")
    caller: Mapped[str] = mapped_column(String(40))  # normalised: the customer's number
    caller_name: Mapped[str | None] = mapped_column(String(100))
    callee: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(10))  # answered / abandoned / busy / failed
    agent: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(Text)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    matched_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    # a missed call is a callback task (回拨任务): open until an agent logs a call with the number
    callback: Mapped[str | None] = mapped_column(String(10))
    callback_done_at: Mapped[datetime | None]
    callback_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    imported_from: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]


class Contract(Base):
    """Who sold what to which unit (the contracts registry responsibility is decided from).
    Brand and model are "" when the contract does not name them, so the row is unique."""

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "product_category", "product_brand", "product_model",
            "seller_id", "sale_date",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_category: Mapped[str] = mapped_column(String(20))
    product_brand: Mapped[str] = mapped_column(String(100), default="")
    product_model: Mapped[str] = mapped_column(String(100), default="")
    seller_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    integrator_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))
    related_party_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sale_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class Transfer(Base):
    """A request to move primary responsibility (主责) to another company, and its fate:
    pending → accepted / refused; unconfirmed after 24 h it climbs the liaison chain
    (`level` 1 本地联络员, 2 设区市联络员, 3 自治区数据局 技术仲裁) until someone decides."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    from_vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    to_vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # pending/accepted/refused/escalated/decided
    level: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(index=True)  # next escalation; None: done
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_note: Mapped[str | None] = mapped_column(Text)


class Survey(Base):
    """The satisfaction survey of a closed ticket: sent on the user's channel; answered by a
    digit (WeChat, e-mail) or the web form behind `token` (one use, 7 days)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))  # the agent of a phone survey


class Task(Base):
    """Work for a person, not a machine: a survey callback (回访问卷) for a hotline user, a
    follow-up call (回访) for a supervisor after a dissatisfied answer, a complaint's callback."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_open", "status", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # survey_call / follow_up / complaint_call
    role: Mapped[str] = mapped_column(String(20))  # who does it: agent / supervisor
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    status: Mapped[str] = mapped_column(String(10))  # open / done
    title: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))  # whom to call
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class Complaint(Base):
    """A row of the complaint ledger (投诉台账): received → investigating → remedied → confirmed
    (by the user), with an owner, the remedy (服务失误补救) and two deadlines."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_open", "status", "remedy_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # classifier / message / agent / survey
    status: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str | None] = mapped_column(Text)
    user_response: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)
    investigate_due: Mapped[datetime]
    remedy_due: Mapped[datetime]
    investigating_at: Mapped[datetime | None]
    remedied_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    overdue_marks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class CareMessage(Base):
    """A care reminder sent to a contact: what it was about (`topic`, e.g. the contract whose
    free period ends, or a category's tip) so none repeats, and when (one a week at most)."""

    __tablename__ = "care_messages"
    __table_args__ = (UniqueConstraint("contact_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    topic: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # care_period / care_tip
    sent_at: Mapped[datetime] = mapped_column(index=True)
