"""A bad `expand[]` path is refused before any write, on every v1 write endpoint."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import err_of


def _bad_expand(exc: pytest.ExceptionInfo[stripe.StripeError], path: str) -> None:
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e["param"], e["message"]) == (
        "invalid_request_error",
        "expand",
        f"This property cannot be expanded ({path}).",
    )


def test_meter_create_with_bad_expand_creates_nothing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meters.create(
            {
                "display_name": "x",
                "event_name": "evt_x",
                "default_aggregation": {"formula": "sum"},
                "expand": ["nope"],
            }
        )
    _bad_expand(exc, "nope")
    assert client.v1.billing.meters.list().data == []


def test_meter_event_with_bad_expand_stores_nothing(client: stripe.StripeClient) -> None:
    meter = client.v1.billing.meters.create(
        {"display_name": "x", "event_name": "calls", "default_aggregation": {"formula": "sum"}}
    )
    cus = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meter_events.create(
            {
                "event_name": "calls",
                "payload": {"stripe_customer_id": cus.id, "value": "5"},
                "identifier": "once",
                "timestamp": cus.created,
                "expand": ["customer"],
            }
        )
    _bad_expand(exc, "customer")
    # the identifier was not consumed, and nothing was counted
    ok = client.v1.billing.meter_events.create(
        {
            "event_name": "calls",
            "payload": {"stripe_customer_id": cus.id, "value": "5"},
            "identifier": "once",
            "timestamp": cus.created,
        }
    )
    assert ok.identifier == "once"
    start = cus.created - cus.created % 60
    sums = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": cus.id, "start_time": start, "end_time": start + 120}
    )
    assert sum(s.aggregated_value for s in sums.data) == 5


def test_clock_create_and_advance_with_bad_expand(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.create(
            {"frozen_time": 1_700_000_000, "expand": ["customer"]}
        )
    _bad_expand(exc, "customer")
    assert client.v1.test_helpers.test_clocks.list().data == []
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_700_000_000})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.advance(
            clk.id, {"frozen_time": 1_700_086_400, "expand": ["frozen_time"]}
        )
    _bad_expand(exc, "frozen_time")
    assert client.v1.test_helpers.test_clocks.retrieve(clk.id).frozen_time == 1_700_000_000


def test_invoiceitem_create_with_bad_expand(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(
            {"customer": cus.id, "amount": 100, "currency": "usd", "expand": ["price.nope"]}
        )
    _bad_expand(exc, "price.nope")
    assert client.v1.invoice_items.list({"customer": cus.id}).data == []
    good = client.v1.invoice_items.create(
        {"customer": cus.id, "amount": 100, "currency": "usd", "expand": ["customer"]}
    )
    assert good.customer.id == cus.id


def _card(client: stripe.StripeClient) -> stripe.PaymentMethod:
    return client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})


def test_payment_method_attach_with_bad_expand_attaches_nothing(
    client: stripe.StripeClient,
) -> None:
    cus = client.v1.customers.create({})
    pm = _card(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.attach(pm.id, {"customer": cus.id, "expand": ["nope"]})
    _bad_expand(exc, "nope")
    assert client.v1.payment_methods.retrieve(pm.id).customer is None


def test_payment_method_customer_is_expandable_on_attach_and_detach(
    client: stripe.StripeClient,
) -> None:
    # `customer` is the payment method's expandable id (x-expandableFields in Stripe's OpenAPI)
    cus = client.v1.customers.create({"name": "Ada"})
    pm = _card(client)
    attached = client.v1.payment_methods.attach(pm.id, {"customer": cus.id, "expand": ["customer"]})
    assert isinstance(attached.customer, stripe.Customer)
    assert (attached.customer.id, attached.customer.name) == (cus.id, "Ada")
    got = client.v1.payment_methods.retrieve(pm.id, {"expand": ["customer"]})
    assert isinstance(got.customer, stripe.Customer) and got.customer.id == cus.id
    detached = client.v1.payment_methods.detach(pm.id, {"expand": ["customer"]})
    assert detached.customer is None


def test_invoice_send_with_bad_expand_sends_nothing(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    inv = client.v1.invoices.create(
        {"customer": cus.id, "collection_method": "send_invoice", "days_until_due": 30}
    )
    client.v1.invoice_items.create(
        {"customer": cus.id, "invoice": inv.id, "amount": 1000, "currency": "usd"}
    )
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.send_invoice(inv.id, {"expand": ["nope"]})
    _bad_expand(exc, "nope")
    assert client.v1.events.list({"type": "invoice.sent"}).data == []
    sent = client.v1.invoices.send_invoice(inv.id, {"expand": ["customer"]})
    assert isinstance(sent.customer, stripe.Customer) and sent.customer.id == cus.id
    assert len(client.v1.events.list({"type": "invoice.sent"}).data) == 1
