"""Product catalog (config/catalog.toml) and brand / model spotting in free text.

Matching follows the catalog header:
  - text is folded full-width → half-width and ASCII-lowercased (length-preserving, so offsets
    point into the original text);
  - on overlapping hits the longest alias wins;
  - ASCII aliases must not run into neighbouring ASCII letters/digits ("HPE" is not HP), and the
    short risky ones (DM, 360, HP, RG-) also need context ("360元" is not 360);
  - model patterns only run right after a matched alias, never on their own;
  - a bare maker name (华为, 浪潮, 360, 紫光 …) is resolved to the product line by the nearest
    device word (电脑 → terminal, 服务器 → server, 交换机 → security, 打印机 → peripheral …).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from classifier.triage import CATEGORIES

MODEL_WINDOW = 12  # characters after an alias in which a model number may appear
DEVICE_BEFORE = 6  # device-word search window before a bare maker name
DEVICE_AFTER = 12  # … and after it

# Bare maker names → words that name the same maker (normalized: half-width, lowercase).
# Products whose name / aliases / owner / vendor contain one of them form the maker's family.
FAMILIES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "华为": ("华为", "huawei"),
    "联想": ("联想", "lenovo"),
    "紫光": ("紫光", "unis"),
    "360": ("360",),
    "浪潮": ("浪潮", "inspur"),
    "曙光": ("曙光", "中科曙光", "sugon"),
    "宝德": ("宝德", "powerleader"),
    "新华三": ("新华三", "华三", "h3c"),
    "中兴": ("中兴", "zte"),
    "方正": ("方正", "founder"),
    "长城": ("长城", "中国长城", "greatwall", "great wall"),
    "奇安信": ("奇安信", "qax"),
    "深信服": ("深信服", "sangfor"),
    "统信": ("统信", "uniontech"),
})

# Device words that pick a maker's product line: (word, category, kind hint or "").
DEVICE_WORDS: tuple[tuple[str, str, str], ...] = (
    ("笔记本", "terminal", ""),
    ("台式机", "terminal", ""),
    ("一体机", "terminal", ""),
    ("电脑", "terminal", ""),
    ("主机", "terminal", ""),
    ("服务器", "server", "server"),
    ("存储", "server", "storage"),
    ("超融合", "server", "virtualization"),
    ("虚拟化", "server", "virtualization"),
    ("交换机", "security", "switch"),
    ("路由器", "security", "router"),
    ("防火墙", "security", "firewall"),
    ("无线", "security", "wlan"),
    ("ap", "security", "wlan"),
    ("杀毒", "security", "endpoint"),
    ("安全卫士", "security", "endpoint"),
    ("终端安全", "security", "endpoint"),
    ("打印机", "peripheral", "printer"),
    ("复印机", "peripheral", "copier"),
    ("扫描仪", "peripheral", "scanner"),
    ("高拍仪", "peripheral", "document-camera"),
    ("浏览器", "application", "browser"),
    ("会议", "application", "video-conference"),
    ("数据库", "database", ""),
    ("字库", "office", "font"),
    ("字体", "office", "font"),
    ("操作系统", "os", ""),
)

# Everyday phrases that contain a brand alias but do not mean the brand.
NOT_BRAND: tuple[str, ...] = ("长城宽带", "看到曙光", "一线曙光", "曙光初现", "得力助手")

_UNIT_AFTER_NUMBER = set("元块钱角分度°天个台次万千百米号路斤年月日秒位人张%")
_DB_CONTEXT = re.compile(r"数据库|达梦|sql|表空间|实例|dba|jdbc|odbc", re.IGNORECASE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_VERSION_WORDS = re.compile(r"版本|专业版|教育版|服务器版|家庭版|桌面版|社区版|企业版|版|系统|的")


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    owner: str
    vendor: str | None
    aliases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    kind: str | None = None
    xinchuang: bool = True
    generic: bool = False  # a product type (OA, UKey, 超融合), not a brand


@dataclass(frozen=True)
class ProductMatch:
    product: str  # catalog product name, e.g. 奔图
    category: str  # taxonomy category id
    owner: str  # common maker name
    vendor: str | None  # legal name, when the catalog has one
    alias: str  # the catalog alias (or bare maker name) found in the text
    model: str | None  # e.g. M6202, as written
    start: int  # offset in the original text
    end: int = 0  # end offset of the alias
    kind: str | None = None
    generic: bool = False  # catalog entry names a product type, not a brand


def to_half_width(text: str) -> str:
    """Full-width ASCII forms and the ideographic space → ASCII, one char for one char."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif code == 0x3000:
            ch = " "
        out.append(ch)
    return "".join(out)


