"""Keyword-rule triage: the baseline behind the `Classifier` interface until a model replaces it.

Every rule comes from docs/triage-taxonomy ("scope beats symptom", "不急 lowers urgency",
"security / data loss never below P2"). Scores are rule evidence, not probabilities from a model:
the chosen value gets the rule's confidence and the rest is spread over the competing values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from classifier.catalog import Catalog, ProductMatch, normalize
from classifier.regions import Regions
from classifier.triage import CATEGORIES, LEVELS, Triage

Rules = tuple[tuple[str, re.Pattern[str]], ...]


def _alt(*parts: str) -> str:
    """Regex alternation of words / sub-patterns, so keyword tables wrap at 100 columns."""
    return "|".join(parts)


def _rules(*pairs: tuple[str, str]) -> Rules:
    return tuple((code, re.compile(rx)) for code, rx in pairs)


# --------------------------------------------------------------------------- level signals
# Patterns run on catalog.normalize(text): half-width, ASCII lowercase.

_CORE = _alt("服务器", "数据库", "存储", "机房", "数据中心", "虚拟机", "云平台")
_CORE_DOWN = _alt(
    "宕机", "宕了", "挂了", "挂掉", "崩了", "崩溃", "瘫痪", "连不上", "连接不上", "无法连接",
    "连接失败", "起不来", "无法访问", "访问不了", "down(?![a-z])", "停机",
)
_CORE_SYSTEM = _alt(
    "(?<![a-z])oa(?![a-z])", "公文系统", "电子公文", "公文交换", "业务系统", "办公系统",
    "政务系统", "邮件系统", "协同办公",
)
_SYSTEM_DOWN = _alt(
    "打不开", "进不去", "登不上", "登录不了", "无法登录", "无法访问", "访问不了", "崩", "瘫痪",
    "用不了", "宕", "挂了",
)

P1_RULES = _rules(
    ("core_outage", f"({_CORE}).{{0,6}}?({_CORE_DOWN})"),
    ("core_system_down", f"({_CORE_SYSTEM}).{{0,6}}?({_SYSTEM_DOWN})"),
    ("network_down", _alt(
        "网络全断", "全部断网", "全断网", "网络.{0,2}瘫痪", "整个网络.{0,4}(断|不通|用不了)"
    )),
    ("security_incident", _alt(
        "勒索", "泄密", "泄露", "被黑", "入侵", "被加密", "数据丢失", "数据全丢", "数据.{0,2}没了",
        "被篡改", "挖矿",
    )),
)
P2_RULES = _rules(
    ("no_boot", _alt(
        "无法开机", "开不了机", "不能开机", "开不开机", "开机没反应", "开机无反应", "不开机",
        "启动不了", "无法启动",
    )),
    ("screen", _alt("蓝屏", "黑屏")),
    ("system_down", _alt("系统崩溃", "系统坏了", "系统起不来")),
    ("no_login", _alt(
        "进不去系统", "进不了系统", "系统进不去", "无法进入系统", "进不去桌面", "登录不了",
        "登不上", "登不进", "无法登录", "登录不上", "登陆不了", "登陆不上", "登录失败",
        "账号.{0,3}锁",
    )),
    ("offline", _alt(
        "上不了网", "断网", "没网", "连不上网", "不能上网", "无法上网", "网络断了", "网断了"
    )),
    ("security_risk", _alt(
        "(?<!防)病毒(?!库)", "感染", "木马", "黑客", "被攻击", "钓鱼", "异常外联", "误删", "被删",
        "(文件|资料|文档).{0,3}(丢了|丢失|没了|不见了)", "删除了.{0,4}文件",
    )),
    ("cannot_work", _alt(
        "完全用不了", "完全不能用", "没法工作", "无法工作", "无法办公", "干不了活"
    )),
)
P3_RULES = _rules(
    ("paper_jam", _alt("卡纸", "夹纸", "塞纸")),
    ("unstable", _alt("死机", "重启", "闪退", "崩溃", "卡死")),
    ("slow", _alt(
        "运行慢", "变慢", "(?<!响应)(?<!处理)(?<!回复)(?<!来得)(很慢|太慢|特别慢)", "速度慢",
        "网速慢", "卡顿", "很卡", "特别卡", "反应慢",
    )),
    ("error", _alt("报错", "出错", "错误", "异常", "失败", "故障", "告警", "报警", "警告")),
    ("not_recognized", _alt(
        "不识别", "识别不了", "无法识别", "认不出", "检测不到", "找不到(设备|打印机|扫描仪)"
    )),
    ("display", _alt(
        "乱码", "显示不全", "花屏", "字体.{0,4}(缺|没有|不对|显示)", "缺字体", "不显示", "不亮"
    )),
    ("print_fail", _alt(
        "打印不了", "无法打印", "打不出", "不能打印", "打印.{0,3}(空白|模糊|黑线|不清|重影)",
        "扫描不了", "无法扫描", "不能扫描",
    )),
    ("no_sound", _alt("没声音", "没有声音", "无声音", "听不到")),
    ("broken", _alt(
        "打不开", "用不了", "不能用", "无法使用", "坏了", "没反应", "不好用", "不工作", "装不上",
        "安装不上", "连不上", "连接不上", "掉线", "离线", "弹窗", "没有驱动", "缺驱动",
        "找不到驱动", "驱动.{0,4}(装不上|有问题|丢失|没了)",
    )),
)
P4_RULES = _rules(
    ("question", _alt(
        "怎么", "怎样", "如何", "请问", "咨询", "想问", "问一下", "问下", "能否", "能不能",
        "可不可以", "可以吗", "是否", "有没有", "多久",
    )),
    ("warranty", _alt("保修", "质保", "服务期", "维保")),
    ("training", _alt("培训", "教程", "教一下")),
    ("appointment", _alt("预约", "上门时间")),
    ("suggestion", _alt("建议", "意见")),
    ("thanks", _alt("谢谢", "感谢", "辛苦了")),
)

SCOPE = re.compile(_alt(
    "全单位", "整个(单位|科室|部门|办公室|楼层|大楼|局|院|中心)", "全(科室|楼|局|院|办公室)",
    "整(层|栋)楼?", "多台", "好几台", "几十台", "大家都",
    "(所有|全部|一半)的?(电脑|人|打印机|终端|科室|同事|用户|机器)",
))
DEADLINE = re.compile(_alt(
    "急用", "马上要用", "马上就要", "立刻", "立即", "赶紧", "尽快", "十万火急", "很急", "非常急",
    "特别急", "着急", "紧急", "急需", "急!", "(今天|上午|下午|明天|晚上|一会|等下|待会).{0,6}"
    "(要用|开会|用到|要交|要打印|要报)",
))
NOT_URGENT = re.compile(_alt(
    "不急", "不着急", "不用急", "不是很急", "不太急", "不赶", "不紧急", "有空再", "有时间再",
    "有空(的时候)?过来", "不影响(工作|使用|办公)", "可以等",
))
SERVER_TROUBLE = re.compile(_alt(
    "问题", "不正常", "宕", "挂", "连不上", "报错", "故障", "异常", "慢", "停", "断", "失败", "错误"
))
# Alarming words in these contexts are not an incident: the floors do not apply.
HARMLESS_CONTEXT = re.compile(_alt(
    "培训", "演练", "预案", "方案", "讲座", "宣传", "防范", "怎么防", "如何防", "模板", "评审",
    "迁移", "升级", "兼容", "请教", "咨询",
))
# An antivirus that quarantined or deleted a harmless file is a nuisance, not a data-loss risk.
ANTIVIRUS_FALSE_ALARM = re.compile(_alt("报毒", "误报", "误杀", "隔离", "当.{0,4}病毒", "白名单"))
# A hit right after one of these is denied ("没有卡纸", "不是投诉").
NEGATION = re.compile("(" + _alt(
    "没有", "没", "不是", "并非", "并不是", "不再", "不会", "已经不", "无意", "不想", "不打算",
    "不要", "不",
) + ")[要想去再]?$")

COMPLAINT = re.compile(_alt(
    "投诉", "态度.{0,2}(差|恶劣|不好)", "一直没人", "没人(来|管|理|处理|回复|跟进)",
    "修了(好|几|很多|两|三|多)几?次", "反复(坏|出现|修)", "又坏了", "拖了", "拖着", "拖延",
    "不满意", "敷衍", "(响应|处理|来得|上门|回复)(太|很|特别)?慢",
    "(说好|约好|答应).{0,8}(没来|不来|没到|没人)", "迟到", "爽约", "差评", "找.{0,2}领导",
    "要求升级", "(?<!\\d)12345(?!\\d)", "还没人?(来|修好|处理)",
    "等了.{0,6}(天|小时|周|星期).{0,4}(还|没|都)",
))

# --------------------------------------------------------------------------- category signals

CATEGORY_WORDS: Mapping[str, re.Pattern[str]] = MappingProxyType({
    "database": re.compile("数据库"),
    "middleware": re.compile(_alt("中间件", "应用服务器")),
    "server": re.compile(_alt("服务器", "存储", "虚拟机", "机房", "磁盘阵列", "云平台", "备份")),
    "peripheral": re.compile(_alt(
        "打印机", "打印不了", "无法打印", "打不出", "不能打印", "扫描仪", "扫描不了", "复印机",
        "高拍仪", "投影", "硒鼓", "墨盒", "碳粉", "墨粉", "卡纸",
    )),
    "security": re.compile(_alt(
        "交换机", "路由器", "防火墙", "网络", "断网", "上不了网", "没网", "网线", "网口", "wifi",
        "wi-fi", "无线", "vpn", "病毒", "木马", "勒索", "杀毒", "ukey", "u盾", "证书", "ca锁",
        "网速", "泄密", "黑客",
    )),
    "office": re.compile(_alt(
        "(?<![a-z])(word|excel|ppt|ofd|pdf)(?![a-z])", "文档", "表格", "字体", "公文格式"
    )),
    "application": re.compile(_alt(
        "浏览器", "输入法", "邮箱", "邮件", "视频会议", "(?<![a-z])oa(?![a-z])", "公文", "审批",
        "财务系统", "业务系统", "插件", "网页", "网站", "微信", "钉钉", "会议", "软件",
    )),
    "os": re.compile(_alt(
        "操作系统", "系统更新", "系统升级", "开机密码", "桌面",
        # bare 系统, unless it is an application's 系统 (公文系统, 财务系统 …)
        "(?<!公文)(?<!业务)(?<!办公)(?<!财务)(?<!政务)(?<!审批)(?<!管理)(?<!邮件)(?<!oa)系统",
    )),
    "terminal": re.compile(_alt(
        "电脑", "笔记本", "台式机", "一体机", "主机", "显示器", "键盘", "鼠标", "工作站", "u盘",
        "usb", "开不了机", "无法开机", "蓝屏", "黑屏",
    )),
})
# When several categories are in play, the first one here is the thing that must be fixed:
# the printer rather than the OS it runs on, the network rather than the PC that is offline.
CATEGORY_PRIORITY: tuple[str, ...] = (
    "database", "middleware", "server", "peripheral", "security", "office", "application", "os",
    "terminal",
)  # fmt: skip

# Confidence of one label, by how it was decided.
KEYWORD_SURE = 1.0
KEYWORD_CONTESTED = 0.8
DEVICE_WORD_ONLY = 0.8
DEVICE_WORDS_CONTESTED = 0.7
LEVEL_DEFAULT = 0.4
CATEGORY_DEFAULT = 0.3
COMPLAINT_ABSENT = 0.9


@dataclass(frozen=True)
class _Decision:
    value: str
    confidence: float
    competitors: tuple[str, ...] = ()  # other values the rules also pointed at


class RuleClassifier:
    """Deterministic keyword triage over the product catalog and the region list."""

    source = "rules"

    def __init__(self, catalog: Catalog, regions: Regions) -> None:
        self.catalog = catalog
        self.regions = regions

    @classmethod
    def from_config(cls, config_dir: Path) -> RuleClassifier:
        return cls(
            Catalog.load(config_dir / "catalog.toml"),
            Regions.load(config_dir / "regions.toml"),
        )

    def triage_many(self, texts: Iterable[str]) -> list[Triage]:
        return [self.triage(t) for t in texts]

    def triage(self, text: str) -> Triage:
        norm = normalize(text)
        matches = self.catalog.match(text)
        category = _category(norm, matches)
        level, overrides = _level(norm, matches)
        complaint = _complaint(norm)
        product = product_for(category.value, matches)
        district = self.regions.find_in_text(text)
        confidence = round(min(level.confidence, category.confidence, complaint.confidence), 2)
        return Triage(
            level=level.value,
            category=category.value,
            complaint=complaint.value == "true",
            brand=product.product if product else None,
            model=product.model if product else None,
            location=self.regions.to_location(district) if district else None,
            confidence=confidence,
            scores={
                "level": _spread(level, LEVELS),
                "category": _spread(category, CATEGORIES),
                "complaint": _spread(complaint, ("true", "false")),
            },
            overrides=overrides,
            source=self.source,
            needs_review=confidence < 0.5,
        )


# --------------------------------------------------------------------------- helpers


def _hits(rules: Rules, norm: str, covered: list[tuple[int, int]]) -> list[str]:
    """Codes of the rules with a non-negated match outside `covered`, then cover their spans.

    Levels are scanned from P1 down, so "连不上" inside "数据库连不上" is not also a P3 signal.
    """
    codes: list[str] = []
    spans: list[tuple[int, int]] = []
    for code, rx in rules:
        found = [
            m.span()
            for m in rx.finditer(norm)
            if not _negated(norm, m.start())
            and not any(a <= m.start() and m.end() <= b for a, b in covered)
        ]
        if found:
            codes.append(code)
            spans.extend(found)
    covered.extend(spans)
    return codes


def _search(rx: re.Pattern[str], norm: str) -> bool:
    return any(not _negated(norm, m.start()) for m in rx.finditer(norm))


def _negated(norm: str, start: int) -> bool:
    return bool(NEGATION.search(norm[max(0, start - 4) : start]))


def _level(norm: str, matches: list[ProductMatch]) -> tuple[_Decision, tuple[str, ...]]:
    covered: list[tuple[int, int]] = []
    hits = {
        level: _hits(rules, norm, covered)
        for level, rules in zip(LEVELS, (P1_RULES, P2_RULES, P3_RULES, P4_RULES), strict=True)
    }
    fault = any(hits[lv] for lv in ("P1", "P2", "P3"))
    deadline = _search(DEADLINE, norm)
    if fault and SCOPE.search(norm):
        hits["P1"].append("scope")  # scope beats symptom
    if deadline:
        hits["P2"].append("deadline")

    decided = True
    if hits["P1"]:
        level = "P1"
    elif hits["P2"] and (fault or not hits["P4"]):
        level = "P2"  # a deadline alone makes it urgent, but does not turn a question into a fault
    elif hits["P3"]:
        level = "P3"
    elif hits["P4"]:
        level = "P4"
    else:
        decided = False
        level = "P3" if matches else "P4"  # a product named with no signal: probably a fault

    overrides: list[str] = []
    # "不急" lowers urgency, but a fault stays a fault: P4 is for questions only (taxonomy)
    if NOT_URGENT.search(norm) and level in ("P1", "P2"):
        level = LEVELS[LEVELS.index(level) + 1]
        overrides.append("not_urgent_lowered")
    security = "security_incident" in hits["P1"] or "security_risk" in hits["P2"]
    level, floored = apply_floors(level, norm, matches, security=security)  # rules: broad
    overrides.extend(floored)

    pointed = tuple(lv for lv in LEVELS if hits[lv] and lv != level)
    confidence = KEYWORD_CONTESTED if pointed else KEYWORD_SURE
    if not decided:
        confidence = LEVEL_DEFAULT
    return _Decision(level, confidence, pointed), tuple(overrides)


def apply_floors(
    level: str, norm: str, matches: list[ProductMatch], *, security: bool | None = None
) -> tuple[str, tuple[str, ...]]:
    """The floors the taxonomy makes certain, whoever proposed `level` (these rules or a model):
    a security or data-loss risk is never below P2; a named server or database in trouble is
    never a mere question (P4). Returns the level and the codes of the floors that applied."""
    if _search(HARMLESS_CONTEXT, norm):
        return level, ()  # a drill, a training, a plan or a consultation: nothing is burning
    if security is None:
        security = _security_risk(norm)
    security = security and not _search(ANTIVIRUS_FALSE_ALARM, norm)
    applied: list[str] = []
    if security and LEVELS.index(level) > LEVELS.index("P2"):
        level = "P2"
        applied.append("security_min_p2")
    server = any(m.category in ("server", "database") for m in matches) or bool(
        re.search(r"服务器|数据库", norm)
    )
    if level == "P4" and server and _search(SERVER_TROUBLE, norm):
        level = "P3"
        applied.append("server_outage_not_p4")
    return level, tuple(applied)


_INCIDENT_RULES = tuple(r for r in P1_RULES if r[0] == "security_incident")


def _security_risk(norm: str) -> bool:
    """An incident named outright (ransomware, leak, intrusion, data lost). The milder risk
    words (病毒, 误删) also fire in questions and antivirus chatter, so they are evidence for the
    model, not a certainty."""
    return bool(_hits(_INCIDENT_RULES, norm, []))


def signals(norm: str, matches: list[ProductMatch]) -> list[str]:
    """The rule evidence in a text, as feature names for a model: which level rules fired,
    scope, deadline, downplaying, complaint words, and the categories products and device words
    point at. A model weighs them; the rules above decide with them."""
    found: list[str] = []
    covered: list[tuple[int, int]] = []
    for level, rules in zip(LEVELS, (P1_RULES, P2_RULES, P3_RULES, P4_RULES), strict=True):
        for code in _hits(rules, norm, covered):
            found += [f"lv_{level}", f"rule_{code}"]
    for name, rx in (("scope", SCOPE), ("deadline", DEADLINE), ("not_urgent", NOT_URGENT)):
        if _search(rx, norm):
            found.append(name)
    complaint = _complaint(norm)
    if complaint.value == "true":
        found.append("complaint_word")
    elif complaint.competitors:
        found.append("complaint_negated")
    found += [f"product_{m.category}" for m in matches]
    found += [f"word_{cat}" for cat, rx in CATEGORY_WORDS.items() if rx.search(norm)]
    return found


def category_from_rules(norm: str, matches: list[ProductMatch]) -> _Decision:
    """The category the catalog and device words point at, with the rules' confidence."""
    return _category(norm, matches)


