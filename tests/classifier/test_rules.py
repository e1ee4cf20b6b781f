"""Rule triage on realistic reports: level, category, complaint and the extracted fields."""

from pathlib import Path

import pytest

from classifier import Classifier, Location, RuleClassifier, Triage
from classifier.triage import CATEGORIES, LEVELS

CASES = [
    # P1: core systems, scope, security / data loss
    ("单位的OA系统打不开了，全单位都没法办公", "P1", "application", False),
    ("机房服务器宕机了，业务全停", "P1", "server", False),
    ("达梦数据库连不上，窗口业务办不了", "P1", "database", False),
    ("整个科室的电脑都上不了网", "P1", "security", False),
    ("电脑中了勒索病毒，文件都被加密了", "P1", "security", False),
    ("三楼所有打印机都打不出来", "P1", "peripheral", False),  # scope beats symptom
    ("华为交换机坏了，整层楼断网", "P1", "security", False),
    # P2: one person / device stopped, or a near deadline
    ("我的电脑无法开机，下午开会要用", "P2", "terminal", False),
    ("统信UOS 1070登录不了，提示密码错误", "P2", "os", False),
    ("华为擎云W515x蓝屏了", "P2", "terminal", False),
    ("UKey插上没反应，网银登不上", "P2", "security", False),
    ("WPS文件打不开，马上要用", "P2", "office", False),  # deadline raises a P3 fault
    ("东方通TongWeb启动报错，急用", "P2", "middleware", False),
    # P3: faults with a workaround
    ("奔图M6202打印机卡纸", "P3", "peripheral", False),
    ("电脑偶尔死机，重启就好了", "P3", "terminal", False),
    ("WPS打开公文字体显示异常，缺方正小标宋", "P3", "office", False),
    ("麒麟系统上装不上奔图打印机驱动", "P3", "peripheral", False),  # the printer is what to fix
    ("360浏览器打开网页很慢", "P3", "application", False),
    ("柳州市柳江区 浪潮服务器NF5280M6 硬盘告警", "P3", "server", False),
    ("麒麟系统升级后桌面图标乱码", "P3", "os", False),
    ("网络打印机不能打印", "P3", "peripheral", False),  # the printer, not the network
    # P4: questions, warranty, training, appointments
    ("请问联想开天电脑保修期多久？", "P4", "terminal", False),
    ("能不能安排上门培训一下统信系统的使用", "P4", "os", False),
    ("想预约一下下周来检查打印机", "P4", "peripheral", False),
    ("请问达梦数据库怎么备份", "P4", "database", False),
    ("谢谢师傅，已经好了", "P4", "other", False),
    # complaints keep the level of the fault they come with
    ("报修三天了一直没人来，我要投诉！打印机还是打不出", "P3", "peripheral", True),
    ("同一个问题修了好几次了，还是蓝屏，太不满意了", "P2", "terminal", True),
    ("工程师态度太差了", "P4", "other", True),
    ("不是投诉哈，就是问下打印机什么时候能修好", "P4", "peripheral", False),
    # 不急 lowers P1/P2 one level, within the floors; a fault never becomes a question (P4)
    ("打印机卡纸，不急，有空再来", "P3", "peripheral", False),
    ("电脑无法开机，不着急，明天来也行", "P3", "terminal", False),
    ("电脑好像有病毒，不急", "P2", "security", False),
    ("数据库偶尔报错，不急", "P3", "database", False),
]


@pytest.mark.parametrize(("text", "level", "category", "complaint"), CASES)
def test_triage_labels(
    rules: RuleClassifier, text: str, level: str, category: str, complaint: bool
) -> None:
    t = rules.triage(text)
    assert (t.level, t.category, t.complaint) == (level, category, complaint)


def test_every_level_and_category_is_exercised() -> None:
    assert {c[1] for c in CASES} == set(LEVELS)
    assert {c[2] for c in CASES} == set(CATEGORIES)


def test_brand_model_and_location(rules: RuleClassifier) -> None:
    t = rules.triage("南宁市青秀区民族大道100号，奔图M6202打印机卡纸")
    assert (t.brand, t.model) == ("奔图", "M6202")
    assert t.location == Location("南宁市", "青秀区", "450103", True)


def test_remote_location_and_os_version(rules: RuleClassifier) -> None:
    t = rules.triage("我们在横县，统信UOS 1070进不去系统")
    assert (t.brand, t.model, t.category) == ("统信UOS", "1070", "os")
    assert t.location is not None and t.location.same_city is False


