"""Reading contracts registry files: CSV in every encoding Excel produces, XLSX, and refusals."""

from __future__ import annotations

import io
import pickle
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from ticketing import contract_file
from ticketing.contract_file import (
    CATEGORIES,
    CATEGORY_NAMES,
    ContractFileError,
    ContractRow,
    read_contracts,
)

FIXTURES = Path(__file__).parent / "fixtures" / "contracts"
TODAY = date(2026, 11, 27)
EN_HEADER = (
    "org_name,product_category,product_brand,product_model,seller,integrator,sale_date,"
    "related_parties"
)


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _errors(data: bytes, filename: str = "contracts.csv") -> list[tuple[int, str]]:
    with pytest.raises(ContractFileError) as info:
        read_contracts(data, filename, today=TODAY)
    return info.value.errors


def _xlsx(tmp_path: Path, rows: list[list[object]], *, write_only: bool = False) -> bytes:
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet("合同") if write_only else workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / "contracts.xlsx"
    workbook.save(path)
    return path.read_bytes()


# --- CSV --------------------------------------------------------------------------------------


def test_csv_utf8_english_headers() -> None:
    rows = read_contracts(_fixture("contracts_utf8.csv"), "contracts.csv", today=TODAY)

    assert rows == [
        ContractRow(
            line=2,
            org_name="广西壮族自治区大数据发展局",
            product_category="terminal",
            product_brand="联想",
            product_model="开天M90z",
            seller="广西数广科技有限公司",
            integrator="广西数广科技有限公司",
            sale_date=date(2026, 11, 27),
            related_parties=("联想（北京）有限公司", "统信软件技术有限公司"),
        ),
        ContractRow(
            line=3,
            org_name="南宁市财政局",
            product_category="os",
            product_brand="统信",
            product_model="UOS V20",
            seller="广西云宝宝信息技术有限公司",
            integrator=None,
            sale_date=date(2026, 3, 5),
            related_parties=(),
        ),
        ContractRow(
            line=4,
            org_name="柳州市人民政府办公室",
            product_category="database",
            product_brand="达梦",
            product_model="DM8",
            seller="广西科技 有限公司",
            integrator="广西集成服务有限公司",
            sale_date=date(2025, 12, 1),
            related_parties=(
                "武汉达梦数据库股份有限公司",
                "广西科技有限公司",
                "广西集成服务有限公司",
            ),
        ),
        ContractRow(
            line=5,
            org_name="桂林市教育局",
            product_category="peripheral",
            product_brand="奔图",
            product_model="6202",
            seller="广西办公设备有限公司",
            integrator=None,
            sale_date=date(2024, 6, 15),
            related_parties=("珠海奔图电子有限公司",),
        ),
    ]


def test_csv_gb18030_chinese_headers() -> None:
    data = _fixture("contracts_gb18030.csv")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    rows = read_contracts(data, "台账.CSV", today=TODAY)

    assert [(r.line, r.org_name, r.product_category) for r in rows] == [
        (2, "广西壮族自治区公安厅", "security"),
        (3, "玉林市人民医院", "server"),
        (5, "钦州市统计局", "middleware"),
    ]
    assert rows[0].product_brand == "奇安信"
    assert rows[0].product_model == "天擎V10"
    assert rows[0].seller == "广西安全技术有限公司"
    assert rows[0].integrator == "广西集成服务有限公司"
    assert rows[0].sale_date == date(2026, 1, 5)
    assert rows[0].related_parties == ("奇安信科技集团股份有限公司", "广西集成服务有限公司")
    assert rows[1].integrator is None
    assert rows[1].related_parties == ()
    assert rows[2].sale_date == date(2025, 6, 30)


def test_csv_utf8_bom_with_alternative_chinese_headers() -> None:
    data = _fixture("contracts_bom.csv")
    assert data.startswith(b"\xef\xbb\xbf")

    [row] = read_contracts(data, "contracts.csv", today=TODAY)

    assert row == ContractRow(
        line=2,
        org_name="百色市人社局",
        product_category="office",
        product_brand="金山",
        product_model="WPS Office 2023",
        seller="广西金山代理有限公司",
        integrator=None,
        sale_date=date(2026, 2, 1),
        related_parties=("珠海金山办公软件有限公司",),
    )


