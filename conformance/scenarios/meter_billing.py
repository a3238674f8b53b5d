"""Meter-based billing on test clocks: invoices from meter events with the finalization grace,
mid-cycle price change, item delete, backdated subscription, cancellation (classic billing mode,
as documented in Stripe's usage-based billing guides)."""

from __future__ import annotations

from typing import Any

from ..harness import T, scenario
from .billing import (
    HOUR,
    SEND_INVOICE,
    clock_start,
    clocked_customer,
    cycle_invoice,
    line_price,
    lines_of,
    meter_price,
    usage_of,
)
from .common import DAY, licensed_price, only_item, period, product, subscribe
from .meters import event, new_meter


def classic(t: T) -> dict[str, Any]:
    """`billing_mode=classic` where the API has billing modes (2025-06-30.basil+): the flows
    below are the documented classic ones (flexible bills backdated / pre-switch usage at other
    times), whatever a newer version's default is."""
    return {} if t.legacy_rendering else {"billing_mode": {"type": "classic"}}


def metered_total(t: T, invoice: dict[str, Any], price_ids: set[str]) -> tuple[int, int]:
    """(quantity, amount) over every line of the given prices (0, 0 when none)."""
    lines = [ln for ln in lines_of(t, invoice) if line_price(t, ln) in price_ids]
    return sum(int(ln["quantity"] or 0) for ln in lines), sum(int(ln["amount"]) for ln in lines)


@scenario(
    "meters.invoice_grace",
    "meter events billed on the cycle invoice; late events inside / after the 1 h grace",
    area="meter-billing",
)
def meters_invoice_grace(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    price = meter_price(t, product(t)["id"], meter["id"], 3)
    sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE, **classic(t))
    start, end = period(t, sub)
    t.eq(start, t0, "the subscription starts at the clock's time")
    t.eq(sub["test_clock"], clk["id"], "the subscription inherits the clock")
    first = t.call("invoices.retrieve", sub["latest_invoice"])
    t.eq([first["billing_reason"], first["total"]], ["subscription_create", 0], "first invoice")
    # "list all" requests omit test-clock objects; filtered lists include them (test clock docs)
    everything = t.call("subscriptions.list", params={"limit": 100})
    t.check(sub["id"] not in [s["id"] for s in everything["data"]], "unfiltered list omits it")
    on_clock = t.call("subscriptions.list", params={"test_clock": clk["id"]})
    t.eq([s["id"] for s in on_clock["data"]], [sub["id"]], "subscriptions.list(test_clock=...)")
    invoices = t.call("invoices.list", params={"limit": 100})
    t.check(first["id"] not in [i["id"] for i in invoices["data"]], "unfiltered invoices omit it")
    t.advance_clock(clk["id"], t0 + 10 * DAY)
    event(t, meter, cus["id"], 5, t0 + DAY)
    event(t, meter, cus["id"], 7, t0 + 2 * DAY)

    def preview() -> None:
        got = t.call(
            "invoices.create_preview", params={"customer": cus["id"], "subscription": sub["id"]}
        )
        t.eq(usage_of(t, got, price["id"]), (12, 36), "current usage through create_preview")

    t.eventually(preview)
    t.advance_clock(clk["id"], end + 30 * 60)  # the draft exists, its grace runs until end + 1 h
    draft = cycle_invoice(t, sub["id"], end)
    t.eq(draft["status"], "draft", "cycle invoice is a draft during the grace")
    t.eq(draft["auto_advance"], True, "the draft finalizes automatically")
    if t.legacy_rendering or "automatically_finalizes_at" in draft:
        t.eq(
            draft["automatically_finalizes_at"],
            end + HOUR,
            "finalizes 1 h after the period end",
            emulator_only=True,
        )
    event(t, meter, cus["id"], 4, end - 600)  # late, but timestamped inside the period
    event(t, meter, cus["id"], 100, end + 60)  # next period
    t.advance_clock(clk["id"], end + 2 * HOUR)
    inv = t.call("invoices.retrieve", draft["id"])
    t.eq(inv["status"], "open", "finalized after the grace")
    t.eq(usage_of(t, inv, price["id"]), (16, 48), "cycle invoice: 5 + 7 + 4 (late, in grace)")
    t.eq(inv["total"], 48, "cycle invoice total")
    event(t, meter, cus["id"], 50, end - 300)  # after finalization: not on that invoice
    again = t.call("invoices.retrieve", draft["id"])
    t.eq([again["total"], again["status"]], [48, "open"], "a finalized invoice does not change")

    def next_preview() -> None:
        got = t.call(
            "invoices.create_preview", params={"customer": cus["id"], "subscription": sub["id"]}
        )
        t.eq(usage_of(t, got, price["id"]), (100, 300), "next period: only its own events")

    t.eventually(next_preview)


