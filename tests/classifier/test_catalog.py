"""Brand / model spotting against the real config/catalog.toml."""

import pytest

from classifier import Catalog, ProductMatch


def only(catalog: Catalog, text: str) -> ProductMatch:
    found = catalog.match(text)
    assert len(found) == 1, found
    return found[0]


def test_loads_all_categories(catalog: Catalog) -> None:
    categories = {p.category for p in catalog.products}
    assert categories == {
        "terminal", "os", "office", "peripheral", "database", "middleware", "server", "security",
        "application",
    }  # fmt: skip
    assert catalog.product("奔图") is not None


def test_model_after_brand(catalog: Catalog) -> None:
    m = only(catalog, "奔图M6202打印机卡纸")
    assert (m.product, m.model, m.category, m.start) == ("奔图", "M6202", "peripheral", 0)
    assert m.vendor == "珠海奔图电子有限公司"


def test_os_version(catalog: Catalog) -> None:
    m = only(catalog, "统信UOS 1070登录不了")
    assert (m.product, m.category, m.model) == ("统信UOS", "os", "1070")


@pytest.mark.parametrize(
    ("text", "product", "model"),
    [
        ("华为擎云W515x开不了机", "华为擎云", "W515x"),
        ("浪潮服务器NF5280M6硬盘灯亮红", "浪潮（服务器/存储）", "NF5280M6"),
        ("锐捷RG-S5750交换机", "锐捷", "RG-S5750"),
        ("东方通TongWeb 7.0 启动失败", "东方通", "TongWeb 7.0"),
        ("银河麒麟V10 SP1 更新后黑屏", "银河麒麟", "V10 SP1"),
        ("HP1020打印机不进纸", "惠普 HP", "1020"),
        ("达梦DM8数据库连不上", "达梦", "DM8"),  # 达梦 + DM8 read as one mention
    ],
)
def test_models(catalog: Catalog, text: str, product: str, model: str) -> None:
    m = only(catalog, text)
    assert (m.product, m.model) == (product, model)


def test_model_pattern_is_not_used_without_brand(catalog: Catalog) -> None:
    assert catalog.match("M6202卡纸") == []


def test_numeric_model_needs_adjacent_text(catalog: Catalog) -> None:
    assert only(catalog, "deepin用了20天").model is None
    assert only(catalog, "deepin 20.9 没声音").model == "20.9"


def test_full_width_and_case(catalog: Catalog) -> None:
    m = only(catalog, "ＷＰＳ打不开")
    assert (m.product, m.alias) == ("WPS Office", "WPS")
    assert only(catalog, "pantum p2500w").product == "奔图"
    assert only(catalog, "ＨＰ　LaserJet Pro M404dn 卡纸").model == "LaserJet Pro M404dn"


def test_longest_alias_wins(catalog: Catalog) -> None:
    assert only(catalog, "360安全浏览器打不开网页").product == "360安全浏览器"
    assert only(catalog, "麒麟9006C处理器发热").product == "华为麒麟（PC 处理器）"
    assert only(catalog, "奇安信天擎拦截了").alias == "奇安信天擎"


@pytest.mark.parametrize(
    "text",
    [
        "花了360元买的",
        "转了360度",
        "游戏里HP值很低",
        "DM一下我",  # DM only means 达梦 in a database context
        "HPE的服务器",  # HP glued into HPE
        "长城宽带又断了",
    ],
)
def test_short_alias_false_positives(catalog: Catalog, text: str) -> None:
    assert [m.product for m in catalog.match(text) if m.alias in ("360", "HP", "DM", "长城")] == []


def test_short_alias_in_context(catalog: Catalog) -> None:
    assert only(catalog, "电脑上360一直弹窗").product == "360 终端安全"
    assert only(catalog, "DM 数据库实例起不来").product == "达梦"
    assert only(catalog, "UKey插上没反应").category == "security"


@pytest.mark.parametrize(
    ("text", "category", "product"),
    [
        ("华为交换机坏了", "security", "华为（网络）"),
        ("华为擎云开不了机", "terminal", "华为擎云"),
        ("华为的笔记本蓝屏", "terminal", "华为擎云"),
        ("华为服务器告警", "server", "华为 TaiShan"),
        ("华为存储掉盘", "server", "华为 OceanStor"),
        ("浪潮电脑很卡", "terminal", "浪潮（终端）"),
        ("浪潮的服务器宕机", "server", "浪潮（服务器/存储）"),
        ("紫光的扫描仪不能用", "peripheral", "紫光扫描仪"),
        ("紫光电脑开机慢", "terminal", "紫光（终端）"),
        ("360 浏览器打不开网页", "application", "360安全浏览器"),
        ("联想的打印机卡纸", "peripheral", "联想打印机"),
        ("H3C 交换机掉线", "security", "新华三（网络）"),
        ("鲲鹏920服务器", "server", "鲲鹏"),  # CPU platform in server context
    ],
)
def test_brand_in_several_categories(
    catalog: Catalog, text: str, category: str, product: str
) -> None:
    m = only(catalog, text)
    assert (m.category, m.product) == (category, product)


def test_bare_maker_without_device_word_is_unknown(catalog: Catalog) -> None:
    assert catalog.match("华为的那个东西坏了") == []


def test_several_products_in_order(catalog: Catalog) -> None:
    found = catalog.match("麒麟系统上装不上奔图打印机驱动，WPS也打不开")
    assert [m.product for m in found] == ["银河麒麟", "奔图", "WPS Office"]
    assert found[1].start == 8
