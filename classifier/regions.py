"""Guangxi county-level units (config/regions.toml) and finding them in free text.

A municipal district (市辖区) counts as 同城; a county, autonomous county or county-level city
as 异地.

Text matching rule (find_in_text):
  - full names (青秀区, 横州市) and former names (横县, 武鸣县, 宜州市) match anywhere;
  - a name without its 区/县/市 suffix (青秀, 田阳) matches only if it has at least 2 characters;
  - a suffix-less name that is also a common word or another place (城中, 江南, 资源, 乐业 …),
    or that two units share, only matches right after its city's name ("柳州城中", "南宁市江南");
  - a name lying inside a city name (防城 in 防城港) is not a district;
  - best candidate: city+district combo, then the city the text names, then full name, then the
    longest name, then the earliest.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from classifier.triage import Location

# Suffix-less names that are everyday words or well-known places outside Guangxi.
RISKY_SHORT: frozenset[str] = frozenset(
    {
        "城中", "江南", "港口", "防城", "海城", "新城", "兴宁", "七星", "象山", "江州",
        "资源", "乐业", "凌云", "天等", "大新", "兴业", "东兴", "灵山", "永福", "三江",
        "钟山", "兴安", "田林", "金秀", "凤山", "平乐",
    }
)  # fmt: skip
# Full (suffixed) names that are generic enough to need the city too.
RISKY_FULL: frozenset[str] = frozenset({"新城区"})
# City short names that are everyday words (来宾 = guests): need 市 or a district after them.
RISKY_CITY_SHORT: frozenset[str] = frozenset({"来宾"})

_ETHNIC_AUTONOMOUS = re.compile(r"(?:各|苗|侗|瑶|壮|仫佬|毛南)族自治县$")
_PROVINCE_PREFIXES = ("广西壮族自治区", "广西自治区", "广西")


@dataclass(frozen=True)
class District:
    name: str  # 青秀区
    code: str  # 450103
    city: str  # 南宁市
    city_short: str  # 南宁
    same_city: bool  # municipal district → True, county → False


@dataclass(frozen=True)
class City:
    name: str  # 南宁市
    short: str  # 南宁
    code: str  # 450100


@dataclass(frozen=True)
class _Hit:
    district: District
    start: int
    end: int  # end of the district name
    full: bool  # suffixed full or former name
    with_city: bool  # directly preceded by its city's name
    span: int  # characters covered, city prefix included


def short_name(name: str) -> str:
    """青秀区 → 青秀, 融水苗族自治县 → 融水, 横县 → 横 (callers drop 1-char results)."""
    stripped = _ETHNIC_AUTONOMOUS.sub("", name)
    if stripped != name:
        return stripped
    if name[-1:] in ("区", "县", "市"):
        return name[:-1]
    return name


class Regions:
    """Read-only index of the 111 county-level units; all lookups are pure."""

    def __init__(self, cities: Iterable[City], districts: Iterable[District],
                 former: Mapping[str, str]) -> None:  # fmt: skip
        self.cities: tuple[City, ...] = tuple(cities)
        self.districts: tuple[District, ...] = tuple(districts)
        self._by_code = {d.code: d for d in self.districts}
        self._city_by_key: dict[str, City] = {}
        for c in self.cities:
            for key in (c.name, c.short, c.code):
                self._city_by_key[key] = c
        # full / former names → district (unique in Guangxi)
        self._full: dict[str, District] = {d.name: d for d in self.districts}
        for old, code in former.items():
            self._full.setdefault(old, self._by_code[code])
        # suffix-less names → every district they may denote
        shorts: dict[str, set[District]] = {}
        for name, d in self._full.items():
            s = short_name(name)
            if len(s) >= 2 and s != name:
                shorts.setdefault(s, set()).add(d)
        self._short: dict[str, tuple[District, ...]] = {
            s: tuple(sorted(ds, key=lambda d: d.code)) for s, ds in shorts.items()
        }
        # every name free text is searched for, and by first character, so a text is searched
        # only for the names that can start in it (a fifth of the time, same hits, same order)
        self._names: list[tuple[str, tuple[District, ...], bool]] = [
            (n, (d,), True) for n, d in self._full.items()
        ] + [(s, ds, False) for s, ds in self._short.items()]
        self._names_by_first: dict[str, list[int]] = {}
        for i, (name, _, _) in enumerate(self._names):
            self._names_by_first.setdefault(name[0], []).append(i)

    @classmethod
    def load(cls, path: Path) -> Regions:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        cities: list[City] = []
        districts: list[District] = []
        former: dict[str, str] = {}
        for raw in data["cities"].values():
            city = City(name=raw["name"], short=raw["short"], code=raw["code"])
            cities.append(city)
            for key, same in (("districts", True), ("counties", False)):
                for unit in raw.get(key, []):
                    districts.append(
                        District(unit["name"], unit["code"], city.name, city.short, same)
                    )
                    for old in unit.get("former", []):
                        former[old] = unit["code"]
        return cls(cities, districts, former)

    # ------------------------------------------------------------------ lookups

    def names(self) -> frozenset[str]:
        """The current full names of all county-level units."""
        return frozenset(d.name for d in self.districts)

    def city(self, key: str) -> City | None:
        """City by full name, short name or code."""
        return self._city_by_key.get(key.strip())

    def lookup(self, name: str, city: str | None = None) -> District | None:
        """Exact lookup of a structured field: code, full, former or unambiguous short name.

        `city` (name, short name or code) restricts the search and makes ambiguous or
        everyday-word short names acceptable. "南宁市青秀区" style input is split first.
        """
        key = name.strip()
        for prefix in _PROVINCE_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key = key[len(prefix) :]
                break
        if key in self._by_code:
            found = self._by_code[key]
            return found if self._city_ok(found, city) else None
        if city is None:
            for c in self.cities:
                for prefix in (c.name, c.short):
                    rest = key[len(prefix) :]
                    if key.startswith(prefix) and rest and not rest.startswith("市"):
                        hit = self.lookup(rest, c.code)
                        if hit is not None:
                            return hit
        if key in self._full:
            found = self._full[key]
            return found if self._city_ok(found, city) else None
        options = [d for d in self._short.get(key, ()) if self._city_ok(d, city)]
        return options[0] if len(options) == 1 else None

    def _city_ok(self, d: District, city: str | None) -> bool:
        if city is None:
            return True
        c = self.city(city)
        return c is not None and c.name == d.city

    # --------------------------------------------------------------- free text

    def find_in_text(self, text: str) -> District | None:
        """Most specific county-level unit named in `text`, or None (also for a bare city)."""
        hits = self._hits(text)
        if not hits:
            return None
        named = {c.name for c, _, _ in self._city_mentions(text)}

        def rank(h: _Hit) -> tuple[bool, bool, bool, int, int]:
            return (h.with_city, h.district.city in named, h.full, h.span, -h.start)

        return max(hits, key=rank).district

    def find_city(self, text: str) -> str | None:
        """Full name of the prefecture-level city the text points at (南宁市), or None."""
        d = self.find_in_text(text)
        if d is not None:
            return d.city
        mentions = self._city_mentions(text)
        return mentions[0][0].name if mentions else None

    @staticmethod
    def to_location(d: District) -> Location:
        return Location(city=d.city, district=d.name, code=d.code, same_city=d.same_city)

    def _city_mentions(self, text: str) -> list[tuple[City, int, int]]:
        """Non-overlapping city mentions, longest name first, sorted by position."""
        found: list[tuple[City, int, int]] = []
        for c in self.cities:
            for name in (c.name, c.short):
                for start in _find_all(text, name):
                    end = start + len(name)
                    if name in RISKY_CITY_SHORT and not self._after_city_ok(text, end, c):
                        continue
                    found.append((c, start, end))
        found.sort(key=lambda m: (-(m[2] - m[1]), m[1]))
        kept: list[tuple[City, int, int]] = []
        for m in found:
            if all(m[2] <= k[1] or m[1] >= k[2] for k in kept):
                kept.append(m)
        return sorted(kept, key=lambda m: m[1])

    def _after_city_ok(self, text: str, end: int, city: City) -> bool:
        rest = text[end:]
        if rest.startswith("市"):
            return True
        return any(
            rest.startswith(n)
            for n, d in [*self._full.items(), *((s, ds[0]) for s, ds in self._short.items())]
            if d.city == city.name
        )

    def _hits(self, text: str) -> list[_Hit]:
        cities = self._city_mentions(text)
        city_end = {end: c for c, _, end in cities}
        city_start = {end: start for _, start, end in cities}

        def inside_city(start: int, end: int) -> bool:
            return any(s <= start and end <= e and (s, e) != (start, end) for _, s, e in cities)

        hits: list[_Hit] = []
        candidates = sorted(
            i for ch in set(text) for i in self._names_by_first.get(ch, ())
        )
        for name, options, full in (self._names[i] for i in candidates):
            for start in _find_all(text, name):
                end = start + len(name)
                if inside_city(start, end):
                    continue
                prefix_city = city_end.get(start)
                for d in options:
                    with_city = prefix_city is not None and prefix_city.name == d.city
                    needs_city = name in RISKY_FULL if full else (
                        name in RISKY_SHORT or len(options) > 1
                    )
                    if needs_city and not with_city:
                        continue
                    span = end - (city_start[start] if with_city else start)
                    hits.append(_Hit(d, start, end, full, with_city, span))
        return hits


def _find_all(text: str, needle: str) -> Iterable[int]:
    start = text.find(needle)
    while start != -1:
        yield start
        start = text.find(needle, start + 1)
