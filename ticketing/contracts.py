"""The contracts registry: importing it, and reading a unit's contracts for a product.

An import is one transaction and idempotent: a row already present (same unit, product, seller
and sale date) is counted, not repeated. Companies named in the file that are not yet
registered as vendors are registered (without a webhook or e-mail: routing to them waits until
someone adds one with `xcdesk vendor add`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ticketing.db import upsert
from ticketing.desk import Desk
from ticketing.directory import organisation_named
from ticketing.orm import Contract, Organisation, Vendor
from ticketing.responsibility import ContractView

_CONTRACTS = Contract.__table__
_VENDORS = Vendor.__table__


class ContractLine(Protocol):
    """What a line of a contracts file gives (ticketing.contract_file.ContractRow)."""

    org_name: str
    product_category: str
    product_brand: str | None
    product_model: str | None
    seller: str
    integrator: str | None
    sale_date: date
    related_parties: tuple[str, ...]


@dataclass(frozen=True)
class ContractImport:
    rows: int
    inserted: int
    duplicates: int
    vendors_added: int


def import_contracts_sync(desk: Desk, rows: Sequence[ContractLine]) -> ContractImport:
    now = desk.clock()
    with desk.writer.begin() as conn:
        names = {r.seller for r in rows} | {r.integrator for r in rows if r.integrator}
        names |= {p for r in rows for p in r.related_parties}
        vendors, added = _vendor_ids(conn, names, now)
        units = {n: organisation_named(conn, n, now)[0] for n in {r.org_name for r in rows}}
        before = _count(conn)
        if rows:
            conn.execute(
                _insert_ignore(conn.dialect.name),
                [
                    {
                        "organisation_id": units[r.org_name],
                        "product_category": r.product_category,
                        "product_brand": r.product_brand or "",
                        "product_model": r.product_model or "",
                        "seller_id": vendors[r.seller],
                        "integrator_id": vendors[r.integrator] if r.integrator else None,
                        "related_party_ids": [vendors[p] for p in r.related_parties],
                        "sale_date": r.sale_date,
                        "created_at": now,
                    }
                    for r in rows
                ],
            )
        inserted = _count(conn) - before
    return ContractImport(len(rows), inserted, len(rows) - inserted, added)


def _vendor_ids(
    conn: Connection, names: Iterable[str], now: datetime
) -> tuple[dict[str, int], int]:
    wanted = sorted(set(names))
    found = {
        row.name: row.id
        for row in conn.execute(select(_VENDORS.c.name, _VENDORS.c.id).where(
            _VENDORS.c.name.in_(wanted)))
    }
    missing = [n for n in wanted if n not in found]
    for name in missing:
        found[name] = conn.execute(
            _VENDORS.insert().returning(_VENDORS.c.id), {"name": name, "created_at": now}
        ).scalar_one()
    return found, len(missing)


@functools.cache
def _insert_ignore(dialect: str) -> Any:
    return upsert(dialect)(_CONTRACTS).on_conflict_do_nothing()


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(_CONTRACTS)).scalar_one())


_OF_UNIT = (
    select(
        _CONTRACTS.c.seller_id,
        _CONTRACTS.c.integrator_id,
        _CONTRACTS.c.related_party_ids,
        _CONTRACTS.c.product_category,
        _CONTRACTS.c.product_brand,
        _CONTRACTS.c.product_model,
        _CONTRACTS.c.sale_date,
    )
    .join(Organisation.__table__, Organisation.__table__.c.id == _CONTRACTS.c.organisation_id)
)


def contracts_of(conn: Connection, org_name: str, category: str) -> list[ContractView]:
    """The unit's contracts for a product category (what `responsibility.decide` reads)."""
    rows = conn.execute(
        _OF_UNIT.where(
            Organisation.__table__.c.name == org_name, _CONTRACTS.c.product_category == category
        )
    )
    return [
        ContractView(
            seller_id=r.seller_id,
            integrator_id=r.integrator_id,
            related_party_ids=tuple(r.related_party_ids or ()),
            product_category=r.product_category,
            product_brand=r.product_brand or None,
            product_model=r.product_model or None,
            sale_date=r.sale_date,
        )
        for r in rows
    ]
