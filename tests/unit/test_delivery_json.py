"""Webhook bodies: `delivery.pretty_json` writes the bytes `json.dumps(body, indent=2)` writes
(what deliveries always sent), through orjson where that is the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stripe_mock_billing.delivery import pretty_json

BODIES: list[Any] = [
    {
        "id": "evt_1",
        "object": "event",
        "data": {"object": {"id": "cus_1", "metadata": {}, "tags": [], "balance": -5}},
        "livemode": False,
        "request": {"id": None, "idempotency_key": "k"},
        "quotes": 'a "b" \\ / \n\t\x01',
        "amount": 1.5,
        "big": 10**15,
    },
    {"name": "Zoë", "emoji": "\U0001f600"},  # escaped: the standard encoder's bytes
    {"del": "\x7f"},
    {1: "non-string key"},
    {"huge": 2**70},
    [],
    {},
]


@pytest.mark.parametrize("body", BODIES)
def test_same_bytes_as_the_standard_encoder(body: Any) -> None:
    assert pretty_json(body) == json.dumps(body, indent=2).encode("utf-8")


def _held_bytes(make: Any) -> int:
    """Bytes the allocator holds for 200 results of `make()` kept alive (tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(200)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == 200
    return held // 200


CUSTOMER = {"id": "cus_Compact000001", "object": "customer", "email": "a@b.c", "name": "x" * 300}


def test_kept_bodies_take_their_own_size() -> None:
    """The journal and the idempotency cache keep answers (1,000 per account), outboxes keep
    webhook bodies: each must take about its length, not the encoder's 4-8 KiB buffer."""
    from stripe_mock_billing.wire.render import dumps

    body = dumps(CUSTOMER)
    assert 350 < len(body) < 500
    assert _held_bytes(lambda: dumps(CUSTOMER)) < len(body) + 200
    pretty = pretty_json(CUSTOMER)
    assert _held_bytes(lambda: pretty_json(CUSTOMER)) < len(pretty) + 200
