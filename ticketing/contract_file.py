"""Read a contracts registry file (CSV or XLSX) into validated rows.

The registry says which government unit bought which product from whom, whether integration
services were bought and from which integrator, when, and which other parties are related to
the product (产品关联方). This module only parses and validates: it touches no database.

A file is accepted whole or refused whole: every row is checked, every problem is collected,
and `ContractFileError` lists them all with their line numbers and Chinese messages.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath

import openpyxl

CATEGORIES: tuple[str, ...] = (
    "terminal",
    "os",
    "office",
    "peripheral",
    "database",
    "middleware",
    "server",
    "security",
    "application",
    "other",
)

# Chinese category names as shown to users; the first name of each category is the canonical one.
CATEGORY_NAMES: dict[str, str] = {
    "计算机终端": "terminal",
    "操作系统": "os",
    "办公软件": "office",
    "外设": "peripheral",
    "数据库": "database",
    "中间件": "middleware",
    "服务器与存储": "server",
    "服务器": "server",
    "网络与安全": "security",
    "应用软件": "application",
    "其他": "other",
}

FIELDS: tuple[str, ...] = (
    "org_name",
    "product_category",
    "product_brand",
    "product_model",
    "seller",
    "integrator",
    "sale_date",
    "related_parties",
)
REQUIRED_FIELDS: tuple[str, ...] = ("org_name", "product_category", "seller", "sale_date")

_CHINESE_HEADERS: dict[str, tuple[str, ...]] = {
    "org_name": ("单位名称", "采购单位"),
    "product_category": ("产品类别",),
    "product_brand": ("品牌", "产品品牌"),
    "product_model": ("型号", "产品型号"),
    "seller": ("销售方", "产品销售方", "签约方"),
    "integrator": ("集成服务商", "集成商"),
    "sale_date": ("销售日期", "采购日期"),
    "related_parties": ("产品关联方", "关联方"),
}

MAX_ROWS = 100_000
"""Largest number of rows (header included) a file may have."""

EARLIEST_SALE_DATE = date(2000, 1, 1)
MAX_LISTED_ERRORS = 30
"""How many errors `str(ContractFileError)` lists before summarising the rest."""

_PARTY_SEPARATORS = re.compile(r"[;；、,，|｜\r\n]+")
_EDGE_SPACE = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
_ANY_SPACE = re.compile(r"[\s\u200b\ufeff]+")
_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME_SUFFIX),
    re.compile(r"(\d{4})()年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})()(\d{2})(\d{2})"),
)
_EXCEL_ERRORS = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#GETTING_DATA"}
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_Rows = Generator[tuple[int, Sequence[object]], None, None]
"""(line number, raw cell values) for every row of the file, blank rows included."""
_BAD_XLSX = "无法读取 .xlsx 文件：文件已损坏或不是有效的 Excel 工作簿"


@dataclass(frozen=True)
class ContractRow:
    """One validated line of a contracts registry."""

    line: int
    """1-based line (CSV) or row number (XLSX) in the file."""
    org_name: str
    product_category: str
    """One of `CATEGORIES`."""
    product_brand: str | None
    product_model: str | None
    seller: str
    """The company that signed the contract (产品销售方)."""
    integrator: str | None
    """The integrator, when integration services were bought."""
    sale_date: date
    related_parties: tuple[str, ...]
    """Related parties (产品关联方), in file order, without duplicates."""


class ContractFileError(Exception):
    """The file was refused; `errors` holds every (line, Chinese message) found.

    Line 0 means the file as a whole (wrong type, unreadable, too large).
    """

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors: list[tuple[int, str]] = list(errors)
        super().__init__(_render(self.errors))

    def __reduce__(self) -> tuple[type[ContractFileError], tuple[list[tuple[int, str]]]]:
        return (type(self), (self.errors,))


def _render(errors: list[tuple[int, str]]) -> str:
    lines = [
        message if line <= 0 else f"第 {line} 行：{message}"
        for line, message in errors[:MAX_LISTED_ERRORS]
    ]
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"……另有 {len(errors) - MAX_LISTED_ERRORS} 处")
    return "\n".join(lines)


def read_contracts(data: bytes, filename: str, *, today: date | None = None) -> list[ContractRow]:
    """Parse and validate a whole contracts file, chosen by the extension of `filename`.

    `.csv` files may be UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030; `.xlsx` files
    are read from their first worksheet. Sale dates may not be later than `today` (default: the
    current date). Raises `ContractFileError` listing every problem; never returns part of a file.
    """
    suffix = PurePath(filename.strip()).suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(data)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(data)
    else:
        raise ContractFileError([(0, "只支持 .csv 和 .xlsx 文件")])
    try:
        return _parse(rows, today if today is not None else date.today())
    finally:
        rows.close()


# --- reading the raw cells ------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ContractFileError([(0, "无法识别文件编码，请把 CSV 另存为 UTF-8 或 GB18030（ANSI）编码")])


def _delimiter(text: str) -> str:
    """Guess the delimiter from the first non-blank line: comma unless tab or semicolon win."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def _csv_rows(data: bytes) -> _Rows:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    start = 1
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            detail = "单元格过长" if "field larger" in str(exc) else "引号不配对或位置不对"
            raise ContractFileError([(start, f"CSV 格式错误（{detail}）")]) from exc
        count += 1
        if count > MAX_ROWS:
            raise ContractFileError([(0, f"文件超过 {MAX_ROWS} 行，请拆分后再导入")])
        yield start, cells
        start = reader.line_num + 1