def test_csv_utf16_with_bom_and_tabs() -> None:
    text = "单位名称\t产品类别\t销售方\t销售日期\n南宁市财政局\t其他\t广西某公司\t2026-01-02\n"

    [row] = read_contracts(text.encode("utf-16"), "contracts.csv", today=TODAY)

    assert (row.org_name, row.product_category, row.sale_date) == (
        "南宁市财政局",
        "other",
        date(2026, 1, 2),
    )


def test_header_only_gives_no_rows() -> None:
    assert read_contracts(_fixture("contracts_header_only.csv"), "a.csv", today=TODAY) == []


@pytest.mark.parametrize("data", [b"", b"\n\r\n,,,\n", b"\xef\xbb\xbf"])
def test_file_without_header_is_refused(data: bytes) -> None:
    assert _errors(data) == [(0, "文件是空的：缺少表头行")]


def test_headers_are_case_and_whitespace_insensitive() -> None:
    data = _csv(
        " ORG_NAME ,Product_Category,\u3000销售 方\u3000,sale_date\n"
        "A单位,TERMINAL,B公司,2026-01-01\n"
    )

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert (row.org_name, row.product_category, row.seller) == ("A单位", "terminal", "B公司")
    assert row.product_brand is None
    assert row.product_model is None
    assert row.integrator is None
    assert row.related_parties == ()


def test_cells_are_stripped_of_ascii_and_full_width_spaces() -> None:
    data = _csv(
        "单位名称,产品类别,品牌,销售方,销售日期\n"
        "\u3000 南宁市财政局\u3000,\u3000数据库 , \u3000 ,\u3000广西某公司 , 2026-01-01 \n"
    )

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert row.org_name == "南宁市财政局"
    assert row.product_category == "database"
    assert row.product_brand is None
    assert row.seller == "广西某公司"


@pytest.mark.parametrize(("name", "category"), sorted(CATEGORY_NAMES.items()))
def test_chinese_category_names(name: str, category: str) -> None:
    data = _csv(f"单位名称,产品类别,销售方,销售日期\nA单位,{name},B公司,2026-01-01\n")

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert row.product_category == category


@pytest.mark.parametrize("category", CATEGORIES)
def test_category_ids(category: str) -> None:
    data = _csv(f"单位名称,产品类别,销售方,销售日期\nA单位,{category},B公司,2026-01-01\n")

    assert read_contracts(data, "a.csv", today=TODAY)[0].product_category == category


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27",
        "2026/11/27",
        "2026年11月27日",
        "20261127",
        "2026.11.27",
        "2026-11-27 00:00:00",
        "2026/11/27 9:30",
        "２０２６－１１－２７",
    ],
)
def test_date_formats(text: str) -> None:
    data = _csv(f"单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,{text}\n")

    assert read_contracts(data, "a.csv", today=TODAY)[0].sale_date == date(2026, 11, 27)


def test_single_digit_month_and_day_as_excel_writes_them() -> None:
    data = _csv("单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,2026/1/5\n")

    assert read_contracts(data, "a.csv", today=TODAY)[0].sale_date == date(2026, 1, 5)


def test_future_rule_follows_explicit_today() -> None:
    data = _csv("单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,2026-11-28\n")

    assert _errors(data) == [(2, "sale_date 不能晚于今天（2026-11-28，今天是 2026-11-27）")]
    [row] = read_contracts(data, "a.csv", today=date(2026, 11, 28))
    assert row.sale_date == date(2026, 11, 28)


def test_sale_date_lower_bound() -> None:
    ok = _csv("单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,2000-01-01\n")
    assert read_contracts(ok, "a.csv", today=TODAY)[0].sale_date == date(2000, 1, 1)

    too_early = _csv("单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,1999-12-31\n")
    assert _errors(too_early) == [(2, "sale_date 不能早于 2000-01-01（1999-12-31）")]


