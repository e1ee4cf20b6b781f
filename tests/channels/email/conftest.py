"""A real Dovecot IMAP server and a real aiosmtpd sink for the e-mail channel tests.

`dovecot` starts one Dovecot per test session through `dovecot.sh` beside this file (plaintext
IMAP on 127.0.0.1, Maildir storage, one passwd-file per user so users can be added while it runs,
all of it in a pytest temp directory). Tests do not share mailboxes: each takes its own user from
`mailbox_user`. Tests may stop, kill and restart the server; one left stopped is started again
after the test. `smtp_sink` stands in for the outbound smarthost, one per test.

Dovecot itself is a system package: `make system-deps` (or `.ci/run`) installs dovecot-imapd.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

SCRIPT = Path(__file__).with_name("dovecot.sh")
LOOPBACK = "127.0.0.1"
# Debian installs dovecot in /usr/sbin, which is not on an ordinary user's PATH
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


class DovecotError(RuntimeError):
    """`dovecot.sh` failed; the message carries its stderr."""


def find_dovecot() -> str | None:
    """The path of the `dovecot` binary, also where Debian puts it off an ordinary PATH."""
    return shutil.which("dovecot", path=SEARCH_PATH)


def read_greeting(host: str, port: int, timeout: float = 5.0) -> bytes:
    """The first line an IMAP server sends on a fresh connection."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        line = b""
        while not line.endswith(b"\n"):
            chunk = sock.recv(1024)
            if not chunk:
                break
            line += chunk
    return line


