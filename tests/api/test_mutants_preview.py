"""Invoice previews pinned while reviewing the surviving mutants of billing/preview.py (issue 15):
ids and links of the lines, the hypothetical changes (added, changed, deleted items,
`cancel_at_period_end`, `cancel_now`, `billing_cycle_anchor=now`), trials and pending items.
Clocks start at JAN1; the current period is [JAN1, FEB1)."""

from __future__ import annotations

import re
from typing import Any

import stripe

from tests.api.billing_helpers import (
    DAY,
    FEB1,
    JAN1,
    MAR1,
    advance,
    clocked_sub,
    legacy_metered_price,
    licensed_price,
    report,
)
from tests.api.meter_helpers import make_meter

JAN11 = JAN1 + 10 * DAY
FEB11 = FEB1 + 10 * DAY


def _item(sub: Any, price_id: str) -> str:
    return str(next(i.id for i in sub["items"].data if i.price.id == price_id))


def _preview(client: stripe.StripeClient, sub: Any, **details: Any) -> Any:
    params: dict[str, Any] = {"subscription": sub.id}
    if details:
        params["subscription_details"] = details
    return client.v1.invoices.create_preview(params)  # type: ignore[arg-type]


def _lines(prev: Any) -> list[tuple[object, ...]]:
    """(amount, description, period start, period end, proration) of each acacia line."""
    return [
        (ln.amount, ln.description, ln.period.start, ln.period.end, ln.proration)
        for ln in prev.lines.data
    ]


def test_preview_ids_and_links_follow_stripe_formats(acacia: stripe.StripeClient) -> None:
    """`upcoming_in_` + 24 and `il_tmp_` + 24 characters; every line names the preview; an added
    item shows a temporary `si_tmp_` item id (14 characters, like `si_` ids), an existing one its
    own id; pending items come first."""
    pro, addon = licensed_price(acacia, 1000), licensed_price(acacia, 500, name="Add-on")
    _, cust, sub = clocked_sub(acacia, [pro.id])
    si = sub["items"].data[0].id
    acacia.v1.subscription_items.update(si, {"quantity": 2, "proration_behavior": "none"})
    acacia.v1.invoice_items.create({"customer": cust.id, "amount": 400, "currency": "usd"})
    prev = _preview(acacia, sub, items=[{"price": addon.id, "quantity": 3}])
    assert re.fullmatch(r"upcoming_in_[0-9A-Za-z]{24}", prev.id)
    for ln in prev.lines.data:
        assert re.fullmatch(r"il_tmp_[0-9A-Za-z]{24}", ln.id)
        assert ln.invoice == prev.id
    assert prev.id not in prev.lines.url  # the preview is not stored: it has no lines endpoint
    # pending item; the added item's remaining time from JAN1 (the whole period); next period
    assert _lines(prev) == [
        (400, None, JAN1, JAN1, False),
        (1500, "Remaining time on 3 × Add-on", JAN1, FEB1, True),
        (2000, "2 × Pro (at $10.00 / month)", FEB1, MAR1, False),
        (1500, "3 × Add-on (at $5.00 / month)", FEB1, MAR1, False),
    ]
    assert prev.total == 5400
    _, proration, pro_line, addon_line = prev.lines.data
    assert [ln.type for ln in prev.lines.data] == [
        "invoiceitem",
        "invoiceitem",
        "subscription",
        "subscription",
    ]
    assert pro_line.subscription_item == si
    assert re.fullmatch(r"si_tmp_[0-9A-Za-z]{14}", addon_line.subscription_item)
    assert re.fullmatch(r"si_tmp_[0-9A-Za-z]{14}", proration.subscription_item)
    assert [ln.quantity for ln in prev.lines.data] == [1, 3, 2, 3]


def test_changed_and_added_metered_items_show_no_usage_yet(acacia: stripe.StripeClient) -> None:
    """Classic billing mode: a metered item whose price changes, or a new one, bills only usage
    after the change, so the preview shows it with quantity 0 from now to the period end (the
    usage recorded under the old price is not shown); its line keeps the item's id."""
    old, new = legacy_metered_price(acacia, 7), legacy_metered_price(acacia, 9)
    extra = legacy_metered_price(acacia, 5)
    clk, _, sub = clocked_sub(acacia, [old.id])
    si = sub["items"].data[0].id
    report(acacia, si, 10, JAN1 + 60)
    advance(acacia, clk.id, JAN11)
    prev = _preview(acacia, sub, items=[{"id": si, "price": new.id}, {"price": extra.id}])
    assert _lines(prev) == [
        (0, "0 × API calls (at $0.09 / month)", JAN11, FEB1, False),
        (0, "0 × API calls (at $0.05 / month)", JAN11, FEB1, False),
    ]
    changed, added = prev.lines.data
    assert [(ln.price.id, ln.quantity, ln.currency) for ln in prev.lines.data] == [
        (new.id, 0, "usd"),
        (extra.id, 0, "usd"),
    ]
    assert [(ln.type, ln.subscription) for ln in prev.lines.data] == [("subscription", sub.id)] * 2
    assert changed.subscription_item == si
    assert re.fullmatch(r"si_tmp_[0-9A-Za-z]{14}", added.subscription_item)
    assert prev.total == 0
    # without the change the recorded usage is billed at the item's price
    assert _lines(_preview(acacia, sub)) == [
        (70, "10 × API calls (at $0.07 / month)", JAN1, FEB1, False)
    ]