def test_default_today_is_the_current_date() -> None:
    tomorrow = date.fromordinal(date.today().toordinal() + 1)
    data = _csv(f"单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,{tomorrow.isoformat()}\n")

    with pytest.raises(ContractFileError) as info:
        read_contracts(data, "a.csv")

    assert "不能晚于今天" in info.value.errors[0][1]


def test_every_error_with_its_line() -> None:
    hint = "应为以下之一：" + "、".join(dict.fromkeys(CATEGORY_NAMES))

    errors = _errors(_fixture("contracts_errors.csv"))

    assert errors == [
        (2, "org_name 不能为空"),
        (3, f"product_category 无法识别（笔记本），{hint}"),
        (4, "seller 不能为空"),
        (5, "sale_date 日期无效（2026-02-30）"),
        (6, "sale_date 日期无效（明年）"),
        (7, "sale_date 不能为空"),
        (8, "sale_date 不能早于 2000-01-01（1999-12-31）"),
        (9, "sale_date 不能晚于今天（2026-12-01，今天是 2026-11-27）"),
        (11, "与第 10 行重复"),
        (12, "org_name 不能为空"),
        (12, f"product_category 无法识别（未知），{hint}"),
        (12, "seller 不能为空"),
        (12, "sale_date 不能为空"),
    ]


def test_error_text_one_line_per_error() -> None:
    with pytest.raises(ContractFileError) as info:
        read_contracts(_fixture("contracts_errors.csv"), "a.csv", today=TODAY)

    lines = str(info.value).splitlines()
    assert lines[0] == "第 2 行：org_name 不能为空"
    assert lines[3] == "第 5 行：sale_date 日期无效（2026-02-30）"
    assert lines[8] == "第 11 行：与第 10 行重复"
    assert len(lines) == 13


def test_error_text_lists_first_30_then_counts_the_rest() -> None:
    body = "".join(f"单位{n},os,,2026-01-01\n" for n in range(45))
    data = _csv("单位名称,产品类别,销售方,销售日期\n" + body)

    with pytest.raises(ContractFileError) as info:
        read_contracts(data, "a.csv", today=TODAY)

    assert len(info.value.errors) == 45
    lines = str(info.value).splitlines()
    assert len(lines) == 31
    assert lines[0] == "第 2 行：seller 不能为空"
    assert lines[29] == "第 31 行：seller 不能为空"
    assert lines[30] == "……另有 15 处"


def test_error_survives_pickling() -> None:
    error = ContractFileError([(3, "seller 不能为空")])

    copy = pickle.loads(pickle.dumps(error))

    assert copy.errors == error.errors
    assert str(copy) == "第 3 行：seller 不能为空"


def test_duplicates_ignore_case_width_and_report_first_line() -> None:
    data = _csv(
        "单位名称,产品类别,品牌,型号,销售方,销售日期\n"
        "南宁市财政局（本级）,os,UOS,V20,B公司,2026-01-01\n"
        "南宁市财政局(本级),操作系统,uos,v20,B公司,2026/1/1\n"
        "南宁市财政局（本级）,os,UOS,V20,B公司,2026-01-02\n"
        "南宁市财政局（本级）,os,UOS,V20,C公司,2026-01-01\n"
        "南宁市财政局（本级）,os,UOS,,B公司,2026-01-01\n"
        "南宁市财政局（本级）,os,UOS,V20,B公司,2026年1月1日\n"
    )

    assert _errors(data) == [(3, "与第 2 行重复"), (7, "与第 2 行重复")]


def test_integrator_may_equal_seller() -> None:
    data = _csv("单位名称,产品类别,销售方,集成商,销售日期\nA单位,os,B公司,B公司,2026-01-01\n")

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert row.seller == row.integrator == "B公司"


