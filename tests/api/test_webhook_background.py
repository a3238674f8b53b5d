"""Background webhook delivery: queue, retries on a compressed schedule after 500s, timeouts
and refused connections, `pending_webhooks` counting down, stopping on disable."""

from __future__ import annotations

import time

import pytest
import requests
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import set_account
from tests.api.webhook_helpers import endpoint, receiver


def _attempts(mock: StripeMock, **kw: str) -> list[dict]:  # type: ignore[type-arg]
    return mock.webhook_attempts(**kw)


@pytest.fixture
def background(server: ThreadedServer, api_key: str) -> None:
    set_account(
        server,
        api_key,
        webhook_delivery="background",
        webhook_retry_schedule=[0, 0, 1],
        webhook_timeout_ms=300,
    )


@pytest.mark.usefixtures("background")
def test_retries_after_500_and_timeout_end_in_success(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    with receiver() as rcv:
        ep = endpoint(client, rcv, ["customer.created"])
        rcv.respond_with(500)
        rcv.respond_with(200, delay=0.6)  # longer than the 300 ms timeout
        client.v1.customers.create({})
        ev = rcv.wait_for("customer.created", timeout=10)
        assert mock.wait_for_webhooks(10) is True
        got = _attempts(mock, event=ev.id)
        assert [a["attempt"] for a in got] == [1, 2, 3], got
        assert [a["status"] for a in got] == [500, None, 200]
        assert got[1]["error"] == "timed out after 0.3 s"
        assert [a["endpoint"] for a in got] == [ep.id] * 3
        assert client.v1.events.retrieve(ev.id).pending_webhooks == 0


@pytest.mark.usefixtures("background")
def test_gives_up_after_the_schedule(client: stripe.StripeClient, mock: StripeMock) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["customer.created"])
        rcv.respond_with(503, times=10)
        client.v1.customers.create({})
        assert mock.wait_for_webhooks(10) is True
        got = _attempts(mock)
        assert [a["status"] for a in got] == [503, 503, 503, 503]  # first try + 3 retries
        ev = client.v1.events.list({"type": "customer.created"}).data[0]
        assert ev.pending_webhooks == 1
        assert [e.id for e in client.v1.events.list({"delivery_success": False}).data] == [ev.id]


@pytest.mark.usefixtures("background")
def test_api_call_does_not_wait_for_a_slow_receiver(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["customer.created"])
        rcv.respond_with(200, delay=1.0)
        start = time.monotonic()
        client.v1.customers.create({})
        assert time.monotonic() - start < 0.8
        rcv.wait_for("customer.created", timeout=10)


def test_disable_stops_pending_retries(
    client: stripe.StripeClient, mock: StripeMock, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, webhook_delivery="background", webhook_retry_schedule=[1, 1])
    with receiver() as rcv:
        ep = endpoint(client, rcv, ["customer.created"])
        rcv.respond_with(500)
        client.v1.customers.create({})
        deadline = time.monotonic() + 5
        while not _attempts(mock) and time.monotonic() < deadline:
            time.sleep(0.02)
        client.v1.webhook_endpoints.update(ep.id, {"disabled": True})
        assert mock.wait_for_webhooks(10) is True
        assert [a["status"] for a in _attempts(mock)] == [500]
        assert rcv.events() == []


def test_settings_are_validated(server: ThreadedServer, api_key: str) -> None:
    resp = requests.post(  # the control API: emulator-only, no schema
        f"{server.url}/_mock/settings",
        json={"webhook_delivery": "sometimes"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["param"] == "webhook_delivery"
    assert err["message"] == "Invalid webhook_delivery: must be one of synchronous, background."
    resp = requests.post(  # the control API: emulator-only, no schema
        f"{server.url}/_mock/settings",
        json={"webhook_timeout_ms": 0},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == (
        "Invalid webhook_timeout_ms: must be between 1 and 600000."
    )


def test_stripe_retry_schedule_preset(server: ThreadedServer, api_key: str) -> None:
    resp = requests.post(  # the control API: emulator-only, no schema
        f"{server.url}/_mock/settings",
        json={"webhook_retry_schedule": "stripe"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.json()["webhook_retry_schedule"] == [60, 3600, 14400]
    resp = requests.post(  # the control API: emulator-only, no schema
        f"{server.url}/_mock/settings",
        json={"webhook_retry_schedule": [2592001]},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "webhook_retry_schedule"
