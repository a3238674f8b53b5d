"""Webhook test helpers: sign a payload as Stripe does, and build event bodies.

- `sign_payload(payload, secret, timestamp=None)` -> the `Stripe-Signature` header value
  `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the whole whsec_ secret>`
  (events-webhooks.md §5), which `stripe.Webhook.construct_event` and
  `stripe.webhooks.constructEvent` accept.
- `make_event(type, obj, api_version=...)` -> an `event` dict as the emulator delivers it, for
  feeding a handler directly; `event_payload(event)` -> the exact bytes to sign and post.
- `new_secret()` -> a fresh `whsec_...` secret.

The emulator's own deliveries (delivery.py) sign with `sign_payload`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from . import clock
from .ids import new_id, random_tail

DEFAULT_VERSION = "2025-02-24.acacia"


def new_secret() -> str:
    """A fresh endpoint signing secret (`whsec_` + 32 base62 characters)."""
    return "whsec_" + random_tail(32)


def sign_payload(payload: str | bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload` (the exact body bytes) signed with `secret`."""
    t = clock.real_time() if timestamp is None else int(timestamp)
    body = payload if isinstance(payload, bytes) else payload.encode("utf-8")
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def make_event(
    type: str,
    obj: dict[str, Any],
    *,
    api_version: str = DEFAULT_VERSION,
    previous_attributes: dict[str, Any] | None = None,
    created: int | None = None,
    event_id: str | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    pending_webhooks: int = 1,
) -> dict[str, Any]:
    """An `event` object with `obj` as `data.object`, shaped like a delivered webhook."""
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id or new_id("event"),
        "object": "event",
        "api_version": api_version,
        "created": clock.real_time() if created is None else created,
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type,
    }


def event_payload(event: dict[str, Any]) -> bytes:
    """The body bytes of an event as the emulator sends them (pretty-printed JSON, UTF-8)."""
    return json.dumps(event, indent=2, ensure_ascii=False).encode("utf-8")
