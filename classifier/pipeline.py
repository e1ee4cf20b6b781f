"""The trained triage pipeline: spaCy text categorizers plus the catalog and region matchers.

`Classifier.load()` reads the pipeline shipped in `classifier/model/` (no training, no network)
and the catalog and regions from config/. For each report:

- three text categorizers (bag of character n-grams and rule-signal tokens, see features.py)
  give level, category and complaint with their scores;
- the catalog matcher names brand and model of the product to fix, the region matcher the
  county-level unit (同城/异地);
- the floors the taxonomy makes certain override the model and say so in `overrides`
  (a security or data-loss risk is never below P2; a named server outage is never P4).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import spacy
from spacy.language import Language

from classifier import features
from classifier.catalog import Catalog, ProductMatch, normalize
from classifier.features import MAX_CHARS, PRODUCTS, TriageTokenizer
from classifier.regions import Regions
from classifier.rules import apply_floors, product_for
from classifier.triage import CATEGORIES, LEVELS, Triage

PACKAGE_DIR = Path(__file__).resolve().parent
MODEL_DIR = PACKAGE_DIR / "model"
CONFIG_DIR = PACKAGE_DIR.parent / "config"

COMPLAINT_LABELS = ("complaint", "no_complaint")
# component name -> its labels (distinct across components: they share doc.cats)
COMPONENTS: dict[str, tuple[str, ...]] = {
    "level": LEVELS,
    "category": CATEGORIES,
    "complaint": COMPLAINT_LABELS,
}
_ = features  # registers the "xcdesk.triage_tokenizer.v1" tokenizer with spaCy


def build_nlp(*, ngram_size: int = 3, length: int = 2**18) -> Language:
    """An untrained pipeline: the triage tokenizer and one BOW text categorizer per label.

    Bag-of-words n-gram models are ~15× faster than spaCy's default ensemble on this hardware
    (performance notes) and, measured on the test split, as accurate here.
    """
    nlp = spacy.blank(
        "zh", config={"nlp": {"tokenizer": {"@tokenizers": "xcdesk.triage_tokenizer.v1"}}}
    )
    for name, labels in COMPONENTS.items():
        textcat = nlp.add_pipe(
            "textcat",
            name=name,
            config={
                "model": {
                    "@architectures": "spacy.TextCatBOW.v3",
                    "exclusive_classes": True,
                    "ngram_size": ngram_size,
                    "no_output_layer": False,
                    "length": length,
                }
            },
        )
        for label in labels:
            textcat.add_label(label)
    return nlp


def cats_for(level: str, category: str, complaint: bool) -> dict[str, float]:
    """The training target of one example over every component's labels."""
    cats = {label: float(label == level) for label in LEVELS}
    cats |= {label: float(label == category) for label in CATEGORIES}
    cats |= {"complaint": float(complaint), "no_complaint": float(not complaint)}
    return cats


class Classifier:
    """Triage with the trained pipeline; same interface as the keyword `RuleClassifier`."""

    source = "model"

    def __init__(
        self, nlp: Language, catalog: Catalog, regions: Regions, review_threshold: float = 0.5
    ) -> None:
        tokenizer = nlp.tokenizer
        if not isinstance(tokenizer, TriageTokenizer):
            raise TypeError("the pipeline was not built with the triage tokenizer")
        tokenizer.catalog = catalog
        self.nlp = nlp
        self.catalog = catalog
        self.regions = regions
        self.review_threshold = review_threshold

    @classmethod
    def load(
        cls,
        model_dir: Path | None = None,
        config_dir: Path | None = None,
        review_threshold: float = 0.5,
    ) -> Classifier:
        config_dir = config_dir or CONFIG_DIR
        nlp = spacy.load(model_dir or MODEL_DIR)
        return cls(
            nlp,
            Catalog.load(config_dir / "catalog.toml"),
            Regions.load(config_dir / "regions.toml"),
            review_threshold,
        )

    def triage(self, text: str) -> Triage:
        return self.triage_many([text])[0]

    def triage_many(self, texts: Iterable[str], batch_size: int = 256) -> list[Triage]:
        texts = [t if isinstance(t, str) else "" for t in texts]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        results: list[Triage] = [_EMPTY] * len(texts)
        docs = self.nlp.pipe((texts[i][:MAX_CHARS] for i in todo), batch_size=batch_size)
        for i, doc in zip(todo, docs, strict=True):
            results[i] = self._decide(texts[i][:MAX_CHARS], doc.cats, doc.user_data[PRODUCTS])
        return results

    def _decide(self, text: str, cats: dict[str, float], matches: list[ProductMatch]) -> Triage:
        level_scores = {label: round(cats[label], 4) for label in LEVELS}
        category_scores = {label: round(cats[label], 4) for label in CATEGORIES}
        p_complaint = round(cats["complaint"], 4)
        model_level = max(level_scores, key=level_scores.__getitem__)
        category = max(category_scores, key=category_scores.__getitem__)
        level, overrides = apply_floors(model_level, normalize(text), matches)
        product = product_for(category, matches)
        district = self.regions.find_in_text(text)
        sure_of_complaint = max(p_complaint, 1 - p_complaint)
        confidence = round(
            min(level_scores[model_level], category_scores[category], sure_of_complaint), 4
        )
        return Triage(
            level=level,
            category=category,
            complaint=p_complaint >= 0.5,
            brand=product.product if product else None,
            model=product.model if product else None,
            location=self.regions.to_location(district) if district else None,
            confidence=confidence,
            scores={
                "level": level_scores,
                "category": category_scores,
                "complaint": {"true": p_complaint, "false": round(1 - p_complaint, 4)},
            },
            overrides=overrides,
            source=self.source,
            needs_review=confidence < self.review_threshold,
        )


# what an empty report gets: a question about nothing, for a person to look at
_EMPTY = Triage(
    level="P4",
    category="other",
    complaint=False,
    confidence=0.0,
    scores={},
    overrides=("empty_text",),
    source="model",
    needs_review=True,
)