class DovecotServer:
    """The session's Dovecot, driven through `dovecot.sh`; its directory outlives restarts."""

    host = LOOPBACK

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.pid: int | None = None
        self.start_seconds = 0.0
        self._lock = threading.Lock()
        # a developer's shell may carry DOVECOT_* knobs for the script: do not inherit them
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("DOVECOT_")}
        self._env |= {"PATH": SEARCH_PATH, "DOVECOT_DIR": str(directory)}

    @property
    def running(self) -> bool:
        """Whether `start` ran last (and not `stop` or `kill`)."""
        return self.pid is not None

    @property
    def log(self) -> str:
        """Dovecot's log so far (all starts of the session)."""
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, *args: str, stdin: bytes | None = None) -> str:
        try:
            proc = subprocess.run(
                [str(SCRIPT), *args], input=stdin, capture_output=True, env=self._env,
                timeout=60, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DovecotError(f"dovecot.sh {args[0]} timed out") from exc
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace").strip()
            raise DovecotError(f"dovecot.sh {args[0]} failed ({proc.returncode}): {stderr}")
        return proc.stdout.decode()

    def start(self) -> None:
        """Start Dovecot; after the first start: the same port, users and mail as before."""
        with self._lock:
            began = time.perf_counter()
            # picked here: the script would spawn a python3 for it (~0.1 s under pyenv)
            self._env.setdefault("DOVECOT_PORT", str(free_port()))
            values = dict(
                line.split("=", 1) for line in self._run("start").splitlines() if "=" in line
            )
            port = int(values["DOVECOT_PORT"])
            if self.port and port != self.port:
                raise DovecotError(f"restarted on port {port}, not {self.port}")
            self.port, self.pid = port, int(values["DOVECOT_PID"])
            greeting = read_greeting(self.host, self.port)
            if not greeting.startswith(b"* OK"):
                raise DovecotError(f"unexpected greeting {greeting!r}")
            self.start_seconds = time.perf_counter() - began

    def stop(self) -> None:
        """Shut Dovecot down (SIGTERM): clients get `* BYE Server shutting down.` (~0.05 s)."""
        with self._lock:
            self._run("stop", str(self.directory))
            self.pid = None

    def kill(self) -> None:
        """SIGKILL every Dovecot process, like a crash: clients just lose the line (~0.05 s)."""
        with self._lock:
            self._run("kill", str(self.directory))
            self.pid = None

    def restart(self, *, crash: bool = False) -> None:
        """Stop (or, with `crash`, kill) and start again: same port, users and mail."""
        if crash:
            self.kill()
        else:
            self.stop()
        self.start()

    def add_user(self, address: str, password: str) -> None:
        """Add a login; Dovecot knows it at once, also while running.

        DovecotError if the user exists, or for a ':' or whitespace in the password.
        """
        self._run("adduser", str(self.directory), address, password)

    def save(self, address: str, folder: str, raw: bytes) -> None:
        """Deliver `raw` into `folder` of `address` (created if missing); needs Dovecot running.

        UIDs are assigned in delivery order. Dovecot stores LF and serves CRLF, so a message
        seeded with CRLF line ends is fetched back byte for byte.
        """
        self._run("save", str(self.directory), address, folder, stdin=raw)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One real Dovecot for the session (plaintext IMAP on 127.0.0.1, a free port).

    Its folder is its own, beside pytest's: as root, Dovecot touches mail as `nobody`, who
    must traverse the path, and pytest resets its `pytest-of-<user>` root to 0700 whenever
    another pytest starts (two runs at once broke every IMAP test)."""
    if find_dovecot() is None:
        pytest.fail(
            "Dovecot is not installed: `make system-deps` installs dovecot-imapd "
            "(apt-get install --no-install-recommends dovecot-imapd)",
            pytrace=False,
        )
    directory = Path(tempfile.mkdtemp(prefix="xcdesk-dovecot-"))
    directory.chmod(0o711)  # traverse, not list
    server = DovecotServer(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _dovecot_back_up(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that stopped Dovecot and failed before starting it must not fail the next ones."""
    needs = "dovecot" in request.fixturenames
    server: DovecotServer | None = request.getfixturevalue("dovecot") if needs else None
    yield
    if server is not None and not server.running:
        server.start()


_user_numbers = itertools.count(1)


@pytest.fixture
def mailbox_user(dovecot: DovecotServer) -> tuple[str, str]:
    """A fresh login of its own for each test: (address, password)."""
    address = f"u{next(_user_numbers)}@example.test"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(address, password)
    return address, password


class SinkMessage(NamedTuple):
    """One SMTP transaction as the sink received it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


class _SinkHandler:
    """aiosmtpd handler that keeps every envelope and wakes waiters."""

    def __init__(self) -> None:
        self.messages: list[SinkMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes), "decode_data must stay False"
        message = SinkMessage(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 OK"


class SmtpSink:
    """The smarthost stand-in: where the channel sends replies."""

    host = LOOPBACK

    def __init__(self, port: int, handler: _SinkHandler) -> None:
        self.port = port
        self._handler = handler

    @property
    def messages(self) -> list[SinkMessage]:
        """Every message received so far, in arrival order."""
        return self._handler.messages

    def wait_for(self, n: int, timeout: float = 5.0) -> list[SinkMessage]:
        """Block until at least `n` messages arrived; all of them, or AssertionError on timeout."""
        with self._handler.arrived:
            if not self._handler.arrived.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(
                    f"SMTP sink got {len(self.messages)} message(s) in {timeout} s, wanted {n}"
                )
            return list(self.messages)


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (aiosmtpd's Controller cannot take port=0)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_controller(handler: Any, attempts: int = 5, **smtp_parameters: Any) -> Controller:
    """An aiosmtpd Controller on a free loopback port, retried if another process takes it."""
    for attempt in range(attempts):
        controller = Controller(handler, hostname=LOOPBACK, port=free_port(), **smtp_parameters)
        try:
            controller.start()
        except OSError:
            controller.loop.close()
            if attempt == attempts - 1:
                raise
            continue
        return controller
    raise AssertionError("unreachable")


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A fresh SMTP sink per test: no auth, no TLS, bytes kept exactly as received."""
    handler = _SinkHandler()
    controller = start_controller(handler, decode_data=False)
    try:
        yield SmtpSink(controller.port, handler)
    finally:
        controller.stop()
