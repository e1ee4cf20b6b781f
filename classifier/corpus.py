"""The triage corpus: JSON lines of labelled reports (see classifier/corpus/GUIDELINES.md).

`python -m classifier.corpus check FILE...` validates files against the taxonomy, the catalog and
the regions, and reports problems by line number.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from classifier.triage import CATEGORIES, LEVELS

CHANNELS = ("wechat", "email", "phone", "web")  # web: reports typed into the web or API
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
FIELDS = ("text", "channel", "level", "category", "complaint", "brand", "model", "location")


@dataclass(frozen=True)
class Example:
    text: str
    channel: str
    level: str
    category: str
    complaint: bool
    brand: str | None = None
    model: str | None = None
    location: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class CorpusError(ValueError):
    pass


def _known_names(config_dir: Path) -> tuple[set[str], set[str]]:
    with (config_dir / "catalog.toml").open("rb") as fh:
        catalog = tomllib.load(fh)
    brands = {
        p["name"]
        for section in catalog.values()
        if isinstance(section, dict)
        for p in section.get("products", [])
    }
    with (config_dir / "regions.toml").open("rb") as fh:
        regions = tomllib.load(fh)
    places = {
        unit["name"]
        for city in regions["cities"].values()
        for unit in city.get("districts", []) + city.get("counties", [])
    }
    return brands, places


def parse(line: str, brands: set[str] | None = None, places: set[str] | None = None) -> Example:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CorpusError("not an object")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise CorpusError(f"unknown fields {sorted(unknown)}")
    for name in ("text", "channel", "level", "category", "complaint"):
        if name not in data:
            raise CorpusError(f"missing {name}")
    if not isinstance(data["text"], str) or not data["text"].strip():
        raise CorpusError("empty text")
    if data["channel"] not in CHANNELS:
        raise CorpusError(f"channel {data['channel']!r}")
    if data["level"] not in LEVELS:
        raise CorpusError(f"level {data['level']!r}")
    if data["category"] not in CATEGORIES:
        raise CorpusError(f"category {data['category']!r}")
    if not isinstance(data["complaint"], bool):
        raise CorpusError("complaint must be true/false")
    if brands is not None and data.get("brand") not in brands | {None}:
        raise CorpusError(f"brand {data.get('brand')!r} is not a catalog product name")
    if places is not None and data.get("location") not in places | {None}:
        raise CorpusError(f"location {data.get('location')!r} is not a county-level unit name")
    return Example(**{k: data.get(k) for k in FIELDS})


def read(path: Path) -> Iterator[Example]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield parse(line)
            except CorpusError as exc:
                raise CorpusError(f"{path}:{number}: {exc}") from None


def write(path: Path, examples: Iterable[Example]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(example.to_json() + "\n")
            count += 1
    return count


def check(paths: list[Path], config_dir: Path = CONFIG_DIR) -> int:
    brands, places = _known_names(config_dir)
    problems = 0
    for path in paths:
        seen: set[str] = set()
        good = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                example = parse(line, brands, places)
            except CorpusError as exc:
                print(f"{path}:{number}: {exc}")
                problems += 1
                continue
            if example.text in seen:
                print(f"{path}:{number}: duplicate text")
                problems += 1
            seen.add(example.text)
            good += 1
        print(f"{path}: {good} good lines")
    return problems


def _grams(text: str) -> set[str]:
    squeezed = "".join(text.split())
    return {squeezed[i : i + 3] for i in range(max(len(squeezed) - 2, 1))}


def near_duplicate_groups(examples: list[Example], threshold: float = 0.6) -> list[int]:
    """A group id per example: texts sharing most of their character 3-grams share a group,
    so a near-copy can never sit in training and test at once."""
    parent = list(range(len(examples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    grams = [_grams(e.text) for e in examples]
    by_gram: dict[str, list[int]] = {}
    for i, gs in enumerate(grams):
        for g in gs:
            by_gram.setdefault(g, []).append(i)
    for i, gs in enumerate(grams):
        shared: dict[int, int] = {}
        for g in gs:
            postings = by_gram[g]
            if len(postings) > 200:  # a common 3-gram says nothing about copying
                continue
            for j in postings:
                if j > i:
                    shared[j] = shared.get(j, 0) + 1
        for j, common in shared.items():
            if common / len(gs | grams[j]) >= threshold:
                parent[find(j)] = find(i)
    return [find(i) for i in range(len(examples))]


def split(examples: list[Example], test_share: int = 5) -> tuple[list[Example], list[Example]]:
    """Fixed split: a group goes to test when the hash of its first text says so (1 in
    `test_share`). The same corpus always gives the same split, whatever the file order."""
    groups = near_duplicate_groups(examples)
    first_text: dict[int, str] = {}
    for example, group in zip(examples, groups, strict=True):
        first_text.setdefault(group, min(example.text, first_text.get(group, example.text)))
    train, test = [], []
    for example, group in zip(examples, groups, strict=True):
        digest = hashlib.sha256(first_text[group].encode()).digest()
        (test if digest[0] % test_share == 0 else train).append(example)
    return train, test


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "check":
        return 1 if check([Path(p) for p in argv[1:]]) else 0
    if len(argv) >= 2 and argv[0] == "split":
        examples = [e for p in argv[1:] for e in read(Path(p))]
        unique = list({e.text: e for e in examples}.values())
        train, test = split(unique)
        write(CORPUS_DIR / "train.jsonl", train)
        write(CORPUS_DIR / "test.jsonl", test)
        print(f"{len(unique)} reports: {len(train)} train, {len(test)} test")
        return 0
    print("usage: python -m classifier.corpus check FILE... | split FILE...")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
