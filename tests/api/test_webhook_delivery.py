"""Webhook delivery through the real HTTP surface: a loopback receiver verifying every
signature with `stripe.Webhook.construct_event`, synchronous order, endpoint API versions,
disabled endpoints, per-account isolation, misbehaving receivers."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import FEB1, HOUR, JAN1, advance, clocked_sub, licensed_price
from tests.api.webhook_helpers import endpoint, raw_server, read_request, receiver
from tests.conftest import make_client


def _log(client: stripe.StripeClient) -> list[str]:
    got = client.v1.events.list({"limit": 100})
    return [e.id for e in reversed(got.data)]


def attempts(server: ThreadedServer, key: str, **query: str) -> list[dict]:  # type: ignore[type-arg]
    resp = requests.get(  # the control API: emulator-only, no schema
        f"{server.url}/_mock/webhooks/attempts",
        params=query,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert resp.status_code == 200
    return list(resp.json()["data"])


def test_delivered_before_the_call_answers_and_verifiable(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv)
        cust = client.v1.customers.create({"name": "Ada"})
        # synchronous: already there when the call returned
        (ev,) = rcv.events("customer.created")
        assert isinstance(ev, stripe.Event)
        assert ev.data.object.id == cust.id
        assert ev.pending_webhooks == 1  # as sent: this endpoint had not answered yet
        assert ev.request.id is not None
        assert ev.request.idempotency_key is not None  # the SDK sends one on every POST
        assert rcv.errors == []
        assert client.v1.events.retrieve(ev.id).pending_webhooks == 0  # it answered 200


def test_signature_header_and_body(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ep = endpoint(client, rcv)
        client.v1.customers.create({})
        body, headers = rcv.raw[0]
        sig = headers["Stripe-Signature"]
        t, v1 = sig.split(",")
        assert t.startswith("t=") and v1.startswith("v1=") and len(v1) == 3 + 64
        assert abs(int(t[2:]) - time.time()) < 60
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        stripe.Webhook.construct_event(body.decode(), sig, ep.secret)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body.decode(), sig, "whsec_wrong")


def test_previous_attributes_on_update(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv)
        cust = client.v1.customers.create({"name": "Ada"})
        client.v1.customers.update(cust.id, {"name": "Grace"})
        upd = rcv.wait_for("customer.updated")
        assert upd.data.object.name == "Grace"
        assert upd.data.previous_attributes.to_dict() == {"name": "Ada"}


def test_only_enabled_events_and_order_matches_log(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["customer.created", "customer.deleted"])
        cust = client.v1.customers.create({})
        client.v1.customers.update(cust.id, {"name": "x"})
        client.v1.customers.delete(cust.id)
        assert rcv.types() == ["customer.created", "customer.deleted"]


def test_monthly_clock_advance_order(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv)
        clk, _, sub = clocked_sub(client, [licensed_price(client).id])
        rcv.clear()
        before = set(_log(client))
        advance(client, clk.id, FEB1 + HOUR)
        got = [e.id for e in rcv.events()]
        assert got == [i for i in _log(client) if i not in before]  # creation order
        types = rcv.types()
        renewal = [
            "customer.subscription.updated",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
        ]
        at = [types.index(t, types.index("test_helpers.test_clock.advancing")) for t in renewal]
        assert at == sorted(at)  # the spec's renewal order
        assert types[0] == "test_helpers.test_clock.advancing"
        assert types[-1] == "test_helpers.test_clock.ready"
        upd = rcv.wait_for("customer.subscription.updated")
        assert upd.request.id is None  # a clock advance, not an API call
        assert upd.created == FEB1
        assert upd.data.object.id == sub.id


def test_signature_time_is_wall_time_on_clock_events(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv)
        clk, _, _ = clocked_sub(client, [licensed_price(client).id], at=JAN1)
        advance(client, clk.id, FEB1 + HOUR)
        ev = rcv.wait_for("invoice.finalized", count=2)
        assert ev.created == FEB1 + HOUR
        for _body, headers in rcv.raw:
            t = int(headers["Stripe-Signature"].split(",")[0][2:])
            assert abs(t - time.time()) < 60  # construct_event's 300 s tolerance passes


def test_disabled_endpoint_gets_nothing(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ep = endpoint(client, rcv)
        client.v1.webhook_endpoints.update(ep.id, {"disabled": True})
        cust = client.v1.customers.create({})
        assert rcv.raw == []
        ev = client.v1.events.list({"type": "customer.created"}).data[0]
        assert ev.pending_webhooks == 0
        client.v1.webhook_endpoints.update(ep.id, {"disabled": False})
        client.v1.customers.update(cust.id, {"name": "n"})
        assert rcv.types() == ["customer.updated"]  # events made while disabled never come


def test_events_from_before_any_endpoint_never_come(client: stripe.StripeClient) -> None:
    """Events raised while the account had no endpoint are logged, not held for a later one:
    an endpoint created afterwards gets only what happens from then on."""
    early = client.v1.customers.create({"name": "before"})
    client.v1.customers.update(early.id, {"name": "still before"})
    with receiver() as rcv:
        endpoint(client, rcv)
        late = client.v1.customers.create({"name": "after"})
        assert len(rcv.raw) == 1  # every delivery that reached it, verified or not
        assert rcv.errors == []
        assert rcv.types() == ["customer.created"]
        (ev,) = rcv.events("customer.created")
        assert ev.data.object.id == late.id
    logged = client.v1.events.list({"type": "customer.created"}).data
    assert early.id in {e.data.object.id for e in logged}  # still in the event log


def test_deleted_endpoint_gets_nothing(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ep = endpoint(client, rcv)
        client.v1.webhook_endpoints.delete(ep.id)
        client.v1.customers.create({})
        assert rcv.raw == []


def test_endpoint_api_versions_get_their_shapes(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    client = make_client(server.url, api_key, schema_violations, "2025-02-24.acacia")
    with receiver() as old, receiver() as new:
        endpoint(client, old, ["invoice.created", "customer.subscription.created"])
        endpoint(
            client,
            new,
            ["invoice.created", "customer.subscription.created"],
            api_version="2025-03-31.basil",
        )
        clocked_sub(client, [licensed_price(client).id])
        a, b = old.wait_for("invoice.created"), new.wait_for("invoice.created")
        assert a.id == b.id
        assert a.api_version == "2025-02-24.acacia"
        assert b.api_version == "2025-03-31.basil"
        line_a = a.data.object.lines.data[0].to_dict()
        line_b = b.data.object.lines.data[0].to_dict()
        assert "price" in line_a and "pricing" not in line_a  # acacia line shape
        assert "pricing" in line_b and "parent" in line_b  # basil line shape
        sa = old.wait_for("customer.subscription.created").data.object.to_dict()
        sb = new.wait_for("customer.subscription.created").data.object.to_dict()
        assert "current_period_start" in sa
        assert "current_period_start" not in sb
        assert "current_period_start" in sb["items"]["data"][0]
        # the event log keeps the account default's shape
        logged = client.v1.events.retrieve(a.id)
        assert logged.api_version == "2025-02-24.acacia"


def test_basil_endpoint_previous_attributes(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    client = make_client(server.url, api_key, schema_violations)
    with receiver() as rcv:
        endpoint(client, rcv, ["customer.updated"], api_version="2026-05-27.dahlia")
        cust = client.v1.customers.create({"name": "a"})
        client.v1.customers.update(cust.id, {"name": "b"})
        ev = rcv.wait_for("customer.updated")
        assert ev.api_version == "2026-05-27.dahlia"
        assert ev.data.previous_attributes.to_dict() == {"name": "a"}


def test_two_endpoints_both_receive_and_pending_counts(client: stripe.StripeClient) -> None:
    with receiver() as a, receiver() as b:
        endpoint(client, a)
        endpoint(client, b)
        client.v1.customers.create({})
        ea, eb = a.wait_for("customer.created"), b.wait_for("customer.created")
        assert ea.id == eb.id
        assert ea.pending_webhooks == 2
        assert client.v1.events.retrieve(ea.id).pending_webhooks == 0


def test_failed_delivery_keeps_pending_and_is_recorded(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    with receiver() as rcv:
        ep = endpoint(client, rcv)
        rcv.respond_with(500)
        client.v1.customers.create({})
        ev = client.v1.events.list({"type": "customer.created"}).data[0]
        assert ev.pending_webhooks == 1
        undelivered = client.v1.events.list({"delivery_success": False})
        assert [e.id for e in undelivered.data] == [ev.id]
        (att,) = attempts(server, api_key, event=ev.id)
        assert att["endpoint"] == ep.id
        assert att["url"] == rcv.url
        assert att["attempt"] == 1
        assert att["status"] == 500
        assert att["succeeded"] is False
        assert att["error"] == "HTTP 500"
        assert att["signature"].startswith("t=")
        assert att["duration_ms"] >= 0
        # resend on demand
        resp = requests.post(  # the control API: emulator-only, no schema
            f"{server.url}/_mock/webhooks/resend",
            json={"event": ev.id, "endpoint": ep.id},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10,
        )
        assert resp.status_code == 200
        body = resp.json()
        assert (body["attempt"], body["status"], body["manual"]) == (2, 200, True)
        assert client.v1.events.retrieve(ev.id).pending_webhooks == 0
        assert client.v1.events.list({"delivery_success": False}).data == []
        assert [e.id for e in rcv.events()] == [ev.id]


def test_receiver_may_call_the_api_back(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    seen: list[str] = []
    with receiver() as rcv:
        endpoint(client, rcv, ["customer.created"])
        inner = rcv.handle

        def handle(body: bytes, headers: dict[str, str]) -> int:
            status = inner(body, headers)
            cid = rcv.events()[-1].data.object.id
            again = make_client(server.url, api_key, schema_violations)
            seen.append(again.v1.customers.retrieve(cid).id)  # no deadlock: the lock is free
            return status

        rcv.handle = handle  # type: ignore[method-assign]
        cust = client.v1.customers.create({})
        assert seen == [cust.id]


def test_down_receiver_never_fails_the_call(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    client.v1.webhook_endpoints.create(
        {"url": f"http://127.0.0.1:{port}/x", "enabled_events": ["*"]}
    )
    client.v1.customers.create({})
    (att,) = attempts(server, api_key)
    assert att["status"] is None
    assert att["error"].startswith("connection error")


def _close_at_once(conn: socket.socket) -> None:
    read_request(conn)
    conn.close()


def _garbage(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"SMTP ready\r\n\r\n")
    conn.close()


def _redirect(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n"
    )
    conn.close()


@pytest.mark.parametrize(
    ("behave", "error"),
    [
        (_close_at_once, "connection closed before a response"),
        (_garbage, "malformed response: bad status line"),
        (_redirect, "HTTP 302"),
    ],
)
def test_misbehaving_receivers_are_failed_attempts(
    client: stripe.StripeClient,
    server: ThreadedServer,
    api_key: str,
    behave,
    error,  # type: ignore[no-untyped-def]
) -> None:
    with raw_server(behave) as url:
        client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["customer.created"]})
        cust = client.v1.customers.create({})
        assert cust.id.startswith("cus_")
    (att,) = attempts(server, api_key)
    assert att["succeeded"] is False
    assert att["error"] == error


def test_slow_receiver_times_out(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    from tests.api.billing_helpers import set_account

    set_account(server, api_key, webhook_timeout_ms=300)
    release = threading.Event()

    def hang(conn: socket.socket) -> None:
        read_request(conn)
        release.wait(10)

    with raw_server(hang) as url:
        client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["customer.created"]})
        start = time.monotonic()
        client.v1.customers.create({})
        took = time.monotonic() - start
        release.set()
    assert 0.25 < took < 5
    (att,) = attempts(server, api_key)
    assert att["error"] == "timed out after 0.3 s"
    assert att["status"] is None


def test_hanging_receiver_does_not_slow_another_account(
    client: stripe.StripeClient, server: ThreadedServer, schema_violations: list[str]
) -> None:
    release = threading.Event()

    def hang(conn: socket.socket) -> None:
        read_request(conn)
        release.wait(10)

    with raw_server(hang) as url:
        client.v1.webhook_endpoints.create({"url": url, "enabled_events": ["customer.created"]})
        slow = threading.Thread(target=lambda: client.v1.customers.create({}))
        slow.start()
        time.sleep(0.2)
        other = make_client(server.url, "sk_test_other_account_iso", schema_violations)
        start = time.monotonic()
        other.v1.customers.create({})
        assert time.monotonic() - start < 2
        release.set()
        slow.join(15)
