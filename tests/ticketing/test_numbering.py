"""Ticket numbers stay unique when two processes create tickets at the same moment."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from ticketing.numbering import format_ticket_no, ticket_no_pattern

ROOT = Path(__file__).resolve().parents[2]
PER_PROCESS = 60


def test_format_and_pattern() -> None:
    assert format_ticket_no("XC", "20261127", 42) == "XC-20261127-0042"
    assert format_ticket_no("XC", "20261127", 12345) == "XC-20261127-12345"
    pattern = ticket_no_pattern("XC")
    assert pattern.search("工单XC-20261127-0042进度如何").group(0) == "XC-20261127-0042"
    assert pattern.search("ABXC-20261127-0042") is None
    assert pattern.search("XC-2026112-0042") is None


def test_two_processes_never_share_a_number(db_url: str) -> None:
    start_at = time.time() + 3.0  # both processes import, connect, then start together
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ticketing.concurrent_creator", db_url,
             str(PER_PROCESS), tag, str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    numbers = [line for out, _ in outputs for line in out.split()]
    assert len(numbers) == 2 * PER_PROCESS
    assert len(set(numbers)) == len(numbers)
    # no gaps either: each process got some of the day's numbers, together all of 1..2N
    by_day: dict[str, list[int]] = {}
    for no in numbers:
        prefix, day, seq = re.fullmatch(r"(XC)-(\d{8})-(\d{4,})", no).groups()  # type: ignore[union-attr]
        by_day.setdefault(day, []).append(int(seq))
    for seqs in by_day.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))
    if db_url.startswith("postgresql"):
        # and the two really ran at the same time: their numbers interleave. (SQLite's busy
        # handler backs off, so one writer may legitimately win the lock for its whole run.)
        a, b = ([int(n.rsplit("-", 1)[1]) for n in out.split()] for out, _ in outputs)
        assert any(min(a) < n < max(a) for n in b), "the processes did not overlap"