def normalize(text: str) -> str:
    """Half-width and ASCII-lowercased; keeps length so offsets stay valid."""
    half = to_half_width(text)
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in half)


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _same_class(a: str, b: str) -> bool:
    """Both ASCII letters or both digits: they would read as one token."""
    return (a.isascii() and a.isalpha() and b.isascii() and b.isalpha()) or (
        a.isdigit() and b.isdigit() and a.isascii() and b.isascii()
    )


class Catalog:
    """Read-only product catalog with an alias index."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.products: tuple[Product, ...] = tuple(products)
        index: dict[str, list[Product]] = {}
        for p in self.products:
            for alias in p.aliases:
                key = normalize(alias)
                if p not in index.get(key, []):
                    index.setdefault(key, []).append(p)
        self._stem_of: dict[str, str] = {
            normalize(word): stem for stem, words in FAMILIES.items() for word in words
        }
        for word in self._stem_of:
            index.setdefault(word, [])  # bare maker names take part in longest-wins
        self._index: dict[str, tuple[Product, ...]] = {k: tuple(v) for k, v in index.items()}
        # aliases by first character: a text is searched only for those that can start in it
        self._aliases = list(self._index)
        self._by_first: dict[str, list[int]] = {}
        for i, alias in enumerate(self._aliases):
            self._by_first.setdefault(alias[0], []).append(i)
        self._display: dict[str, str] = {
            normalize(a): a for p in self.products for a in p.aliases
        }
        self._families: dict[str, tuple[Product, ...]] = {
            stem: tuple(p for p in self.products if _in_family(p, words))
            for stem, words in FAMILIES.items()
        }

    @classmethod
    def load(cls, path: Path) -> Catalog:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        products: list[Product] = []
        for category in CATEGORIES:
            for raw in data.get(category, {}).get("products", []):
                products.append(
                    Product(
                        name=raw["name"],
                        category=category,
                        # owner is the common name; fall back to the name without "（终端）"
                        owner=raw.get("owner") or re.sub(r"[（(].*?[）)]", "", raw["name"]).strip(),
                        vendor=raw.get("vendor"),
                        aliases=tuple(raw.get("aliases", ())),
                        patterns=tuple(
                            re.compile(p, re.IGNORECASE) for p in raw.get("model_patterns", ())
                        ),
                        kind=raw.get("kind"),
                        xinchuang=raw.get("xinchuang", True),
                        generic=raw.get("generic", False),
                    )
                )
        return cls(products)

    def product(self, name: str) -> Product | None:
        return next((p for p in self.products if p.name == name), None)

    # ------------------------------------------------------------------ matching

    def match(self, text: str) -> list[ProductMatch]:
        """Products named in `text`, in order of appearance, overlaps resolved longest-first."""
        norm = normalize(text)
        found: list[tuple[int, int, str]] = []
        candidates = sorted(i for ch in set(norm) for i in self._by_first.get(ch, ()))
        for alias in (self._aliases[i] for i in candidates):
            start = norm.find(alias)
            while start != -1:
                end = start + len(alias)
                if self._alias_ok(norm, alias, start, end):
                    found.append((start, end, alias))
                start = norm.find(alias, start + 1)
        found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
        taken: list[tuple[int, int, str]] = []
        for f in found:
            if all(f[1] <= t[0] or f[0] >= t[1] for t in taken):
                taken.append(f)
        matches: list[ProductMatch] = []
        for start, end, alias in sorted(taken):
            m = self._resolve(text, norm, alias, start, end)
            if m is None:
                continue
            prev = matches[-1] if matches else None
            glued = prev is not None and not norm[prev.end : start].strip()
            if prev is not None and glued and prev.product == m.product:
                # "达梦DM8", "HP LaserJet": one mention written with two aliases
                matches[-1] = replace(
                    prev,
                    alias=max(prev.alias, m.alias, key=len),
                    model=prev.model or m.model,
                    end=m.end,
                )
            else:
                matches.append(m)
        return matches

    def _alias_ok(self, norm: str, alias: str, start: int, end: int) -> bool:
        before = norm[start - 1] if start > 0 else ""
        after = norm[end] if end < len(norm) else ""
        if before and _same_class(before, alias[0]):
            return False
        if after and _same_class(alias[-1], after):
            return False
        if any(
            norm.find(phrase, max(0, start - len(phrase)), end + len(phrase)) != -1
            for phrase in NOT_BRAND
            if alias in phrase
        ):
            return False
        if alias == "dm":
            return bool(_DB_CONTEXT.search(norm))
        if alias == "360":
            # quantities and prices: 花了360元, 第360, 360度
            return after not in _UNIT_AFTER_NUMBER and before not in ("第", "约", ".", "共")
        if alias == "hp":
            return after not in ("值", "血", "条")
        if alias == "rg-":
            return bool(after) and after.isascii() and after.isalpha()
        return True

    def _resolve(
        self, text: str, norm: str, alias: str, start: int, end: int
    ) -> ProductMatch | None:
        listed = self._index[alias]
        product = listed[0] if listed else None
        category = product.category if product else None
        stem = self._stem_of.get(alias)
        device = _nearest_device(norm, start, end)
        if stem is not None and device is not None:
            # bare maker name: the device word picks the product line
            chosen = self._family_member(stem, device[0], device[1])
            if chosen is not None:
                product, category = chosen, chosen.category
        elif product is not None and product.kind == "cpu" and device and device[0] == "server":
            category = "server"  # catalog: CPU platform in server context counts as server
        if product is None or category is None:
            return None  # bare maker name with no device word: product line unknown
        return ProductMatch(
            product=product.name,
            category=category,
            owner=product.owner,
            vendor=product.vendor,
            alias=self._display.get(alias, text[start:end]),
            model=_find_model(text, norm, product, start, end),
            start=start,
            end=end,
            kind=product.kind,
            generic=product.generic,
        )

    def _family_member(self, stem: str, category: str, kind_hint: str) -> Product | None:
        members = [p for p in self._families[stem] if p.category == category]
        if not members:
            return None
        words = FAMILIES[stem]

        def rank(p: Product) -> tuple[bool, bool, bool]:
            named = any(w in normalize(p.name) for w in words)
            kind_ok = bool(kind_hint) and kind_hint in (p.kind or "")
            return (kind_ok, named, p.kind != "cpu")

        return max(members, key=rank)  # max keeps catalog order among equals


def _in_family(p: Product, words: tuple[str, ...]) -> bool:
    haystack = normalize(" ".join((p.name, p.owner, p.vendor or "", *p.aliases)))
    return any(w in haystack for w in words)


def _nearest_device(norm: str, start: int, end: int) -> tuple[str, str] | None:
    """(category, kind hint) of the device word closest to the alias, within the windows."""
    lo, hi = max(0, start - DEVICE_BEFORE), min(len(norm), end + DEVICE_AFTER)
    best: tuple[int, str, str] | None = None
    for word, category, kind in DEVICE_WORDS:
        pos = norm.find(word, lo, hi)
        while pos != -1:
            w_end = pos + len(word)
            ascii_word = word.isascii()
            bounded = not ascii_word or (
                (pos == 0 or not _is_ascii_alnum(norm[pos - 1]))
                and (w_end == len(norm) or not _is_ascii_alnum(norm[w_end]))
            )
            if bounded and (w_end <= start or pos >= end):
                dist = pos - end if pos >= end else start - w_end
                if best is None or dist < best[0]:
                    best = (dist, category, kind)
            pos = norm.find(word, pos + 1, hi)
    return None if best is None else (best[1], best[2])


def _find_model(text: str, norm: str, product: Product, start: int, end: int) -> str | None:
    """First model number of `product` written at or right after its alias."""
    hi = min(len(norm), end + MODEL_WINDOW)
    best: tuple[int, int] | None = None
    for pattern in product.patterns:
        pos = start
        # search position by position: a rejected match must not hide one starting inside it
        while (m := pattern.search(norm, pos, hi)) is not None:
            s, e = m.span()
            pos = s + 1
            if best is not None and s >= best[0]:
                break
            if s != e and _model_ok(norm, m.group(), s, e, start, end):
                best = (s, e)
                break
    if best is None:
        return None
    return to_half_width(text[best[0] : best[1]]).strip()


def _model_ok(norm: str, found: str, s: int, e: int, start: int, end: int) -> bool:
    # not glued to other ASCII ("1070" inside "21070"), unless it starts right at the alias
    if s not in (start, end) and s > 0 and _is_ascii_alnum(norm[s - 1]):
        return False
    if e < len(norm) and _is_ascii_alnum(norm[e]) and _is_ascii_alnum(norm[e - 1]):
        return False
    # a digits-only model needs a gap free of other words ("deepin用了20天" is not version 20)
    gap = _VERSION_WORDS.sub("", norm[end:s]) if s > end else ""
    return bool(re.search(r"[a-z]", found)) or not _CJK.search(gap)
