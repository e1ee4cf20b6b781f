"""Call-detail records (CDR) exported by the call centre's PBX, read into `CdrRecord`s.

Three layouts are understood, all without a header row except the generic one:

* ``asterisk`` — cdr_csv's ``Master.csv``: accountcode, src, dst, dcontext, clid, channel,
  dstchannel, lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags,
  then uniqueid (``loguniqueid=yes``), userfield (``loguserfield=yes``) and, with
  ``newcdrcolumns=yes``, peeraccount, linkedid, sequence. Rows of 17, 18, 20 or 21 columns carry
  the uniqueid as the 17th column; rows of 16 or 19 columns have none and are refused, because an
  import that can be repeated needs a unique id per call.
* ``freeswitch`` — mod_cdr_csv with the stock template of ``cdr_csv.conf.xml``: caller_id_name,
  caller_id_number, destination_number, context, start_stamp, answer_stamp, end_stamp, duration,
  billsec, hangup_cause, uuid, bleg_uuid, accountcode, read_codec, write_codec. The 13-column
  template compiled into the module (no codecs) and the longer vendor templates that start with
  the same 13 columns (up to 20 columns) are read too.
* ``generic`` — any CSV with a header row, its columns named by a `GenericMapping`.

Times are the PBX's local wall-clock time and are read in the zone the caller names (pass
``ZoneInfo("UTC")`` for an Asterisk configured with ``usegmtime=yes``). Bytes are decoded as
UTF-8 (a BOM is allowed) and otherwise as GB18030, which covers GBK and GB2312 exports.

A file is read all or nothing: every row is checked, every problem is collected with its line
number, and if there is any the whole file is refused with a `CdrError` listing them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = [
    "FORMATS",
    "OUTCOMES",
    "CdrError",
    "CdrRecord",
    "GenericMapping",
    "read_cdr",
]

FORMATS = ("asterisk", "freeswitch", "generic")
OUTCOMES = ("answered", "abandoned", "busy", "failed")

MAX_LISTED_ERRORS = 20
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_DEFAULT_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)
_FALLBACK_ENCODINGS = ("utf-8-sig", "gb18030")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

_ASTERISK_DISPOSITIONS = {
    "ANSWERED": "answered",
    "NO ANSWER": "abandoned",
    "BUSY": "busy",
    "FAILED": "failed",
    "CONGESTION": "failed",
}
_ASTERISK_WITH_UNIQUEID = frozenset({17, 18, 20, 21})
_ASTERISK_WITHOUT_UNIQUEID = frozenset({16, 19})
_NO_UNIQUEID_HINT = (
    "no uniqueid column; set loguniqueid=yes in the [csv] section of cdr.conf "
    "(import needs a unique id per call)"
)

_FREESWITCH_MIN_COLUMNS, _FREESWITCH_MAX_COLUMNS = 13, 20
_FREESWITCH_ABANDONED = frozenset({"ORIGINATOR_CANCEL", "NO_ANSWER", "NO_USER_RESPONSE"})
_FREESWITCH_BUSY = frozenset({"USER_BUSY"})


# --- public types -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CdrRecord:
    """One call as the PBX logged it.

    `answered_at` and `agent` are set only when `outcome` is ``"answered"``.
    """

    unique_id: str
    caller: str
    caller_name: str | None
    callee: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str
    agent: str | None
    line: int

    @property
    def wait_seconds(self) -> float | None:
        """Seconds from start to answer, or to hang-up when unanswered; None if unknown."""
        until = self.answered_at if self.answered_at is not None else self.ended_at
        if until is None:
            return None
        return until.timestamp() - self.started_at.timestamp()


@dataclass(frozen=True)
class GenericMapping:
    """Which header names of a generic CSV export hold which value; None = no such column.

    `encoding` is tried first; UTF-8 and GB18030 are tried after it. `time_format` is a
    `datetime.strptime` format; times without an offset are local times in the zone given to
    `read_cdr`, times with one (``%z``) are converted to that zone.
    """

    unique_id: str
    caller: str
    started_at: str
    caller_name: str | None = None
    callee: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    agent: str | None = None
    time_format: str = DEFAULT_TIME_FORMAT
    encoding: str = "utf-8-sig"


class CdrError(Exception):
    """The whole file is refused; `errors` holds (line number, reason) for every problem."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = list(errors)
        super().__init__(_describe(self.errors))


