"""Events through the SDK: what is logged, snapshots, previous_attributes, filters, errors."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    licensed_price,
    new_clock,
    set_account,
)
from tests.conftest import err_of


def _types(client: stripe.StripeClient, **params: object) -> list[str]:
    got = client.v1.events.list({"limit": 100, **params})  # type: ignore[arg-type]
    return [e.type for e in reversed(got.data)]


def test_customer_events(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({"name": "Ada"})
    client.v1.customers.update(cust.id, {"name": "Grace", "metadata": {"k": "v"}})
    client.v1.customers.update(cust.id, {"name": "Grace"})  # no change: no event
    client.v1.customers.delete(cust.id)
    assert _types(client) == ["customer.created", "customer.updated", "customer.deleted"]
    updated = client.v1.events.list({"type": "customer.updated"}).data[0]
    assert updated.data.object.name == "Grace"
    assert updated.data.previous_attributes.to_dict() == {"name": "Ada", "metadata": {"k": None}}
    assert updated.request.id is not None


def test_subscription_create_and_renewal_sequence(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1 + HOUR)
    assert _types(client) == [
        "product.created",
        "price.created",
        "test_helpers.test_clock.created",
        "customer.created",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "test_helpers.test_clock.advancing",
        "invoice.upcoming",
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "test_helpers.test_clock.ready",
    ]
    renewal = client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert renewal.created == FEB1  # clock-driven events carry the simulated time
    assert renewal.request.id is None
    assert renewal.data.object.id == sub.id
    prev = renewal.data.previous_attributes.to_dict()
    assert prev["latest_invoice"] == sub.latest_invoice
    assert prev["current_period_start"] == JAN1  # acacia snapshot: periods on the sub
    finalized = client.v1.events.list({"type": "invoice.finalized"}).data[0]
    assert finalized.created == FEB1 + HOUR


def test_snapshots_use_account_default_version(client: stripe.StripeClient) -> None:
    clocked_sub(client, [licensed_price(client).id])
    ev = client.v1.events.list({"type": "customer.subscription.created"}).data[0]
    assert ev.api_version == "2025-02-24.acacia"
    assert "current_period_start" in ev.data.object.to_dict()  # acacia shape


def test_payment_failure_events(client: stripe.StripeClient) -> None:
    clk, _, _ = clocked_sub(
        client,
        [licensed_price(client).id],
        customer={
            "payment_method": "pm_card_chargeCustomerFail",
            "invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"},
        },
    )
    assert _types(client, type="invoice.payment_failed") == ["invoice.payment_failed"]
    sub_updates = client.v1.events.list({"type": "customer.subscription.updated"}).data
    assert sub_updates[0].data.object.status == "incomplete"
    assert clk.id


def test_invoiceitem_and_void_events(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    client.v1.invoice_items.create({"customer": cust.id, "amount": 5, "currency": "usd"})
    _, _, sub = clocked_sub(
        client, [licensed_price(client).id], collection_method="send_invoice", days_until_due=3
    )
    client.v1.invoices.void_invoice(sub.latest_invoice)
    assert "invoiceitem.created" in _types(client)
    assert _types(client, type="invoice.voided") == ["invoice.voided"]


def test_clock_events_and_deletion(client: stripe.StripeClient) -> None:
    clk, _, _ = clocked_sub(client, [licensed_price(client).id])
    client.v1.test_helpers.test_clocks.delete(clk.id)
    assert _types(client, type="test_helpers.test_clock.*") == [
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.deleted",
    ]
    assert _types(client, type="customer.subscription.deleted") == ["customer.subscription.deleted"]
    assert _types(client, type="customer.deleted") == ["customer.deleted"]


def test_async_advance_ready_event_on_retrieve(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, async_clock_advance=True)
    clk = new_clock(client)
    advance(client, clk.id, JAN1 + HOUR)
    assert _types(client, type="test_helpers.test_clock.ready") == []
    client.v1.test_helpers.test_clocks.retrieve(clk.id)
    assert _types(client, type="test_helpers.test_clock.ready") == ["test_helpers.test_clock.ready"]


def test_types_filter_wildcard_and_created(client: stripe.StripeClient) -> None:
    clocked_sub(client, [licensed_price(client).id])
    got = _types(client, types=["invoice.paid", "customer.created"])
    assert got == ["customer.created", "invoice.paid"]
    assert set(_types(client, type="invoice.*")) == {
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    }
    assert _types(client, created={"lt": JAN1}) == []
    assert len(_types(client, created={"gte": JAN1})) == len(_types(client))


def test_list_is_newest_first_and_paginates(client: stripe.StripeClient) -> None:
    for _ in range(3):
        client.v1.customers.create({})
    page = client.v1.events.list({"limit": 2})
    assert page.has_more is True
    rest = client.v1.events.list({"limit": 2, "starting_after": page.data[-1].id})
    assert len(rest.data) == 1
    assert client.v1.events.retrieve(rest.data[0].id).id == rest.data[0].id


def test_type_and_types_are_exclusive(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.list({"type": "invoice.paid", "types": ["invoice.paid"]})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["code"], e["param"]) == ("parameters_exclusive", "type")


def test_unknown_event(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.retrieve("evt_nope")
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "id",
        "No such event: 'evt_nope'",
    )


def test_trial_will_end_three_days_before(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_period_days=7)
    advance(client, clk.id, JAN1 + 4 * DAY - 1)
    assert _types(client, type="customer.subscription.trial_will_end") == []
    advance(client, clk.id, JAN1 + 4 * DAY)
    ev = client.v1.events.list({"type": "customer.subscription.trial_will_end"}).data
    assert [(e.created, e.data.object.id) for e in ev] == [(JAN1 + 4 * DAY, sub.id)]