def _xlsx_rows(data: bytes) -> _Rows:
    if data.startswith(_OLE_MAGIC):
        raise ContractFileError(
            [(0, "这是旧版 .xls 文件或加密的工作簿，请在 Excel 中另存为不加密的 .xlsx 后再导入")]
        )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on broken files
        raise ContractFileError([(0, _BAD_XLSX)]) from exc
    try:
        if not workbook.worksheets:
            raise ContractFileError([(0, "工作簿里没有工作表")])
        sheet = workbook.worksheets[0]
        too_many = ContractFileError([(0, f"工作表超过 {MAX_ROWS} 行，请拆分后再导入")])
        declared = sheet.max_row
        if isinstance(declared, int) and declared > MAX_ROWS:
            raise too_many
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS:
                raise too_many
            yield number, cells
    except ContractFileError:
        raise
    except Exception as exc:  # a damaged sheet part only shows up while iterating
        raise ContractFileError([(0, _BAD_XLSX)]) from exc
    finally:
        workbook.close()


# --- validating -----------------------------------------------------------------------------


def _header_key(text: str) -> str:
    return _ANY_SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


_HEADER_FIELDS: dict[str, str] = {
    **{_header_key(field): field for field in FIELDS},
    **{_header_key(name): field for field, names in _CHINESE_HEADERS.items() for name in names},
}
_CATEGORY_KEYS: dict[str, str] = {
    **{category: category for category in CATEGORIES},
    **{_header_key(name): category for name, category in CATEGORY_NAMES.items()},
}
_CATEGORY_HINT = "、".join(dict.fromkeys(CATEGORY_NAMES))


def _clean(text: str) -> str:
    return _EDGE_SPACE.sub("", text)


