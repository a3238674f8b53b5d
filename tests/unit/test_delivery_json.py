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
