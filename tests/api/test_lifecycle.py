"""Subscription lifecycle and metered billing through the SDK (acacia: legacy usage records):
cycle invoices in arrears, exact-second boundaries, late usage in the grace, mid-cycle changes,
thresholds, anchor resets, backdating, cancellation, trials and wall-clock renewals."""

from __future__ import annotations

import time
from typing import Any

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
    invoices_of,
    legacy_metered_price,
    licensed_price,
    metered_line,
    report,
    set_account,
)
from tests.api.meter_helpers import day0, make_meter, send
from tests.conftest import err_of


def _metered_sub(acacia: stripe.StripeClient, **extra: Any) -> tuple[Any, Any, str]:
    price = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [price.id], **extra)
    return clk, sub, sub["items"].data[0].id


def test_cycle_invoice_bills_usage_in_arrears(acacia: stripe.StripeClient) -> None:
    lic = licensed_price(acacia, 1000)
    met = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [lic.id, met.id])
    si = next(i.id for i in sub["items"].data if i.price.id == met.id)
    first = acacia.v1.invoices.retrieve(sub.latest_invoice)
    assert first.total == 1000
    assert metered_line(first).quantity == 0  # metered lines show 0 on the first invoice
    report(acacia, si, 100, JAN1 + 60)
    advance(acacia, clk.id, FEB1 + HOUR)
    cycle = invoices_of(acacia, sub.id)[-1]
    assert (cycle.billing_reason, cycle.status) == ("subscription_cycle", "paid")
    line = metered_line(cycle)
    assert (line.quantity, line.amount) == (100, 700)
    assert (line.period.start, line.period.end) == (JAN1, FEB1)
    licensed = next(ln for ln in cycle.lines.data if ln.price.id == lic.id)
    assert (licensed.period.start, licensed.period.end) == (FEB1, MAR1)
    assert cycle.total == 1700


