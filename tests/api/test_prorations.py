"""Prorations of licensed items through the SDK (billing/prorations.py): pending proration items,
the cycle invoice's proration lines, always_invoice, none, proration_date, price changes, items
added and deleted, metered items (never prorated), trials and cancel with prorate.

Clocks start at JAN1, so the first period is [JAN1, FEB1) = 31 days; a change on day 10 leaves
21/31 of the period: 1000 x 21/31 = 677.4 -> 677, 3000 x 21/31 = 2032.3 -> 2032."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    err_tuple,
    invoices_of,
    legacy_metered_price,
    licensed_price,
)

DAY10 = JAN1 + 10 * DAY


def _pending(client: stripe.StripeClient, cust: str) -> list[tuple[Any, ...]]:
    """(price, quantity, amount, period start, period end) of pending proration items."""
    got = client.v1.invoice_items.list({"customer": cust, "pending": True}).data
    assert all(ii.proration for ii in got)
    return sorted(
        (ii.pricing.price_details.price, ii.quantity, ii.amount, ii.period.start, ii.period.end)
        for ii in got
    )


def _proration_lines(inv: Any) -> list[tuple[Any, ...]]:
    """(price, quantity, amount, period start, period end) of an invoice's proration lines."""
    return sorted(
        (ln.pricing.price_details.price, ln.quantity, ln.amount, ln.period.start, ln.period.end)
        for ln in inv.lines.data
        if ln.parent.type == "invoice_item_details" and ln.parent.invoice_item_details.proration
    )


def _one_item_sub(client: stripe.StripeClient, amount: int = 1000) -> tuple[Any, Any, Any, Any]:
    price = licensed_price(client, amount)
    clk, cust, sub = clocked_sub(client, [price.id])
    return clk, cust, sub, price


def test_quantity_change_prorates_onto_cycle_invoice(client: stripe.StripeClient) -> None:
    clk, cust, sub, price = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    si = sub["items"].data[0].id
    client.v1.subscriptions.update(sub.id, {"items": [{"id": si, "quantity": 3}]})
    assert _pending(client, cust.id) == [
        (price.id, 1, -677, DAY10, FEB1),
        (price.id, 3, 2032, DAY10, FEB1),
    ]
    ii = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data[0]
    assert ii.parent.subscription_details.subscription == sub.id
    assert ii.parent.subscription_details.subscription_item == si
    advance(client, clk.id, FEB1 + HOUR)
    cycle = invoices_of(client, sub.id)[-1]
    assert cycle.billing_reason == "subscription_cycle"
    assert _proration_lines(cycle) == [
        (price.id, 1, -677, DAY10, FEB1),
        (price.id, 3, 2032, DAY10, FEB1),
    ]
    assert cycle.total == 3000 - 677 + 2032
    assert client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data == []


def test_acacia_proration_item_shape(acacia: stripe.StripeClient) -> None:
    clk, cust, sub, price = _one_item_sub(acacia)
    advance(acacia, clk.id, DAY10)
    si = sub["items"].data[0].id
    acacia.v1.subscription_items.update(si, {"quantity": 3})
    items = acacia.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    assert sorted(
        (ii.amount, ii.proration, ii.subscription, ii.subscription_item) for ii in items
    ) == [
        (-677, True, sub.id, si),
        (2032, True, sub.id, si),
    ]
    advance(acacia, clk.id, FEB1 + HOUR)
    cycle = invoices_of(acacia, sub.id)[-1]
    lines = sorted(
        (ln.amount, ln.proration, ln.price.id, ln.type, ln.subscription_item)
        for ln in cycle.lines.data
    )
    assert lines == [
        (-677, True, price.id, "invoiceitem", si),
        (2032, True, price.id, "invoiceitem", si),
        (3000, False, price.id, "subscription", si),
    ]


def test_always_invoice_bills_prorations_now(client: stripe.StripeClient) -> None:
    clk, cust, sub, _price = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    si = sub["items"].data[0].id
    client.v1.subscription_items.update(si, {"quantity": 3, "proration_behavior": "always_invoice"})
    now = invoices_of(client, sub.id)[-1]
    assert (now.billing_reason, now.status, now.created) == ("subscription_update", "paid", DAY10)
    assert now.total == 2032 - 677
    assert len(_proration_lines(now)) == 2
    assert client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data == []
    advance(client, clk.id, FEB1 + HOUR)
    assert invoices_of(client, sub.id)[-1].total == 3000


