"""Classifier speed: `python -m bench.classifier`.

Texts per second through `Classifier.triage_many` (target ≥ 1,000/s on one core) and the p99
latency of a single `triage` call (target < 20 ms), beside the TF-IDF + logistic-regression
baseline (`classifier.compare.TfidfBaseline`, trained on the training split) on the same texts in
the same run, and the keyword `RuleClassifier`. The texts are the test split, cycled to `--n`.

One core: BLAS and OpenMP pools are pinned to one thread before numpy is imported, and spaCy runs
in this process only. Each rate is the median of `--rounds` runs; the machine is noisy, so read
the ratio against the baseline measured next to it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from importlib.metadata import version  # noqa: E402

from classifier import corpus  # noqa: E402
from classifier.compare import TfidfBaseline  # noqa: E402
from classifier.pipeline import CONFIG_DIR, Classifier  # noqa: E402
from classifier.rules import RuleClassifier  # noqa: E402


def rate(fn: Callable[[list[str]], object], texts: list[str], rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(rates)


def latencies_ms(fn: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    out = []
    for text in texts:
        started = time.perf_counter()
        fn(text)
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="texts per batched run")
    parser.add_argument("--single", type=int, default=1000, help="single calls for latency")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    test = [e.text for e in corpus.read(corpus.CORPUS_DIR / "test.jsonl")]
    texts = [test[i % len(test)] for i in range(args.n)]
    singles = [test[i % len(test)] for i in range(args.single)]
    train = list(corpus.read(corpus.CORPUS_DIR / "train.jsonl"))
    pipeline = Classifier.load()
    tfidf = TfidfBaseline(train)
    rules = RuleClassifier.from_config(CONFIG_DIR)
    for warm in (pipeline.triage_many, tfidf.triage_many, rules.triage_many):
        warm(test[:50])

    print(f"xcdesk classifier benchmark, {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"spaCy {version('spacy')}, scikit-learn {version('scikit-learn')}; one thread; "
          f"{len(texts)} texts per run (test split, mean {statistics.mean(map(len, test)):.0f} "
          f"chars), median of {args.rounds} runs\n")
    rows = [
        ("shipped pipeline", pipeline.triage_many, pipeline.triage),
        ("tf-idf + logreg", tfidf.triage_many, lambda t: tfidf.triage_many([t])),
        ("keyword rules", rules.triage_many, rules.triage),
    ]
    baseline_rate = None
    print(f"{'':<20}{'texts/s':>10}{'vs tf-idf':>11}{'p50 ms':>9}{'p99 ms':>9}")
    results = []
    for name, many, one in rows:
        r = rate(many, texts, args.rounds)
        lat = latencies_ms(one, singles)
        results.append((name, r, lat))
        if name == "tf-idf + logreg":
            baseline_rate = r
    for name, r, lat in results:
        ratio = r / baseline_rate if baseline_rate else float("nan")
        print(f"{name:<20}{r:>10.0f}{ratio:>10.2f}x{percentile(lat, 0.5):>9.2f}"
              f"{percentile(lat, 0.99):>9.2f}")


if __name__ == "__main__":
    main()