def test_related_parties_splitting() -> None:
    data = _csv(
        "单位名称,产品类别,销售方,销售日期,关联方\n"
        'A单位,os,B公司,2026-01-01,"甲;乙；丙、丁,戊，己|庚 ; ；辛"\n'
        'A单位,db,B公司,2026-01-01,"甲\n乙"\n'
        "A单位,office,B公司,2026-01-01,甲、甲、 乙 \n"
        "A单位,server,B公司,2026-01-01,；、\n"
    )

    errors = _errors(data)
    assert errors[0][0] == 3  # "db" is not a category; the line is where the record starts

    fixed = data.replace(b",db,", b",database,")
    rows = read_contracts(fixed, "a.csv", today=TODAY)
    assert [row.related_parties for row in rows] == [
        ("甲", "乙", "丙", "丁", "戊", "己", "庚", "辛"),
        ("甲", "乙"),
        ("甲", "乙"),
        (),
    ]
    assert [row.line for row in rows] == [2, 3, 5, 6]


def test_semicolon_delimited_csv_still_splits_parties_inside_the_cell() -> None:
    data = _csv('单位名称;产品类别;销售方;销售日期;关联方\nA单位;os;B公司;2026-01-01;"甲;乙,丙"\n')

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert row.related_parties == ("甲", "乙", "丙")


def test_empty_rows_are_skipped_and_lines_kept() -> None:
    data = _csv(
        "单位名称,产品类别,销售方,销售日期\n\n,,,\n , \u3000 ,,\nA单位,os,B公司,2026-01-01\n"
    )

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert row.line == 5


def test_unknown_columns_are_named() -> None:
    data = _csv("单位名称,产品类别,销售方,销售日期,备注,金额\nA单位,os,B公司,2026-01-01,,\n")

    assert _errors(data) == [(1, "未知的列：备注、金额")]


def test_missing_required_columns() -> None:
    data = _csv("单位名称,品牌,销售方\nA单位,联想,B公司\n")

    assert _errors(data) == [(1, "缺少必填列：product_category（产品类别）、sale_date（销售日期）")]


def test_unknown_and_missing_columns_together() -> None:
    data = _csv("单位,产品类别,销售方,销售日期\n")

    assert _errors(data) == [(1, "未知的列：单位"), (1, "缺少必填列：org_name（单位名称）")]


def test_same_column_twice() -> None:
    data = _csv("单位名称,采购单位,产品类别,销售方,销售日期\n")

    assert _errors(data) == [(1, "列重复：“单位名称”和“采购单位”都表示 org_name")]


def test_data_under_a_column_without_name() -> None:
    data = _csv(
        "单位名称,产品类别,销售方,销售日期,\n"
        "A单位,os,B公司,2026-01-01,\n"
        "A单位,office,B公司,2026-01-01,备注\n"
        "A单位,server,B公司,2026-01-01,备注,多出一格\n"
    )

    assert _errors(data) == [(3, "E 列没有列名，但填了内容"), (4, "F 列没有列名，但填了内容")]


def test_short_rows_leave_missing_cells_empty() -> None:
    data = _csv(EN_HEADER + "\nA单位,os,,,B公司,,2026-01-01\n")

    [row] = read_contracts(data, "a.csv", today=TODAY)

    assert row.related_parties == ()


def test_excel_error_values_are_refused() -> None:
    data = _csv("单位名称,产品类别,型号,销售方,销售日期\n#N/A,os,#REF!,B公司,2026-01-01\n")

    assert _errors(data) == [
        (2, "org_name 是 Excel 错误值（#N/A）"),
        (2, "product_model 是 Excel 错误值（#REF!）"),
    ]


def test_unbalanced_quote_is_a_format_error() -> None:
    data = _csv('单位名称,产品类别,销售方,销售日期\nA单位,os,B公司,2026-01-01\n"A单位,os\n')

    assert _errors(data) == [(3, "CSV 格式错误（引号不配对或位置不对）")]