def _describe(errors: list[tuple[int, str]]) -> str:
    count = len(errors)
    head = f"CDR file refused: {count} problem{'' if count == 1 else 's'}"
    lines = [f"line {line}: {reason}" for line, reason in errors[:MAX_LISTED_ERRORS]]
    if count > MAX_LISTED_ERRORS:
        lines.append(f"... and {count - MAX_LISTED_ERRORS} more")
    return "\n".join([head, *lines])


# --- entry point ------------------------------------------------------------------------------


def read_cdr(
    data: bytes, fmt: str, zone: ZoneInfo, mapping: GenericMapping | None = None
) -> list[CdrRecord]:
    """Read a whole CDR file of layout `fmt` (one of `FORMATS`); raise `CdrError` if any row is bad.

    `mapping` is required for ``"generic"`` and ignored for the other layouts. Completely
    empty lines (and rows whose every cell is empty) are skipped; line numbers are those of the
    file, counting from 1, and name the first line of a record that spans several.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown CDR format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "generic":
        if mapping is None:
            raise ValueError("the generic CDR format needs a GenericMapping")
        return _read_generic(data, zone, mapping)
    text = _decode(data, _FALLBACK_ENCODINGS)
    to_fields = _asterisk_fields if fmt == "asterisk" else _freeswitch_fields
    return _collect(_csv_rows(text), to_fields, _time_parser(DEFAULT_TIME_FORMAT, zone))


def _read_generic(data: bytes, zone: ZoneInfo, mapping: GenericMapping) -> list[CdrRecord]:
    encodings = tuple(dict.fromkeys((mapping.encoding, *_FALLBACK_ENCODINGS)))
    rows = _csv_rows(_decode(data, encodings))
    try:
        to_fields = _generic_header(rows, mapping)
    except _BrokenCsv as exc:
        raise CdrError([(exc.line, exc.reason)]) from None
    if to_fields is None:
        return []
    return _collect(rows, to_fields, _time_parser(mapping.time_format, zone))


# --- bytes and CSV ----------------------------------------------------------------------------


def _decode(data: bytes, encodings: tuple[str, ...]) -> str:
    """The text of `data` in the first of `encodings` that decodes it, without a leading BOM."""
    failure: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            failure = exc
            continue
        return text[1:] if text.startswith("\ufeff") else text
    assert failure is not None
    line = data.count(b"\n", 0, failure.start) + 1
    tried = ", ".join(encodings)
    raise CdrError([(line, f"undecodable bytes (tried {tried}) at byte {failure.start}")])


class _BrokenCsv(Exception):
    """The CSV reader could not go on; nothing after `line` can be trusted."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of every record that has a non-empty cell."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    last_line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _BrokenCsv(last_line + 1, f"unreadable CSV: {exc}") from None
        first_line, last_line = last_line + 1, reader.line_num
        if "".join(row).strip():
            yield first_line, row


# --- rows to records --------------------------------------------------------------------------


class _BadRow(Exception):
    """A row whose shape is wrong, so none of its cells can be read."""


class _NoUniqueId(_BadRow):
    """An Asterisk row written without ``loguniqueid=yes``."""


@dataclass(slots=True)
class _Fields:
    """The cells of one row that matter, still as text, and the outcome they imply."""

    unique_id: str
    caller: str
    caller_name: str | None
    callee: str | None
    start: str
    answer: str
    end: str
    outcome: str | None  # None: the status cell holds something unknown, see `status_problem`
    agent: str | None
    status_problem: str | None = None


RowReader = Callable[[list[str]], _Fields]
TimeParser = Callable[[str], datetime]


