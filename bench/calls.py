"""CDR import speed: `python -m bench.calls [--rows 100000] [--rounds 3]`.

A file of `--rows` Asterisk `Master.csv` rows (the documented default columns plus uniqueid;
Chinese caller names, a tenth unanswered) is imported by `xcdesk import-calls` (parse, validate
every row, one transaction into a fresh SQLite file, with matching and callback tasks), beside
Python's `csv` module merely reading the same file in the same run. Rows per second of each and
their ratio, median of the rounds; the database must hold every row afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")
NAMES = ("张三", "李四", "王五", "黄丽", "覃志强", "梁晓", "Lefèvre, René")


def write_cdr(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, 8, 0, 0)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for i in range(rows):
        began = start + timedelta(seconds=i * 7)
        number = f"138{rng.randrange(10**8):08d}"
        answered = rng.random() > 0.1
        wait = rng.randrange(3, 60)
        answer = began + timedelta(seconds=wait)
        end = answer + timedelta(seconds=rng.randrange(30, 600))
        writer.writerow([
            "", number, "8000", "from-pstn", f'"{NAMES[i % len(NAMES)]}" <{number}>',
            f"SIP/trunk-{i:08x}", "SIP/8001-00000001" if answered else "", "Dial",
            "SIP/8001,30", began.strftime("%Y-%m-%d %H:%M:%S"),
            answer.strftime("%Y-%m-%d %H:%M:%S") if answered else "",
            end.strftime("%Y-%m-%d %H:%M:%S"), str(int((end - began).total_seconds())),
            str(int((end - answer).total_seconds())) if answered else "0",
            "ANSWERED" if answered else "NO ANSWER", "DOCUMENTATION", f"1764547200.{i}",
        ])
    path.write_text(out.getvalue(), encoding="utf-8")


def csv_read(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        count = sum(1 for _ in csv.reader(fh))
    assert count > 0
    return time.perf_counter() - started


def ours(path: Path, db: Path) -> tuple[float, int]:
    from channels.phone.importer import CdrSource, import_file
    from server.runtime import open_runtime
    from server.settings import DatabaseSettings, Settings

    async def setup() -> object:
        return await open_runtime(
            Settings(database=DatabaseSettings(url=f"sqlite:///{db}")), migrate=True
        )

    runtime = asyncio.run(setup())
    started = time.perf_counter()
    result = import_file(runtime.desk, path, CdrSource("asterisk", ZONE))  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started
    asyncio.run(runtime.close())  # type: ignore[attr-defined]
    return seconds, result.inserted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    ok = True
    runs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="xcdesk-bench-calls-") as tmp:
        path = Path(tmp) / "Master.csv"
        write_cdr(path, args.rows)
        for r in range(args.rounds):
            base = csv_read(path)
            seconds, inserted = ours(path, Path(tmp) / f"calls-{r}.db")
            ok &= inserted == args.rows
            runs.append((args.rows / seconds, args.rows / base))
            print(f"round {r + 1}: import {args.rows / seconds:9.0f} rows/s, csv read "
                  f"{args.rows / base:9.0f} rows/s" + ("" if inserted == args.rows else
                                                        f"  FAILED: {inserted} stored"), flush=True)
    med = statistics.median
    print(f"\n{args.rows} Asterisk CDR rows, median of {args.rounds} rounds")
    print(f"  import (parse, validate, store, match)  {med(o for o, _ in runs):9.0f} rows/s")
    print(f"  csv.reader only                          {med(b for _, b in runs):9.0f} rows/s")
    print(f"  ratio                                    {med(o / b for o, b in runs):9.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
