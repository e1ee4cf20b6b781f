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
from classifier.pipeline import COMPONENTS, CONFIG_DIR, MODEL_DIR, build_nlp, cats_for

DEFAULT_SEED = 20261128
DEFAULT_EPOCHS = 14


def _examples(
    nlp: Language, examples: Sequence[corpus.Example]
) -> list[dict[str, SpacyExample]]:
    """Per report, one spaCy example per component, each with that component's labels only
    (a text categorizer refuses gold labels that are not its own). They share the tokenized doc."""
    prepared = []
    for e in examples:
        doc = nlp.make_doc(e.text)
        cats = cats_for(e.level, e.category, e.complaint)
        prepared.append(
            {
                name: SpacyExample.from_dict(doc, {"cats": {k: cats[k] for k in labels}})
                for name, labels in COMPONENTS.items()
            }
        )
    return prepared


def train(
    examples: Sequence[corpus.Example],
    *,
    seed: int = DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    dropout: float = 0.1,
    config_dir: Path = CONFIG_DIR,
    log: bool = True,
) -> Language:
    fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = build_nlp()
    tokenizer = nlp.tokenizer
    assert isinstance(tokenizer, TriageTokenizer)
    tokenizer.catalog = Catalog.load(config_dir / "catalog.toml")
    data = _examples(nlp, examples)
    optimizer = nlp.initialize()  # labels are set; BOW models need no sample to size themselves
    for epoch in range(epochs):
        rng.shuffle(data)
        losses: dict[str, float] = {}
        for batch in minibatch(data, size=compounding(8.0, 64.0, 1.3)):
            for name in COMPONENTS:
                others = [other for other in COMPONENTS if other != name]
                nlp.update(
                    [item[name] for item in batch],
                    drop=dropout,
                    sgd=optimizer,
                    losses=losses,
                    exclude=others,
                )
        if log:
            summary = ", ".join(f"{k} {v:.3f}" for k, v in sorted(losses.items()))
            print(f"epoch {epoch + 1:2d}/{epochs}: loss {summary}", flush=True)
    return nlp


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=corpus.CORPUS_DIR / "train.jsonl")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
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