def _cell_text(value: object) -> str | None:
    """Turn any cell value into stripped text, or None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    elif isinstance(value, date | time):
        text = value.isoformat()
    else:
        text = str(value)
    return _clean(text) or None


def _is_blank(cells: Sequence[object]) -> bool:
    return all(_cell_text(cell) is None for cell in cells)


def _column_name(index: int) -> str:
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters} 列"


@dataclass(frozen=True)
class _Header:
    columns: dict[str, int]
    """Field name → column index."""


def _read_header(line: int, cells: Sequence[object]) -> _Header:
    columns: dict[str, int] = {}
    titles: dict[str, str] = {}
    unknown: list[str] = []
    errors: list[tuple[int, str]] = []
    for index, cell in enumerate(cells):
        title = _cell_text(cell)
        if title is None:
            continue
        field = _HEADER_FIELDS.get(_header_key(title))
        if field is None:
            unknown.append(title)
        elif field in columns:
            errors.append((line, f"列重复：“{titles[field]}”和“{title}”都表示 {field}"))
        else:
            columns[field] = index
            titles[field] = title
    if unknown:
        errors.insert(0, (line, f"未知的列：{'、'.join(unknown)}"))
    missing = [field for field in REQUIRED_FIELDS if field not in columns]
    if missing:
        names = "、".join(f"{field}（{_CHINESE_HEADERS[field][0]}）" for field in missing)
        errors.append((line, f"缺少必填列：{names}"))
    if errors:
        raise ContractFileError(errors)
    return _Header(columns=columns)


class _RowChecker:
    """Validates the cells of one data row, collecting messages instead of stopping."""

    def __init__(self, header: _Header, cells: Sequence[object], today: date) -> None:
        self.header = header
        self.cells = cells
        self.today = today
        self.messages: list[str] = []

    def raw(self, field: str) -> object:
        index = self.header.columns.get(field)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = _cell_text(self.raw(field))
        if value is None:
            if required:
                self.messages.append(f"{field} 不能为空")
            return None
        if value in _EXCEL_ERRORS:
            self.messages.append(f"{field} 是 Excel 错误值（{value}）")
            return None
        return value

    def category(self) -> str | None:
        value = self.text("product_category", required=True)
        if value is None:
            return None
        category = _CATEGORY_KEYS.get(_header_key(value))
        if category is None:
            self.messages.append(
                f"product_category 无法识别（{value}），应为以下之一：{_CATEGORY_HINT}"
            )
        return category

    def sale_date(self) -> date | None:
        raw = self.raw("sale_date")
        if isinstance(raw, datetime):
            value = raw.date()
        elif isinstance(raw, date):
            value = raw
        else:
            text = self.text("sale_date", required=True)
            if text is None:
                return None
            parsed = _parse_date(text)
            if parsed is None:
                self.messages.append(f"sale_date 日期无效（{text}）")
                return None
            value = parsed
        if value < EARLIEST_SALE_DATE:
            self.messages.append(
                f"sale_date 不能早于 {EARLIEST_SALE_DATE.isoformat()}（{value.isoformat()}）"
            )
            return None
        if value > self.today:
            self.messages.append(
                f"sale_date 不能晚于今天（{value.isoformat()}，今天是 {self.today.isoformat()}）"
            )
            return None
        return value

    def related_parties(self) -> tuple[str, ...]:
        text = self.text("related_parties")
        if text is None:
            return ()
        parts = (_clean(part) for part in _PARTY_SEPARATORS.split(text))
        return tuple(dict.fromkeys(part for part in parts if part))

    def unnamed_columns(self) -> list[int]:
        named = set(self.header.columns.values())
        return [
            index
            for index, cell in enumerate(self.cells)
            if index not in named and _cell_text(cell) is not None
        ]


def _parse_date(text: str) -> date | None:
    normalized = _ANY_SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(normalized)
        if match is None:
            continue
        year, _, month, day = match.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            return None
    return None


def _duplicate_key(row: ContractRow) -> tuple[object, ...]:
    def norm(value: str | None) -> str:
        if value is None:
            return ""
        return _ANY_SPACE.sub(" ", unicodedata.normalize("NFKC", value)).casefold()

    return (
        norm(row.org_name),
        row.product_category,
        norm(row.product_brand),
        norm(row.product_model),
        norm(row.seller),
        row.sale_date,
    )


def _parse(rows: Iterator[tuple[int, Sequence[object]]], today: date) -> list[ContractRow]:
    header: _Header | None = None
    errors: list[tuple[int, str]] = []
    result: list[ContractRow] = []
    seen: dict[tuple[object, ...], int] = {}
    reported_unnamed: set[int] = set()
    for line, cells in rows:
        if _is_blank(cells):
            continue
        if header is None:
            header = _read_header(line, cells)
            continue
        check = _RowChecker(header, cells, today)
        for index in check.unnamed_columns():
            if index not in reported_unnamed:
                reported_unnamed.add(index)
                errors.append((line, f"{_column_name(index)}没有列名，但填了内容"))
        org_name = check.text("org_name", required=True)
        category = check.category()
        brand = check.text("product_brand")
        model = check.text("product_model")
        seller = check.text("seller", required=True)
        integrator = check.text("integrator")
        sale_date = check.sale_date()
        related = check.related_parties()
        if check.messages:
            errors.extend((line, message) for message in check.messages)
            continue
        assert org_name is not None and category is not None
        assert seller is not None and sale_date is not None
        row = ContractRow(
            line=line,
            org_name=org_name,
            product_category=category,
            product_brand=brand,
            product_model=model,
            seller=seller,
            integrator=integrator,
            sale_date=sale_date,
            related_parties=related,
        )
        key = _duplicate_key(row)
        first = seen.get(key)
        if first is not None:
            errors.append((line, f"与第 {first} 行重复"))
            continue
        seen[key] = line
        result.append(row)
    if header is None:
        raise ContractFileError([(0, "文件是空的：缺少表头行")])
    if errors:
        raise ContractFileError(errors)
    return result
