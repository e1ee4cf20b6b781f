"""Mail fetched from a real Dovecot: each mail committed, then marked; restarts at any point
lose nothing and open nothing twice; UIDVALIDITY is respected; the poller reconnects."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest
from imap_tools import AND, MailBoxUnencrypted
from sqlalchemy import select

from channels.email.imap import DONE, ImapPoller, MailboxConfig
from channels.email.inbound import MailIntakeConfig
from channels.email.parse import MailLimits
from tests.conftest import Clock
from ticketing.channel_state import ChannelStateStore
from ticketing.desk import Desk
from ticketing.group_commit import GroupCommitter
from ticketing.model import Inbound, IntakeResult
from ticketing.orm import WorkOrder


def mail(n: int, body: str = "打印机卡纸，麻烦处理") -> bytes:
    message = EmailMessage()
    message["From"] = f"用户{n} <user{n}@gxzf.gov.cn>"
    message["To"] = "helpdesk@example.test"
    message["Subject"] = f"故障报告 {n}"
    message["Message-ID"] = f"<report-{n}@gxzf.gov.cn>"
    message.set_content(f"{body}（{n}）", charset="gb18030")
    return message.as_bytes()


def poller(desk: Desk, dovecot: object, user: tuple[str, str], **kw: object) -> ImapPoller:
    address, password = user
    config = MailboxConfig(host=dovecot.host, port=dovecot.port, tls=False,  # type: ignore[attr-defined]
                           user=address, password=password)

    committer = GroupCommitter(desk)  # as the service runs it: a batch in one transaction

    async def receive(inbound: Inbound) -> IntakeResult:
        await committer.start()
        return await committer.receive(inbound)

    return ImapPoller(
        config, kw.pop("intake", receive), ChannelStateStore(desk.writer, desk.clock),  # type: ignore[arg-type]
        limits=MailLimits(), mail=MailIntakeConfig(), clock=desk.clock, poll_seconds=0.3,
    )


async def tickets(desk: Desk) -> list[WorkOrder]:
    async with desk.sessions() as session:
        return list(await session.scalars(select(WorkOrder).order_by(WorkOrder.id)))


def flags(dovecot: object, user: tuple[str, str]) -> dict[str, tuple[str, ...]]:
    with MailBoxUnencrypted(dovecot.host, dovecot.port).login(*user) as box:  # type: ignore[attr-defined]
        return {m.subject: m.flags for m in box.fetch(AND(all=True), mark_seen=False)}


async def test_new_mail_becomes_tickets_and_is_marked(
    desk: Desk, dovecot: object, mailbox_user: tuple[str, str]
) -> None:
    for n in range(3):
        dovecot.save(mailbox_user[0], "INBOX", mail(n))  # type: ignore[attr-defined]
    p = poller(desk, dovecot, mailbox_user)
    assert await p.poll_once() == 3
    found = await tickets(desk)
    assert [t.description for t in found] == [f"打印机卡纸，麻烦处理（{n}）" for n in range(3)]
    assert all(DONE in f and "\\Seen" in f for f in flags(dovecot, mailbox_user).values())
    assert await p.poll_once() == 0
    dovecot.save(mailbox_user[0], "INBOX", mail(3))  # type: ignore[attr-defined]
    assert await p.poll_once() == 1
    await p.stop()


async def test_killed_between_commit_and_marking(
    desk: Desk, dovecot: object, mailbox_user: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.save(mailbox_user[0], "INBOX", mail(1))  # type: ignore[attr-defined]
    first = poller(desk, dovecot, mailbox_user)

    def killed(uids: list[str]) -> None:
        raise RuntimeError("process killed")

    monkeypatch.setattr(first, "_mark_done", killed)
    with pytest.raises(RuntimeError):
        await first.poll_once()
    await first.stop()
    assert len(await tickets(desk)) == 1  # committed, not marked
    assert DONE not in flags(dovecot, mailbox_user)["故障报告 1"]
    second = poller(desk, dovecot, mailbox_user)  # the restarted service
    assert await second.poll_once() == 1  # fetched again, recognised
    assert len(await tickets(desk)) == 1
    assert DONE in flags(dovecot, mailbox_user)["故障报告 1"]
    await second.stop()


async def test_killed_between_receipt_and_commit(
    desk: Desk, dovecot: object, mailbox_user: tuple[str, str]
) -> None:
    dovecot.save(mailbox_user[0], "INBOX", mail(1))  # type: ignore[attr-defined]

    async def dies(inbound: Inbound) -> IntakeResult:
        raise RuntimeError("process killed before commit")

    first = poller(desk, dovecot, mailbox_user, intake=dies)
    with pytest.raises(RuntimeError):
        await first.poll_once()
    await first.stop()
    assert await tickets(desk) == []
    assert DONE not in flags(dovecot, mailbox_user)["故障报告 1"]
    second = poller(desk, dovecot, mailbox_user)
    assert await second.poll_once() == 1
    assert len(await tickets(desk)) == 1
    await second.stop()


async def test_uidvalidity_is_respected(
    desk: Desk, dovecot: object, mailbox_user: tuple[str, str]
) -> None:
    dovecot.save(mailbox_user[0], "INBOX", mail(1))  # type: ignore[attr-defined]
    p = poller(desk, dovecot, mailbox_user)
    state = ChannelStateStore(desk.writer, desk.clock)
    with MailBoxUnencrypted(dovecot.host, dovecot.port).login(*mailbox_user) as box:  # type: ignore[attr-defined]
        validity = box.folder.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"]
    # under this UIDVALIDITY everything up to UID 100 was handled: nothing is new
    state.set(p.config.key, f"{validity}:100")
    assert await p.poll_once() == 0
    # a folder rebuilt (another UIDVALIDITY) starts over
    state.set(p.config.key, f"{int(validity) + 1}:100")
    assert await p.poll_once() == 1
    assert state.get(p.config.key) == f"{validity}:1"
    await p.stop()


async def test_the_poller_reconnects_after_the_server_restarts(
    desk: Desk, clock: Clock, dovecot: object, mailbox_user: tuple[str, str]
) -> None:
    p = poller(desk, dovecot, mailbox_user)
    await p.start()
    try:
        dovecot.save(mailbox_user[0], "INBOX", mail(1))  # type: ignore[attr-defined]
        await wait_for_tickets(desk, 1)
        dovecot.restart()  # type: ignore[attr-defined]
        dovecot.save(mailbox_user[0], "INBOX", mail(2))  # type: ignore[attr-defined]
        await wait_for_tickets(desk, 2, timeout=20)
    finally:
        await p.stop()


async def wait_for_tickets(desk: Desk, n: int, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.1)):
        if len(await tickets(desk)) >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"wanted {n} tickets, have {len(await tickets(desk))}")


async def test_the_service_fetches_configured_mailboxes(
    desk: Desk, dovecot: object, mailbox_user: tuple[str, str]
) -> None:
    from server.app import build_app, make_runner
    from server.settings import EmailSettings, Settings

    address, password = mailbox_user
    url = f"imap://{address}:{password}@{dovecot.host}:{dovecot.port}/INBOX"  # type: ignore[attr-defined]
    settings = Settings(email=EmailSettings(
        addresses="helpdesk@example.test", smtp_port=0, imap=url, imap_poll_seconds=0.3
    ))
    runner = make_runner(build_app(desk, settings, dispatch_in_background=False))
    await runner.setup()
    try:
        dovecot.save(address, "INBOX", mail(9, "麒麟系统升级后网卡不见了"))  # type: ignore[attr-defined]
        await wait_for_tickets(desk, 1)
    finally:
        await runner.cleanup()
    (ticket,) = await tickets(desk)
    assert ticket.description == "麒麟系统升级后网卡不见了（9）"