def test_item_changes_apply_in_order_around_added_and_deleted_items(
    client: stripe.StripeClient,
) -> None:
    """Every entry of `items` counts: a deleted item leaves the preview, an added one joins it,
    and changes listed after either still apply; a quantity change keeps the item's price."""
    a, b = licensed_price(client, 1000, name="A"), licensed_price(client, 300, name="B")
    c = licensed_price(client, 50, name="C")
    _, _, sub = clocked_sub(client, [a.id, b.id], proration_behavior="none")
    sa, sb = _item(sub, a.id), _item(sub, b.id)
    # added first, then a quantity change of A (no prorations, to read only the next period)
    prev = _preview(
        client,
        sub,
        items=[{"price": c.id, "quantity": 4}, {"id": sa, "quantity": 2}],
        proration_behavior="none",
    )
    assert sorted(ln.amount for ln in prev.lines.data) == [200, 300, 2000]
    assert prev.total == 2000 + 300 + 200
    # deleted first, then a quantity change of B
    prev = _preview(
        client,
        sub,
        items=[{"id": sa, "deleted": True}, {"id": sb, "quantity": 5}],
        proration_behavior="none",
    )
    assert [(ln.amount, ln.description) for ln in prev.lines.data] == [
        (1500, "5 × B (at $3.00 / month)")
    ]


def test_cancel_at_period_end_leaves_out_the_next_period(acacia: stripe.StripeClient) -> None:
    """With `cancel_at_period_end` (the subscription's, or the hypothetical one, which wins) the
    preview is the last invoice: the period's usage and no licensed line for a next period."""
    lic, met = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    _, _, sub = clocked_sub(acacia, [lic.id, met.id])
    report(acacia, _item(sub, met.id), 10, JAN1 + 60)
    assert _preview(acacia, sub).total == 1070
    assert _preview(acacia, sub, cancel_at_period_end=True).total == 70
    acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert _preview(acacia, sub).total == 70
    assert _preview(acacia, sub, cancel_at_period_end=False).total == 1070


def test_preview_dates_of_renewal_cancel_now_and_anchor_now(client: stripe.StripeClient) -> None:
    """The renewal preview is dated at the period end; `cancel_now` and an anchor reset bill now
    (the invoice covers JAN1 to now), the reset starting a new month from now."""
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, JAN11)
    renewal = _preview(client, sub)
    assert (renewal.created, renewal.period_start, renewal.period_end) == (FEB1, JAN1, FEB1)
    assert renewal.billing_reason == "upcoming"
    assert [(ln.period.start, ln.period.end) for ln in renewal.lines.data] == [(FEB1, MAR1)]
    gone = _preview(client, sub, cancel_now=True)
    assert (gone.created, gone.period_start, gone.period_end) == (JAN11, JAN1, JAN11)
    assert (gone.billing_reason, gone.lines.data, gone.total) == ("upcoming", [], 0)
    reset = _preview(client, sub, billing_cycle_anchor="now")
    assert (reset.created, reset.period_start, reset.period_end) == (JAN11, JAN1, JAN11)
    assert [(ln.amount, ln.period.start, ln.period.end) for ln in reset.lines.data] == [
        (1000, JAN11, FEB11)
    ]


def test_usage_on_an_immediate_preview_counts_up_to_now(acacia: stripe.StripeClient) -> None:
    """`cancel_now` bills usage stamped up to now, that second included; usage stamped one second
    later (accepted: up to 5 minutes ahead) waits."""
    met = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [met.id])
    si = sub["items"].data[0].id
    advance(acacia, clk.id, JAN11)
    report(acacia, si, 10, JAN11)
    report(acacia, si, 100, JAN11 + 1)
    prev = _preview(acacia, sub, cancel_now=True)
    assert [(ln.quantity, ln.amount) for ln in prev.lines.data] == [(10, 70)]
    assert _lines(prev) == [(70, "10 × API calls (at $0.07 / month)", JAN1, JAN11, False)]


def test_meter_usage_stamped_at_the_period_end_is_not_in_the_renewal_preview(
    client: stripe.StripeClient,
) -> None:
    """A meter event may be stamped up to 5 minutes ahead: one at the period end belongs to the
    next period, not to the invoice the preview shows."""
    meter = make_meter(client)
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 10,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            "product_data": {"name": "API calls"},
        }
    )
    clk, cust, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, FEB1 - 60)
    for value, ts in ((3, FEB1 - 1), (50, FEB1)):
        client.v1.billing.meter_events.create(
            {
                "event_name": "api_calls",
                "payload": {"stripe_customer_id": cust.id, "value": str(value)},
                "timestamp": ts,
            }
        )
    prev = _preview(client, sub)
    assert [(ln.quantity, ln.amount) for ln in prev.lines.data] == [(3, 30)]


