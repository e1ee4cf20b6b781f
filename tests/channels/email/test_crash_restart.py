"""The service killed (SIGKILL) in the middle of taking mail in, then started again: every mail
ends up stored exactly once, with one ticket each. Real processes, real SMTP, real Dovecot."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from tests.channels.email.conftest import DovecotServer, free_port

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "helpdesk@xcdesk.example"


def mail(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"user{n}@gxzf.gov.cn"
    message["To"] = SERVICE
    message["Subject"] = f"打印机故障 {n}"
    message["Message-ID"] = f"<crash-{n}@gxzf.gov.cn>"
    message.set_content(f"第{n}台打印机卡纸", charset="gb18030")
    return message


def serve(db: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "XCDESK_DATABASE_URL": f"sqlite:///{db}", "XCDESK_LOG_LEVEL": "WARNING",
        "XCDESK_EMAIL_ADDRESSES": SERVICE, "XCDESK_EMAIL_NEW_TICKETS_PER_HOUR": "100000",
        "XCDESK_CLASSIFIER_KIND": "rules",  # starts in a second; the path under test is the same
    } | env
    return subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", "0"], cwd=ROOT, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        raw = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM inbound_messages")
        stored, distinct = raw.fetchone()
        tickets = conn.execute("SELECT count(*) FROM work_orders").fetchone()[0]
    return stored, distinct, tickets


def test_smtp_killed_mid_stream_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    db = tmp_path / "smtp.db"
    port = free_port()
    total = 120
    accepted: set[int] = set()
    lock = threading.Lock()

    def client(numbers: list[int]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                for n in numbers:
                    smtp.send_message(mail(n))
                    with lock:
                        accepted.add(n)  # 250 received: the sender forgets the mail
        except (OSError, smtplib.SMTPException):
            pass  # the server died: what was not accepted stays with the sender

    server = serve(db, XCDESK_EMAIL_SMTP_PORT=str(port))
    wait_port(port)
    threads = [threading.Thread(target=client, args=(list(range(k, total, 4)),))
               for k in range(4)]
    for t in threads:
        t.start()
    while len(accepted) < total // 4:
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)
    server.wait()
    for t in threads:
        t.join()
    assert len(accepted) < total  # the kill came in the middle
    server = serve(db, XCDESK_EMAIL_SMTP_PORT=str(port))
    try:
        wait_port(port)
        pending = [n for n in range(total) if n not in accepted]
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:  # the senders retry
            for n in pending:
                smtp.send_message(mail(n))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert counts(db) == (total, total, total)


def test_imap_killed_mid_batch_loses_nothing_and_doubles_nothing(
    tmp_path: Path, dovecot: DovecotServer, mailbox_user: tuple[str, str]
) -> None:
    address, password = mailbox_user
    total = 150
    for n in range(total):
        dovecot.save(address, "INBOX", mail(n).as_bytes())
    db = tmp_path / "imap.db"
    url = f"imap://{address}:{password}@{dovecot.host}:{dovecot.port}/INBOX"
    settings = {"XCDESK_EMAIL_SMTP_PORT": "0", "XCDESK_EMAIL_IMAP": url,
                "XCDESK_EMAIL_IMAP_POLL_SECONDS": "0.2"}
    server = serve(db, **settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and _tickets(db) > 0:
            break
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)
    server.wait()
    assert _tickets(db) < total  # killed in the middle
    server = serve(db, **settings)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _tickets(db) < total:
            time.sleep(0.1)
        time.sleep(1)  # a duplicate would show up now
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert counts(db) == (total, total, total)


def _tickets(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM work_orders").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0
