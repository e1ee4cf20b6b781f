"""The hand-written metrics agree with scikit-learn's."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from classifier.evaluate import score_label

VALUES = ("P1", "P2", "P3", "P4")


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    gold = [rng.choice(VALUES) for _ in range(200)]
    pred = [g if rng.random() < 0.7 else rng.choice(VALUES) for g in gold]
    ours = score_label("level", gold, pred, VALUES)
    assert ours.accuracy == pytest.approx(accuracy_score(gold, pred))
    assert ours.macro_f1 == pytest.approx(f1_score(gold, pred, average="macro"))
    assert ours.confusion == confusion_matrix(gold, pred, labels=list(VALUES)).tolist()


def test_values_that_never_occur_do_not_drag_macro_f1_down() -> None:
    ours = score_label("level", ["P1", "P2"], ["P1", "P2"], VALUES)
    assert ours.macro_f1 == 1.0