def test_undecodable_bytes() -> None:
    data = "单位名称,产品类别,销售方,销售日期\n".encode() + b"\x81\x20\xff\xff,os\n"

    assert _errors(data) == [(0, "无法识别文件编码，请把 CSV 另存为 UTF-8 或 GB18030（ANSI）编码")]


def test_too_many_csv_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_file, "MAX_ROWS", 3)
    body = "".join(f"单位{n},os,B公司,2026-01-01\n" for n in range(3))

    assert _errors(_csv("单位名称,产品类别,销售方,销售日期\n" + body)) == [
        (0, "文件超过 3 行，请拆分后再导入")
    ]


# --- file types -------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["contracts.xls", "contracts.txt", "contracts", "csv", ""])
def test_unsupported_extension(filename: str) -> None:
    assert _errors(b"org_name\n", filename) == [(0, "只支持 .csv 和 .xlsx 文件")]


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    data = _xlsx(tmp_path, [["单位名称", "产品类别", "销售方", "销售日期"]])

    assert read_contracts(data, "导入/合同台账.XLSX", today=TODAY) == []


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_with_chinese_headers_and_date_cells(tmp_path: Path) -> None:
    data = _xlsx(
        tmp_path,
        [
            [
                "单位名称",
                "产品类别",
                "品牌",
                "型号",
                "销售方",
                "集成服务商",
                "销售日期",
                "产品关联方",
            ],
            [
                "广西壮族自治区财政厅",
                "外设",
                "奔图",
                6202,
                "广西办公设备有限公司",
                None,
                datetime(2026, 3, 1, 0, 0),
                "珠海奔图电子有限公司、广西办公设备有限公司",
            ],
            [
                "  北海市卫健委\u3000",
                "服务器",
                "华为",
                2288.0,
                "广西华鲲科技有限公司",
                "广西集成服务有限公司",
                date(2025, 7, 8),
                None,
            ],
            [None, None, None, None, None, None, None, None],
            [
                "梧州市水利局",
                "application",
                "用友",
                "U8 V16.5",
                "广西用友代理有限公司",
                "",
                "2026年11月27日",
                "用友网络科技股份有限公司",
            ],
            ["防城港市档案馆", "其他", 12.5, None, 2024, None, 20240102, None],
        ],
    )

    rows = read_contracts(data, "合同台账.xlsx", today=TODAY)

    assert rows == [
        ContractRow(
            line=2,
            org_name="广西壮族自治区财政厅",
            product_category="peripheral",
            product_brand="奔图",
            product_model="6202",
            seller="广西办公设备有限公司",
            integrator=None,
            sale_date=date(2026, 3, 1),
            related_parties=("珠海奔图电子有限公司", "广西办公设备有限公司"),
        ),
        ContractRow(
            line=3,
            org_name="北海市卫健委",
            product_category="server",
            product_brand="华为",
            product_model="2288",
            seller="广西华鲲科技有限公司",
            integrator="广西集成服务有限公司",
            sale_date=date(2025, 7, 8),
            related_parties=(),
        ),
        ContractRow(
            line=5,
            org_name="梧州市水利局",
            product_category="application",
            product_brand="用友",
            product_model="U8 V16.5",
            seller="广西用友代理有限公司",
            integrator=None,
            sale_date=date(2026, 11, 27),
            related_parties=("用友网络科技股份有限公司",),
        ),
        ContractRow(
            line=6,
            org_name="防城港市档案馆",
            product_category="other",
            product_brand="12.5",
            product_model=None,
            seller="2024",
            integrator=None,
            sale_date=date(2024, 1, 2),
            related_parties=(),
        ),
    ]


