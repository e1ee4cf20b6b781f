"""Reading PBX call-detail records: Asterisk Master.csv, FreeSWITCH cdr_csv, generic CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from channels.phone.cdr import FORMATS, CdrError, CdrRecord, GenericMapping, read_cdr

FIXTURES = Path(__file__).parent / "fixtures"
NANNING = ZoneInfo("Asia/Shanghai")
MAPPING = GenericMapping(
    unique_id="呼叫ID",
    caller="主叫号码",
    caller_name=None,
    callee="被叫号码",
    started_at="开始时间",
    answered_at="应答时间",
    ended_at="结束时间",
    agent="坐席",
    time_format="%Y-%m-%d %H:%M:%S",
    encoding="utf-8-sig",
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=NANNING)


def by_line(records: list[CdrRecord]) -> dict[int, CdrRecord]:
    return {record.line: record for record in records}


def asterisk_row(
    uid: str = "1717374662.49",
    src: str = "13807712345",
    clid: str = '"张三" <13807712345>',
    dstchannel: str = "SIP/8001-00000032",
    start: str = "2024-06-03 08:31:02",
    answer: str = "2024-06-03 08:31:14",
    end: str = "2024-06-03 08:35:40",
    disposition: str = "ANSWERED",
    tail: tuple[str, ...] = ("",),
) -> str:
    """One Master.csv line as cdr_csv writes it (18 columns unless `tail` says otherwise)."""

    def q(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    cells = [q(""), q(src), q("8000"), q("ext-queues"), q(clid), q("SIP/gxtrunk-00000031"),
             q(dstchannel), q("Queue"), q("8000,t,,,300"), q(start), q(answer) if answer else "",
             q(end), "278", "266", q(disposition), q("DOCUMENTATION"), q(uid)]  # fmt: skip
    cells += [q(value) for value in tail]
    return ",".join(cells) + "\n"


def refusal(data: bytes, fmt: str = "asterisk", **kwargs: object) -> CdrError:
    with pytest.raises(CdrError) as caught:
        read_cdr(data, fmt, NANNING, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- Asterisk ---------------------------------------------------------------------------------


def test_asterisk_master_every_row() -> None:
    records = read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING)
    assert [r.line for r in records] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14]  # 13 blank
    assert [r.outcome for r in records] == [
        "answered", "answered", "abandoned", "busy", "failed", "failed", "abandoned",
        "answered", "answered", "answered", "answered", "abandoned", "answered",
    ]  # fmt: skip
    assert len({r.unique_id for r in records}) == 13


def test_asterisk_answered_within_30_seconds() -> None:
    first = read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING)[0]
    assert first == CdrRecord(
        unique_id="1717374662.49",
        caller="13807712345",
        caller_name="张三",
        callee="8000",
        started_at=local("2024-06-03 08:31:02"),
        answered_at=local("2024-06-03 08:31:14"),
        ended_at=local("2024-06-03 08:35:40"),
        outcome="answered",
        agent="8001",
        line=1,
    )
    assert first.wait_seconds == 12.0
    assert first.started_at.utcoffset() == timedelta(hours=8)
    assert first.started_at.tzinfo is NANNING


def test_asterisk_answered_after_30_seconds_landline_and_comma_in_name() -> None:
    row = by_line(read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING))[2]
    assert row.caller == "07715512345"
    assert row.caller_name == "广西壮族自治区大数据发展局, 信息中心"
    assert row.unique_id == "1717375205.53"
    assert row.agent == "8002"  # PJSIP/8002-0000003a
    assert row.answered_at == local("2024-06-03 08:41:17")
    assert row.wait_seconds == 72.0


def test_asterisk_unanswered_rows() -> None:
    rows = by_line(read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING))
    no_answer = rows[3]
    assert (no_answer.caller, no_answer.caller_name) == ("+8613977123456", None)
    assert (no_answer.outcome, no_answer.answered_at, no_answer.agent) == ("abandoned", None, None)
    assert no_answer.ended_at == local("2024-06-03 09:03:02")
    assert no_answer.wait_seconds == 51.0
    busy = rows[4]
    assert (busy.outcome, busy.caller_name, busy.agent) == ("busy", None, None)  # name == number
    assert busy.wait_seconds == 1.0
    assert (rows[5].outcome, rows[5].caller_name, rows[5].callee) == ("failed", "李四", "12345")
    assert rows[6].outcome == "failed"  # CONGESTION
    answered_without_answer_time = rows[7]
    assert answered_without_answer_time.outcome == "abandoned"
    assert answered_without_answer_time.agent is None
    assert answered_without_answer_time.wait_seconds == 20.0


def test_asterisk_local_channel_and_quotes_in_name() -> None:
    rows = by_line(read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING))
    assert rows[8].agent == "8004"  # Local/8004@from-queue-00000012;1
    assert rows[8].wait_seconds == 30.0
    assert rows[9].caller_name == '覃"老师"'
    assert rows[9].caller == "07713801234"


def test_asterisk_newer_column_layouts() -> None:
    rows = by_line(read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING))
    twenty = rows[10]  # uniqueid, peeraccount, linkedid, sequence
    assert (twenty.unique_id, twenty.caller, twenty.caller_name) == (
        "1717381800.81",
        "+8618607710003",
        "韦小宝",
    )
    assert (twenty.agent, twenty.wait_seconds) == ("8005", 45.0)
    twenty_one = rows[11]  # uniqueid, userfield, peeraccount, linkedid, sequence
    assert (twenty_one.unique_id, twenty_one.caller) == ("1717383912.88", "07717654321")
    assert twenty_one.caller_name == "南宁市青秀区政务服务中心"
    over_midnight = rows[14]
    assert over_midnight.ended_at == local("2024-06-04 00:03:10")
    assert over_midnight.wait_seconds == 15.0


def test_asterisk_without_uniqueid_is_refused_with_one_clear_message() -> None:
    error = refusal(fixture("asterisk-no-uniqueid.csv"))
    assert len(error.errors) == 1
    line, reason = error.errors[0]
    assert line == 1
    assert "no uniqueid column" in reason and "loguniqueid=yes" in reason
    assert str(error).splitlines()[1].startswith("line 1: no uniqueid column")


def test_asterisk_some_rows_without_uniqueid_are_listed_each() -> None:
    data = asterisk_row() + asterisk_row(uid="", tail=()).replace(',""\n', "\n")
    assert refusal(data.encode()).errors == [
        (
            2,
            "16 columns: no uniqueid column; set loguniqueid=yes in the [csv] section of"
            " cdr.conf (import needs a unique id per call)",
        )
    ]


def test_asterisk_bad_rows_refused_with_line_numbers() -> None:
    error = refusal(fixture("asterisk-bad-rows.csv"))
    assert error.errors == [
        (3, "answer time before start time"),
        (6, "unparseable start time '2024-06-31 12:10:00'"),
        (8, "13 columns, expected 17, 18, 20 or 21 (Asterisk Master.csv)"),
    ]
    assert str(error) == (
        "CDR file refused: 3 problems\n"
        "line 3: answer time before start time\n"
        "line 6: unparseable start time '2024-06-31 12:10:00'\n"
        "line 8: 13 columns, expected 17, 18, 20 or 21 (Asterisk Master.csv)"
    )


def test_every_problem_of_a_row_and_of_the_file_is_collected() -> None:
    data = (
        asterisk_row(uid="1.1")
        + asterisk_row(uid="1.2", src="", end="2024-06-03 08:30:00")
        + asterisk_row(uid="", answer="2024-06-03 8:31")
        + asterisk_row(uid="1.1")
        + asterisk_row(uid="1.5", disposition="TRANSFERRED")
        + asterisk_row(uid="1.6", tail=("", "", "x", "1", "extra"))
        + asterisk_row(uid="1.7", start="")
    )
    assert refusal(data.encode()).errors == [
        (2, "empty caller"),
        (2, "end time before start time"),
        (2, "end time before answer time"),
        (3, "empty unique id"),
        (3, "unparseable answer time '2024-06-03 8:31'"),
        (4, "duplicate unique id '1.1' (first on line 1)"),
        (5, "unknown disposition 'TRANSFERRED'"),
        (6, "22 columns, expected 17, 18, 20 or 21 (Asterisk Master.csv)"),
        (7, "empty start time"),
    ]


def test_error_message_lists_the_first_twenty() -> None:
    data = "".join(asterisk_row(uid=f"9.{n}", src="") for n in range(25))
    error = refusal(data.encode())
    assert len(error.errors) == 25
    lines = str(error).splitlines()
    assert lines[0] == "CDR file refused: 25 problems"
    assert lines[1] == "line 1: empty caller"
    assert lines[20] == "line 20: empty caller"
    assert lines[21] == "... and 5 more"
    assert len(lines) == 22


def test_blank_lines_crlf_and_multiline_fields_keep_file_line_numbers() -> None:
    second = asterisk_row(uid="2.2", tail=("备注第一行\n第二行",))
    data = "\n\n" + asterisk_row(uid="2.1") + second + "\n" + asterisk_row(uid="2.3")
    records = read_cdr(data.replace("\n", "\r\n").encode(), "asterisk", NANNING)
    assert [(r.unique_id, r.line) for r in records] == [("2.1", 3), ("2.2", 4), ("2.3", 7)]


def test_asterisk_gb18030_export_falls_back() -> None:
    text = fixture("asterisk-master.csv").decode("utf-8")
    from_gbk = read_cdr(text.encode("gb18030"), "asterisk", NANNING)
    assert from_gbk == read_cdr(fixture("asterisk-master.csv"), "asterisk", NANNING)
    assert from_gbk[1].caller_name == "广西壮族自治区大数据发展局, 信息中心"


def test_undecodable_bytes_are_refused() -> None:
    data = asterisk_row().encode() + b'"\x80\xff\xfe"\n'
    error = refusal(data)
    assert error.errors[0][0] == 2
    assert "undecodable bytes" in error.errors[0][1]


def test_unreadable_csv_is_refused_with_its_line() -> None:
    data = asterisk_row() + '"' + "x" * 200_000 + '"\n'
    error = refusal(data.encode())
    assert error.errors[0][0] == 2
    assert error.errors[0][1].startswith("unreadable CSV")


def test_times_are_read_in_the_given_zone() -> None:
    utc = read_cdr(asterisk_row().encode(), "asterisk", ZoneInfo("UTC"))[0]
    assert utc.started_at == datetime(2024, 6, 3, 8, 31, 2, tzinfo=ZoneInfo("UTC"))
    assert utc.started_at - local("2024-06-03 08:31:02") == timedelta(hours=8)


def test_five_thousand_generated_rows() -> None:
    numbers = [f"1380771{n:04d}" for n in range(5000)]
    data = "".join(
        asterisk_row(uid=f"1717374662.{n}", src=number, clid=f'"用户{n}" <{number}>')
        for n, number in enumerate(numbers)
    )
    records = read_cdr(data.encode(), "asterisk", NANNING)
    assert len(records) == 5000
    assert records[-1].caller == "13807714999"
    assert records[-1].caller_name == "用户4999"
    assert records[-1].line == 5000


def test_empty_file_has_no_records() -> None:
    assert read_cdr(b"", "asterisk", NANNING) == []
    assert read_cdr(b"\n\r\n", "freeswitch", NANNING) == []
    header = "\ufeff呼叫ID,主叫号码,被叫号码,开始时间,应答时间,结束时间,坐席\r\n"
    assert read_cdr(header.encode(), "generic", NANNING, MAPPING) == []


# --- FreeSWITCH -------------------------------------------------------------------------------


def test_freeswitch_rows() -> None:
    records = read_cdr(fixture("freeswitch.csv"), "freeswitch", NANNING)
    assert len(records) == 11
    assert [r.outcome for r in records] == [
        "answered", "answered", "abandoned", "abandoned", "abandoned", "busy", "failed",
        "answered", "answered", "failed", "answered",
    ]  # fmt: skip
    assert records[0] == CdrRecord(
        unique_id="3f2a9c1e-2156-11ef-9d4a-5f1c2b3d4e01",
        caller="13807712345",
        caller_name="张三",
        callee="1001",
        started_at=local("2024-06-03 08:31:02"),
        answered_at=local("2024-06-03 08:31:10"),
        ended_at=local("2024-06-03 08:36:02"),
        outcome="answered",
        agent="1001",
        line=1,
    )
    assert records[0].wait_seconds == 8.0


def test_freeswitch_details() -> None:
    rows = by_line(read_cdr(fixture("freeswitch.csv"), "freeswitch", NANNING))
    assert rows[2].caller_name == "广西壮族自治区数据中心, 运维部"
    assert (rows[2].caller, rows[2].agent, rows[2].wait_seconds) == ("07715512345", "1002", 40.0)
    cancelled = rows[3]  # ORIGINATOR_CANCEL: the caller hung up before anyone answered
    assert (cancelled.caller, cancelled.caller_name) == ("+8613977123456", None)
    assert (cancelled.outcome, cancelled.agent, cancelled.wait_seconds) == ("abandoned", None, 51.0)
    assert (rows[6].outcome, rows[6].caller_name) == ("busy", "陈晓明")  # USER_BUSY
    assert rows[7].outcome == "failed"  # CALL_REJECTED
    assert (rows[8].caller_name, rows[8].wait_seconds) == (None, 31.0)  # name == number
    assert rows[9].caller_name == '覃"老师"'
    # NORMAL_CLEARING without an answer time
    assert (rows[10].outcome, rows[10].wait_seconds) == ("failed", 20.0)
    assert rows[11].ended_at == local("2024-06-04 00:03:10")


def test_freeswitch_compiled_in_13_column_template() -> None:
    line = (
        '"张三","13807712345","1001","public","2024-06-03 08:31:02","2024-06-03 08:31:10",'
        '"2024-06-03 08:36:02","300","292","NORMAL_CLEARING",'
        '"3f2a9c1e-2156-11ef-9d4a-5f1c2b3d4e01","", ""\n'
    )
    (record,) = read_cdr(line.encode(), "freeswitch", NANNING)
    assert (record.caller_name, record.outcome, record.agent) == ("张三", "answered", "1001")


def test_freeswitch_wrong_column_count() -> None:
    error = refusal(b'"a","b","c"\n', "freeswitch")
    assert error.errors == [(1, "3 columns, expected 13 to 20 (FreeSWITCH cdr_csv)")]


# --- generic ----------------------------------------------------------------------------------


def test_generic_utf8_with_bom() -> None:
    records = read_cdr(fixture("generic.csv"), "generic", NANNING, MAPPING)
    assert [r.line for r in records] == [2, 3, 4, 5, 6, 7]  # the all-empty row 8 is skipped
    assert records[0] == CdrRecord(
        unique_id="C20240603083102001",
        caller="13807712345",
        caller_name=None,
        callee="12345",
        started_at=local("2024-06-03 08:31:02"),
        answered_at=local("2024-06-03 08:31:14"),
        ended_at=local("2024-06-03 08:35:40"),
        outcome="answered",
        agent="李敏(8001)",
        line=2,
    )
    assert records[1].wait_seconds == 72.0
    assert (records[2].caller, records[2].outcome, records[2].wait_seconds) == (
        "+8613977123456",
        "abandoned",
        51.0,
    )
    assert (records[3].outcome, records[3].agent) == ("abandoned", None)
    assert (records[4].caller, records[4].agent) == ("07712809999", "陆伟(8003)")
    assert records[5].ended_at == local("2024-06-04 00:03:10")


def test_generic_gbk_falls_back_to_gb18030() -> None:
    gbk = read_cdr(fixture("generic-gbk.csv"), "generic", NANNING, MAPPING)
    assert gbk == read_cdr(fixture("generic.csv"), "generic", NANNING, MAPPING)
    assert gbk[1].agent == "黄海燕(8002)"


def test_generic_caller_name_and_other_time_format() -> None:
    mapping = GenericMapping(
        unique_id="ID", caller="主叫", caller_name="姓名", started_at="开始",
        answered_at="应答", time_format="%Y/%m/%d %H:%M:%S%z",
    )  # fmt: skip
    data = (
        "ID,主叫,姓名,开始,应答\n"
        'a1,13807712345,"张三",2024/06/03 00:31:02+0000,2024/06/03 00:31:40+0000\n'
        "a2,07715512345,07715512345,2024/06/03 08:40:05+0800,\n"
    ).encode("gb18030")
    first, second = read_cdr(data, "generic", NANNING, mapping)
    assert (first.caller_name, first.started_at) == ("张三", local("2024-06-03 08:31:02"))
    assert first.started_at.tzinfo is NANNING
    assert (first.outcome, first.wait_seconds, first.callee, first.agent) == (
        "answered",
        38.0,
        None,
        None,
    )
    assert (second.caller_name, second.outcome, second.ended_at) == (None, "abandoned", None)
    assert second.wait_seconds is None


def test_generic_missing_header_column() -> None:
    data = "\ufeff呼叫ID,主叫号码,开始时间\nC1,13807712345,2024-06-03 08:31:02\n".encode()
    error = refusal(data, "generic", mapping=MAPPING)
    assert [line for line, _ in error.errors] == [1, 1, 1, 1]
    assert error.errors[0] == (1, "the header row has no column '被叫号码' (mapping.callee)")


def test_generic_bad_rows() -> None:
    data = (
        "\n呼叫ID,主叫号码,开始时间,应答时间\n"
        "C1,13807712345,2024-06-03 08:31:02\n"
        "C2,,2024-06-03 25:00:00,\n"
        "C3,13807712345,2024-06-03 08:31:02,2024-06-03 08:31:09,,\n"
    ).encode()
    mapping = GenericMapping(
        unique_id="呼叫ID", caller="主叫号码", started_at="开始时间", answered_at="应答时间"
    )
    assert refusal(data, "generic", mapping=mapping).errors == [
        (3, "3 columns, expected 4 as in the header row"),
        (4, "empty caller"),
        (4, "unparseable start time '2024-06-03 25:00:00'"),
    ]


# --- arguments --------------------------------------------------------------------------------


def test_formats_and_argument_errors() -> None:
    assert FORMATS == ("asterisk", "freeswitch", "generic")
    with pytest.raises(ValueError, match="unknown CDR format"):
        read_cdr(b"", "avaya", NANNING)
    with pytest.raises(ValueError, match="GenericMapping"):
        read_cdr(b"", "generic", NANNING)
