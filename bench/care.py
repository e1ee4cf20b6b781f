"""Care reminders over many contacts: `python -m bench.care`.

`--contacts` (20,000) contacts in units of four, each unit with two contracts (one in ten
ending its free period within 30 days), half of the contacts with a WeChat ticket; written
straight into a fresh database (SQLite file; PostgreSQL too, the test server by default).
Timed, beside the bare `SELECT` of every contact in the same run:
- the first pass (`send_care`, at most 500 messages queued);
- a steady pass once every contact has had this week's message (what the watcher pays every
  10 minutes most of the week).
Median of `--rounds` (3); a round is FAILED unless the first pass queued exactly its limit and
the steady pass nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select

from bench.databases import DEFAULT_PG, Unavailable, fresh_database

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Nanning: daytime


def _data(contacts: int) -> dict[str, list[dict[str, object]]]:
    units = contacts // 4
    ending = date(2023, 12, 10)  # hardware: free until 2026-12-10, within 30 days of NOW
    old = date(2022, 1, 5)
    data: dict[str, list[dict[str, object]]] = {
        "organisations": [{"id": u + 1, "name": f"单位{u}", "created_at": NOW}
                          for u in range(units)],
        "vendors": [{"id": 1, "name": "甲公司", "created_at": NOW}],
        "contacts": [], "contracts": [], "work_orders": [],
    }
    for u in range(units):
        for k, category in enumerate(("terminal", "printer")):
            data["contracts"].append({
                "organisation_id": u + 1, "product_category": category, "product_brand": "",
                "product_model": "", "seller_id": 1, "related_party_ids": [],
                "sale_date": ending if u % 10 == 0 and k == 0 else old, "created_at": NOW,
            })
    for c in range(contacts):
        data["contacts"].append({"id": c + 1, "organisation_id": c // 4 + 1,
                                 "name": f"联系人{c}", "wechat_openid": f"o-bench-{c:08d}",
                                 "created_at": NOW})
        if c % 2 == 0:
            reported = NOW - timedelta(days=40)
            data["work_orders"].append({
                "ticket_no": f"XC-20261017-C{c:06d}", "status": "closed", "channel": "online",
                "channel_detail": "wechat", "reported_at": reported, "created_at": reported,
                "product_category": "terminal", "level": "P3", "description": "bench",
                "respond_due": reported, "arrive_due": reported, "resolve_due": reported,
                "updated_at": reported, "escalation_tier": 1, "rated": False,
                "needs_review": False, "contact_id": c + 1,
            })
    return data


async def measure(url: str, contacts: int) -> tuple[float, float, float, bool]:
    from server.runtime import open_runtime
    from server.settings import DatabaseSettings, Settings
    from ticketing import orm
    from ticketing.care_reminders import MAX_PER_PASS, load_tips, send_care

    settings = Settings(database=DatabaseSettings(url=url))
    runtime = await open_runtime(settings, migrate=True)
    desk = replace(runtime.desk, clock=lambda: NOW)
    tips = load_tips(settings.config_dir / "care_tips.toml")
    tables = {"organisations": orm.Organisation, "vendors": orm.Vendor,
              "contacts": orm.Contact, "contracts": orm.Contract, "work_orders": orm.WorkOrder}
    try:
        with desk.writer.begin() as conn:
            for name, rows in _data(contacts).items():
                for start in range(0, len(rows), 5000):
                    conn.execute(insert(tables[name].__table__), rows[start : start + 5000])
            if conn.dialect.name == "postgresql":  # ids were given: move the sequences on
                for name in ("organisations", "vendors", "contacts"):
                    conn.exec_driver_sql(
                        f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))")
        with desk.writer.connect() as conn:
            started = time.perf_counter()
            conn.execute(select(orm.Contact.__table__)).all()
            bare = time.perf_counter() - started
        with desk.writer.begin() as conn:
            started = time.perf_counter()
            first_sent = send_care(desk, conn, tips, NOW)
            first = time.perf_counter() - started
        with desk.writer.begin() as conn:  # everyone else gets this week's message
            send_care(desk, conn, tips, NOW, limit=contacts)
        with desk.writer.begin() as conn:
            started = time.perf_counter()
            steady_sent = send_care(desk, conn, tips, NOW + timedelta(hours=1))
            steady = time.perf_counter() - started
        with desk.writer.connect() as conn:
            cared = conn.execute(select(func.count()).select_from(orm.CareMessage)).scalar_one()
        ok = first_sent == MAX_PER_PASS and steady_sent == 0 and cared == contacts
        return first, steady, bare, ok
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
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
                with fresh_database(backend, args.pg_url, "care") as url:
                    result = asyncio.run(measure(url, args.contacts))
            except Unavailable as exc:
                print(f"{backend}: not measured ({exc})")
                break
            first, steady, bare, good = result
            ok &= good
            runs.append(result)
            print(f"{backend} round {r + 1}: first pass {first * 1000:7.1f} ms, steady pass "
                  f"{steady * 1000:6.1f} ms, bare select {bare * 1000:6.1f} ms"
                  + ("" if good else "  FAILED"), flush=True)
        if runs:
            med = statistics.median
            print(f"{backend}: {args.contacts} contacts — first pass "
                  f"{med(r[0] for r in runs) * 1000:.0f} ms, steady pass "
                  f"{med(r[1] for r in runs) * 1000:.0f} ms, bare select "
                  f"{med(r[2] for r in runs) * 1000:.0f} ms; ratios "
                  f"{med(r[0] / r[2] for r in runs):.1f} and "
                  f"{med(r[1] / r[2] for r in runs):.1f}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
