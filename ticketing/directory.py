"""Organisations, contacts and vendors: who reports, who is responsible."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.model import Sender
from ticketing.orm import Contact, Organisation, Vendor


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


async def organisation_named(
    session: AsyncSession, name: str, now: datetime, district: str | None = None
) -> Organisation:
    org = await session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(name=name, district=district, created_at=now)
        session.add(org)
        await session.flush()
    elif district and not org.district:
        org.district = district
    return org


async def find_contact(session: AsyncSession, sender: Sender) -> Contact | None:
    """The registry entry of a sender, by the strongest identifier it carries."""
    phone = normalise_phone(sender.phone)
    for column, value in (
        (Contact.wechat_openid, sender.wechat_openid),
        (Contact.email, sender.email.lower() if sender.email else None),
        (Contact.phone, phone),
    ):
        if value:
            contact = await session.scalar(select(Contact).where(column == value))
            if contact is not None:
                return contact
    return None


async def contact_for(session: AsyncSession, sender: Sender, now: datetime) -> Contact | None:
    """Find the sender in the registry or register them; fill in what the registry lacks."""
    if not (sender.wechat_openid or sender.email or sender.phone):
        return None
    contact = await find_contact(session, sender)
    if contact is None:
        contact = Contact(
            name=sender.name,
            phone=normalise_phone(sender.phone),
            email=sender.email.lower() if sender.email else None,
            wechat_openid=sender.wechat_openid,
            created_at=now,
        )
        session.add(contact)
    else:
        contact.name = contact.name or sender.name
        contact.phone = contact.phone or normalise_phone(sender.phone)
        contact.wechat_openid = contact.wechat_openid or sender.wechat_openid
        if sender.email and not contact.email:
            contact.email = sender.email.lower()
    if sender.org_name and contact.organisation_id is None:
        org = await organisation_named(session, sender.org_name, now)
        contact.organisation_id = org.id
        contact.organisation = org
    await session.flush()
    return contact


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
