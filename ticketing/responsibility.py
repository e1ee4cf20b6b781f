"""Who must fix it (section 二 of the standard), decided from the contracts registry.

- Integration services bought → the integrator is primary (主责, basis `integrator`).
- Otherwise the company that signed for the product is primary (谁签单、谁负责, `signed_by`).
- The product's related parties (产品关联方) are secondary (次责), and so are the other sellers
  when an integrator leads.
- Several sellers may have sold the product and no integrator leads, so the source is unclear:
  首问责任制 (`first_inquiry`), the user or the agent picks the primary among `candidates`.

Pure: the caller passes the unit's contracts for the ticket's product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ContractView:
    seller_id: int
    integrator_id: int | None
    related_party_ids: tuple[int, ...]
    product_category: str
    product_brand: str | None
    product_model: str | None
    sale_date: date


@dataclass(frozen=True)
class Decision:
    basis: str  # integrator / signed_by / first_inquiry
    primary_id: int | None  # None: first inquiry, somebody must pick among the candidates
    secondary_ids: tuple[int, ...]
    candidates: tuple[int, ...]
    sale_date: date | None  # of the contract that decided, for the service period


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.casefold() == b.casefold()  # type: ignore[union-attr]


def relevant(
    contracts: Sequence[ContractView], category: str, brand: str | None, model: str | None
) -> list[ContractView]:
    """The unit's contracts for this product: same category, narrowed by brand and then model
    when the report names them and a contract matches."""
    found = [c for c in contracts if c.product_category == category]
    if brand:
        by_brand = [c for c in found if _same(c.product_brand, brand)]
        found = by_brand or found
        if model:
            by_model = [c for c in found if _same(c.product_model, model)]
            found = by_model or found
    return found


def decide(
    contracts: Sequence[ContractView], category: str, brand: str | None, model: str | None
) -> Decision | None:
    """None when the registry knows no contract of the unit for this kind of product."""
    found = relevant(contracts, category, brand, model)
    if not found:
        return None
    latest = max(found, key=lambda c: c.sale_date)
    integrators = sorted({c.integrator_id for c in found if c.integrator_id is not None})
    sellers = sorted({c.seller_id for c in found})
    related = sorted({r for c in found for r in c.related_party_ids})
    if len(integrators) == 1:
        primary = integrators[0]
        return Decision(
            basis="integrator",
            primary_id=primary,
            secondary_ids=_others(sellers + related, primary),
            candidates=(),
            sale_date=latest.sale_date,
        )
    if len(sellers) == 1 and not integrators:
        primary = sellers[0]
        return Decision("signed_by", primary, _others(related, primary), (), latest.sale_date)
    candidates = tuple(integrators or sellers)
    return Decision("first_inquiry", None, _others(related, None), candidates, latest.sale_date)


def _others(ids: Sequence[int], primary: int | None) -> tuple[int, ...]:
    return tuple(dict.fromkeys(i for i in ids if i != primary))
