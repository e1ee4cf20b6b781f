"""Values that cross the boundary between the channels and ticketing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ticketing.channel_state import ReplayGuard

# 问题反馈渠道 of the standard, and the concrete channel behind it
WORK_ORDER_CHANNEL: dict[str, str] = {
    "wechat": "online",
    "web": "online",
    "api": "online",
    "email": "email",
    "phone": "phone",
}


@dataclass(frozen=True)
class Sender:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat_openid: str | None = None
    org_name: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Inbound:
    """One message as a channel received it. `external_id` is the channel's own id (MsgId,
    Message-ID, call id, Idempotency-Key): the same id twice is the same message."""

    channel_detail: str  # wechat / web / api / email / phone
    external_id: str
    received_at: datetime  # when the channel received it (用户反馈时间)
    text: str
    sender: Sender = Sender()
    subject: str | None = None
    raw: bytes | None = None
    accepted_at: datetime | None = None  # phone: when the call was answered
    site_district: str | None = None
    # work-order fields a person supplied with the report (agent on the phone or the API);
    # they take precedence over the triage
    fields: dict[str, Any] = field(default_factory=dict)
    actor: str = "intake"
    # files that came with the message, fetched later through the outbox
    attachments: tuple[AttachmentRef, ...] = ()
    # conversational channels (WeChat) answer in the HTTP reply itself: no acknowledgement is
    # queued, and the dialogue rules below apply
    conversational: bool = False
    # conversational: a message from a user with one open ticket touched within this window
    # joins it; a message starting with "新问题" (or following a bare "新问题") opens a new one
    follow_up_window: timedelta = timedelta(hours=24)
    # a channel whose signature does not cover the body (WeChat plaintext mode) has the
    # request's nonce claimed in the same transaction: a replay with another body is refused
    replay_guard: ReplayGuard | None = None
    # ids of earlier messages this one answers (e-mail In-Reply-To/References): one of ours
    # carries its ticket number, so a reply finds its ticket even with the subject changed
    thread_refs: tuple[str, ...] = ()
    # written by a machine (auto-reply, bulk, bounce): never opens a ticket or gets an answer;
    # it joins the ticket it names, if any
    automatic: str | None = None
    bounce_for: str | None = None  # a bounce: the address that could not be delivered to
    # a sender opening more tickets than this within an hour (a mail storm) has the rest
    # added to their latest open ticket instead
    new_tickets_per_hour: int | None = None

    @property
    def channel(self) -> str:
        return WORK_ORDER_CHANNEL[self.channel_detail]


@dataclass(frozen=True)
class AttachmentRef:
    """A file of a message: its bytes (e-mail) or the channel's id to fetch it by (WeChat)."""

    media_ref: str | None  # the channel's id for the file (a WeChat media id)
    kind: str = "image"
    filename: str | None = None
    data: bytes | None = field(default=None, repr=False)
    content_type: str | None = None


Outcome = Literal[
    "created", "appended", "duplicate", "profiled", "new_issue_prompt", "ignored", "throttled",
    "survey_answered", "survey_comment", "confirmed", "disputed", "complaint_confirmed",
    "complaint_reopened",
]


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    # the ticket the message opened or joined (None only for a bare "新问题" prompt)
    ticket_no: str | None = None
    level: str | None = None
    status: str | None = None
    respond_due: datetime | None = None
    # for a duplicate: what the first delivery did
    first_outcome: Outcome | None = None
    # the answer asks the sender for unit, name and phone (once per unknown sender)
    asks_profile: bool = False