def test_proration_behavior_none_creates_nothing(client: stripe.StripeClient) -> None:
    clk, cust, sub, _ = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    si = sub["items"].data[0].id
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": si, "quantity": 3}], "proration_behavior": "none"}
    )
    assert _pending(client, cust.id) == []
    advance(client, clk.id, FEB1 + HOUR)
    assert invoices_of(client, sub.id)[-1].total == 3000


def test_proration_date_overrides_change_time(client: stripe.StripeClient) -> None:
    clk, cust, sub, price = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    si = sub["items"].data[0].id
    day5 = JAN1 + 5 * DAY
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": si, "quantity": 3}], "proration_date": day5}
    )
    # 26 of 31 days: 1000 x 26/31 = 838.7 -> 839; 3000 x 26/31 = 2516.1 -> 2516
    assert _pending(client, cust.id) == [
        (price.id, 1, -839, day5, FEB1),
        (price.id, 3, 2516, day5, FEB1),
    ]


def test_proration_date_outside_period_is_rejected(client: stripe.StripeClient) -> None:
    _clk, cust, sub, _ = _one_item_sub(client)
    si = sub["items"].data[0].id
    for call in (
        lambda: client.v1.subscriptions.update(
            sub.id, {"items": [{"id": si, "quantity": 3}], "proration_date": FEB1 + 1}
        ),
        lambda: client.v1.subscription_items.update(
            si, {"quantity": 3, "proration_date": JAN1 - 1}
        ),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            call()
        assert err_tuple(exc) == (
            400,
            "invalid_request_error",
            None,
            "proration_date",
            f"proration_date must be within the subscription's current billing period "
            f"({JAN1} - {FEB1}).",
        )
    assert client.v1.subscription_items.retrieve(si).quantity == 1  # nothing was written
    assert _pending(client, cust.id) == []


def test_price_change_credits_old_and_debits_new(client: stripe.StripeClient) -> None:
    small = licensed_price(client, 5000)
    big = licensed_price(client, 10000)
    clk, cust, sub = clocked_sub(client, [small.id])
    mid = JAN1 + 31 * DAY // 2
    advance(client, clk.id, mid)
    client.v1.subscription_items.update(sub["items"].data[0].id, {"price": big.id})
    assert _pending(client, cust.id) == sorted(
        [
            (big.id, 1, 5000, mid, FEB1),
            (small.id, 1, -2500, mid, FEB1),
        ]
    )
    advance(client, clk.id, FEB1 + HOUR)
    assert invoices_of(client, sub.id)[-1].total == 10000 + 5000 - 2500


def test_item_added_and_deleted(client: stripe.StripeClient) -> None:
    clk, cust, sub, _ = _one_item_sub(client)
    extra = licensed_price(client, 2000, name="Support")
    advance(client, clk.id, DAY10)
    added = client.v1.subscription_items.create({"subscription": sub.id, "price": extra.id})
    assert _pending(client, cust.id) == [(extra.id, 1, 1355, DAY10, FEB1)]  # 2000 x 21/31
    day20 = JAN1 + 20 * DAY
    advance(client, clk.id, day20)
    client.v1.subscription_items.delete(added.id)
    # 11 of 31 days: 2000 x 11/31 = 709.7 -> 710
    assert _pending(client, cust.id) == [
        (extra.id, 1, -710, day20, FEB1),
        (extra.id, 1, 1355, DAY10, FEB1),
    ]
    advance(client, clk.id, FEB1 + HOUR)
    assert invoices_of(client, sub.id)[-1].total == 1000 + 1355 - 710


def test_item_deleted_through_subscription_update(client: stripe.StripeClient) -> None:
    a, b = licensed_price(client, 1000), licensed_price(client, 3000, name="B")
    clk, cust, sub = clocked_sub(client, [a.id, b.id])
    advance(client, clk.id, DAY10)
    sib = next(i.id for i in sub["items"].data if i.price.id == b.id)
    client.v1.subscriptions.update(sub.id, {"items": [{"id": sib, "deleted": True}]})
    assert _pending(client, cust.id) == [(b.id, 1, -2032, DAY10, FEB1)]


def test_metered_items_are_never_prorated(acacia: stripe.StripeClient) -> None:
    met, met2 = legacy_metered_price(acacia, 7), legacy_metered_price(acacia, 9)
    clk, cust, sub = clocked_sub(acacia, [met.id])
    advance(acacia, clk.id, DAY10)
    acacia.v1.subscription_items.update(sub["items"].data[0].id, {"price": met2.id})
    acacia.v1.subscription_items.create({"subscription": sub.id, "price": met.id})
    assert acacia.v1.invoice_items.list({"customer": cust.id}).data == []


def test_no_prorations_while_trialing(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000)
    clk, cust, sub = clocked_sub(client, [price.id], trial_period_days=14)
    advance(client, clk.id, JAN1 + 3 * DAY)
    client.v1.subscription_items.update(sub["items"].data[0].id, {"quantity": 5})
    assert _pending(client, cust.id) == []


def test_cancel_prorate_invoice_now_credits_unused_time(client: stripe.StripeClient) -> None:
    clk, _cust, sub, price = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    done = client.v1.subscriptions.cancel(sub.id, {"invoice_now": True, "prorate": True})
    final = client.v1.invoices.retrieve(done.latest_invoice)
    assert _proration_lines(final) == [(price.id, 1, -677, DAY10, FEB1)]
    assert (final.total, final.amount_due) == (-677, 0)


def test_cancel_prorate_without_invoice_leaves_pending_credit(client: stripe.StripeClient) -> None:
    clk, cust, sub, price = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    client.v1.subscriptions.cancel(sub.id, {"prorate": True})
    assert _pending(client, cust.id) == [(price.id, 1, -677, DAY10, FEB1)]
    assert len(invoices_of(client, sub.id)) == 1


def test_cancel_without_prorate_credits_nothing(client: stripe.StripeClient) -> None:
    clk, cust, sub, _ = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    client.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    assert _pending(client, cust.id) == []
    assert (
        client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice).total
        == 0
    )


