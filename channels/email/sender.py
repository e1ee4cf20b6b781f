"""Outbound e-mail: acknowledgements and progress notices through the SMTP smarthost.

Each mail carries our Message-ID (`<TICKET.kind.outbox-id@domain>`: the ticket number in it
lets a reply find its ticket even when the subject tag is gone, and a retried delivery keeps the
same id), In-Reply-To and References to the user's mail, the ticket tag in a UTF-8 encoded
subject, a plain-text and an HTML part, and `Auto-Submitted: auto-replied` so that other
robots do not answer it. smtplib is synchronous: it runs on a worker thread.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from ticketing.dispatch import DeliveryFailed, OutboxItem


@dataclass(frozen=True)
class SmarthostConfig:
    host: str
    port: int
    from_address: str
    from_name: str
    message_id_domain: str
    starttls: bool = False
    user: str = ""
    password: str = ""
    timeout: float = 30.0


class EmailSender:
    def __init__(self, config: SmarthostConfig, clock: Callable[[], datetime]) -> None:
        self._config = config
        self._clock = clock

    async def deliver(self, item: OutboxItem) -> None:
        message = self.build(item)
        await asyncio.to_thread(self._send, message, item.recipient)

    def build(self, item: OutboxItem) -> EmailMessage:
        config = self._config
        ticket_no = str(item.payload.get("ticket_no") or "XC")
        message = EmailMessage()
        message["From"] = formataddr((config.from_name, config.from_address))
        message["To"] = item.recipient
        message["Subject"] = item.subject or f"[{ticket_no}] 工单通知"
        message["Date"] = format_datetime(self._clock())
        message["Message-ID"] = f"<{ticket_no}.{item.kind}.{item.id}@{config.message_id_domain}>"
        answered = item.payload.get("in_reply_to")
        if isinstance(answered, str) and answered.startswith("<"):
            message["In-Reply-To"] = answered
            message["References"] = answered
        message["Auto-Submitted"] = "auto-replied"
        message.set_content(item.body)
        paragraphs = "".join(
            f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in item.body.split("\n\n")
        )
        message.add_alternative(
            f'<html><body style="font-family:sans-serif">{paragraphs}</body></html>',
            subtype="html",
        )
        return message

    def _send(self, message: EmailMessage, recipient: str) -> None:
        config = self._config
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.user:
                    smtp.login(config.user, config.password)
                smtp.send_message(message, config.from_address, [recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _failure(code, reply) from exc
        except smtplib.SMTPResponseException as exc:
            raise _failure(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"发信服务器不可用 | smarthost unavailable: {exc}") from exc


def _failure(code: int, reply: bytes | str) -> DeliveryFailed:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return DeliveryFailed(
        f"发信被拒 {code} | smarthost answered {code} {text}", permanent=500 <= code < 600
    )
