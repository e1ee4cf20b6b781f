"""The triage result every classifier returns, and the interface ticketing relies on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

LEVELS: tuple[str, ...] = ("P1", "P2", "P3", "P4")
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


@dataclass(frozen=True)
class Location:
    """A Guangxi county-level unit named in a report."""

    city: str  # 南宁市
    district: str  # 青秀区
    code: str  # 450103
    same_city: bool  # municipal district (同城) vs county (异地)


@dataclass(frozen=True)
class Triage:
    level: str
    category: str
    complaint: bool
    brand: str | None = None
    model: str | None = None
    location: Location | None = None
    confidence: float = 0.0
    # label name -> {value: score}, e.g. {"level": {"P1": 0.1, ...}, "complaint": {"true": 0.2}}
    scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # codes of rules that decided a label over the model, e.g. ("server_outage_not_p4",)
    overrides: tuple[str, ...] = ()
    source: str = "rules"
    needs_review: bool = False


class Triager(Protocol):
    """Anything that triages: the trained `Classifier` or the keyword `RuleClassifier`."""

    def triage(self, text: str) -> Triage: ...

    def triage_many(self, texts: Iterable[str]) -> list[Triage]: ...


def triage_json(triage: Triage) -> dict[str, Any]:
    """The triage as plain JSON-able data (CLI output, the ticket's triage record)."""
    data = asdict(triage)
    data["overrides"] = list(triage.overrides)
    return data