def test_create_preview_shows_the_prorations_it_would_create(client: stripe.StripeClient) -> None:
    clk, cust, sub, price = _one_item_sub(client)
    advance(client, clk.id, DAY10)
    si = sub["items"].data[0].id
    details: dict[str, Any] = {"items": [{"id": si, "quantity": 3}]}
    prev = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": details}
    )
    assert _proration_lines(prev) == [
        (price.id, 1, -677, DAY10, FEB1),
        (price.id, 3, 2032, DAY10, FEB1),
    ]
    assert prev.total == 3000 - 677 + 2032
    day5 = JAN1 + 5 * DAY
    dated = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {**details, "proration_date": day5}}
    )
    assert [x[2] for x in _proration_lines(dated)] == [-839, 2516]
    none = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {**details, "proration_behavior": "none"}}
    )
    assert (_proration_lines(none), none.total) == ([], 3000)
    assert _pending(client, cust.id) == []  # a preview creates nothing
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview(
            {
                "subscription": sub.id,
                "subscription_details": {**details, "proration_date": FEB1 + 1},
            }
        )
    assert err_tuple(exc)[:4] == (
        400,
        "invalid_request_error",
        None,
        "subscription_details[proration_date]",
    )


def test_upcoming_subscription_proration_date(acacia: stripe.StripeClient) -> None:
    clk, _, sub, _ = _one_item_sub(acacia)
    advance(acacia, clk.id, DAY10)
    si = sub["items"].data[0].id
    day5 = JAN1 + 5 * DAY
    resp = acacia.raw_request(
        "get",
        "/v1/invoices/upcoming",
        subscription=sub.id,
        subscription_items=[{"id": si, "quantity": 3}],
        subscription_proration_date=day5,
    )
    up = acacia.deserialize(resp, api_mode="V1")
    prorated = sorted((ln.amount, ln.quantity) for ln in up.lines.data if ln.proration)
    assert prorated == [(-839, 1), (2516, 3)]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.raw_request(
            "get",
            "/v1/invoices/upcoming",
            subscription=sub.id,
            subscription_items=[{"id": si, "quantity": 3}],
            subscription_proration_date=FEB1 + 1,
        )
    assert err_tuple(exc)[:4] == (
        400,
        "invalid_request_error",
        None,
        "subscription_proration_date",
    )
