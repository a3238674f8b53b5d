"""Shared helpers of the issue-14 hardening tests (test_hardening_*.py)."""

from __future__ import annotations

import threading
from typing import Any

import requests
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.conftest import validated

JSON = "application/json"
V2_VERSION = "2025-03-31.preview"
JAN1_2025 = 1735689600
FEB1_2025 = 1738368000
APR1_2025 = 1743465600
MAY1_2025 = 1746057600
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def send_v2(server: ThreadedServer, key: str, path: str, body: bytes) -> requests.Response:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": JSON,
        "Stripe-Version": V2_VERSION,
    }
    r = requests.post(server.url + path, data=body, headers=headers, timeout=30)
    return r if path.startswith("/_mock") else validated(r)  # /_mock: emulator-only, no schema


def v2_error(r: requests.Response) -> dict[str, Any]:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert isinstance(err["message"], str) and "Traceback" not in r.text
    return dict(err)


def clocked_subscription(client: stripe.StripeClient) -> tuple[str, str]:
    """A clock at 2025-01-01 with one monthly 10 USD subscription; (clock id, customer id)."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1_2025})
    cus = client.v1.customers.create({"test_clock": clk.id})
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "p"},
        }
    )
    client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    return clk.id, cus.id


def start_loop(**kw: Any) -> tuple[Any, threading.Thread]:
    from stripe_mock_billing.app import create_app
    from stripe_mock_billing.config import Settings
    from stripe_mock_billing.loop_server import LoopServer

    srv = LoopServer(create_app(Settings(port=0)), "127.0.0.1", 0, **kw)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    return srv, thread


def read_all(sock: Any) -> bytes:
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk
