"""Webhook delivery faults (control API / StripeMock): duplicate, reorder, delay, fail, drop,
scoped by event type and endpoint, in synchronous and background mode; bad fault bodies."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import clocked_sub, licensed_price, set_account
from tests.api.conftest import control_error
from tests.api.webhook_helpers import endpoint, receiver

INVOICE_FLOW = ["invoice.created", "invoice.finalized", "invoice.paid"]


def test_duplicate(client: stripe.StripeClient, mock: StripeMock) -> None:
    with receiver() as rcv:
        endpoint(client, rcv)
        rule = mock.webhook_fault("duplicate")
        assert rule["kind"] == "duplicate" and rule["times"] == 1
        client.v1.customers.create({})
        a, b = rcv.events()
        assert a.id == b.id and a.type == "customer.created"
        assert [x["fault"] for x in mock.webhook_attempts()] == [None, "duplicate"]
        assert mock.webhook_faults() == []  # used up
        client.v1.customers.create({})
        assert len(rcv.events()) == 3  # the next one is not duplicated


def test_reorder_swaps_with_the_next_delivery(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, INVOICE_FLOW)
        mock.webhook_fault("reorder", type="invoice.created")
        clocked_sub(client, [licensed_price(client).id])
        assert rcv.types() == ["invoice.finalized", "invoice.created", "invoice.paid"]


def test_delay_holds_the_call_in_synchronous_mode(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    with receiver() as rcv:
        endpoint(client, rcv)
        mock.webhook_fault("delay", delay_ms=400)
        start = time.monotonic()
        client.v1.customers.create({})
        assert time.monotonic() - start >= 0.4
        assert rcv.types() == ["customer.created"]


@pytest.mark.parametrize(("kind", "error"), [("fail", "injected failure"), ("drop", None)])
def test_fail_and_drop(client: stripe.StripeClient, mock: StripeMock, kind: str, error) -> None:  # type: ignore[no-untyped-def]
    with receiver() as rcv:
        endpoint(client, rcv)
        mock.webhook_fault(kind, times=2)
        client.v1.customers.create({})
        client.v1.customers.create({})
        client.v1.customers.create({})
        assert len(rcv.events()) == 1  # only the third arrived
        got = mock.webhook_attempts()
        assert [a["fault"] for a in got] == [kind, kind, None]
        assert [a["succeeded"] for a in got] == [False, False, True]
        assert got[0]["status"] is None
        assert got[0]["error"] == (error or "dropped by an injected fault")
        pending = client.v1.events.list({"delivery_success": False}).data
        assert len(pending) == 2


def test_fault_scoped_to_type_and_endpoint(client: stripe.StripeClient, mock: StripeMock) -> None:
    with receiver() as a, receiver() as b:
        endpoint(client, a)
        eb = endpoint(client, b)
        mock.webhook_fault("drop", endpoint=eb.id, type="customer.updated")
        cust = client.v1.customers.create({})
        client.v1.customers.update(cust.id, {"name": "x"})
        assert a.types() == ["customer.created", "customer.updated"]
        assert b.types() == ["customer.created"]


def test_failed_by_fault_is_retried_in_background(
    client: stripe.StripeClient, mock: StripeMock, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, webhook_delivery="background", webhook_retry_schedule=[0])
    with receiver() as rcv:
        endpoint(client, rcv)
        mock.webhook_fault("fail")
        client.v1.customers.create({})
        rcv.wait_for("customer.created", timeout=10)
        assert mock.wait_for_webhooks(10)
        got = mock.webhook_attempts()
        assert [(a["attempt"], a["fault"], a["succeeded"]) for a in got] == [
            (1, "fail", False),
            (2, None, True),
        ]
        ev = client.v1.events.list().data[0]
        assert ev.pending_webhooks == 0


@pytest.mark.parametrize("kind", ["duplicate", "drop", "delay", "reorder"])
def test_background_faults(
    client: stripe.StripeClient, mock: StripeMock, server: ThreadedServer, api_key: str, kind: str
) -> None:
    set_account(server, api_key, webhook_delivery="background", webhook_retry_schedule=[0])
    with receiver() as rcv:
        endpoint(client, rcv)
        mock.webhook_fault(kind, delay_ms=200) if kind == "delay" else mock.webhook_fault(kind)
        client.v1.customers.create({})
        assert mock.wait_for_webhooks(10)
        got = [e.type for e in rcv.events()]
        expected = {"duplicate": 2, "drop": 0, "delay": 1, "reorder": 1}[kind]
        assert got == ["customer.created"] * expected


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (
            {"kind": "explode"},
            "kind",
            "Invalid kind: must be one of duplicate, reorder, delay, fail, drop",
        ),
        ({"kind": "drop", "times": 0}, "times", "Invalid times: must be between 1 and 1000000."),
        (
            {"kind": "delay", "delay_ms": 600001},
            "delay_ms",
            "Invalid delay_ms: must be between 0 and 600000.",
        ),
        (
            {"kind": "drop", "type": "invoice.nope"},
            "type",
            "Invalid type: invoice.nope is not an event type the emulator emits.",
        ),
        ({"kind": "drop", "color": "red"}, "color", "Received unknown parameter: color"),
        ({"times": 1}, "kind", "Missing required param: kind."),
    ],
)
def test_bad_fault_bodies(mock: StripeMock, body: dict, param: str, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ControlError) as exc:
        mock._control("POST", "/_mock/webhooks/faults", body)
    assert exc.value.status == 400
    e = control_error(exc)
    assert e["type"] == "invalid_request_error"
    assert e["param"] == param
    assert e["message"] == message
    assert mock.webhook_faults() == []


def test_clear_faults(mock: StripeMock) -> None:
    mock.webhook_fault("drop", times=5)
    assert [f["times"] for f in mock.webhook_faults()] == [5]
    mock.clear_webhook_faults()
    assert mock.webhook_faults() == []


def test_resend_errors(client: stripe.StripeClient, mock: StripeMock) -> None:
    with pytest.raises(ControlError) as exc:
        mock.resend_webhook("evt_missing", "we_x")
    e = control_error(exc)
    assert (exc.value.status, e["code"], e["param"]) == (400, "resource_missing", "event")
    assert e["message"] == "No such event: 'evt_missing'"
    client.v1.customers.create({})
    ev = client.v1.events.list().data[0]
    with pytest.raises(ControlError) as exc:
        mock.resend_webhook(ev.id, "we_never")
    e = control_error(exc)
    assert (exc.value.status, e["param"]) == (400, "endpoint")
    assert e["message"] == f"Event {ev.id} was never delivered to we_never: nothing to resend."
