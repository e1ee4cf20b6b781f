"""Loading the demo registry (config/demo.toml). Loading twice changes nothing."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ticketing.directory import add_vendor, contact_for, organisation_named
from ticketing.model import Sender
from ticketing.uow import UnitOfWork


@dataclass(frozen=True)
class DemoCounts:
    organisations: int
    contacts: int
    vendors: int


async def load_demo(uow: UnitOfWork, path: Path, now: datetime) -> DemoCounts:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    async with uow:
        session = uow.session
        conn = await session.connection()
        for org in data.get("organisations", []):
            await conn.run_sync(organisation_named, org["name"], now, org.get("district"))
        for person in data.get("contacts", []):
            await conn.run_sync(
                contact_for,
                Sender(
                    name=person.get("name"),
                    phone=person.get("phone"),
                    email=person.get("email"),
                    wechat_openid=person.get("wechat_openid"),
                    org_name=person.get("organisation"),
                ),
                now,
            )
        for vendor in data.get("vendors", []):
            await add_vendor(
                session, vendor["name"], now, kind=vendor.get("kind"), email=vendor.get("email")
            )
        await uow.commit()
    return DemoCounts(
        organisations=len(data.get("organisations", [])),
        contacts=len(data.get("contacts", [])),
        vendors=len(data.get("vendors", [])),
    )
