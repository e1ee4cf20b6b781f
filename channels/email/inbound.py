"""A parsed mail as intake sees it: one `Inbound`, whichever way the mail came (SMTP or IMAP).

Both paths use the Message-ID as the external id, so the same mail delivered to us and found in
the mailbox is one report. A mail without one is identified by the digest of its bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from channels.email.parse import ParsedMail
from ticketing.model import AttachmentRef, Inbound, Sender


@dataclass(frozen=True)
class MailIntakeConfig:
    new_tickets_per_hour: int = 10


def external_id(parsed: ParsedMail, raw: bytes) -> str:
    return parsed.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def mail_inbound(
    parsed: ParsedMail, raw: bytes, received_at: datetime, config: MailIntakeConfig
) -> Inbound:
    signature = parsed.signature
    sender = Sender(
        name=parsed.from_name or (signature.name if signature else None),
        email=parsed.from_email,
        phone=signature.phone if signature else None,
        org_name=signature.org_name if signature else None,
    )
    text = parsed.text or parsed.full_text or parsed.subject or "（空邮件）"
    return Inbound(
        channel_detail="email",
        external_id=external_id(parsed, raw),
        received_at=received_at,
        text=text,
        subject=parsed.subject or None,
        sender=sender,
        raw=raw,
        attachments=tuple(
            AttachmentRef(
                media_ref=None,
                kind="inline" if a.inline else "file",
                filename=a.filename,
                data=a.data,
                content_type=a.content_type,
            )
            for a in parsed.attachments
        ),
        thread_refs=tuple(r for r in (parsed.in_reply_to, *parsed.references) if r),
        automatic=parsed.auto,
        bounce_for=parsed.bounce_for,
        new_tickets_per_hour=config.new_tickets_per_hour,
    )
