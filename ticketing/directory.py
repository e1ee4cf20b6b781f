"""Organisations, contacts and vendors: who reports, who is responsible."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import upsert
from ticketing.model import Sender
from ticketing.orm import Contact, Organisation, Vendor
from ticketing.profile import Profile


def normalise_phone(phone: str | None) -> str | None:
    """Keep digits (and a leading +86 folded away) so 138-0000-1234 and +8613800001234 match."""
    if not phone:
        return None
    digits = re.sub(r"[^\d+]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits or None


def mask_phone(phone: str | None) -> str | None:
    """138****5678: what is shown to anyone not entitled to the whole number."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 2) + phone[-1:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


@dataclass(frozen=True)
class ContactRef:
    """A registry entry as intake needs it (with its unit)."""

    id: int
    name: str | None
    phone: str | None
    email: str | None
    wechat_openid: str | None
    org_name: str | None
    org_district: str | None
    profile_requested_at: datetime | None = None
    new_issue_at: datetime | None = None
    is_new: bool = False  # registered by this very message: no history to look up

    @property
    def profile_complete(self) -> bool:
        """Unit, name and phone are known: nothing to ask the user."""
        return bool(self.org_name and self.name and self.phone)


@functools.cache
def _organisation_upsert(dialect: str) -> Any:
    table = Organisation.__table__
    stmt = upsert(dialect)(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={"district": func.coalesce(table.c.district, stmt.excluded.district)},
    ).returning(table.c.id, table.c.district)


def organisation_named(
    conn: Connection, name: str, now: datetime, district: str | None = None
) -> tuple[int, str | None]:
    """Id and district of the unit called `name`, registering it if new (one statement)."""
    stmt = _organisation_upsert(conn.dialect.name)
    row = (
        conn.execute(stmt, {"name": name, "district": district, "created_at": now})
    ).one()
    return row.id, row.district


_MATCHING = (
    select(
        Contact.id,
        Contact.name,
        Contact.phone,
        Contact.email,
        Contact.wechat_openid,
        Organisation.name.label("org_name"),
        Organisation.district.label("org_district"),
        Contact.profile_requested_at,
        Contact.new_issue_at,
    )
    .outerjoin(Organisation, Organisation.id == Contact.organisation_id)
    .where(
        or_(
            Contact.wechat_openid == bindparam("wechat_openid"),
            Contact.email == bindparam("email"),
            Contact.phone == bindparam("phone"),
        )
    )
)


def _identifiers(sender: Sender) -> dict[str, str]:
    """The sender's identifiers, strongest first, as stored in the registry."""
    found = {
        "wechat_openid": sender.wechat_openid,
        "email": sender.email.lower() if sender.email else None,
        "phone": normalise_phone(sender.phone),
    }
    return {k: v for k, v in found.items() if v}


def _matching(conn: Connection, ids: dict[str, str]) -> list[ContactRef]:
    params = {"wechat_openid": None, "email": None, "phone": None} | ids
    rows = conn.execute(_MATCHING, params)
    return [ContactRef(**row._mapping) for row in rows]


def find_contact(conn: Connection, sender: Sender) -> ContactRef | None:
    """The registry entry of a sender, by the strongest identifier it carries."""
    ids = _identifiers(sender)
    if not ids:
        return None
    return _best(_matching(conn, ids), ids)


def _best(candidates: list[ContactRef], ids: dict[str, str]) -> ContactRef | None:
    for key, value in ids.items():
        for contact in candidates:
            if getattr(contact, key) == value:
                return contact
    return None


def contact_for(conn: Connection, sender: Sender, now: datetime) -> ContactRef | None:
    """Find the sender in the registry or register them; fill in what the registry lacks.

    An identifier that already belongs to another contact is never copied onto this one.
    """
    ids = _identifiers(sender)
    if not ids:
        return None
    candidates = _matching(conn, ids)
    contact = _best(candidates, ids)
    if contact is None:
        return _register(conn, sender, ids, now)
    taken = {k for k, v in ids.items() for c in candidates if getattr(c, k) == v}
    fills: dict[str, Any] = {
        k: v for k, v in ids.items() if getattr(contact, k) is None and k not in taken
    }
    if sender.name and not contact.name:
        fills["name"] = sender.name
    org_name, org_district = contact.org_name, contact.org_district
    if sender.org_name and org_name is None:
        fills["organisation_id"], org_district = organisation_named(
            conn, sender.org_name, now
        )
        org_name = sender.org_name
    if not fills:
        return contact
    conn.execute(update(Contact).where(Contact.id == contact.id).values(**fills))
    kept = {k: fills.get(k, getattr(contact, k)) for k in ("name", "phone", "email",
                                                          "wechat_openid")}
    return replace(contact, org_name=org_name, org_district=org_district, **kept)


