"""How the trained pipeline sees a report: characters, whole ASCII words, and rule evidence.

Chinese has no spaces, so every Chinese character is a token (the text categorizers then learn
from character n-grams, which is robust to typos and new words); ASCII words stay whole (`wps`,
`vpn`, `m6202` → `m#`), and digits are folded so that model numbers and phone numbers do not each
become a feature of their own. After the text come signal tokens (`§lv_P1`, `§product_peripheral`,
`§scope`, …): the evidence of the keyword rules and the catalog, which the model learns to weigh.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

from classifier.catalog import Catalog, normalize
from classifier.rules import signals

SIGNAL_PREFIX = "§"
PRODUCTS = "xcdesk_products"  # Doc.user_data key of the catalog matches
MAX_CHARS = 4000  # a report longer than this is read up to here (e-mail threads, pasted logs)
_TOKEN = re.compile(r"[a-z]+\d*|\d+|[^\sa-z\d]")
_DIGITS = re.compile(r"\d+")


def tokens(text: str) -> list[str]:
    norm = normalize(text[:MAX_CHARS])
    return [_DIGITS.sub("#", t) for t in _TOKEN.findall(norm)]


class TriageTokenizer:
    """A spaCy tokenizer producing `tokens(text)` plus the signal tokens of the text.

    `catalog` is attached after loading (it lives in config/, not in the model), so the product
    signals come from the same catalog the extraction uses.
    """

    def __init__(self, vocab: Vocab, catalog: Catalog | None = None) -> None:
        self.vocab = vocab
        self.catalog = catalog

    def __call__(self, text: str) -> Doc:
        if self.catalog is None:
            raise RuntimeError("TriageTokenizer.catalog is not set")
        clipped = text[:MAX_CHARS]
        matches = self.catalog.match(clipped)
        found = signals(normalize(clipped), matches)
        words = tokens(clipped) + [SIGNAL_PREFIX + s for s in dict.fromkeys(found)]
        doc = Doc(self.vocab, words=words or [" "], spaces=[False] * max(len(words), 1))
        doc.user_data[PRODUCTS] = matches  # the pipeline reuses them for brand and model
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:
        for text in texts:
            yield self(text)

    # nothing to save: the tokenizer is code, the catalog is config
    def to_disk(self, path: Any, **kwargs: Any) -> None:
        return None

    def from_disk(self, path: Any, **kwargs: Any) -> TriageTokenizer:
        return self

    def to_bytes(self, **kwargs: Any) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: Any) -> TriageTokenizer:
        return self


@registry.tokenizers("xcdesk.triage_tokenizer.v1")
def create_triage_tokenizer() -> Callable[[Language], TriageTokenizer]:
    def make(nlp: Language) -> TriageTokenizer:
        return TriageTokenizer(nlp.vocab)

    return make
