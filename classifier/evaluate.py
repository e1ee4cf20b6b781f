"""Measuring triage quality on a labelled corpus file: accuracy, macro-F1, confusion matrices.

The metrics are the textbook definitions, written out here (a dozen lines) so that evaluating
needs nothing beyond the runtime dependencies; the tests check them against scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from classifier.corpus import Example
from classifier.triage import CATEGORIES, LEVELS, Triage

Predict = Callable[[list[str]], list[Triage]]


@dataclass(frozen=True)
class LabelScores:
    label: str
    values: tuple[str, ...]
    accuracy: float
    macro_f1: float
    f1: dict[str, float]
    confusion: list[list[int]]  # rows: gold value, columns: predicted value
    support: int


def f1_scores(gold: Sequence[str], pred: Sequence[str], values: Sequence[str]) -> dict[str, float]:
    scores = {}
    for v in values:
        tp = sum(g == v and p == v for g, p in zip(gold, pred, strict=True))
        fp = sum(g != v and p == v for g, p in zip(gold, pred, strict=True))
        fn = sum(g == v and p != v for g, p in zip(gold, pred, strict=True))
        scores[v] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def score_label(
    label: str, gold: Sequence[str], pred: Sequence[str], values: Sequence[str]
) -> LabelScores:
    present = [v for v in values if v in gold or v in pred]  # macro over values that occur
    f1 = f1_scores(gold, pred, present)
    index = {v: i for i, v in enumerate(values)}
    confusion = [[0] * len(values) for _ in values]
    for g, p in zip(gold, pred, strict=True):
        confusion[index[g]][index[p]] += 1
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    return LabelScores(
        label=label,
        values=tuple(values),
        accuracy=correct / len(gold) if gold else 0.0,
        macro_f1=sum(f1.values()) / len(f1) if f1 else 0.0,
        f1=f1,
        confusion=confusion,
        support=len(gold),
    )


@dataclass(frozen=True)
class Evaluation:
    level: LabelScores
    category: LabelScores
    complaint: LabelScores

    @property
    def complaint_f1(self) -> float:
        """F1 of the positive class: how well complaints are found."""
        return self.complaint.f1.get("true", 0.0)

    def as_dict(self) -> dict[str, object]:
        return {
            name: {
                "accuracy": round(s.accuracy, 4),
                "macro_f1": round(s.macro_f1, 4),
                "f1": {k: round(v, 4) for k, v in s.f1.items()},
                "values": list(s.values),
                "confusion": s.confusion,
                "support": s.support,
            }
            for name, s in (
                ("level", self.level),
                ("category", self.category),
                ("complaint", self.complaint),
            )
        } | {"complaint_f1": round(self.complaint_f1, 4)}


def evaluate(predict: Predict, examples: Sequence[Example]) -> Evaluation:
    triages = predict([e.text for e in examples])
    flag = {True: "true", False: "false"}
    return Evaluation(
        level=score_label(
            "level", [e.level for e in examples], [t.level for t in triages], LEVELS
        ),
        category=score_label(
            "category", [e.category for e in examples], [t.category for t in triages], CATEGORIES
        ),
        complaint=score_label(
            "complaint",
            [flag[e.complaint] for e in examples],
            [flag[t.complaint] for t in triages],
            ("true", "false"),
        ),
    )


def format_confusion(scores: LabelScores) -> str:
    width = max(6, *(len(v) for v in scores.values)) + 1
    lines = [f"{scores.label}: gold \\ predicted".ljust(width + 12)]
    lines.append(" " * width + "".join(v[:width - 1].rjust(width) for v in scores.values))
    for value, row in zip(scores.values, scores.confusion, strict=True):
        lines.append(value.ljust(width) + "".join(str(n).rjust(width) for n in row))
    return "\n".join(lines)


def format_report(evaluation: Evaluation) -> str:
    rows = [
        f"{s.label:<10} accuracy {s.accuracy:.3f}  macro-F1 {s.macro_f1:.3f}  (n={s.support})"
        for s in (evaluation.level, evaluation.category, evaluation.complaint)
    ]
    rows.append(f"complaint  F1 (complaints found) {evaluation.complaint_f1:.3f}")
    blocks = [format_confusion(s) for s in
              (evaluation.level, evaluation.category, evaluation.complaint)]
    return "\n".join(rows) + "\n\n" + "\n\n".join(blocks)
