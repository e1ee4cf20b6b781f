"""The complaint ledger (投诉台账) as a file for people: CSV with Chinese headers and labels,
local times, UTF-8 with a BOM (as the work-order ledger), or JSON lines for machines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO
from zoneinfo import ZoneInfo

from ticketing.complaints import ComplaintView
from ticketing.ledger import csv_cell, csv_writer
from ticketing.vocabulary import Vocabulary

# column -> header
COLUMNS = {
    "complaint_no": "投诉编号",
    "ticket_no": "工单编号",
    "vendor": "主责企业",
    "source": "投诉来源",
    "status": "处理状态",
    "owner": "负责人",
    "summary": "投诉内容",
    "received_at": "受理时间",
    "investigate_due": "调查时限",
    "investigating_at": "开始调查时间",
    "remedy_due": "补救时限",
    "remedied_at": "补救时间",
    "remedy": "补救措施",
    "user_response": "用户意见",
    "confirmed_at": "用户确认时间",
}
_LABELLED = {"source": "complaint_source", "status": "complaint_status"}


def write(
    rows: Iterable[ComplaintView], out: TextIO, fmt: str, vocabulary: Vocabulary, zone: ZoneInfo
) -> int:
    """Write the complaints to `out` as "csv" or "jsonl"; returns how many."""
    count = 0
    writer = None
    if fmt == "csv":
        writer = csv_writer(out, COLUMNS.values())
    for row in rows:
        if writer is None:
            out.write(json.dumps(row.as_json(), ensure_ascii=False) + "\n")
        else:
            writer.writerow([csv_cell(getattr(row, name), vocabulary, zone, _LABELLED.get(name))
                             for name in COLUMNS])
        count += 1
    return count
