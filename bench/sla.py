"""One SLA watcher pass over 100,000 open tickets: `python -m bench.sla`.

`--tickets` (100,000) open work orders are written straight into a fresh database (SQLite file;
PostgreSQL too with `--pg-url`, default the test server), their deadlines spread over the past
and next days so that `--due` (1,000) of them have a mark due now. Timed: one `SlaWatcher`
pass (find the due tickets, warn or record breaches, queue notices, move each ticket's next
check), beside the bare `SELECT` of the due rows in the same database, in the same run. Median of
`--rounds` (3); a round is FAILED unless the pass acted on exactly the due tickets and a second
pass finds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bench.databases import DEFAULT_PG, Unavailable, fresh_database

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def rows(n: int, due: int) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        # the first `due` tickets are 50 minutes into their hour: the 75 % warning is due;
        # the others were reported in the future's reckoning: nothing due for hours
        reported = NOW - timedelta(minutes=50) if i < due else NOW - timedelta(minutes=i % 30)
        respond = reported + timedelta(hours=1)
        warn_at = reported + timedelta(minutes=45)
        out.append({
            "ticket_no": f"XC-20261127-B{i:06d}", "status": "received", "channel": "online",
            "channel_detail": "api", "reported_at": reported, "created_at": reported,
            "product_category": "terminal", "level": "P3", "description": "bench",
            "respond_due": respond, "arrive_due": reported + timedelta(hours=4),
            "resolve_due": reported + timedelta(hours=24), "updated_at": reported,
            "sla_check_at": warn_at, "sla_marks": [], "escalation_tier": 1, "rated": False,
            "needs_review": False,
        })
    return out


async def measure(url: str, tickets: int, due: int) -> tuple[float, float, bool]:
    from server.runtime import open_runtime
    from server.settings import DatabaseSettings, Settings
    from ticketing.orm import WorkOrder
    from ticketing.sla_watch import SlaWatcher, due_count

    runtime = await open_runtime(Settings(database=DatabaseSettings(url=url)), migrate=True)
    desk = replace(runtime.desk, clock=lambda: NOW)
    try:
        with desk.writer.begin() as conn:
            data = rows(tickets, due)
            for start in range(0, len(data), 5000):
                conn.execute(insert(WorkOrder.__table__), data[start : start + 5000])
        with desk.writer.connect() as conn:
            started = time.perf_counter()
            found = due_count(conn, NOW)
            conn.execute(select(WorkOrder.__table__).where(
                WorkOrder.__table__.c.sla_check_at <= NOW)).all()
            bare = time.perf_counter() - started
        watcher = SlaWatcher(desk)
        started = time.perf_counter()
        result = watcher.run_once()
        ours = time.perf_counter() - started
        again = watcher.run_once()
        ok = found == due and result.warnings == due and again.tickets == 0
        return ours, bare, ok
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    ok = True
    for backend in ("sqlite", "postgresql"):
        if args.backend not in (backend, "both"):
            continue
        runs = []
        for r in range(args.rounds):
            try:
                with fresh_database(backend, args.pg_url, "sla") as url:
                    ours, bare, good = asyncio.run(measure(url, args.tickets, args.due))
            except Unavailable as exc:
                print(f"{backend}: not measured ({exc})")
                break
            ok &= good
            runs.append((ours, bare))
            print(f"{backend} round {r + 1}: pass {ours * 1000:7.1f} ms, bare select "
                  f"{bare * 1000:6.1f} ms" + ("" if good else "  FAILED"), flush=True)
        if runs:
            med = statistics.median
            print(f"{backend}: {args.tickets} open, {args.due} due — pass "
                  f"{med(o for o, _ in runs) * 1000:.0f} ms (target < 1000 ms), bare select "
                  f"{med(b for _, b in runs) * 1000:.0f} ms, ratio "
                  f"{med(o / b for o, b in runs):.1f}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
