"""Triage of incoming problem reports: level, product category, complaint, brand, location."""

from classifier.catalog import Catalog, ProductMatch
from classifier.regions import District, Regions
from classifier.rules import RuleClassifier
from classifier.triage import Classifier, Location, Triage

__all__ = [
    "Catalog",
    "Classifier",
    "District",
    "Location",
    "ProductMatch",
    "Regions",
    "RuleClassifier",
    "Triage",
]
