"""IMAP intake: mail fetched from existing mailboxes (imap-tools), each committed before it is
marked.

Per mailbox: new mail is what has a UID above the last one handled (kept in the database with the
folder's UIDVALIDITY; a new UIDVALIDITY starts over) and lacks our `$XcdeskDone` keyword. Each
mail goes through intake; only after intake has committed it does it get the keyword and \\Seen
(and is moved to the processed folder, when one is configured), and only then does the last UID
move on. A crash between commit and marking fetches the mail again on restart, and intake
recognises it (same Message-ID): nothing is skipped, nothing is opened twice. Between rounds the
poller waits in IDLE where the server offers it, or sleeps; a lost connection is retried with
exponential backoff (1 s … 60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import MailboxLoginError

from channels.email.inbound import MailIntakeConfig, mail_inbound
from channels.email.parse import MailLimits, MailRefused, parse_mail
from ticketing.channel_state import ChannelStateStore
from ticketing.model import Inbound, IntakeResult

log = logging.getLogger(__name__)
Intake = Callable[[Inbound], Awaitable[IntakeResult]]
T = TypeVar("T")
DONE = "$XcdeskDone"
_BATCH = 50


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str | None = None

    @classmethod
    def from_url(cls, url: str) -> MailboxConfig:
        """imap://user:password@host:port/FOLDER?processed=FOLDER (imaps:// for TLS)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname or not parts.username:
            raise ValueError(f"not an imap:// or imaps:// mailbox URL: {parts.scheme}://…")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if parts.scheme == "imaps" else 143),
            tls=parts.scheme == "imaps",
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            processed_folder=query.get("processed", [None])[0],
        )

    @property
    def key(self) -> str:
        return f"imap:{self.user}@{self.host}:{self.port}/{self.folder}"


class _RawMessage(MailMessage):  # type: ignore[misc]
    """imap-tools' message, keeping the bytes as fetched (the raw store wants them exact)."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


def _mailbox(config: MailboxConfig) -> MailBox:
    box_class = MailBox if config.tls else MailBoxUnencrypted
    box = box_class(config.host, config.port, timeout=30)
    box.email_message_class = _RawMessage
    return box


class ImapPoller:
    def __init__(
        self,
        config: MailboxConfig,
        intake: Intake,
        state: ChannelStateStore,
        *,
        limits: MailLimits,
        mail: MailIntakeConfig,
        clock: Callable[[], datetime],
        poll_seconds: float = 30.0,
    ) -> None:
        self.config = config
        self._intake = intake
        self._state = state
        self._limits = limits
        self._mail = mail
        self._clock = clock
        self._poll = poll_seconds
        self._box: MailBox | None = None
        self._task: asyncio.Task[None] | None = None
        # every IMAP call on one thread of its own: calls on the connection never overlap, and
        # logging out at stop waits for the call in progress instead of racing it
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="imap")
        self._stopping = threading.Event()

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"imap {self.config.key}")

    async def stop(self) -> None:
        self._stopping.set()  # ends an IDLE wait within a second
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._call(self._disconnect)
        self._thread.shutdown(wait=False)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.poll_once()
                delay = 1.0
                await self._call(self._wait_for_mail)
            except asyncio.CancelledError:
                raise
            except MailboxLoginError:
                log.error("imap %s: login refused; retrying in 60 s", self.config.key)
                await self._call(self._disconnect)
                await asyncio.sleep(60)
            except Exception as exc:  # connection lost, server restarting, …
                log.warning("imap %s: %s; reconnecting in %.0f s", self.config.key,
                            type(exc).__name__, delay)
                await self._call(self._disconnect)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    # -- one round ---------------------------------------------------------------------------

    async def poll_once(self) -> int:
        """Take in every new mail of the folder; returns how many were handled."""
        handled = 0
        while True:
            batch = await self._call(self._fetch_new)
            if not batch:
                return handled
            # all of a batch at once: through the group committer that is one transaction
            inbounds = [i for i in (self._inbound(m) for m in batch) if i is not None]
            await asyncio.gather(*(self._intake(i) for i in inbounds))
            await self._call(self._mark_done, [m.uid for m in batch])
            handled += len(batch)

    def _inbound(self, message: _RawMessage) -> Inbound | None:
        try:
            parsed = parse_mail(message.raw, self._limits)
        except MailRefused as exc:  # nothing to read: marked, so it does not come round again
            log.warning("imap %s: uid %s refused: %s", self.config.key, message.uid, exc.reason)
            return None
        return mail_inbound(parsed, message.raw, self._clock(), self._mail)

    def _connect(self) -> MailBox:
        if self._box is None:
            config = self.config
            self._box = _mailbox(config).login(config.user, config.password, config.folder)
        return self._box

    def _disconnect(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            with contextlib.suppress(Exception):
                box.logout()

    def _fetch_new(self) -> list[_RawMessage]:
        box = self._connect()
        box.client.noop()  # lets the server tell this session about mail that came meanwhile
        validity = str(box.folder.status(self.config.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        last = self._last_uid(validity)
        uids = box.uids(AND(uid=f"{last + 1}:*", no_keyword=DONE))
        # "n:*" always matches the highest UID, even when it is below n
        wanted = sorted(int(u) for u in uids if int(u) > last)[:_BATCH]
        if not wanted:
            return []
        messages = box.fetch(
            AND(uid=[str(u) for u in wanted]), mark_seen=False, bulk=True
        )
        return sorted(messages, key=lambda m: int(m.uid))  # type: ignore[no-any-return]

    def _mark_done(self, uids: list[str]) -> None:
        box = self._connect()
        box.flag(uids, [DONE, "\\Seen"], True)
        if self.config.processed_folder:
            box.move(uids, self.config.processed_folder)
        validity = str(box.folder.status(self.config.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        self._state.set(self.config.key, f"{validity}:{max(int(u) for u in uids)}")

    def _last_uid(self, validity: str) -> int:
        stored = self._state.get(self.config.key)
        if not stored:
            return 0
        seen_validity, _, uid = str(stored).partition(":")
        return int(uid) if seen_validity == validity else 0

    def _wait_for_mail(self) -> None:
        """Until new mail is announced (IDLE) or `poll_seconds` pass, in slices of a second so
        that stop() is not kept waiting."""
        box = self._connect()
        idle = "IDLE" in box.client.capabilities
        deadline = time.monotonic() + self._poll
        while not self._stopping.is_set() and time.monotonic() < deadline:
            if idle:
                if box.idle.wait(timeout=min(1.0, max(deadline - time.monotonic(), 0.1))):
                    return
            else:
                time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
