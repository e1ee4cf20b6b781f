"""E-mail intake speed, each beside the same library with a no-op handler: `python -m bench.email`.

SMTP: `--clients` (4) parallel smtplib clients on persistent connections send `--mails` (1,000)
Chinese reports (~2 KB, GBK) to a running `xcdesk serve` (its own process, SQLite file): each is
parsed, committed through the group committer (raw message, contact, triage, ticket, event,
acknowledgement) and only then answered 250. The baseline is aiosmtpd in its own process with a
handler that answers 250 at once. Mails per second of each, and their ratio.

IMAP: `--imap-mails` (2,000) reports are appended to a Dovecot mailbox (the test suite's
`tests/channels/email/dovecot.sh`; Dovecot must be installed: `make system-deps`), then taken in
by `ImapPoller.poll_once` into a fresh SQLite database (fetch, parse, intake, mark); the
baseline fetches the same mails with imap-tools and does nothing with them. Seconds for each.

After each run the database must hold every mail (raw messages = mails sent), or the run is
FAILED and the exit status 1. Median of `--rounds` (3) rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import os
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "helpdesk@bench.example"
DOVECOT = ROOT / "tests" / "channels" / "email" / "dovecot.sh"
TEXTS = (
    "您好！我们科室的奔图打印机一直卡纸，打不出公文，麻烦尽快派人来看一下。",
    "单位OA系统从今天上午开始登录报错，全科室都进不去，影响办公，请尽快处理。",
    "麒麟系统升级以后网卡不见了，电脑上不了内网，型号是长城世恒。",
    "WPS 打开文档就闪退，重装了也不行，急需处理明天要交的材料。",
)


def report(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"用户{n} <user{n}@gxzf.gov.cn>"
    message["To"] = SERVICE
    message["Subject"] = f"故障报告（{n}）"
    message["Message-ID"] = f"<bench-{n}-{time.time_ns()}@gxzf.gov.cn>"
    body = TEXTS[n % len(TEXTS)] + "\n\n" + ("此致\n敬礼！\n用户\n南宁市某某局 信息科\n" * 8)
    message.set_content(body, charset="gb18030")
    return message.as_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def send_all(port: int, mails: list[bytes], clients: int) -> float:
    """Seconds to send `mails` over `clients` persistent connections."""
    chunks = [mails[i::clients] for i in range(clients)]

    def client(chunk: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for raw in chunk:
                smtp.sendmail("user@gxzf.gov.cn", [SERVICE], raw)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, chunks))
    return time.perf_counter() - started


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def smtp_round(n: int, clients: int, workdir: Path, round_no: int) -> tuple[float, float, bool]:
    """(ours mails/s, no-op mails/s, everything stored)."""
    mails = [report(i) for i in range(n)]
    noop_port = free_port()
    noop = subprocess.Popen([sys.executable, "-m", "bench.email", "--noop-smtp", str(noop_port)])
    try:
        wait_port(noop_port, noop)
        noop_rate = n / send_all(noop_port, mails, clients)
    finally:
        stop(noop)
    db = workdir / f"smtp-{round_no}.db"
    smtp_port, http_port = free_port(), free_port()
    env = os.environ | {
        "XCDESK_DATABASE_URL": f"sqlite:///{db}",
        "XCDESK_LOG_LEVEL": "WARNING",
        "XCDESK_EMAIL_ADDRESSES": SERVICE,
        "XCDESK_EMAIL_SMTP_PORT": str(smtp_port),
        "XCDESK_EMAIL_NEW_TICKETS_PER_HOUR": "1000000",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(http_port)], env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(smtp_port, service)
        ours_rate = n / send_all(smtp_port, [report(i) for i in range(n)], clients)
    finally:
        stop(service)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM inbound_messages").fetchone()[0]
    return ours_rate, noop_rate, stored == n


def noop_smtp(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Noop:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            return "250 OK"

    controller = Controller(Noop(), hostname="127.0.0.1", port=port, decode_data=False,
                            data_size_limit=25 * 1024 * 1024)
    controller.start()
    threading.Event().wait()


def dovecot(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        [str(DOVECOT), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def imap_round(n: int, workdir: Path, round_no: int) -> tuple[float, float, bool]:
    """(ours seconds, no-op seconds, everything stored)."""
    from imap_tools import AND, MailBoxUnencrypted

    port = free_port()
    user, password = f"bench{round_no}@example.test", "benchpw"
    directory = workdir / f"dovecot-{round_no}"
    env = os.environ | {"DOVECOT_PORT": str(port), "DOVECOT_DIR": str(directory),
                        "DOVECOT_USERS": f"{user}:{password}"}
    dovecot("start", env=env)
    try:
        client = imaplib.IMAP4("127.0.0.1", port)
        client.login(user, password)
        for i in range(n):
            client.append("INBOX", None, None, report(i).replace(b"\n", b"\r\n"))
        client.logout()
        started = time.perf_counter()
        with MailBoxUnencrypted("127.0.0.1", port).login(user, password) as box:
            fetched = sum(1 for _ in box.fetch(AND(all=True), mark_seen=False, bulk=True))
        noop_seconds = time.perf_counter() - started
        assert fetched == n
        db = workdir / f"imap-{round_no}.db"
        ours_seconds = asyncio.run(_ingest(f"sqlite:///{db}", port, user, password))
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT count(*) FROM inbound_messages").fetchone()[0]
    finally:
        dovecot("stop", str(directory), env=env)
    return ours_seconds, noop_seconds, stored == n


async def _ingest(url: str, port: int, user: str, password: str) -> float:
    from channels.email.imap import ImapPoller, MailboxConfig
    from channels.email.inbound import MailIntakeConfig
    from channels.email.parse import MailLimits
    from server.runtime import open_runtime
    from server.settings import DatabaseSettings, Settings
    from ticketing.channel_state import ChannelStateStore
    from ticketing.group_commit import GroupCommitter

    runtime = await open_runtime(Settings(database=DatabaseSettings(url=url)), migrate=True)
    desk = runtime.desk
    committer = GroupCommitter(desk)
    await committer.start()
    poller = ImapPoller(
        MailboxConfig(host="127.0.0.1", port=port, tls=False, user=user, password=password),
        committer.receive, ChannelStateStore(desk.writer, desk.clock),
        limits=MailLimits(), mail=MailIntakeConfig(new_tickets_per_hour=1_000_000),
        clock=desk.clock,
    )
    started = time.perf_counter()
    await poller.poll_once()
    seconds = time.perf_counter() - started
    await poller.stop()
    await committer.stop()
    await runtime.close()
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--imap-mails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--noop-smtp", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.noop_smtp is not None:
        noop_smtp(args.noop_smtp)
        return 0
    ok = True
    smtp: list[tuple[float, float]] = []
    imap: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="xcdesk-bench-mail-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # Dovecot's mail user must reach its Maildirs
        for r in range(args.rounds):
            ours, noop, stored = smtp_round(args.mails, args.clients, workdir, r)
            ok &= stored
            smtp.append((ours, noop))
            print(f"round {r + 1}: smtp ours {ours:6.0f} mails/s, no-op {noop:6.0f} mails/s"
                  + ("" if stored else "  FAILED: not all stored"), flush=True)
            ours_s, noop_s, stored = imap_round(args.imap_mails, workdir, r)
            ok &= stored
            imap.append((ours_s, noop_s))
            print(f"round {r + 1}: imap ours {ours_s:6.2f} s, no-op fetch {noop_s:6.2f} s"
                  + ("" if stored else "  FAILED: not all stored"), flush=True)
    med = statistics.median
    print(f"\nSMTP, {args.mails} mails, {args.clients} clients (median of {args.rounds}):")
    print(f"  ours   {med(o for o, _ in smtp):7.0f} mails/s")
    print(f"  no-op  {med(n for _, n in smtp):7.0f} mails/s")
    print(f"  ratio  {med(o / n for o, n in smtp):7.2f}")
    print(f"IMAP, {args.imap_mails} mails (median of {args.rounds}):")
    print(f"  ours   {med(o for o, _ in imap):7.2f} s  ({args.imap_mails / med(o for o, _ in imap):.0f} mails/s)")  # noqa: E501
    print(f"  no-op  {med(n for _, n in imap):7.2f} s")
    print(f"  ratio  {med(n / o for o, n in imap):7.2f} (no-op time / ours)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
