"""Quality on the fixed test split, against both baselines (the figures of `make compare`).

Not a timing test: it trains the TF-IDF baseline (a few seconds) and scores three triagers on
data none of them was trained on. The thresholds are the measured figures rounded down, so a
model or corpus change that makes triage worse fails here.
"""

from __future__ import annotations

import pytest

from classifier import corpus
from classifier.compare import compare
from classifier.evaluate import Evaluation


@pytest.fixture(scope="module")
def results() -> dict[str, Evaluation]:
    return compare(corpus.CORPUS_DIR / "train.jsonl", corpus.CORPUS_DIR / "test.jsonl", None)


def test_the_splits_are_disjoint_and_large_enough() -> None:
    train = {e.text for e in corpus.read(corpus.CORPUS_DIR / "train.jsonl")}
    test = {e.text for e in corpus.read(corpus.CORPUS_DIR / "test.jsonl")}
    assert len(train) + len(test) >= 5500
    assert not train & test


def test_pipeline_beats_the_keyword_baseline(results: dict[str, Evaluation]) -> None:
    ours, rules = results["shipped pipeline"], results["keyword rules"]
    assert ours.level.macro_f1 > rules.level.macro_f1 + 0.15
    assert ours.category.accuracy > rules.category.accuracy + 0.05
    assert ours.complaint_f1 > rules.complaint_f1 + 0.2


def test_pipeline_beats_tfidf_on_category(results: dict[str, Evaluation]) -> None:
    ours, tfidf = results["shipped pipeline"], results["tf-idf + logreg"]
    assert ours.category.accuracy > tfidf.category.accuracy


def test_measured_floor(results: dict[str, Evaluation]) -> None:
    ours = results["shipped pipeline"]
    assert ours.level.macro_f1 >= 0.85
    assert ours.category.accuracy >= 0.92
    assert ours.complaint_f1 >= 0.89
