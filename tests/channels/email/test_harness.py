"""The e-mail test harness itself: the real Dovecot and the SMTP sink behave as the channel needs.

These tests pin down what the e-mail channel's tests will lean on: a seeded Chinese (GBK) mail is
fetched back with its UID, UIDVALIDITY is reported, IDLE works, a restart (clean or a crash)
keeps mail and UIDs, wrong passwords are refused without a penalty, and the smarthost sink keeps
what it receives byte for byte.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import smtplib
import socket
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from tests.channels.email.conftest import DovecotError, DovecotServer, SmtpSink

SUBJECT = "麒麟系统无法登录，请尽快处理"
BODY = "您好：\r\n南宁市青秀区政务中心的统信UOS电脑开机后无法登录。\r\n联系人：张伟\r\n"


def gbk_mail(
    subject: str = SUBJECT, body: str = BODY, message_id: str = "<1@example.test>"
) -> bytes:
    """A raw mail as Foxmail-style clients in China send it: GBK, RFC 2047 subject, 8bit body."""

    def header(text: str) -> str:
        return f"=?GBK?B?{base64.b64encode(text.encode('gbk')).decode()}?="

    head = (
        f"From: {header('张伟')} <zhang.wei@example.test>\r\n"
        "To: helpdesk@example.test\r\n"
        f"Subject: {header(subject)}\r\n"
        "Date: Fri, 27 Nov 2026 09:00:00 +0800\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="GBK"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body.encode("gbk")


@contextlib.contextmanager
def imap_login(
    server: DovecotServer, user: tuple[str, str], folder: str = "INBOX"
) -> Iterator[MailBoxUnencrypted]:
    """A logged-in plaintext IMAP session (imap-tools' `MailBox` would speak IMAPS)."""
    with MailBoxUnencrypted(server.host, server.port, timeout=10).login(*user, folder) as mailbox:
        yield mailbox


def close_quietly(mailbox: MailBoxUnencrypted) -> None:
    """Drop a session whose server may already be gone."""
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        mailbox.client.shutdown()


def test_seeded_gbk_mail_is_fetched_with_uid_and_decoded(
    dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    raw = gbk_mail()
    dovecot.save(mailbox_user[0], "INBOX", raw)

    with imap_login(dovecot, mailbox_user) as mailbox:
        [mail] = list(mailbox.fetch(mark_seen=False))
        assert mail.uid == "1"
        assert mail.subject == SUBJECT
        assert mail.from_ == "zhang.wei@example.test"
        assert mail.from_values is not None and mail.from_values.name == "张伟"
        assert mail.text.replace("\r\n", "\n") == BODY.replace("\r\n", "\n")
        # nothing transcoded on the way: Dovecot hands back the very bytes seeded (CRLF kept)
        status, data = mailbox.client.uid("FETCH", mail.uid, "(BODY.PEEK[])")
        assert status == "OK"
        assert data[0][1] == raw
        assert "\\Seen" not in next(mailbox.fetch(mark_seen=False)).flags


def test_save_creates_a_missing_folder(
    dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    dovecot.save(mailbox_user[0], "工单/2026", gbk_mail())
    dovecot.save(mailbox_user[0], "工单/2026", gbk_mail(message_id="<2@example.test>"))

    with imap_login(dovecot, mailbox_user, folder="工单/2026") as mailbox:
        assert [m.uid for m in mailbox.fetch(mark_seen=False)] == ["1", "2"]
        assert "工单/2026" in [f.name for f in mailbox.folder.list()]


def test_uidvalidity_is_reported(dovecot: DovecotServer, mailbox_user: tuple[str, str]) -> None:
    dovecot.save(mailbox_user[0], "INBOX", gbk_mail())

    with imap_login(dovecot, mailbox_user) as mailbox:
        status = mailbox.folder.status("INBOX")
        assert status["UIDVALIDITY"] > 0
        assert status["UIDNEXT"] == 2
        assert status["MESSAGES"] == 1
        # the SELECT that login(initial_folder=...) sent reported the same value
        kind, values = mailbox.client.response("UIDVALIDITY")
        assert kind == "UIDVALIDITY" and int(values[-1]) == status["UIDVALIDITY"]


def test_capabilities_include_idle_and_what_the_channel_uses(
    dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    with imap_login(dovecot, mailbox_user) as mailbox:
        status, data = mailbox.client.capability()
        assert status == "OK"
        capabilities = set(data[-1].decode().split())
        assert {"IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "SPECIAL-USE"} <= capabilities


def test_idle_wakes_up_when_mail_arrives(
    dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    with imap_login(dovecot, mailbox_user) as mailbox:
        mailbox.idle.start()
        try:
            began = time.perf_counter()
            dovecot.save(mailbox_user[0], "INBOX", gbk_mail())
            responses = mailbox.idle.poll(timeout=10)
            waited = time.perf_counter() - began
        finally:
            mailbox.idle.stop()
        assert b"* 1 EXISTS" in responses
        assert waited < 3, f"IDLE took {waited:.2f} s"


@pytest.mark.parametrize("crash", [False, True], ids=["stop", "crash"])
def test_restart_keeps_mail_and_uids(
    dovecot: DovecotServer, mailbox_user: tuple[str, str], crash: bool
) -> None:
    dovecot.save(mailbox_user[0], "INBOX", gbk_mail(message_id="<1@example.test>"))
    dovecot.save(mailbox_user[0], "INBOX", gbk_mail("第二封", message_id="<2@example.test>"))
    port = dovecot.port
    mailbox = MailBoxUnencrypted(dovecot.host, port, timeout=10).login(*mailbox_user)
    try:
        uidvalidity = mailbox.folder.status("INBOX")["UIDVALIDITY"]
        seen = {m.uid: m.subject for m in mailbox.fetch(mark_seen=False)}
        assert seen == {"1": SUBJECT, "2": "第二封"}

        if crash:
            dovecot.kill()
        else:
            dovecot.stop()
        # gone: the open session is cut off (after "* BYE" on a clean stop) and new
        # connections are refused
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            mailbox.client.noop()
        bye = mailbox.client.untagged_responses.get("BYE", [])
        assert bye == ([] if crash else [b"Server shutting down."])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((dovecot.host, port), timeout=2).close()
    finally:
        close_quietly(mailbox)

    dovecot.start()
    assert dovecot.port == port
    with imap_login(dovecot, mailbox_user) as mailbox:
        assert mailbox.folder.status("INBOX")["UIDVALIDITY"] == uidvalidity
        assert {m.uid: m.subject for m in mailbox.fetch(mark_seen=False)} == seen
    dovecot.save(mailbox_user[0], "INBOX", gbk_mail("第三封", message_id="<3@example.test>"))
    with imap_login(dovecot, mailbox_user) as mailbox:
        assert [m.uid for m in mailbox.fetch(mark_seen=False)] == ["1", "2", "3"]


def test_wrong_password_is_refused_without_a_penalty(
    dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    address, password = mailbox_user
    for _ in range(2):  # anvil would delay the 2nd attempt by 2 s
        mailbox = MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10)
        began = time.perf_counter()
        try:
            with pytest.raises(MailboxLoginError):
                mailbox.login(address, password + "-wrong")
        finally:
            mailbox.client.logout()
        # Dovecot's failure flush timer still costs ~0.5 s
        assert time.perf_counter() - began < 1.5
    began = time.perf_counter()
    with imap_login(dovecot, mailbox_user):
        assert time.perf_counter() - began < 1.0


def test_many_sessions_of_one_user_at_once(
    dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    # Dovecot's default mail_max_userip_connections is 10
    with contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(imap_login(dovecot, mailbox_user)) for _ in range(15)]
        assert all(s.client.noop()[0] == "OK" for s in sessions)


def test_users_are_added_while_running_and_bad_passwords_refused(dovecot: DovecotServer) -> None:
    dovecot.add_user("late@example.test", "late-pass")
    with imap_login(dovecot, ("late@example.test", "late-pass")) as mailbox:
        assert mailbox.folder.get() == "INBOX"
    with pytest.raises(DovecotError, match="user exists"):
        dovecot.add_user("late@example.test", "other")
    with pytest.raises(DovecotError, match="not allowed"):
        dovecot.add_user("colon@example.test", "pass:word")  # passwd-file would truncate it
    with pytest.raises(DovecotError, match="doesn't exist"):
        dovecot.save("nobody@example.test", "INBOX", gbk_mail())


def test_smtp_sink_keeps_chinese_mail_byte_exact(smtp_sink: SmtpSink) -> None:
    reply = EmailMessage()
    reply["From"] = "广西信创售后服务台 <helpdesk@example.test>"
    reply["To"] = "张伟 <zhang.wei@example.test>"
    reply["Subject"] = "回复：麒麟系统无法登录（工单 GX-2026-000123）"
    reply["Message-ID"] = "<reply-1@example.test>"
    reply.set_content(
        "张工您好：\n工单已受理，工程师将于今天下午到场。\n.以点开头的行也要原样送达\n",
        charset="utf-8",
        cte="8bit",
    )
    utf8 = reply.as_bytes(policy=policy.SMTP)
    assert b"\n" not in utf8.replace(b"\r\n", b""), "outbound mail must be CRLF"
    legacy = gbk_mail()

    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        smtp.sendmail(
            "helpdesk@example.test", ["zhang.wei@example.test"], utf8,
            mail_options=["BODY=8BITMIME"],
        )
        smtp.sendmail("helpdesk@example.test", ["a@example.test", "b@example.test"], legacy)

    first, second = smtp_sink.wait_for(2)
    assert first == ("helpdesk@example.test", ["zhang.wei@example.test"], utf8)
    assert second.rcpt_tos == ["a@example.test", "b@example.test"]
    assert second.content == legacy
    parsed = BytesParser(policy=policy.default).parsebytes(first.content)
    assert parsed["Subject"] == "回复：麒麟系统无法登录（工单 GX-2026-000123）"
    assert ".以点开头的行也要原样送达" in parsed.get_content()


def test_smtp_sink_wait_for_times_out(smtp_sink: SmtpSink) -> None:
    began = time.perf_counter()
    with pytest.raises(AssertionError, match="got 0 message"):
        smtp_sink.wait_for(1, timeout=0.2)
    assert time.perf_counter() - began < 1.0
    assert smtp_sink.messages == []