def _category(norm: str, matches: list[ProductMatch]) -> _Decision:
    from_products = {m.category for m in matches}
    from_words = {cat for cat, rx in CATEGORY_WORDS.items() if rx.search(norm)}
    candidates = from_products | from_words
    if not candidates:
        return _Decision("other", CATEGORY_DEFAULT)
    chosen = next(c for c in CATEGORY_PRIORITY if c in candidates)
    others = tuple(c for c in CATEGORY_PRIORITY if c in candidates and c != chosen)
    if chosen in from_products:
        sure = not others or chosen in from_words
        confidence = KEYWORD_SURE if sure else KEYWORD_CONTESTED
    else:
        confidence = DEVICE_WORD_ONLY if not others else DEVICE_WORDS_CONTESTED
    return _Decision(chosen, confidence, others)


def _complaint(norm: str) -> _Decision:
    found = list(COMPLAINT.finditer(norm))
    real = [m for m in found if not _negated(norm, m.start())]
    if real:
        return _Decision("true", KEYWORD_SURE)
    return _Decision("false", COMPLAINT_ABSENT, ("true",) if found else ())


def product_for(category: str, matches: list[ProductMatch]) -> ProductMatch | None:
    """The branded product that must be fixed; else the first brand named (e.g. the OS under a
    printer). Generic entries (OA系统, UKey) decide the category but are no brand."""
    brands = [m for m in matches if not m.generic]
    return next((m for m in brands if m.category == category), brands[0] if brands else None)


def _spread(decision: _Decision, values: Iterable[str]) -> dict[str, float]:
    """Chosen value gets the confidence; the remainder goes to the competitors (or all others)."""
    values = tuple(values)
    rest = decision.competitors or tuple(v for v in values if v != decision.value)
    share = round((1.0 - decision.confidence) / len(rest), 3) if rest else 0.0
    return {v: decision.confidence if v == decision.value else (share if v in rest else 0.0)
            for v in values}  # fmt: skip