@functools.cache
def _contact_insert(dialect: str) -> Any:
    table = Contact.__table__
    return upsert(dialect)(table).on_conflict_do_nothing().returning(table.c.id)


def _register(
    conn: Connection, sender: Sender, ids: dict[str, str], now: datetime
) -> ContactRef | None:
    org_id = org_district = None
    if sender.org_name:
        org_id, org_district = organisation_named(conn, sender.org_name, now)
    values = {"wechat_openid": None, "email": None, "phone": None} | ids
    params = values | {"name": sender.name, "organisation_id": org_id, "created_at": now}
    new_id = (
        conn.execute(_contact_insert(conn.dialect.name), params)
    ).scalar_one_or_none()
    if new_id is None:  # registered a moment ago by a concurrent message of the same sender
        return find_contact(conn, sender)
    return ContactRef(
        id=new_id,
        name=sender.name,
        org_name=sender.org_name,
        org_district=org_district,
        is_new=True,
        **values,
    )


def fill_profile(
    conn: Connection, contact: ContactRef, profile: Profile, now: datetime
) -> ContactRef:
    """Put what the user told us (unit, name, phone) on their registry entry.

    A phone number that already belongs to another contact stays with that contact (the
    tickets still get it); merging two people's entries is for a person to decide.
    """
    phone = normalise_phone(profile.phone)
    taken = phone is not None and conn.execute(
        select(Contact.id).where(Contact.phone == phone, Contact.id != contact.id)
    ).first() is not None
    org_id, org_district = organisation_named(conn, profile.org_name, now)
    values: dict[str, Any] = {"name": profile.name, "organisation_id": org_id}
    if not taken:
        values["phone"] = phone
    conn.execute(update(Contact).where(Contact.id == contact.id).values(**values))
    return replace(
        contact,
        name=profile.name,
        phone=values.get("phone", contact.phone),
        org_name=profile.org_name,
        org_district=org_district,
    )


_CONTACTS = Contact.__table__


@functools.cache
def contact_touch(columns: frozenset[str]) -> Any:
    """UPDATE noting a message from a contact (`last_inbound_at`: it opens the channel's reply
    window) and setting `columns`; parameters `contact_id`, `last_inbound_at` and the columns.
    Built once per set of columns: building a statement costs more than running it."""
    return (
        update(_CONTACTS)
        .where(_CONTACTS.c.id == bindparam("contact_id"))
        .values({c: bindparam(c) for c in ("last_inbound_at", *sorted(columns))})
    )


def mark_undeliverable(conn: Connection, email: str, now: datetime) -> None:
    """Mail to `email` bounced: stop sending to it (notices check this)."""
    conn.execute(
        update(_CONTACTS)
        .where(_CONTACTS.c.email == email.lower(), _CONTACTS.c.email_undeliverable_at.is_(None))
        .values(email_undeliverable_at=now)
    )


def last_heard_from(conn: Connection, wechat_openid: str) -> datetime | None:
    """When the WeChat user last wrote to us (their customer-service window opens then)."""
    return conn.execute(
        select(Contact.last_inbound_at).where(Contact.wechat_openid == wechat_openid)
    ).scalar_one_or_none()


def set_following(engine: Engine, wechat_openid: str, following: bool, now: datetime) -> None:
    """A WeChat user followed or unfollowed the account. Unfollowing stops notices to them
    (WeChat would refuse them anyway); their tickets stay, as the record requires."""
    with engine.begin() as conn:
        if following:
            contact_for(conn, Sender(wechat_openid=wechat_openid), now)
        conn.execute(
            update(Contact)
            .where(Contact.wechat_openid == wechat_openid)
            .values(unsubscribed_at=None if following else now)
        )


async def vendor_named(session: AsyncSession, name: str) -> Vendor | None:
    return await session.scalar(select(Vendor).where(Vendor.name == name))


async def add_vendor(
    session: AsyncSession,
    name: str,
    now: datetime,
    *,
    kind: str | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> Vendor:
    vendor = await vendor_named(session, name)
    if vendor is None:
        vendor = Vendor(name=name, created_at=now)
        session.add(vendor)
    vendor.kind = kind or vendor.kind
    vendor.email = email or vendor.email
    vendor.webhook_url = webhook_url or vendor.webhook_url
    vendor.webhook_secret = webhook_secret or vendor.webhook_secret
    await session.flush()
    return vendor
