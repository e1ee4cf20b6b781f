"""Text messages (短信) to hotline callers, through an adapter to an SMS gateway.

No gateway is built in: every operator (China Mobile 云MAS, Alibaba Cloud SMS, Tencent Cloud
SMS …) has its own API, templates approved in advance and a contract. A deployment names its
adapter in `[sms] provider` as "package.module:factory"; the factory takes no arguments and
returns an `SmsProvider`. Without one, no SMS is queued at all, and hotline callers hear by phone
(their survey is a callback task).

The provider raises `SmsRejected` for a message that can never go (a bad number, a blocked
template): the outbox row goes to the dead letters. Any other exception is retried by the
dispatcher with backoff; `reference` (the outbox id) stays the same on every retry, so a gateway
that deduplicates on it sends a message once.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from ticketing.dispatch import DeliveryFailed, OutboxItem


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, reference: str) -> None:
        """Hand one message to the gateway; return once the gateway has accepted it."""


class SmsRejected(Exception):
    """The gateway refused the message for good."""


class SmsConfigError(Exception):
    pass


def load_provider(spec: str) -> SmsProvider:
    """The provider named by "package.module:factory"."""
    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise SmsConfigError(f"[sms] provider must look like package.module:factory, not {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise SmsConfigError(f"[sms] provider {spec!r} cannot be loaded: {exc}") from exc
    provider: SmsProvider = factory()
    return provider


class SmsSender:
    """The outbox's deliverer for the "sms" channel."""

    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider

    async def deliver(self, item: OutboxItem) -> None:
        try:
            await self._provider.send(item.recipient, item.body, f"outbox-{item.id}")
        except SmsRejected as exc:
            raise DeliveryFailed(f"SMS refused: {exc}", permanent=True) from exc
