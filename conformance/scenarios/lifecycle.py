"""The test-clock guide's documented examples (test-clocks.md §5), with `send_invoice` so that
they need no payment method: renewal draft then finalization after 1 h, a trial, and a mid-cycle
upgrade with prorations."""

from __future__ import annotations

from ..harness import T, scenario
from .billing import HOUR, clock_start, clocked_customer, cycle_invoice, usage_of
from .common import DAY, licensed_price, only_item, period, product, subscribe
from .events import events_about


@scenario(
    "lifecycle.renewal",
    "monthly renewal on a test clock: draft at the period end, finalized 1 h later",
    area="lifecycle",
)
def lifecycle_renewal(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    price = licensed_price(t, product(t)["id"], 5000)
    sub = subscribe(t, cus["id"], price["id"])
    first = t.call("invoices.retrieve", sub["latest_invoice"])
    t.eq([first["billing_reason"], first["total"]], ["subscription_create", 5000], "first invoice")
    _, end = period(t, sub)
    t.advance_clock(clk["id"], end + 60)
    draft = cycle_invoice(t, sub["id"], end)
    t.eq([draft["status"], draft["total"]], ["draft", 5000], "renewal draft for 50 USD")
    renewed = t.call("subscriptions.retrieve", sub["id"])
    start2, _ = period(t, renewed)
    t.eq(start2, end, "the next period starts at the old period end")
    t.advance_clock(clk["id"], end + HOUR + 60)
    t.eq(t.call("invoices.retrieve", draft["id"])["status"], "open", "finalized after 1 h")
    line = [ln for ln in draft["lines"]["data"] if ln["period"]["start"] == end]
    t.eq(len(line), 1, "the renewal bills the new period in advance")


@scenario(
    "lifecycle.trial",
    "7-day trial: $0 invoice, trial_will_end 3 days before, then the first paid period",
    area="lifecycle",
)
def lifecycle_trial(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    price = licensed_price(t, product(t)["id"], 5000)
    sub = subscribe(t, cus["id"], price["id"], trial_period_days=7)
    t.eq([sub["status"], sub["trial_end"]], ["trialing", t0 + 7 * DAY], "trialing")
    zero = t.call("invoices.retrieve", sub["latest_invoice"])
    t.eq(zero["total"], 0, "$0.00 invoice at creation")
    t.advance_clock(clk["id"], t0 + 4 * DAY + HOUR)

    def warned() -> None:
        found = events_about(t, "customer.subscription.trial_will_end", sub["id"], t0)
        t.eq(len(found), 1, "trial_will_end three days before the trial ends")

    t.eventually(warned)
    t.advance_clock(clk["id"], t0 + 7 * DAY + 2 * HOUR)
    active = t.call("subscriptions.retrieve", sub["id"])
    t.eq(active["status"], "active", "active after the trial")
    start, _ = period(t, active)
    t.eq(start, t0 + 7 * DAY, "the first paid period starts at trial_end")
    invoices = t.call("invoices.list", params={"subscription": sub["id"]}, paging="auto")
    paid = [i for i in invoices if i["total"] == 5000]
    t.eq(len(paid), 1, "one 50 USD invoice after the trial")
    t.eq(paid[0]["status"], "open", "finalized")


@scenario(
    "lifecycle.upgrade_prorations",
    "upgrade mid-cycle from 50 to 100 USD: prorations -25 + 50, then a 125 USD renewal",
    area="lifecycle",
)
def lifecycle_upgrade(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    prod = product(t)["id"]
    small, big = licensed_price(t, prod, 5000), licensed_price(t, prod, 10000)
    sub = subscribe(t, cus["id"], small["id"])
    _, end = period(t, sub)
    t.advance_clock(clk["id"], t0 + (end - t0) // 2)
    t.call(
        "subscription_items.update",
        only_item(sub)["id"],
        params={"price": big["id"], "proration_behavior": "create_prorations"},
    )
    t.advance_clock(clk["id"], end + 60)
    inv = cycle_invoice(t, sub["id"], end)
    t.eq(usage_of(t, inv, big["id"])[1], 10000 + 5000, "new price: 100 USD + 50 USD proration")
    t.eq(inv["total"], 12500, "-25 + 50 + 100 USD")