def _collect(
    rows: Iterator[tuple[int, list[str]]], to_fields: RowReader, parse_time: TimeParser
) -> list[CdrRecord]:
    """Every row as a record, or `CdrError` with every problem of every row."""
    records: list[CdrRecord] = []
    errors: list[tuple[int, str]] = []
    first_line_of: dict[str, int] = {}
    row_count = 0
    no_uniqueid: list[tuple[int, str]] = []
    try:
        for line, row in rows:
            row_count += 1
            try:
                fields = to_fields(row)
            except _NoUniqueId as exc:
                no_uniqueid.append((line, str(exc)))
                errors.append((line, str(exc)))
                continue
            except _BadRow as exc:
                errors.append((line, str(exc)))
                continue
            record, problems = _finish(fields, line, parse_time)
            errors.extend((line, problem) for problem in problems)
            if record is None:
                continue
            seen = first_line_of.setdefault(record.unique_id, line)
            if seen != line:
                reason = f"duplicate unique id {record.unique_id!r} (first on line {seen})"
                errors.append((line, reason))
                continue
            records.append(record)
    except _BrokenCsv as exc:
        errors.append((exc.line, exc.reason))
    if no_uniqueid and len(no_uniqueid) == row_count == len(errors):
        errors = [(no_uniqueid[0][0], f"{_NO_UNIQUEID_HINT}; no row of the file has one")]
    if errors:
        raise CdrError(errors)
    return records


def _finish(
    fields: _Fields, line: int, parse_time: TimeParser
) -> tuple[CdrRecord | None, list[str]]:
    """The record for `fields`, or None and the reasons it cannot be one."""
    problems: list[str] = []
    unique_id = fields.unique_id.strip()
    if not unique_id:
        problems.append("empty unique id")
    caller = fields.caller.strip()
    if not caller:
        problems.append("empty caller")
    if fields.status_problem is not None:
        problems.append(fields.status_problem)
    started_at = _read_time(parse_time, fields.start, "start", problems)
    answered_at = _read_time(parse_time, fields.answer, "answer", problems)
    ended_at = _read_time(parse_time, fields.end, "end", problems)
    if started_at is None and not fields.start.strip():
        problems.append("empty start time")
    problems.extend(_order_problems(started_at, answered_at, ended_at))
    if problems or started_at is None:
        return None, problems
    answered = fields.outcome == "answered"
    record = CdrRecord(
        unique_id=unique_id,
        caller=caller,
        caller_name=_name(fields.caller_name, caller),
        callee=_text(fields.callee),
        started_at=started_at,
        answered_at=answered_at if answered else None,
        ended_at=ended_at,
        outcome=fields.outcome or "failed",
        agent=_text(fields.agent) if answered else None,
        line=line,
    )
    return record, []


def _read_time(
    parse_time: TimeParser, value: str, what: str, problems: list[str]
) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        problems.append(f"unparseable {what} time {value!r}")
        return None


def _order_problems(
    start: datetime | None, answer: datetime | None, end: datetime | None
) -> list[str]:
    problems = []
    if start is not None and answer is not None and answer < start:
        problems.append("answer time before start time")
    if start is not None and end is not None and end < start:
        problems.append("end time before start time")
    if answer is not None and end is not None and end < answer:
        problems.append("end time before answer time")
    return problems


def _time_parser(time_format: str, zone: ZoneInfo) -> TimeParser:
    """A function reading one time of `time_format` as an aware datetime in `zone`."""
    if time_format == DEFAULT_TIME_FORMAT:

        def parse_default(value: str) -> datetime:
            if _DEFAULT_TIME.fullmatch(value) is None:
                raise ValueError(value)
            return datetime.fromisoformat(value).replace(tzinfo=zone)

        return parse_default

    def parse(value: str) -> datetime:
        moment = datetime.strptime(value, time_format)
        if moment.tzinfo is not None:
            return moment.astimezone(zone)
        return moment.replace(tzinfo=zone)

    return parse


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _name(value: str | None, caller: str) -> str | None:
    """A caller name worth keeping: not empty and not merely the number again."""
    name = _text(value)
    return None if name == caller else name


# --- Asterisk ---------------------------------------------------------------------------------


def _asterisk_fields(row: list[str]) -> _Fields:
    count = len(row)
    if count in _ASTERISK_WITHOUT_UNIQUEID:
        raise _NoUniqueId(f"{count} columns: {_NO_UNIQUEID_HINT}")
    if count not in _ASTERISK_WITH_UNIQUEID:
        raise _BadRow(f"{count} columns, expected 17, 18, 20 or 21 (Asterisk Master.csv)")
    disposition = row[14].strip().upper()
    outcome = _ASTERISK_DISPOSITIONS.get(disposition)
    if outcome == "answered" and not row[10].strip():
        outcome = "abandoned"  # ANSWERED without an answer time: nobody picked up
    return _Fields(
        unique_id=row[16],
        caller=row[1],
        caller_name=_clid_name(row[4]),
        callee=row[2],
        start=row[9],
        answer=row[10],
        end=row[11],
        outcome=outcome,
        agent=_channel_peer(row[6]),
        status_problem=None if outcome else f"unknown disposition {row[14]!r}",
    )


