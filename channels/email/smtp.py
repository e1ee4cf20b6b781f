"""SMTP intake: mail delivered to our service addresses (aiosmtpd, on the service's own loop).

SMTP replies must be ASCII, so they are English; the sender's mail server turns them into its
own bounce text.

250 is answered only after the raw mail is committed; 451 when it cannot be (the sending server
keeps the mail and tries again); 550 for a recipient that is not ours; 552 (aiosmtpd) for a mail
over the size limit; 554 for a mail with nothing to read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.inbound import MailIntakeConfig, mail_inbound
from channels.email.parse import MailLimits, MailRefused, parse_mail
from ticketing import confirmations
from ticketing.desk import Desk
from ticketing.model import Inbound, IntakeResult

log = logging.getLogger(__name__)
Intake = Callable[[Inbound], Awaitable[IntakeResult]]


@dataclass(frozen=True)
class SmtpConfig:
    addresses: tuple[str, ...]
    limits: MailLimits
    intake: MailIntakeConfig
    hostname: str = "xcdesk"


class SmtpHandler:
    """aiosmtpd handler: the RCPT and DATA hooks."""

    def __init__(self, config: SmtpConfig, intake: Intake, desk: Desk) -> None:
        self._config = config
        self._intake = intake
        self._desk = desk  # its clock; and to apply a user's "已解决" / "未解决" after commit

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.strip().lower() not in self._config.addresses:
            return "550 5.1.1 no such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        try:
            parsed = parse_mail(raw, self._config.limits)
        except MailRefused as exc:
            return f"554 5.6.0 unreadable message: {_ascii(exc.reason)}"
        inbound = mail_inbound(parsed, raw, self._desk.clock(), self._config.intake)
        try:
            result = await self._intake(inbound)
        except Exception:  # the database away: keep the mail at the sender, it will retry
            log.exception("smtp intake could not commit a mail")
            return "451 4.3.0 cannot store the mail now, try again later"
        await confirmations.apply(self._desk, result, inbound.text)
        return f"250 2.0.0 accepted {result.ticket_no or result.outcome}"


class SmtpIntake:
    """The SMTP server on the running event loop."""

    def __init__(self, config: SmtpConfig, intake: Intake, desk: Desk) -> None:
        self._config = config
        self._handler = SmtpHandler(config, intake, desk)
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (0 picks a free one)."""
        loop = asyncio.get_running_loop()

        def protocol() -> Any:
            return SMTP(
                self._handler,
                data_size_limit=self._config.limits.max_message_bytes,
                decode_data=False,
                hostname=self._config.hostname,
                ident="xcdesk",
            )

        self._server = await loop.create_server(protocol, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode()