def test_xlsx_errors_use_row_numbers(tmp_path: Path) -> None:
    data = _xlsx(
        tmp_path,
        [
            ["org_name", "product_category", "seller", "sale_date"],
            ["A单位", "os", "B公司", datetime(2026, 12, 1)],
            [None, None, None, None],
            ["A单位", "os", None, date(1999, 5, 4)],
            ["A单位", "os", "B公司", 46000],
            ["A单位", "os", "B公司", "2026-02-30"],
        ],
    )

    assert _errors(data, "a.xlsx") == [
        (2, "sale_date 不能晚于今天（2026-12-01，今天是 2026-11-27）"),
        (4, "seller 不能为空"),
        (4, "sale_date 不能早于 2000-01-01（1999-05-04）"),
        (5, "sale_date 日期无效（46000）"),
        (6, "sale_date 日期无效（2026-02-30）"),
    ]


def test_xlsx_reads_only_the_first_worksheet(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.append(["单位名称", "产品类别", "销售方", "销售日期"])
    first.append(["A单位", "os", "B公司", date(2026, 1, 1)])
    second = workbook.create_sheet("说明")
    second.append(["随便写点什么"])
    workbook.active = 1
    buffer = io.BytesIO()
    workbook.save(buffer)

    rows = read_contracts(buffer.getvalue(), "a.xlsx", today=TODAY)

    assert [row.org_name for row in rows] == ["A单位"]


def test_xlsx_header_only(tmp_path: Path) -> None:
    data = _xlsx(tmp_path, [["单位名称", "产品类别", "销售方", "销售日期"]])

    assert read_contracts(data, "a.xlsx", today=TODAY) == []


def test_xlsx_unknown_columns(tmp_path: Path) -> None:
    data = _xlsx(tmp_path, [["单位名称", "产品类别", "销售方", "销售日期", "合同金额"]])

    assert _errors(data, "a.xlsx") == [(1, "未知的列：合同金额")]


def test_xlsx_with_too_many_declared_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_file, "MAX_ROWS", 5)
    rows: list[list[object]] = [["单位名称", "产品类别", "销售方", "销售日期"]]
    rows += [[f"单位{n}", "os", "B公司", date(2026, 1, 1)] for n in range(5)]

    assert _errors(_xlsx(tmp_path, rows), "a.xlsx") == [(0, "工作表超过 5 行，请拆分后再导入")]


def test_xlsx_without_dimension_is_counted_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract_file, "MAX_ROWS", 5)
    rows: list[list[object]] = [["单位名称", "产品类别", "销售方", "销售日期"]]
    rows += [[f"单位{n}", "os", "B公司", date(2026, 1, 1)] for n in range(4)]
    ok = _xlsx(tmp_path, rows, write_only=True)
    assert len(read_contracts(ok, "a.xlsx", today=TODAY)) == 4

    rows.append(["单位9", "os", "B公司", date(2026, 1, 1)])
    too_big = _xlsx(tmp_path, rows, write_only=True)

    assert _errors(too_big, "a.xlsx") == [(0, "工作表超过 5 行，请拆分后再导入")]


def test_xlsx_limit_is_100000_rows() -> None:
    assert contract_file.MAX_ROWS == 100_000


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"org_name,product_category\n",
        b"PK\x03\x04 truncated zip",
    ],
)
def test_not_an_xlsx(data: bytes) -> None:
    assert _errors(data, "a.xlsx") == [
        (0, "无法读取 .xlsx 文件：文件已损坏或不是有效的 Excel 工作簿")
    ]


def test_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "你好")

    assert _errors(buffer.getvalue(), "a.xlsx") == [
        (0, "无法读取 .xlsx 文件：文件已损坏或不是有效的 Excel 工作簿")
    ]


def test_xlsx_with_damaged_sheet(tmp_path: Path) -> None:
    data = _xlsx(tmp_path, [["单位名称", "产品类别", "销售方", "销售日期"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            archive.writestr(item, content)

    assert _errors(buffer.getvalue(), "a.xlsx") == [
        (0, "无法读取 .xlsx 文件：文件已损坏或不是有效的 Excel 工作簿")
    ]


def test_old_xls_renamed_to_xlsx() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504

    assert _errors(data, "a.xlsx") == [
        (0, "这是旧版 .xls 文件或加密的工作簿，请在 Excel 中另存为不加密的 .xlsx 后再导入")
    ]