def test_usage_at_period_end_belongs_to_next_period(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    advance(acacia, clk.id, FEB1 - 1)
    report(acacia, si, 5, FEB1 - 1)
    advance(acacia, clk.id, FEB1)
    report(acacia, si, 7, FEB1)
    jan = invoices_of(acacia, sub.id)[-1]
    assert jan.status == "draft"
    assert metered_line(jan).quantity == 5
    advance(acacia, clk.id, MAR1 + HOUR)
    invs = invoices_of(acacia, sub.id)
    assert [metered_line(i).quantity for i in invs[1:]] == [5, 7]


def test_late_usage_during_grace_lands_on_the_draft(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    report(acacia, si, 10, JAN1 + 5)
    advance(acacia, clk.id, FEB1 + 60)
    draft = invoices_of(acacia, sub.id)[-1]
    assert (draft.status, metered_line(draft).quantity) == ("draft", 10)
    report(acacia, si, 4, FEB1 - 30)  # clock-drift grace: still the January period
    assert metered_line(acacia.v1.invoices.retrieve(draft.id)).quantity == 14
    advance(acacia, clk.id, FEB1 + HOUR)
    final = acacia.v1.invoices.retrieve(draft.id)
    assert final.status == "paid"
    assert (metered_line(final).quantity, final.total) == (14, 98)


def test_price_change_bills_only_later_usage_at_new_price(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    report(acacia, si, 100, JAN1 + 10)
    mid = JAN1 + 14 * DAY
    advance(acacia, clk.id, mid)
    new_price = legacy_metered_price(acacia, 10)
    acacia.v1.subscription_items.update(si, {"price": new_price.id})
    report(acacia, si, 50, mid + 10)
    advance(acacia, clk.id, FEB1)
    line = metered_line(invoices_of(acacia, sub.id)[-1])
    assert line.price.id == new_price.id
    assert (line.quantity, line.amount) == (50, 500)
    assert (line.period.start, line.period.end) == (mid, FEB1)


def test_anchor_now_bills_earlier_usage_at_old_price(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    report(acacia, si, 100, JAN1 + 10)
    mid = JAN1 + 14 * DAY
    advance(acacia, clk.id, mid)
    new_price = legacy_metered_price(acacia, 10)
    updated = acacia.v1.subscriptions.update(
        sub.id, {"items": [{"id": si, "price": new_price.id}], "billing_cycle_anchor": "now"}
    )
    assert (updated.current_period_start, updated.billing_cycle_anchor) == (mid, mid)
    inv = acacia.v1.invoices.retrieve(updated.latest_invoice)
    assert inv.billing_reason == "subscription_update"
    old = next(ln for ln in inv.lines.data if ln.price.id != new_price.id)
    assert (old.quantity, old.amount) == (100, 700)


def test_item_added_mid_cycle_bills_from_its_start(acacia: stripe.StripeClient) -> None:
    clk, sub, _ = _metered_sub(acacia)
    added_at = JAN1 + 9 * DAY
    advance(acacia, clk.id, added_at)
    other = legacy_metered_price(acacia, 3)
    item = acacia.v1.subscription_items.create({"subscription": sub.id, "price": other.id})
    report(acacia, item.id, 20, added_at + 5)
    advance(acacia, clk.id, FEB1)
    line = next(ln for ln in invoices_of(acacia, sub.id)[-1].lines.data if ln.price.id == other.id)
    assert (line.quantity, line.amount) == (20, 60)
    assert line.period.start == added_at


def test_deleted_item_usage_is_not_invoiced(acacia: stripe.StripeClient) -> None:
    a, b = legacy_metered_price(acacia, 7), legacy_metered_price(acacia, 9)
    clk, _, sub = clocked_sub(acacia, [a.id, b.id])
    gone = next(i.id for i in sub["items"].data if i.price.id == b.id)
    report(acacia, gone, 30, JAN1 + 10)
    advance(acacia, clk.id, JAN1 + DAY)
    acacia.v1.subscription_items.delete(gone, {"clear_usage": True})
    advance(acacia, clk.id, FEB1)
    prices = [ln.price.id for ln in invoices_of(acacia, sub.id)[-1].lines.data]
    assert prices == [a.id]


def test_amount_threshold_invoice(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia, billing_thresholds={"amount_gte": 1000})
    report(acacia, si, 100, JAN1)
    assert len(invoices_of(acacia, sub.id)) == 1
    report(acacia, si, 50, JAN1)
    th = invoices_of(acacia, sub.id)[-1]
    assert th.billing_reason == "subscription_threshold"
    assert th.threshold_reason.amount_gte == 1000
    assert (th.total, th.status) == (1050, "paid")
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 10, JAN1 + DAY)
    advance(acacia, clk.id, FEB1)
    cycle = invoices_of(acacia, sub.id)[-1]
    assert cycle.billing_reason == "subscription_cycle"
    assert metered_line(cycle).quantity == 10  # not billed twice


def test_item_usage_threshold_with_anchor_reset(acacia: stripe.StripeClient) -> None:
    price = legacy_metered_price(acacia, 7)
    clk = acacia.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cust = acacia.v1.customers.create({"test_clock": clk.id})
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cust.id,
            "items": [{"price": price.id, "billing_thresholds": {"usage_gte": 100}}],
            "billing_thresholds": {"amount_gte": 100_000, "reset_billing_cycle_anchor": True},
        }
    )
    si = sub["items"].data[0].id
    at = JAN1 + 5 * DAY
    advance(acacia, clk.id, at)
    report(acacia, si, 120, at)
    th = invoices_of(acacia, sub.id)[-1]
    assert th.threshold_reason.amount_gte is None
    reason = th.threshold_reason.item_reasons[0]
    assert reason.usage_gte == 100
    assert reason.line_item_ids == [metered_line(th).id]
    assert acacia.v1.subscriptions.retrieve(sub.id).current_period_start == at


def test_backdated_usage_goes_on_first_cycle_invoice(acacia: stripe.StripeClient) -> None:
    price = legacy_metered_price(acacia, 7)
    start = JAN1 - 5 * DAY
    clk, _, sub = clocked_sub(acacia, [price.id], backdate_start_date=start)
    si = sub["items"].data[0].id
    report(acacia, si, 8, JAN1 - 2 * DAY)
    end = sub.current_period_end
    advance(acacia, clk.id, end)
    line = metered_line(invoices_of(acacia, sub.id)[-1])
    assert (line.quantity, line.period.start) == (8, start)


def test_cancel_invoice_now_bills_accrued_usage(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 10, JAN1 + DAY)
    canceled = acacia.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    assert (canceled.status, canceled.ended_at) == ("canceled", JAN1 + DAY)
    final = acacia.v1.invoices.retrieve(canceled.latest_invoice)
    assert (final.status, final.total) == ("paid", 70)
    assert metered_line(final).quantity == 10


def test_cancel_without_invoice_now_discards_usage(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    report(acacia, si, 10, JAN1 + 1)
    acacia.v1.subscriptions.cancel(sub.id)
    advance(acacia, clk.id, MAR1)
    assert len(invoices_of(acacia, sub.id)) == 1


def test_cancel_at_period_end_final_invoice_then_canceled(acacia: stripe.StripeClient) -> None:
    lic = licensed_price(acacia, 1000)
    met = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [lic.id, met.id])
    si = next(i.id for i in sub["items"].data if i.price.id == met.id)
    advance(acacia, clk.id, JAN1 + 9 * DAY)
    pending = acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert (pending.cancel_at, pending.status) == (FEB1, "active")
    report(acacia, si, 10, JAN1 + 9 * DAY)
    advance(acacia, clk.id, FEB1 + HOUR)
    done = acacia.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", FEB1)
    final = invoices_of(acacia, sub.id)[-1]
    assert (final.status, final.total) == ("paid", 70)  # usage only: no next period
    advance(acacia, clk.id, MAR1 + HOUR)
    assert len(invoices_of(acacia, sub.id)) == 2


def test_reactivation_before_period_end(acacia: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(acacia, [licensed_price(acacia, 1000).id])
    acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    back = acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert (back.cancel_at_period_end, back.cancel_at) == (False, None)
    advance(acacia, clk.id, FEB1 + HOUR)
    renewed = acacia.v1.subscriptions.retrieve(sub.id)
    assert (renewed.status, renewed.current_period_start) == ("active", FEB1)


def test_canceled_subscription_cannot_be_reactivated(acacia: stripe.StripeClient) -> None:
    _, sub, _ = _metered_sub(acacia)
    acacia.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert exc.value.http_status == 400
    assert err_of(exc)["message"] == (
        "A canceled subscription can only update its cancellation_details and metadata."
    )


def test_trial_then_first_paid_invoice(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_period_days=7)
    assert sub.status == "trialing"
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.total, first.status) == (0, "paid")
    advance(client, clk.id, JAN1 + 7 * DAY + HOUR)
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active"
    paid = invoices_of(client, sub.id)[-1]
    assert (paid.total, paid.status) == (5000, "paid")


def test_wall_clock_subscription_rolls_lazily(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    cust = client.v1.customers.create({})
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client).id}]}
    )
    end = sub["items"].data[0].current_period_end
    set_account(server, api_key, clock_offset=end - int(time.time()) + 10)
    rolled = client.v1.subscriptions.retrieve(sub.id)
    assert rolled["items"].data[0].current_period_start == end
    cycle = client.v1.invoices.retrieve(rolled.latest_invoice)
    assert (cycle.billing_reason, cycle.status, cycle.created) == (
        "subscription_cycle",
        "draft",
        end,
    )


