"""Three triagers side by side on the fixed test split: `python -m classifier.compare`.

- keyword baseline: the `RuleClassifier` (hand-written rules over the taxonomy and catalog);
- TF-IDF baseline: character 1–3-gram TF-IDF + logistic regression (scikit-learn), one model per
  label, trained on the same training split as the pipeline;
- the shipped pipeline (`Classifier.load()`).

scikit-learn is a development dependency (the `dev` extra); the service never imports it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from classifier import corpus
from classifier.evaluate import Evaluation, evaluate
from classifier.pipeline import CONFIG_DIR, Classifier
from classifier.rules import RuleClassifier
from classifier.triage import Triage


class TfidfBaseline:
    """Character n-gram TF-IDF with logistic regression, per label."""

    source = "tfidf"

    def __init__(self, examples: Sequence[corpus.Example], seed: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        matrix = self.vectorizer.fit_transform([e.text for e in examples])
        self.models = {}
        targets = {
            "level": [e.level for e in examples],
            "category": [e.category for e in examples],
            "complaint": [str(e.complaint) for e in examples],
        }
        for name, y in targets.items():
            model = LogisticRegression(max_iter=2000, C=10.0, random_state=seed)
            self.models[name] = model.fit(matrix, y)

    def triage_many(self, texts: list[str]) -> list[Triage]:
        matrix = self.vectorizer.transform(texts)
        level, category, complaint = (
            self.models[name].predict(matrix) for name in ("level", "category", "complaint")
        )
        return [
            Triage(level=lv, category=cat, complaint=c == "True", source=self.source)
            for lv, cat, c in zip(level, category, complaint, strict=True)
        ]


def row(name: str, result: Evaluation) -> str:
    return (
        f"{name:<22}{result.level.macro_f1:>10.3f}{result.level.accuracy:>10.3f}"
        f"{result.category.accuracy:>11.3f}{result.category.macro_f1:>10.3f}"
        f"{result.complaint_f1:>11.3f}"
    )


def compare(train_path: Path, test_path: Path, model_dir: Path | None) -> dict[str, Evaluation]:
    train = list(corpus.read(train_path))
    test = list(corpus.read(test_path))
    triagers = {
        "keyword rules": RuleClassifier.from_config(CONFIG_DIR).triage_many,
        "tf-idf + logreg": TfidfBaseline(train).triage_many,
        "shipped pipeline": Classifier.load(model_dir).triage_many,
    }
    return {name: evaluate(fn, test) for name, fn in triagers.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="keyword vs TF-IDF vs shipped pipeline")
    parser.add_argument("--train", type=Path, default=corpus.CORPUS_DIR / "train.jsonl")
    parser.add_argument("--test", type=Path, default=corpus.CORPUS_DIR / "test.jsonl")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    results = compare(args.train, args.test, args.model)
    test_size = results["keyword rules"].level.support
    print(f"test split: {args.test} ({test_size} reports)\n")
    print(f"{'':<22}{'level':>10}{'level':>10}{'category':>11}{'category':>10}{'complaint':>11}")
    print(f"{'':<22}{'macro-F1':>10}{'accuracy':>10}{'accuracy':>11}{'macro-F1':>10}{'F1':>11}")
    for name, result in results.items():
        print(row(name, result))
    if args.json:
        args.json.write_text(
            json.dumps({k: v.as_dict() for k, v in results.items()}, indent=1), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
