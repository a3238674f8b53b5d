"""Subscription periods through the SDK: billing_cycle_anchor + n intervals with Stripe's
month-end rule (checked against an independent calendar computation), future anchors and the
natural-date limit, backdating, trials; on test clocks so every timestamp is exact."""

from __future__ import annotations

import pytest
import stripe

from tests.api.test_subscriptions import (
    DAY,
    JAN31,
    clocked_customer,
    create,
    month_end_boundary,
    price,
    rejected,
    ts,
)

# --- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "interval", "count"),
    [
        (JAN31, "month", 1),
        (ts(2024, 2, 29), "year", 1),
        (ts(2026, 3, 30), "month", 3),
        (ts(2026, 5, 6), "week", 2),
        (ts(2026, 5, 6), "day", 10),
    ],
)
def test_first_period_is_anchor_plus_one_interval(
    acacia: stripe.StripeClient, start: int, interval: str, count: int
) -> None:
    cus = clocked_customer(acacia, start)
    p = price(acacia, recurring={"interval": interval, "interval_count": count})
    sub = create(acacia, customer=cus.id, items=[{"price": p.id}])
    assert sub.billing_cycle_anchor == start == sub.start_date == sub.created
    assert sub.to_dict()["current_period_start"] == start
    if interval in ("day", "week"):
        expected = start + count * (7 if interval == "week" else 1) * DAY
    else:
        expected = month_end_boundary(start, count * (12 if interval == "year" else 1))
    assert sub.to_dict()["current_period_end"] == expected


def test_jan31_monthly_first_period_ends_feb28(acacia: stripe.StripeClient) -> None:
    cus = clocked_customer(acacia, JAN31)
    sub = create(acacia, customer=cus.id, items=[{"price": price(acacia).id}])
    assert sub.to_dict()["current_period_end"] == ts(2026, 2, 28)


def test_backdated_start_period_contains_now_with_month_end_rule(
    acacia: stripe.StripeClient,
) -> None:
    now = ts(2026, 6, 15)
    cus = clocked_customer(acacia, now)
    sub = create(
        acacia, customer=cus.id, items=[{"price": price(acacia).id}], backdate_start_date=JAN31
    )
    d = sub.to_dict()
    assert d["start_date"] == JAN31
    assert d["billing_cycle_anchor"] == JAN31
    # boundaries: Feb 28, Mar 31, Apr 30, May 31, Jun 30: now lies in May 31 .. Jun 30
    assert (d["current_period_start"], d["current_period_end"]) == (
        ts(2026, 5, 31),
        ts(2026, 6, 30),
    )
    assert [month_end_boundary(JAN31, n) for n in range(6)] == [
        JAN31,
        ts(2026, 2, 28),
        ts(2026, 3, 31),
        ts(2026, 4, 30),
        ts(2026, 5, 31),
        ts(2026, 6, 30),
    ]


def test_basil_periods_on_items(client: stripe.StripeClient) -> None:
    cus = clocked_customer(client, JAN31)
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}])
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (JAN31, ts(2026, 2, 28))
    assert "current_period_end" not in sub.to_dict()


def test_future_anchor_gives_a_stub_first_period(acacia: stripe.StripeClient) -> None:
    now = ts(2026, 1, 10)
    anchor = ts(2026, 2, 1, 0, 0, 0)
    cus = clocked_customer(acacia, now)
    sub = create(
        acacia, customer=cus.id, items=[{"price": price(acacia).id}], billing_cycle_anchor=anchor
    )
    d = sub.to_dict()
    assert d["billing_cycle_anchor"] == anchor
    assert (d["current_period_start"], d["current_period_end"]) == (now, anchor)


def test_anchor_at_the_natural_date_is_allowed(acacia: stripe.StripeClient) -> None:
    cus = clocked_customer(acacia, JAN31)
    natural = ts(2026, 2, 28)
    sub = create(
        acacia, customer=cus.id, items=[{"price": price(acacia).id}], billing_cycle_anchor=natural
    )
    assert sub.billing_cycle_anchor == natural


def test_anchor_after_the_natural_date(acacia: stripe.StripeClient) -> None:
    cus = clocked_customer(acacia, JAN31)
    e = rejected(
        acacia,
        customer=cus.id,
        items=[{"price": price(acacia).id}],
        billing_cycle_anchor=ts(2026, 2, 28) + 1,
    )
    assert e["param"] == "billing_cycle_anchor"
    assert e["message"] == (
        f"billing_cycle_anchor cannot be later than next natural billing date ({ts(2026, 2, 28)}) "
        "for plan"
    )


@pytest.mark.parametrize("delta", [0, -DAY])
def test_anchor_must_be_in_the_future(acacia: stripe.StripeClient, delta: int) -> None:
    cus = clocked_customer(acacia, JAN31)
    e = rejected(
        acacia,
        customer=cus.id,
        items=[{"price": price(acacia).id}],
        billing_cycle_anchor=JAN31 + delta,
    )
    assert (e["param"], e["message"]) == (
        "billing_cycle_anchor",
        "Invalid timestamp: must be an integer Unix timestamp in the future.",
    )


def test_backdate_must_be_in_the_past(acacia: stripe.StripeClient) -> None:
    cus = clocked_customer(acacia, JAN31)
    e = rejected(
        acacia,
        customer=cus.id,
        items=[{"price": price(acacia).id}],
        backdate_start_date=JAN31 + DAY,
    )
    assert e["param"] == "backdate_start_date"


def test_anchor_not_an_integer(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    e = rejected(
        client, customer=cus.id, items=[{"price": price(client).id}], billing_cycle_anchor="soon"
    )
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_invalid_integer",
        "billing_cycle_anchor",
        "Invalid integer: soon",
    )


def test_trial_period_days(acacia: stripe.StripeClient) -> None:
    cus = clocked_customer(acacia, JAN31)
    sub = create(acacia, customer=cus.id, items=[{"price": price(acacia).id}], trial_period_days=14)
    d = sub.to_dict()
    assert d["status"] == "trialing"
    assert (d["trial_start"], d["trial_end"]) == (JAN31, JAN31 + 14 * DAY)
    assert (d["current_period_start"], d["current_period_end"]) == (JAN31, JAN31 + 14 * DAY)