@scenario(
    "meters.price_change",
    "switch a meter price mid-cycle (classic): only usage after the switch, at the new price",
    area="meter-billing",
)
def meters_price_change(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    prod = product(t)["id"]
    old, new = meter_price(t, prod, meter["id"], 3), meter_price(t, prod, meter["id"], 5)
    sub = subscribe(t, cus["id"], old["id"], **SEND_INVOICE, **classic(t))
    _, end = period(t, sub)
    t.advance_clock(clk["id"], t0 + 5 * DAY)
    event(t, meter, cus["id"], 10, t0 + DAY)
    item = t.call(
        "subscription_items.update",
        only_item(sub)["id"],
        params={"price": new["id"], "proration_behavior": "none"},
    )
    t.eq(item["price"]["id"], new["id"], "item now on the new price")
    t.advance_clock(clk["id"], t0 + 12 * DAY)
    event(t, meter, cus["id"], 4, t0 + 11 * DAY)
    t.advance_clock(clk["id"], end + 2 * HOUR)
    inv = cycle_invoice(t, sub["id"], end)
    t.eq(metered_total(t, inv, {new["id"]}), (4, 20), "new price bills usage after the switch")
    t.eq(metered_total(t, inv, {old["id"]})[1], 0, "usage before the switch is not billed")
    t.eq(inv["total"], 20, "cycle invoice total")


@scenario(
    "meters.item_delete",
    "delete a metered item mid-cycle: the invoice shows no usage from it",
    area="meter-billing",
)
def meters_item_delete(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    prod = product(t)["id"]
    metered, base = meter_price(t, prod, meter["id"], 3), licensed_price(t, prod, 1000)
    sub = subscribe(t, cus["id"], base["id"], metered["id"], **SEND_INVOICE, **classic(t))
    _, end = period(t, sub)
    item = next(it for it in sub["items"]["data"] if it["price"]["id"] == metered["id"])
    t.advance_clock(clk["id"], t0 + 5 * DAY)
    event(t, meter, cus["id"], 9, t0 + DAY)
    t.call("subscription_items.delete", item["id"], params={"proration_behavior": "none"})
    t.advance_clock(clk["id"], end + 2 * HOUR)
    inv = cycle_invoice(t, sub["id"], end)
    t.eq(metered_total(t, inv, {metered["id"]}), (0, 0), "no usage from the deleted item")
    t.eq(inv["total"], 1000, "only the licensed price (in advance)")


@scenario(
    "meters.backdated",
    "usage recorded before the subscription, billed on the next cycle invoice (backdated)",
    area="meter-billing",
)
def meters_backdated(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    price = meter_price(t, product(t)["id"], meter["id"], 3)
    t.advance_clock(clk["id"], t0 + 3 * DAY)
    event(t, meter, cus["id"], 6, t0 + DAY)
    sub = subscribe(t, cus["id"], price["id"], backdate_start_date=t0, **SEND_INVOICE, **classic(t))
    t.eq(sub["start_date"], t0, "start_date = backdate_start_date")
    _, end = period(t, sub)
    event(t, meter, cus["id"], 2, t0 + 3 * DAY - 60)
    t.advance_clock(clk["id"], end + 2 * HOUR)
    inv = cycle_invoice(t, sub["id"], end)
    t.eq(metered_total(t, inv, {price["id"]}), (8, 24), "backdated usage billed on the cycle")


@scenario(
    "meters.cancel",
    "cancel with invoice_now bills the meter usage so far; cancel_at_period_end bills at the end",
    area="meter-billing",
)
def meters_cancel(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    prod = product(t)["id"]
    price = meter_price(t, prod, meter["id"], 3)
    now_sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE, **classic(t))
    later = subscribe(
        t, cus["id"], licensed_price(t, prod, 500)["id"], **SEND_INVOICE, **classic(t)
    )
    _, end = period(t, later)
    t.advance_clock(clk["id"], t0 + 4 * DAY)
    event(t, meter, cus["id"], 7, t0 + DAY)
    done = t.call(
        "subscriptions.cancel",
        now_sub["id"],
        params={"invoice_now": True, "prorate": True, "expand": ["latest_invoice"]},
    )
    t.eq(done["status"], "canceled", "canceled now")
    t.eq(usage_of(t, done["latest_invoice"], price["id"]), (7, 21), "final invoice bills usage")
    pending = t.call("subscriptions.update", later["id"], params={"cancel_at_period_end": True})
    t.eq(pending["cancel_at"], end, "cancel_at = period end")
    t.advance_clock(clk["id"], end + 2 * HOUR)
    ended = t.call("subscriptions.retrieve", later["id"])
    t.eq([ended["status"], ended["ended_at"]], ["canceled", end], "canceled at the period end")


@scenario(
    "meters.anchor_reset",
    "billing_cycle_anchor=now bills the meter usage so far and starts a new period",
    area="meter-billing",
)
def meters_anchor_reset(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    price = meter_price(t, product(t)["id"], meter["id"], 3)
    sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE, **classic(t))
    t.advance_clock(clk["id"], t0 + 6 * DAY)
    event(t, meter, cus["id"], 9, t0 + 2 * DAY)
    reset = t.call(
        "subscriptions.update",
        sub["id"],
        params={
            "billing_cycle_anchor": "now",
            "proration_behavior": "none",
            "expand": ["latest_invoice"],
        },
    )
    start, _ = period(t, reset)
    t.eq(start, t0 + 6 * DAY, "a new period starts now")
    t.eq(reset["billing_cycle_anchor"], t0 + 6 * DAY, "billing_cycle_anchor = now")
    inv = reset["latest_invoice"]
    t.eq(metered_total(t, inv, {price["id"]}), (9, 27), "usage so far billed at the reset")
