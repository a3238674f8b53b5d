"""Invoices through the SDK: fields, shapes per version, lists, lines, transitions, payment."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    MAR1,
    advance,
    clocked_sub,
    err_tuple,
    invoices_of,
    licensed_price,
    set_account,
)
from tests.conftest import err_of


def test_first_invoice_is_paid_at_creation(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 5000)
    sub = clocked_sub(client, [price.id], customer={"invoice_prefix": "ACME"})[2]
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.billing_reason == "subscription_create"
    assert (inv.status, inv.total, inv.amount_due, inv.amount_paid) == ("paid", 5000, 5000, 5000)
    assert inv.amount_remaining == 0
    assert inv.number == "ACME-0001"
    assert inv.status_transitions.finalized_at == JAN1
    assert inv.status_transitions.paid_at == JAN1
    assert inv.parent.subscription_details.subscription == sub.id
    line = inv.lines.data[0]
    assert (line.amount, line.quantity) == (5000, 1)
    assert (line.period.start, line.period.end) == (JAN1, FEB1)
    assert line.parent.subscription_item_details.subscription_item == sub["items"].data[0].id
    assert line.pricing.price_details.price == price.id


def test_acacia_line_shape(acacia: stripe.StripeClient) -> None:
    price = licensed_price(acacia, 1200)
    _, _, sub = clocked_sub(acacia, [price.id])
    inv = acacia.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.subscription == sub.id
    assert inv.paid is True
    line = inv.lines.data[0]
    assert line.type == "subscription"
    assert line.price.id == price.id
    assert line.subscription_item == sub["items"].data[0].id
    assert line.proration is False


def test_cycle_invoice_draft_then_finalized_after_grace(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 5000)
    clk, _, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, FEB1)
    cycle = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (cycle.billing_reason, cycle.status) == ("subscription_cycle", "draft")
    assert cycle.total == 5000
    assert cycle.number is None
    assert cycle.automatically_finalizes_at == FEB1 + HOUR
    assert (cycle.period_start, cycle.period_end) == (JAN1, FEB1)
    assert (cycle.lines.data[0].period.start, cycle.lines.data[0].period.end) == (FEB1, MAR1)
    advance(client, clk.id, FEB1 + HOUR - 1)
    assert client.v1.invoices.retrieve(cycle.id).status == "draft"
    advance(client, clk.id, FEB1 + HOUR)
    paid = client.v1.invoices.retrieve(cycle.id)
    assert paid.status == "paid"
    assert paid.status_transitions.finalized_at == FEB1 + HOUR
    assert paid.number is not None and paid.number.endswith("-0002")


def test_grace_is_configurable(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, finalization_grace=0)
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1)
    assert invoices_of(client, sub.id)[-1].status == "paid"


def test_failing_payment_method_leaves_invoice_open_and_sub_past_due(
    client: stripe.StripeClient,
) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client).id])
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    advance(client, clk.id, FEB1 + HOUR)
    inv = invoices_of(client, sub.id)[-1]
    assert (inv.status, inv.attempt_count, inv.attempted) == ("open", 1, True)
    assert inv.amount_remaining == 5000
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.invoices.pay(inv.id)
    assert exc.value.http_status == 402
    e = err_of(exc)
    assert (e["type"], e["code"]) == ("card_error", "card_declined")
    assert e["message"] == "Your card was declined."
    paid = client.v1.invoices.pay(inv.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_failing_first_payment_makes_subscription_incomplete(client: stripe.StripeClient) -> None:
    _, _, sub = clocked_sub(
        client, [licensed_price(client).id], customer={"metadata": {"_mock_payment": "fail"}}
    )
    assert sub.status == "incomplete"
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "open"


def test_send_invoice_stays_open_with_due_date(client: stripe.StripeClient) -> None:
    _, _, sub = clocked_sub(
        client,
        [licensed_price(client).id],
        collection_method="send_invoice",
        days_until_due=14,
    )
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.collection_method) == ("open", "send_invoice")
    assert inv.due_date == JAN1 + 14 * DAY


def test_pay_out_of_band_void_and_uncollectible(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    a = clocked_sub(client, [price.id], collection_method="send_invoice", days_until_due=1)[2]
    b = clocked_sub(client, [price.id], collection_method="send_invoice", days_until_due=1)[2]
    c = clocked_sub(client, [price.id], collection_method="send_invoice", days_until_due=1)[2]
    paid = client.v1.invoices.pay(a.latest_invoice, {"paid_out_of_band": True})
    assert paid.status == "paid" and paid.amount_paid == 5000
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(a.latest_invoice)
    assert exc.value.http_status == 400
    assert err_of(exc)["message"] == "Invoice is already paid"
    voided = client.v1.invoices.void_invoice(b.latest_invoice)
    assert voided.status == "void"
    assert voided.status_transitions.voided_at == JAN1
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.void_invoice(a.latest_invoice)
    assert exc.value.http_status == 400
    assert "only void open or uncollectible" in err_of(exc)["message"]
    bad = client.v1.invoices.mark_uncollectible(c.latest_invoice)
    assert bad.status == "uncollectible"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.mark_uncollectible(c.latest_invoice)
    assert exc.value.http_status == 400


def test_finalize_draft_now_and_refinalize_error(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1)
    draft = invoices_of(client, sub.id)[-1]
    done = client.v1.invoices.finalize_invoice(draft.id)
    assert done.status == "paid"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.finalize_invoice(draft.id)
    assert exc.value.http_status == 400
    assert err_of(exc)["message"] == (
        "This invoice is already finalized, you can't re-finalize a non-draft invoice."
    )


def test_unknown_invoice(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.retrieve("in_nope")
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "id",
        "No such invoice: 'in_nope'",
    )


def test_list_filters_and_clock_omission(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    clk, cust, sub = clocked_sub(client, [price.id])
    wall_cust = client.v1.customers.create({})
    wall_sub = client.v1.subscriptions.create(
        {"customer": wall_cust.id, "items": [{"price": price.id}]}
    )
    unfiltered = client.v1.invoices.list()
    assert [i.id for i in unfiltered.data] == [wall_sub.latest_invoice]
    assert [i.id for i in client.v1.invoices.list({"customer": cust.id}).data] == [
        sub.latest_invoice
    ]
    assert len(client.v1.invoices.list({"subscription": sub.id}).data) == 1
    advance(client, clk.id, FEB1)
    drafts = client.v1.invoices.list({"subscription": sub.id, "status": "draft"})
    assert [i.billing_reason for i in drafts.data] == ["subscription_cycle"]
    assert len(client.v1.invoices.list({"test_clock": clk.id}).data) == 2


def test_lines_endpoint_paginates(client: stripe.StripeClient) -> None:
    a, b = licensed_price(client, 100, name="A"), licensed_price(client, 200, name="B")
    _, _, sub = clocked_sub(client, [a.id, b.id])
    page = client.v1.invoices.line_items.list(sub.latest_invoice, {"limit": 1})
    assert page.has_more is True
    assert page.url == f"/v1/invoices/{sub.latest_invoice}/lines"
    rest = client.v1.invoices.line_items.list(
        sub.latest_invoice, {"starting_after": page.data[0].id}
    )
    assert sorted([page.data[0].amount, rest.data[0].amount]) == [100, 200]


def test_invoice_transition_errors(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    paid = clocked_sub(client, [price.id])[2].latest_invoice
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.mark_uncollectible(paid)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can only mark open invoices as uncollectible; this invoice is paid.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.void_invoice(paid)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can only void open or uncollectible invoices; this invoice is paid.",
    )
    clk, _, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, FEB1)
    draft = invoices_of(client, sub.id)[-1].id
    client.v1.invoices.finalize_invoice(draft)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.void_invoice(draft)
    assert err_tuple(exc)[0] == 400


def test_void_then_pay_is_refused(client: stripe.StripeClient) -> None:
    sub = clocked_sub(
        client, [licensed_price(client).id], collection_method="send_invoice", days_until_due=1
    )[2]
    client.v1.invoices.void_invoice(sub.latest_invoice)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(sub.latest_invoice)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "This invoice has been voided and can no longer be paid.",
    )


def test_expand_latest_invoice_and_line_subscription(client: stripe.StripeClient) -> None:
    sub = clocked_sub(client, [licensed_price(client).id])[2]
    got = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert got.latest_invoice.object == "invoice"
    inv = client.v1.invoices.retrieve(sub.latest_invoice, {"expand": ["customer"]})
    assert inv.customer.object == "customer"
