"""The time-driven engine on a bare account (no HTTP): renewals follow the anchor's boundaries,
advancing in one step or many gives the same invoices, and metered usage is billed exactly once."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mock_billing.billing import engine, lifecycle
from stripe_mock_billing.billing.periods import boundaries_between, period_containing
from stripe_mock_billing.billing.rating import RatingPrice
from stripe_mock_billing.billing.usage import ItemUsage
from stripe_mock_billing.config import Settings
from stripe_mock_billing.domain.customers import Customer
from stripe_mock_billing.domain.prices import Price, Recurring
from stripe_mock_billing.domain.products import Product
from stripe_mock_billing.domain.subscriptions import Subscription, SubscriptionItem
from stripe_mock_billing.domain.test_clocks import TestClock
from stripe_mock_billing.store import Namespace, Store

JAN31 = 1_769_866_200  # 2026-01-31T13:30:00Z: a month-end anchor with a time of day


def _account(grace: int = 3600) -> Namespace:
    ns = Store(Settings()).namespace("sk_test_unit")
    ns.settings.finalization_grace = grace
    return ns


def _subscription(ns: Namespace, anchor: int, interval: str, count: int) -> Subscription:
    clk = TestClock(id="clock_1", created=0, frozen_time=anchor)
    ns.test_clocks[clk.id] = clk
    cust = Customer(id="cus_1", created=anchor, test_clock=clk.id, invoice_prefix="UNIT")
    ns.customers[cust.id] = cust
    engine.customer_created(ns, cust)
    ns.products["prod_1"] = Product(id="prod_1", created=0, updated=0, name="Usage")
    for pid, usage in (("price_lic", "licensed"), ("price_met", "metered")):
        ns.prices[pid] = Price(
            id=pid,
            created=0,
            product="prod_1",
            currency="usd",
            rating=RatingPrice(unit_amount_decimal=Decimal(3)),
            recurring=Recurring(
                interval=interval,
                interval_count=count,
                usage_type=usage,
                aggregate_usage="sum" if usage == "metered" else None,
            ),
        )
    start, end = period_containing(anchor, interval, count, anchor)
    sub = Subscription(
        id="sub_1",
        customer=cust.id,
        created=anchor,
        start_date=anchor,
        billing_cycle_anchor=anchor,
        interval=interval,
        interval_count=count,
        currency="usd",
        current_period_start=start,
        current_period_end=end,
        test_clock=clk.id,
    )
    ns.subscriptions[sub.id] = sub
    for iid, pid, qty in (("si_lic", "price_lic", 2), ("si_met", "price_met", None)):
        ns.subscription_items[iid] = SubscriptionItem(
            id=iid, subscription=sub.id, price=pid, created=anchor, quantity=qty
        )
        sub.item_ids.append(iid)
    engine.subscription_created(ns, sub)
    return sub


def _summary(ns: Namespace, sub: Subscription) -> list[tuple[Any, ...]]:
    out = []
    for inv_id in sub.invoice_ids:
        inv = ns.invoices[inv_id]
        lines = tuple((ln.price, ln.period_start, ln.period_end, ln.quantity) for ln in inv.lines)
        out.append((inv.billing_reason, inv.created, inv.status, inv.finalized_at, lines))
    return out


def _run(
    anchor: int, interval: str, count: int, steps: list[int], usage: list[tuple[int, int]]
) -> tuple[Namespace, Subscription]:
    ns = _account()
    sub = _subscription(ns, anchor, interval, count)
    store = ItemUsage()
    for ts, qty in sorted(usage):
        store.record(ts, qty)
    ns.usage["si_met"] = store
    t = anchor
    for step in steps:
        t += step
        ns.test_clocks["clock_1"].frozen_time = t
        engine.advance_clock(ns, "clock_1", t)
    return ns, sub


intervals = st.sampled_from([("day", 1), ("week", 1), ("month", 1), ("month", 3), ("year", 1)])


@settings(max_examples=40, deadline=None)
@given(
    anchor=st.sampled_from([JAN31, JAN31 - 30 * 86_400, 1_709_164_800]),  # incl. Feb 29, 2024
    spec=intervals,
    steps=st.lists(st.integers(1, 200 * 86_400), min_size=1, max_size=6),
)
def test_one_step_equals_many_steps(anchor: int, spec: tuple[str, int], steps: list[int]) -> None:
    interval, count = spec
    ns_many, sub_many = _run(anchor, interval, count, steps, [])
    ns_one, sub_one = _run(anchor, interval, count, [sum(steps)], [])
    assert _summary(ns_many, sub_many) == _summary(ns_one, sub_one)


@settings(max_examples=40, deadline=None)
@given(spec=intervals, horizon=st.integers(1, 800 * 86_400))
def test_renewals_follow_the_anchor_boundaries(spec: tuple[str, int], horizon: int) -> None:
    interval, count = spec
    ns, sub = _run(JAN31, interval, count, [horizon], [])
    boundaries = boundaries_between(JAN31, interval, count, JAN31, JAN31 + horizon)
    cycles = [ns.invoices[i] for i in sub.invoice_ids[1:]]
    assert [inv.created for inv in cycles] == boundaries
    for inv, b in zip(cycles, boundaries, strict=True):
        lic = next(ln for ln in inv.lines if ln.price == "price_lic")
        assert (lic.period_start, lic.amount) == (b, 6)
        expected = "draft" if inv.created + 3600 > JAN31 + horizon else "paid"
        assert inv.status == expected
    assert sub.current_period_end > JAN31 + horizon >= sub.current_period_start


@settings(max_examples=40, deadline=None)
@given(
    usage=st.lists(
        st.tuples(st.integers(JAN31, JAN31 + 200 * 86_400), st.integers(1, 50)), max_size=60
    ),
    steps=st.lists(st.integers(1, 60 * 86_400), min_size=1, max_size=5),
)
def test_metered_usage_is_billed_exactly_once(
    usage: list[tuple[int, int]], steps: list[int]
) -> None:
    ns, sub = _run(JAN31, "month", 1, steps, usage)
    billed = [
        ln
        for inv_id in sub.invoice_ids
        for ln in ns.invoices[inv_id].lines
        if ln.price == "price_met" and ln.metered
    ]
    last_boundary = sub.current_period_start
    assert sum(ln.quantity or 0 for ln in billed) == sum(q for ts, q in usage if ts < last_boundary)
    windows = sorted((ln.period_start, ln.period_end) for ln in billed)
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert end == start  # contiguous, no overlap


def test_next_due_is_never_when_canceled_and_nothing_pending() -> None:
    ns = _account(grace=0)
    sub = _subscription(ns, JAN31, "month", 1)
    assert lifecycle.next_due(ns, sub) < sub.current_period_end  # the upcoming notice
    lifecycle.cancel(ns, sub, JAN31 + 10, invoice_now=False, automatic=True)
    assert lifecycle.next_due(ns, sub) == lifecycle.NEVER
