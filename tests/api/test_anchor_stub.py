"""A future `billing_cycle_anchor` on create: the stub period up to the anchor is prorated
(Stripe's default `proration_behavior=create_prorations`), free with `proration_behavior=none`,
and after a trial ("combining trials with billing_cycle_anchor": a free period, a prorated
period, then the anchor's cycle). Amounts read on the invoices a customer gets; the shares are
worked by hand in days of January 2026 (31 days)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import DAY, FEB1, JAN1, advance, err_tuple, new_clock

JAN10 = JAN1 + 9 * DAY  # 2026-01-10
JAN17 = JAN1 + 16 * DAY  # 2026-01-17
FEB10 = FEB1 + 9 * DAY
FEB17 = FEB1 + 16 * DAY  # 1771286400
MAR1 = FEB1 + 28 * DAY


def _setup(client: stripe.StripeClient, amount: int = 3100) -> tuple[Any, Any, Any]:
    clk = new_clock(client, JAN10)
    cus = client.v1.customers.create({"test_clock": clk.id})
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Plan"},
        }
    )
    return clk, cus, price


def _subscribe(client: stripe.StripeClient, cus: Any, price: Any, **extra: Any) -> Any:
    params = {
        "customer": cus.id,
        "items": [{"price": price.id}],
        "collection_method": "send_invoice",
        "days_until_due": 30,
        **extra,
    }
    return client.v1.subscriptions.create(params)  # type: ignore[arg-type]


def _latest(client: stripe.StripeClient, sub_id: str) -> tuple[int, list[tuple[int, int, int]]]:
    """(amount_due, [(amount, period start, period end)]) of the subscription's latest invoice."""
    sub = client.v1.subscriptions.retrieve(sub_id)
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    return inv.amount_due, [(ln.amount, ln.period.start, ln.period.end) for ln in inv.lines.data]


def test_the_stub_before_the_anchor_is_prorated(client: stripe.StripeClient) -> None:
    """Jan 10 to Feb 1 is 22 of January's 31 days: 3100 x 22/31 = 2200; then a full month."""
    clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, billing_cycle_anchor=FEB1)
    assert _latest(client, sub.id) == (2200, [(2200, JAN10, FEB1)])
    advance(client, clk.id, FEB1 + 7200)
    assert _latest(client, sub.id) == (3100, [(3100, FEB1, MAR1)])


def test_the_stub_share_rounds_half_up_in_cents(client: stripe.StripeClient) -> None:
    """1000 x 22/31 = 709.68 cents: 710."""
    _clk, cus, price = _setup(client, amount=1000)
    sub = _subscribe(client, cus, price, billing_cycle_anchor=FEB1)
    assert _latest(client, sub.id)[0] == 710


def test_an_anchor_one_day_ahead_bills_one_day(client: stripe.StripeClient) -> None:
    """Anchor Jan 11: the anchor's whole period is Dec 11 to Jan 11 (31 days): 3100 / 31."""
    _clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, billing_cycle_anchor=JAN10 + DAY)
    assert _latest(client, sub.id) == (100, [(100, JAN10, JAN10 + DAY)])


def test_an_anchor_at_the_natural_date_bills_the_whole_period(
    client: stripe.StripeClient,
) -> None:
    _clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, billing_cycle_anchor=FEB10)
    assert _latest(client, sub.id) == (3100, [(3100, JAN10, FEB10)])


def test_proration_behavior_none_makes_the_stub_free(client: stripe.StripeClient) -> None:
    clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, billing_cycle_anchor=FEB1, proration_behavior="none")
    assert _latest(client, sub.id) == (0, [(0, JAN10, FEB1)])
    advance(client, clk.id, FEB1 + 7200)
    assert _latest(client, sub.id) == (3100, [(3100, FEB1, MAR1)])


def test_a_trial_then_a_prorated_stub_then_the_anchor_cycle(
    client: stripe.StripeClient,
) -> None:
    """Trial to Jan 17 (free), Jan 17 to Feb 1 prorated (15/31 of 3100 = 1500), then Feb 1."""
    clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, trial_end=JAN17, billing_cycle_anchor=FEB1)
    assert (sub.status, sub.billing_cycle_anchor, sub.trial_end) == ("trialing", FEB1, JAN17)
    assert _latest(client, sub.id)[0] == 0
    preview = client.v1.invoices.create_preview({"subscription": sub.id})
    assert [(ln.amount, ln.period.start, ln.period.end) for ln in preview.lines.data] == [
        (1500, JAN17, FEB1)
    ]
    advance(client, clk.id, JAN17 + 7200)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert _latest(client, sub.id) == (1500, [(1500, JAN17, FEB1)])
    advance(client, clk.id, FEB1 + 7200)
    assert _latest(client, sub.id) == (3100, [(3100, FEB1, MAR1)])


def test_a_trial_then_a_free_stub_with_proration_behavior_none(
    client: stripe.StripeClient,
) -> None:
    clk, cus, price = _setup(client)
    sub = _subscribe(
        client, cus, price, trial_end=JAN17, billing_cycle_anchor=FEB1, proration_behavior="none"
    )
    advance(client, clk.id, JAN17 + 7200)
    assert _latest(client, sub.id) == (0, [(0, JAN17, FEB1)])
    advance(client, clk.id, FEB1 + 7200)
    assert _latest(client, sub.id)[0] == 3100


def test_an_anchor_at_the_trial_end_is_a_plain_trial(client: stripe.StripeClient) -> None:
    clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, trial_end=JAN17, billing_cycle_anchor=JAN17)
    advance(client, clk.id, JAN17 + 7200)
    assert _latest(client, sub.id) == (3100, [(3100, JAN17, FEB17)])


def test_an_anchor_one_natural_period_after_the_trial_is_allowed(
    client: stripe.StripeClient,
) -> None:
    _clk, cus, price = _setup(client)
    sub = _subscribe(client, cus, price, trial_end=JAN17, billing_cycle_anchor=FEB17)
    assert sub.billing_cycle_anchor == FEB17


@pytest.mark.parametrize(
    ("anchor", "message"),
    [
        (
            FEB17 + 1,
            "billing_cycle_anchor cannot be later than next natural billing date (1771286400) "
            "for plan",
        ),
        (JAN17 - 1, "billing_cycle_anchor cannot be earlier than trial_end."),
        (JAN10, "Invalid timestamp: must be an integer Unix timestamp in the future."),
    ],
)
def test_an_anchor_outside_the_trial_s_natural_period_is_refused(
    client: stripe.StripeClient, anchor: int, message: str
) -> None:
    _clk, cus, price = _setup(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _subscribe(client, cus, price, trial_end=JAN17, billing_cycle_anchor=anchor)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "billing_cycle_anchor",
        message,
    )
    assert client.v1.subscriptions.list({"customer": cus.id, "status": "all"}).data == []
