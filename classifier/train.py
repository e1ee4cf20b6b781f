"""Training the triage pipeline: `python -m classifier.train` (what `make model` runs).

Deterministic: a fixed seed fixes spaCy's and thinc's random state and the shuffling, so the same
corpus gives the same model. Trains on `classifier/corpus/train.jsonl` only; the test split is
never read here.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from spacy.language import Language
from spacy.training import Example as SpacyExample
from spacy.util import compounding, fix_random_seed, minibatch

from classifier import corpus
from classifier.catalog import Catalog
from classifier.features import TriageTokenizer
from classifier.pipeline import CONFIG_DIR, HEADS, MODEL_DIR, Head, build_nlp, gold_cats

DEFAULT_SEED = 20261128


def _examples(
    nlp: Language, examples: Sequence[corpus.Example], heads: Sequence[Head]
) -> list[dict[str, SpacyExample]]:
    """Per report, one spaCy example per head, each with that head's labels only (a text
    categorizer refuses gold labels that are not its own). They share the tokenized doc."""
    prepared = []
    for e in examples:
        doc = nlp.make_doc(e.text)
        prepared.append(
            {
                head.name: SpacyExample.from_dict(
                    doc, {"cats": gold_cats(head, e.level, e.category, e.complaint)}
                )
                for head in heads
            }
        )
    return prepared


def train(
    examples: Sequence[corpus.Example],
    *,
    seed: int = DEFAULT_SEED,
    epochs: int | None = None,  # None: each head's own number of passes
    dropout: float = 0.1,
    config_dir: Path = CONFIG_DIR,
    log: bool = True,
    heads: tuple[Head, ...] = HEADS,
) -> Language:
    fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = build_nlp(heads)
    tokenizer = nlp.tokenizer
    assert isinstance(tokenizer, TriageTokenizer)
    tokenizer.catalog = Catalog.load(config_dir / "catalog.toml")
    data = _examples(nlp, examples, heads)
    names = [head.name for head in heads]
    optimizer = nlp.initialize()  # labels are set; no model here needs a sample to size itself
    for epoch in range(max(h.epochs for h in heads) if epochs is None else epochs):
        rng.shuffle(data)
        losses: dict[str, float] = {}
        training = [h.name for h in heads if epochs is not None or epoch < h.epochs]
        for batch in minibatch(data, size=compounding(8.0, 64.0, 1.3)):
            for name in training:
                others = [other for other in names if other != name]
                nlp.update(
                    [item[name] for item in batch],
                    drop=dropout,
                    sgd=optimizer,
                    losses=losses,
                    exclude=others,
                )
        if log:
            summary = ", ".join(f"{k} {v:.3f}" for k, v in sorted(losses.items()))
            print(f"epoch {epoch + 1:2d}: loss {summary}", flush=True)
    return nlp


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=corpus.CORPUS_DIR / "train.jsonl")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--epochs", type=int, default=None, help="override every head's")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    examples = list(corpus.read(args.train))
    print(f"training on {len(examples)} reports from {args.train} (seed {args.seed})")
    nlp = train(examples, seed=args.seed, epochs=args.epochs)
    if args.out.exists():
        shutil.rmtree(args.out)
    nlp.to_disk(args.out)
    print(f"saved to {args.out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