def _clid_name(clid: str) -> str | None:
    """The name part of a caller id such as ``"张三" <13800771234>``."""
    clid = clid.strip()
    if clid.endswith(">") and "<" in clid:
        clid = clid[: clid.rindex("<")].strip()
    if len(clid) >= 2 and clid[0] == clid[-1] == '"':
        clid = clid[1:-1]
    return clid.strip() or None


def _channel_peer(channel: str) -> str | None:
    """The endpoint of a channel name: ``SIP/8001-0000002a`` and ``Local/8001@ctx-1;2`` -> 8001."""
    peer = channel.strip().split("/", 1)[-1].split(";", 1)[0]
    head, dash, tail = peer.rpartition("-")
    if dash and head and tail and all(char in _HEX_DIGITS for char in tail):
        peer = head  # the sequence suffix Asterisk appends to every channel name
    return peer.split("@", 1)[0].strip() or None


# --- FreeSWITCH -------------------------------------------------------------------------------


def _freeswitch_fields(row: list[str]) -> _Fields:
    count = len(row)
    if not _FREESWITCH_MIN_COLUMNS <= count <= _FREESWITCH_MAX_COLUMNS:
        raise _BadRow(
            f"{count} columns, expected {_FREESWITCH_MIN_COLUMNS} to {_FREESWITCH_MAX_COLUMNS}"
            " (FreeSWITCH cdr_csv)"
        )
    return _Fields(
        unique_id=row[10],
        caller=row[1],
        caller_name=row[0],
        callee=row[2],
        start=row[4],
        answer=row[5],
        end=row[6],
        outcome=_freeswitch_outcome(row[5], row[9]),
        agent=row[2],
    )


def _freeswitch_outcome(answer_stamp: str, hangup_cause: str) -> str:
    if answer_stamp.strip():
        return "answered"
    cause = hangup_cause.strip().upper()
    if cause in _FREESWITCH_ABANDONED:
        return "abandoned"
    if cause in _FREESWITCH_BUSY:
        return "busy"
    return "failed"


# --- generic ----------------------------------------------------------------------------------


def _generic_header(
    rows: Iterator[tuple[int, list[str]]], mapping: GenericMapping
) -> RowReader | None:
    """Read the header row and return the reader for the rows after it (None: empty file)."""
    first = next(rows, None)
    if first is None:
        return None
    line, header = first
    position: dict[str, int] = {}
    for index, name in enumerate(header):
        position.setdefault(name.strip(), index)
    wanted = {
        "unique_id": mapping.unique_id,
        "caller": mapping.caller,
        "started_at": mapping.started_at,
        "caller_name": mapping.caller_name,
        "callee": mapping.callee,
        "answered_at": mapping.answered_at,
        "ended_at": mapping.ended_at,
        "agent": mapping.agent,
    }
    missing = [
        (line, f"the header row has no column {name!r} (mapping.{key})")
        for key, name in wanted.items()
        if name is not None and name.strip() not in position
    ]
    if missing:
        raise CdrError(missing)
    columns = {
        key: None if name is None else position[name.strip()] for key, name in wanted.items()
    }
    return _generic_row_reader(columns, len(header))


def _generic_row_reader(columns: dict[str, int | None], width: int) -> RowReader:
    def cell(row: list[str], key: str) -> str | None:
        index = columns[key]
        return None if index is None else row[index]

    def to_fields(row: list[str]) -> _Fields:
        if len(row) < width or (len(row) > width and "".join(row[width:]).strip()):
            raise _BadRow(f"{len(row)} columns, expected {width} as in the header row")
        answer = cell(row, "answered_at") or ""
        return _Fields(
            unique_id=cell(row, "unique_id") or "",
            caller=cell(row, "caller") or "",
            caller_name=cell(row, "caller_name"),
            callee=cell(row, "callee"),
            start=cell(row, "started_at") or "",
            answer=answer,
            end=cell(row, "ended_at") or "",
            outcome="answered" if answer.strip() else "abandoned",
            agent=cell(row, "agent"),
        )

    return to_fields
