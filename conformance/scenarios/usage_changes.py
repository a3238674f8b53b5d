"""Legacy usage records under subscription changes: mid-cycle price change, usage thresholds."""

from __future__ import annotations

from ..harness import T, scenario
from .billing import HOUR, SEND_INVOICE, clock_start, clocked_customer, cycle_invoice
from .common import DAY, customer, legacy_metered_price, only_item, period, product, subscribe
from .meter_billing import metered_total
from .usage_records import record


@scenario(
    "usage.price_change",
    "legacy metered item switched to another price mid-cycle (emulator's documented rule)",
    area="usage",
    legacy=True,
)
def usage_price_change(t: T) -> None:
    # Stripe documents the rule for meter prices only (classic mode: usage after the switch, at
    # the new price); for legacy usage records it is unverified, so amounts are checked against
    # the emulator only. The flow itself runs everywhere.
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    prod = product(t)["id"]
    old, new = legacy_metered_price(t, prod, 7), legacy_metered_price(t, prod, 10)
    sub = subscribe(t, cus["id"], old["id"], **SEND_INVOICE)
    si = only_item(sub)["id"]
    _, end = period(t, sub)
    t.advance_clock(clk["id"], t0 + 5 * DAY)
    record(t, si, 10, timestamp=t0 + DAY)
    item = t.call(
        "subscription_items.update", si, params={"price": new["id"], "proration_behavior": "none"}
    )
    t.eq([item["id"], item["price"]["id"]], [si, new["id"]], "same item, new price")
    record(t, si, 4, timestamp=t0 + 5 * DAY)
    t.advance_clock(clk["id"], end + 2 * HOUR)
    inv = cycle_invoice(t, sub["id"], end)
    t.eq(metered_total(t, inv, {new["id"]}), (4, 40), "after the switch", emulator_only=True)
    t.eq(metered_total(t, inv, {old["id"]})[1], 0, "before the switch", emulator_only=True)


@scenario(
    "usage.threshold",
    "billing_thresholds[usage_gte] on a metered item issues a threshold invoice (acacia)",
    area="usage",
    legacy=True,
)
def usage_threshold(t: T) -> None:
    cus = customer(t)
    price = legacy_metered_price(t, product(t)["id"], 7)
    sub = t.call(
        "subscriptions.create",
        params={
            "customer": cus["id"],
            "items": [{"price": price["id"], "billing_thresholds": {"usage_gte": 10}}],
            **SEND_INVOICE,
        },
    )
    item = only_item(sub)
    t.eq(item["billing_thresholds"], {"usage_gte": 10}, "item usage threshold")
    start, _ = period(t, sub)
    record(t, item["id"], 4, timestamp=start)
    record(t, item["id"], 8, timestamp=start)

    def threshold_invoice() -> None:
        invoices = t.call("invoices.list", params={"subscription": sub["id"]}, paging="auto")
        hit = [i for i in invoices if i["billing_reason"] == "subscription_threshold"]
        t.eq(len(hit), 1, "one threshold invoice")
        t.eq(metered_total(t, hit[0], {price["id"]}), (12, 84), "threshold invoice bills 12")
        reason = hit[0]["threshold_reason"]
        t.eq(reason["item_reasons"][0]["usage_gte"], 10, "threshold_reason.item_reasons")

    t.eventually(threshold_invoice)
    t.call("subscriptions.cancel", sub["id"])