def test_no_usage_line_after_an_anchor_reset_in_the_same_second(
    acacia: stripe.StripeClient,
) -> None:
    """An anchor reset invoices the usage up to now at once; a `cancel_now` preview in the same
    second has no usage left to bill, so no line (not an empty one ending before it starts)."""
    met = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [met.id])
    advance(acacia, clk.id, JAN11)
    report(acacia, sub["items"].data[0].id, 10, JAN11)
    acacia.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    prev = _preview(acacia, sub, cancel_now=True)
    assert (prev.lines.data, prev.total) == ([], 0)


def test_trialing_preview_has_no_usage_line_and_no_prorations(acacia: stripe.StripeClient) -> None:
    """Usage during a trial is free: the first invoice after it has no usage line; an item change
    during the trial creates no prorations (the next period is billed at the new quantity)."""
    lic, met = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    _, _, sub = clocked_sub(acacia, [lic.id, met.id], trial_period_days=10)
    assert sub.status == "trialing"
    report(acacia, _item(sub, met.id), 10, JAN1 + 60)
    prev = _preview(acacia, sub)
    assert _lines(prev) == [(1000, "1 × Pro (at $10.00 / month)", JAN11, FEB11, False)]
    changed = _preview(acacia, sub, items=[{"id": _item(sub, lic.id), "quantity": 2}])
    assert _lines(changed) == [(2000, "2 × Pro (at $10.00 / month)", JAN11, FEB11, False)]


def test_cancel_now_with_an_item_change_shows_no_prorations(acacia: stripe.StripeClient) -> None:
    """`cancel_now` ends the subscription now: an item change alongside it prorates nothing and
    bills no next period, only the usage so far."""
    lic, met = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [lic.id, met.id])
    advance(acacia, clk.id, JAN11)
    report(acacia, _item(sub, met.id), 10, JAN1 + 60)
    prev = _preview(acacia, sub, cancel_now=True, items=[{"id": _item(sub, lic.id), "quantity": 3}])
    assert _lines(prev) == [(70, "10 × API calls (at $0.07 / month)", JAN1, JAN11, False)]


def test_preview_shows_only_the_pending_items_this_subscription_would_take(
    client: stripe.StripeClient,
) -> None:
    """Pending items of the customer without a subscription or of this one go on the preview,
    first; a deleted one and one of the customer's other subscription do not."""
    _, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    other = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 2000).id}]}
    )
    mk = client.v1.invoice_items.create
    mk({"customer": cust.id, "amount": 400, "currency": "usd"})
    client.v1.invoice_items.delete(mk({"customer": cust.id, "amount": 500, "currency": "usd"}).id)
    mk({"customer": cust.id, "amount": 700, "currency": "usd", "subscription": other.id})
    mk({"customer": cust.id, "amount": 60, "currency": "usd", "subscription": sub.id})
    prev = _preview(client, sub)
    assert sorted(ln.amount for ln in prev.lines.data[:2]) == [60, 400]
    assert [ln.amount for ln in prev.lines.data[2:]] == [1000]
    assert prev.total == 1460
    assert client.v1.invoices.create_preview({"subscription": other.id}).total == 2000 + 700 + 400
    # preview_mode=recurring: the subscription's own lines only
    recurring = client.v1.invoices.create_preview(
        {"subscription": sub.id, "preview_mode": "recurring"}
    )
    assert recurring.total == 1000


def test_preview_of_pending_items_only_has_preview_ids(client: stripe.StripeClient) -> None:
    """A customer without a subscription: the preview of its pending items has the same id
    formats as a subscription's and no per-invoice lines URL (it is not stored)."""
    cust = client.v1.customers.create({})
    client.v1.invoice_items.create({"customer": cust.id, "amount": 400, "currency": "eur"})
    prev = client.v1.invoices.create_preview({"customer": cust.id})
    assert re.fullmatch(r"upcoming_in_[0-9A-Za-z]{24}", prev.id)
    assert [
        re.fullmatch(r"il_tmp_[0-9A-Za-z]{24}", ln.id) is not None for ln in prev.lines.data
    ] == [True]
    assert prev.id not in prev.lines.url
    assert (prev.currency, prev.total, prev.billing_reason) == ("eur", 400, "upcoming")


def test_an_added_metered_item_with_a_flat_first_tier_shows_the_flat_fee(
    acacia: stripe.StripeClient,
) -> None:
    """A volume-tiered metered price whose first tier has a flat amount bills that amount for no
    usage (the emulator's documented choice for Q = 0): an added item shows it, quantity 0."""
    base = legacy_metered_price(acacia, 7)
    tiered = acacia.v1.prices.create(
        {
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [
                {"up_to": 10, "unit_amount": 5, "flat_amount": 100},
                {"up_to": "inf", "unit_amount": 3},
            ],
            "recurring": {"interval": "month", "usage_type": "metered"},
            "product_data": {"name": "Calls"},
        }
    )
    _, _, sub = clocked_sub(acacia, [base.id])
    prev = _preview(acacia, sub, items=[{"price": tiered.id}])
    added = next(ln for ln in prev.lines.data if ln.price.id == tiered.id)
    assert (added.quantity, added.amount) == (0, 100)