def test_brand_of_the_product_to_fix(rules: RuleClassifier) -> None:
    t = rules.triage("麒麟系统上装不上奔图打印机驱动")
    assert t.brand == "奔图"
    t = rules.triage("单位的OA系统打不开")  # generic entries decide the category, not the brand
    assert (t.category, t.brand) == ("application", None)


def test_bare_maker_resolved_by_device_word(rules: RuleClassifier) -> None:
    t = rules.triage("百色田阳 华为笔记本开不了机 急用")
    assert (t.level, t.category, t.brand) == ("P2", "terminal", "华为擎云")
    assert t.location is not None and t.location.district == "田阳区"


def test_overrides(rules: RuleClassifier) -> None:
    assert rules.triage("打印机卡纸，不急").overrides == ()
    assert rules.triage("电脑无法开机，不着急").overrides == ("not_urgent_lowered",)
    assert rules.triage("电脑好像有病毒，不急").overrides == (
        "not_urgent_lowered",
        "security_min_p2",
    )
    assert rules.triage("数据库偶尔报错，不急").overrides == ()
    assert rules.triage("服务器有点问题，请问怎么处理").overrides == ("server_outage_not_p4",)
    assert rules.triage("奔图M6202打印机卡纸").overrides == ()


def test_security_never_below_p2(rules: RuleClassifier) -> None:
    for text in ("中了勒索病毒，不急", "文件误删了，有空再来", "发现木马，不影响工作"):
        assert rules.triage(text).level in ("P1", "P2"), text


def test_negated_symptom_is_ignored(rules: RuleClassifier) -> None:
    assert rules.triage("打印机没有卡纸，请问怎么换硒鼓").level == "P4"


def test_data_loss_is_at_least_p2(rules: RuleClassifier) -> None:
    t = rules.triage("电脑里的资料被删了，不急")
    # the level follows the data risk; the category stays with the device holding the data
    assert (t.level, t.category) == ("P2", "terminal")
    assert "security_min_p2" in t.overrides


def test_no_false_signals_from_ascii_and_numbers(rules: RuleClassifier) -> None:
    t = rules.triage("联系电话13812345678，打印机卡纸")
    assert (t.level, t.complaint) == ("P3", False)  # 12345 hotline only as a whole number
    assert rules.triage("打12345投诉你们").complaint is True
    assert rules.triage("download页面打不开").level == "P3"  # no OA inside "download"


def test_scores_and_confidence_when_keywords_decide(rules: RuleClassifier) -> None:
    t = rules.triage("奔图M6202打印机卡纸")
    assert t.scores["level"]["P3"] == 1.0
    assert t.scores["category"]["peripheral"] == 1.0
    assert t.scores["complaint"]["false"] > t.scores["complaint"]["true"]
    assert set(t.scores["level"]) == set(LEVELS)
    assert set(t.scores["category"]) == set(CATEGORIES)
    assert t.confidence >= 0.8
    assert t.needs_review is False
    assert t.source == "rules"


def test_low_confidence_when_only_defaults(rules: RuleClassifier) -> None:
    t = rules.triage("你好")
    assert (t.level, t.category) == ("P4", "other")
    assert t.confidence < 0.5 and t.needs_review is True
    assert t.scores["category"]["other"] < 0.5
    t = rules.triage("统信UOS")  # product named, no symptom: level is a guess
    assert (t.level, t.category) == ("P3", "os")
    assert t.needs_review is True


def test_scores_are_distributions(rules: RuleClassifier) -> None:
    for text, *_ in CASES:
        t = rules.triage(text)
        for label, dist in t.scores.items():
            assert sum(dist.values()) == pytest.approx(1.0, abs=0.01), (text, label)
        assert 0.0 <= t.confidence <= 1.0
        assert t.needs_review == (t.confidence < 0.5)


def test_complaint_scores(rules: RuleClassifier) -> None:
    assert rules.triage("我要投诉，一直没人管").scores["complaint"]["true"] == 1.0
    assert rules.triage("不是投诉，问下进度").scores["complaint"]["true"] < 0.5


def test_triage_many_and_protocol(rules: RuleClassifier) -> None:
    classifier: Classifier = rules
    out = classifier.triage_many(iter(["蓝屏了", "请问怎么预约"]))
    assert [t.level for t in out] == ["P2", "P4"]
    assert all(isinstance(t, Triage) for t in out)


def test_from_config(config_dir: Path) -> None:
    t = RuleClassifier.from_config(config_dir).triage("华为交换机坏了")
    assert (t.category, t.brand) == ("security", "华为（网络）")
