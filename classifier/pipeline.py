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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

from classifier import features
from classifier.catalog import Catalog, ProductMatch, normalize
from classifier.features import MAX_CHARS, PRODUCTS, TriageTokenizer
from classifier.regions import Regions
from classifier.rules import apply_floors, category_from_rules, product_for
from classifier.triage import CATEGORIES, LEVELS, Triage

PACKAGE_DIR = Path(__file__).resolve().parent
MODEL_DIR = PACKAGE_DIR / "model"
CONFIG_DIR = PACKAGE_DIR.parent / "config"
# below this averaged model score, a sure category from the catalog / device words wins
CATEGORY_UNSURE = 0.7
RULES_CATEGORY_SURE = 0.8

_ = features  # registers the "xcdesk.triage_tokenizer.v1" tokenizer with spaCy

TARGETS: dict[str, tuple[str, ...]] = {
    "level": LEVELS,
    "category": CATEGORIES,
    "complaint": ("true", "false"),
}


def _bow(ngram_size: int) -> dict[str, Any]:
    return {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": True,
        "ngram_size": ngram_size,
        "no_output_layer": False,
        "length": 2**18,
    }


def _cnn(width: int = 64) -> dict[str, Any]:
    """Hashed embeddings of the tokens, one window layer, mean and max pooled: a small model
    that sees words in context, which the bag of n-grams cannot."""
    return {
        "@architectures": "spacy.TextCatReduce.v1",
        "exclusive_classes": True,
        "use_reduce_first": False,
        "use_reduce_last": False,
        "use_reduce_max": True,
        "use_reduce_mean": True,
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": width,
                "attrs": ["ORTH"],
                "rows": [20000],
                "include_static_vectors": False,
            },
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": width,
                "window_size": 1,
                "maxout_pieces": 3,
                "depth": 1,
            },
        },
    }


@dataclass(frozen=True)
class Head:
    """One text categorizer of the pipeline and the triage label it votes on."""

    name: str  # spaCy component name: the target, optionally followed by _variant
    model: dict[str, Any]
    epochs: int  # training passes: the n-gram models over-fit when trained longer

    @property
    def target(self) -> str:
        return target_of(self.name)

    def cat(self, value: str) -> str:
        # components share doc.cats, so each names its labels after itself
        return f"{self.name}:{value}"

    @property
    def values(self) -> tuple[str, ...]:
        return TARGETS[self.target]


# Chosen on the training split alone (a held-out development part and 4-fold cross-validation;
# the test split was not used): level reads character 1–2-grams and stops after 4 passes (it
# over-fits after that); category averages the 1–3-gram model with the small CNN, whose errors
# differ; complaint does best on single characters and the rule signals (longer n-grams over-fit
# its few positive examples).
HEADS: tuple[Head, ...] = (
    Head("level", _bow(2), epochs=4),
    Head("category", _bow(3), epochs=10),
    Head("category_cnn", _cnn(), epochs=10),
    Head("complaint", _bow(1), epochs=10),
)


def target_of(component: str) -> str:
    """`category_cnn` votes on `category`."""
    return component.split("_", 1)[0]


def build_nlp(heads: tuple[Head, ...] = HEADS) -> Language:
    """An untrained pipeline: the triage tokenizer and the text categorizers of `heads`."""
    nlp = spacy.blank(
        "zh", config={"nlp": {"tokenizer": {"@tokenizers": "xcdesk.triage_tokenizer.v1"}}}
    )
    for head in heads:
        textcat = nlp.add_pipe("textcat", name=head.name, config={"model": head.model})
        for value in head.values:
            textcat.add_label(head.cat(value))
    return nlp


def gold_cats(head: Head, level: str, category: str, complaint: bool) -> dict[str, float]:
    """The training target of one example for one head."""
    gold = {"level": level, "category": category, "complaint": str(complaint).lower()}
    return {head.cat(v): float(v == gold[head.target]) for v in head.values}


def head_scores(cats: dict[str, float], components: list[str]) -> dict[str, dict[str, float]]:
    """Per target, the mean over the components voting on it of each value's probability."""
    scores: dict[str, dict[str, float]] = {}
    for target, values in TARGETS.items():
        voting = [c for c in components if target_of(c) == target]
        scores[target] = {
            v: round(sum(cats[f"{c}:{v}"] for c in voting) / len(voting), 4) for v in values
        }
    return scores


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
        scores = head_scores(cats, self.nlp.pipe_names)
        model_level = max(scores["level"], key=scores["level"].__getitem__)
        category = max(scores["category"], key=scores["category"].__getitem__)
        p_complaint = scores["complaint"]["true"]
        norm = normalize(text)
        level, floors = apply_floors(model_level, norm, matches)
        overrides = list(floors)
        rules_category = category_from_rules(norm, matches)
        if (
            scores["category"][category] < CATEGORY_UNSURE
            and rules_category.confidence >= RULES_CATEGORY_SURE
            and rules_category.value != category
        ):
            # the model hesitates and the catalog or device words name the product: trust them
            category = rules_category.value
            overrides.append("catalog_category")
        product = product_for(category, matches)
        district = self.regions.find_in_text(text)
        sure_of_complaint = max(p_complaint, 1 - p_complaint)
        confidence = round(
            min(scores["level"][model_level], scores["category"][category], sure_of_complaint), 4
        )
        return Triage(
            level=level,
            category=category,
            complaint=p_complaint >= 0.5,
            brand=product.product if product else None,
            model=product.model if product else None,
            location=self.regions.to_location(district) if district else None,
            confidence=confidence,
            scores=scores,
            overrides=tuple(overrides),
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
