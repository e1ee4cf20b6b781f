"""Triage of problem reports: text -> level, product category, complaint, brand, model, place.

`Classifier.load()` gives the trained pipeline shipped with the package; `RuleClassifier` is the
keyword baseline. Both satisfy the `Triager` protocol. Pure: no database, no network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from classifier.catalog import Catalog, ProductMatch
from classifier.regions import District, Regions
from classifier.rules import RuleClassifier
from classifier.triage import Location, Triage, Triager

if TYPE_CHECKING:
    from classifier.pipeline import Classifier

__all__ = [
    "Catalog",
    "Classifier",
    "District",
    "Location",
    "ProductMatch",
    "Regions",
    "RuleClassifier",
    "Triage",
    "Triager",
]


def __getattr__(name: str) -> Any:
    # spaCy takes most of a second to import: only pay for it when the pipeline is wanted
    if name == "Classifier":
        from classifier.pipeline import Classifier

        return Classifier
    raise AttributeError(name)