def test_meter_backed_price_bills_meter_usage(client: stripe.StripeClient) -> None:
    start = day0()
    meter = make_meter(client, "engine_calls")
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 3,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            "product_data": {"name": "Calls"},
        }
    )
    clk, cust, sub = clocked_sub(client, [price.id], at=start)
    send(client, cust.id, 40, start + 10, name="engine_calls")
    send(client, cust.id, 2, start + 20, name="engine_calls")
    prev = client.v1.invoices.create_preview({"subscription": sub.id})
    assert [(ln.quantity, ln.amount) for ln in prev.lines.data] == [(42, 126)]
    end = sub["items"].data[0].current_period_end
    advance(client, clk.id, end + HOUR)
    cycle = invoices_of(client, sub.id)[-1]
    assert (cycle.status, cycle.total) == ("paid", 126)


def test_cancel_at_inside_the_period(acacia: stripe.StripeClient) -> None:
    clk, sub, si = _metered_sub(acacia)
    report(acacia, si, 10, JAN1)
    acacia.v1.subscriptions.update(sub.id, {"cancel_at": JAN1 + 10 * DAY})
    advance(acacia, clk.id, JAN1 + 20 * DAY)
    done = acacia.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", JAN1 + 10 * DAY)
    final = invoices_of(acacia, sub.id)[-1]
    assert (final.created, final.total) == (JAN1 + 10 * DAY, 70)


def test_unpaid_first_invoice_expires_after_23_hours(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(
        client, [licensed_price(client).id], customer={"metadata": {"_mock_payment": "fail"}}
    )
    assert sub.status == "incomplete"
    advance(client, clk.id, JAN1 + 23 * HOUR - 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    advance(client, clk.id, JAN1 + 23 * HOUR)
    gone = client.v1.subscriptions.retrieve(sub.id)
    assert (gone.status, gone.ended_at) == ("incomplete_expired", JAN1 + 23 * HOUR)
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "void"
    advance(client, clk.id, FEB1 + HOUR)
    assert len(invoices_of(client, sub.id)) == 1  # no further invoices
