"""`xcdesk import-calls`, `xcdesk call` and `xcdesk report hotline` as an operator runs them
(real processes, a real SQLite file), and the watched CDR folder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.phone.cdr import read_cdr
from channels.phone.importer import CdrFolderWatcher, CdrSource
from ticketing.desk import Desk

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
ZONE = ZoneInfo("Asia/Shanghai")


def xcdesk(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"XCDESK_DATABASE_URL": f"sqlite:///{db}",
                        "XCDESK_CLASSIFIER_KIND": "rules"}
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def pbx_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM calls WHERE source = 'pbx'").fetchone()[0])


def test_import_is_idempotent_and_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    assert xcdesk("migrate", db=db).returncode == 0
    master = FIXTURES / "asterisk-master.csv"
    expected = len(read_cdr(master.read_bytes(), "asterisk", ZONE))
    first = xcdesk("import-calls", str(master), db=db)
    assert first.returncode == 0, first.stderr
    assert f"{expected} 条记录，新导入 {expected}，已存在 0" in first.stdout
    again = xcdesk("import-calls", str(master), db=db)
    assert f"新导入 0，已存在 {expected}" in again.stdout
    assert pbx_rows(db) == expected
    bad = xcdesk("import-calls", str(FIXTURES / "asterisk-bad-rows.csv"), db=db)
    assert bad.returncode == 1
    assert "line 3" in bad.stderr and "line 6" in bad.stderr and "line 8" in bad.stderr
    assert pbx_rows(db) == expected  # none of the bad file's good rows either
    fs = xcdesk("import-calls", "--format", "freeswitch", str(FIXTURES / "freeswitch.csv"),
                db=db)
    assert fs.returncode == 0, fs.stderr
    generic = xcdesk("import-calls", "--format", "generic", str(FIXTURES / "generic-gbk.csv"),
                     db=db)
    assert generic.returncode == 0, generic.stderr


def test_call_and_hotline_report_from_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    logged = xcdesk("call", "--caller", "0771-5551234", "--agent", "王", "--summary",
                    "财务科打印机卡纸", "--started", "2026-11-27T09:00:00+08:00",
                    "--answered", "2026-11-27T09:00:12+08:00", "--name", "张三", db=db)
    assert logged.returncode == 0, logged.stderr
    body = json.loads(logged.stdout)
    assert body["outcome"] == "created" and body["caller"]["name"] == "张三"
    assert body["caller"]["open_tickets"][0]["ticket_no"] == body["ticket_no"]
    master = FIXTURES / "asterisk-master.csv"
    assert xcdesk("import-calls", str(master), db=db).returncode == 0
    report = xcdesk("report", "hotline", "--json", db=db)
    assert report.returncode == 0, report.stderr
    figures = json.loads(report.stdout)
    records = read_cdr(master.read_bytes(), "asterisk", ZONE)
    answered = [r for r in records if r.outcome == "answered"]
    within = [r for r in answered if (r.answered_at - r.started_at).total_seconds() <= 30]
    assert figures["total"]["calls"] == len(records)
    assert figures["total"]["answered"] == len(answered)
    assert figures["total"]["answered_within_30s"] == len(within)
    assert figures["total"]["abandoned"] == sum(r.outcome == "abandoned" for r in records)
    table = xcdesk("report", "hotline", db=db)
    assert table.returncode == 0 and "30秒内接通" in table.stdout and "合计" in table.stdout


async def test_the_watched_folder_imports_new_files_once(desk: Desk, tmp_path: Path) -> None:
    folder = tmp_path / "cdr"
    folder.mkdir()
    watcher = CdrFolderWatcher(desk, folder, CdrSource("asterisk", ZONE))
    shutil.copy(FIXTURES / "asterisk-master.csv", folder / "Master-1.csv")
    shutil.copy(FIXTURES / "asterisk-bad-rows.csv", folder / "Master-2.csv")
    assert watcher.scan() == []  # first sight: wait until the file stops growing
    done = dict(watcher.scan())
    assert set(done) == {folder / "Master-1.csv", folder / "Master-2.csv"}
    assert (folder / "imported" / "Master-1.csv").exists()
    assert (folder / "failed" / "Master-2.csv").exists()
    assert "line 3" in (folder / "failed" / "Master-2.csv.errors.txt").read_text("utf-8")
    assert watcher.scan() == []
