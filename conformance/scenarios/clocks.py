"""Test clocks, and the legacy usage-record flows that need time or invoices: current usage
through upcoming / create_preview, period rollover with the clock-drift grace (sum vs max),
cancel with a final invoice, cancel_at_period_end at the period end, item delete."""

from __future__ import annotations

from ..harness import T, scenario
from .billing import (
    HOUR,
    SEND_INVOICE,
    clock_start,
    clocked_customer,
    cycle_invoice,
    lines_of,
    usage_of,
)
from .common import (
    DAY,
    clock,
    customer,
    legacy_metered_price,
    licensed_price,
    only_item,
    period,
    product,
    subscribe,
)
from .usage_records import PERIOD_START_ERROR, record


@scenario("clocks.basics", "test clock create, retrieve, list, advance, delete", area="clocks")
def clocks_basics(t: T) -> None:
    t0 = clock_start(t)
    clk = clock(t, t0)
    t.eq(clk["object"], "test_helpers.test_clock", "object")
    t.check(clk["id"].startswith("clock_"), "clock id prefix")
    t.eq([clk["frozen_time"], clk["status"], clk["livemode"]], [t0, "ready", False], "fields")
    t.eq(clk["deletes_after"], clk["created"] + 30 * DAY, "deletes_after = created + 30 days")
    t.eq(t.call("test_clocks.retrieve", clk["id"])["frozen_time"], t0, "retrieve")
    listed = t.call("test_clocks.list", params={"limit": 100}, paging="auto")
    t.check(clk["id"] in [c["id"] for c in listed], "listed")
    moved = t.advance_clock(clk["id"], t0 + 3 * DAY)
    t.eq(moved["frozen_time"], t0 + 3 * DAY, "advanced")
    t.fails(
        "test_clocks.advance",
        clk["id"],
        params={"frozen_time": t0},
        status=400,
        param="frozen_time",
    )
    t.fails(
        "test_clocks.advance",
        clk["id"],
        params={},
        status=400,
        code="parameter_missing",
        param="frozen_time",
        message="Missing required param: frozen_time.",
    )
    t.fails(
        "test_clocks.advance",
        clk["id"],
        params={"frozen_time": "tomorrow"},
        status=400,
        code="parameter_invalid_integer",
        param="frozen_time",
        message="Invalid integer: tomorrow",
        only_emulator=("code", "message"),  # Stripe's wording for timestamps is unverified
    )
    gone = t.call("test_clocks.delete", clk["id"])
    t.eq(gone, {"id": clk["id"], "object": "test_helpers.test_clock", "deleted": True}, "stub")
    t.fails(
        "test_clocks.retrieve",
        clk["id"],
        status=404,
        code="resource_missing",
        param="id",
        message=f"No such billingclock: '{clk['id']}'",
    )


@scenario(
    "usage.current_usage",
    "current usage mid-period through upcoming, upcoming/lines and create_preview",
    area="usage",
    legacy=True,
)
def usage_current(t: T) -> None:
    cus = customer(t)
    price = legacy_metered_price(t, product(t)["id"], 7)
    sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE)
    si = only_item(sub)["id"]
    start, end = period(t, sub)
    record(t, si, 12, timestamp=start)
    record(t, si, 3, timestamp=start, action="increment")
    up = t.call("invoices.upcoming", params={"customer": cus["id"]})
    t.eq(up["object"], "invoice", "upcoming is an invoice")
    t.eq(usage_of(t, up, price["id"]), (15, 105), "upcoming metered line: 15 x 7c")
    metered = [ln for ln in up["lines"]["data"] if ln.get("price", {}).get("id") == price["id"]]
    t.eq(metered[0]["period"], {"start": start, "end": end}, "metered line period")
    t.eq(up["total"], 105, "upcoming total")
    lines = t.call("invoices.upcoming_lines", params={"customer": cus["id"]})
    t.eq(lines["object"], "list", "upcoming lines list")
    t.eq(
        [(ln["quantity"], ln["amount"]) for ln in lines["data"]],
        [(15, 105)],
        "upcoming/lines quantity and amount",
    )
    preview = t.call(
        "invoices.create_preview", params={"customer": cus["id"], "subscription": sub["id"]}
    )
    t.eq(usage_of(t, preview, price["id"]), (15, 105), "create_preview metered line")
    t.eq(preview["total"], 105, "create_preview total")
    t.call("subscriptions.cancel", sub["id"])
    other = customer(t)
    t.fails(
        "invoices.upcoming",
        params={"customer": other["id"]},
        status=404,
        code="invoice_upcoming_none",
        message=f"No upcoming invoices for customer: {other['id']}",
        only_emulator=("status", "cls"),  # 404 assumed (usage-records-legacy.md §7.3)
    )


@scenario(
    "usage.rollover_grace",
    "period rollover on a test clock; clock-drift grace for sum, not for max; cycle invoice",
    area="usage",
    legacy=True,
)
def usage_rollover_grace(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    prod = product(t)["id"]
    summed = legacy_metered_price(t, prod, 7, "sum")
    maxed = legacy_metered_price(t, prod, 7, "max")
    sub = subscribe(t, cus["id"], summed["id"], maxed["id"], **SEND_INVOICE)
    items = {it["price"]["id"]: it["id"] for it in sub["items"]["data"]}
    s_item, m_item = items[summed["id"]], items[maxed["id"]]
    start, end = period(t, sub)
    t.eq(start, t0, "the subscription starts at the clock's time")
    t.advance_clock(clk["id"], t0 + 10 * DAY)
    record(t, s_item, 10, timestamp=t0 + DAY)
    record(t, s_item, 5, timestamp=t0 + 2 * DAY)
    for day, qty in ((1, 4), (2, 9), (3, 2)):
        record(t, m_item, qty, timestamp=t0 + day * DAY, action="set")
    up = t.call("invoices.upcoming", params={"customer": cus["id"], "subscription": sub["id"]})
    t.eq(usage_of(t, up, summed["id"]), (15, 105), "current usage (sum)")
    t.eq(usage_of(t, up, maxed["id"]), (9, 63), "current usage (max)")
    # two minutes into the next period: inside Stripe's "few minutes" clock-drift window
    t.advance_clock(clk["id"], end + 120)
    late = record(t, s_item, 3, timestamp=end - 60)
    t.eq(late["timestamp"], end - 60, "late sum usage inside the grace window is accepted")
    t.fails(
        "usage_records.create",
        m_item,
        params={"quantity": 20, "timestamp": end - 60, "action": "set"},
        status=400,
        code=None,
        param="timestamp",
        message=PERIOD_START_ERROR,
    )
    t.advance_clock(clk["id"], end + 2 * HOUR)
    inv = cycle_invoice(t, sub["id"], end)
    t.eq(inv["status"], "open", "the cycle invoice is finalized after the 1 h grace")
    t.eq(inv["period_start"], start, "invoice period_start")
    t.eq(usage_of(t, inv, summed["id"]), (18, 126), "sum line: 15 + 3 in grace")
    t.eq(usage_of(t, inv, maxed["id"]), (9, 63), "max line: no grace for max")
    t.eq(inv["total"], 189, "cycle invoice total")
    for ln in lines_of(t, inv):
        t.eq(ln["period"], {"start": start, "end": end}, "metered lines bill [start, end)")
    t.fails(
        "usage_records.create",
        s_item,
        params={"quantity": 1, "timestamp": end - 60},
        status=400,
        param="timestamp",
        message=PERIOD_START_ERROR,
    )
    if t.sdk.legacy:  # the current SDKs reach summaries through raw requests: no auto-paging
        every = t.call("usage_record_summaries.list", s_item, params={"limit": 1}, paging="auto")
        t.eq([s["total_usage"] for s in every], [0, 18], "auto-paged summaries, newest first")
    sums = t.call("usage_record_summaries.list", s_item)
    t.eq(
        [(s["period"]["start"], s["total_usage"], s["invoice"]) for s in sums["data"][:2]],
        [(end, 0, None), (start, 18, inv["id"])],
        "summaries: open period first, then the invoiced one",
    )


@scenario(
    "usage.cancel_final_invoice",
    "cancel now with invoice_now: a final invoice bills the usage so far",
    area="usage",
    legacy=True,
)
def usage_cancel_final(t: T) -> None:
    # invoice_now + prorate: Stripe's cancel guide says usage is discarded without prorating,
    # its API reference says invoice_now alone bills it; with both, both readings bill it
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    price = legacy_metered_price(t, product(t)["id"], 7)
    sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE)
    si = only_item(sub)["id"]
    t.advance_clock(clk["id"], t0 + 5 * DAY)
    record(t, si, 11, timestamp=t0 + DAY)
    done = t.call(
        "subscriptions.cancel",
        sub["id"],
        params={"invoice_now": True, "prorate": True, "expand": ["latest_invoice"]},
    )
    t.eq(done["status"], "canceled", "canceled")
    t.eq(done["ended_at"], t0 + 5 * DAY, "ended at the clock's time")
    final = done["latest_invoice"]
    t.check(isinstance(final, dict), "latest_invoice expanded")
    t.eq(usage_of(t, final, price["id"]), (11, 77), "final invoice bills the usage so far")


@scenario(
    "usage.cancel_at_period_end",
    "cancel_at_period_end: at the period end the final invoice bills the last period's usage",
    area="usage",
    legacy=True,
)
def usage_cancel_at_period_end(t: T) -> None:
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    price = legacy_metered_price(t, product(t)["id"], 7)
    sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE)
    si = only_item(sub)["id"]
    _, end = period(t, sub)
    t.advance_clock(clk["id"], t0 + 5 * DAY)
    record(t, si, 6, timestamp=t0 + DAY)
    t.call("subscriptions.update", sub["id"], params={"cancel_at_period_end": True})
    t.advance_clock(clk["id"], end + 2 * HOUR)
    after = t.call("subscriptions.retrieve", sub["id"])
    t.eq([after["status"], after["ended_at"]], ["canceled", end], "canceled at the period end")
    invoices = t.call("invoices.list", params={"subscription": sub["id"]}, paging="auto")
    billed = [inv for inv in invoices if inv["period_end"] == end and inv["total"] > 0]
    t.eq(len(billed), 1, "one final invoice for the last period")
    t.eq(usage_of(t, billed[0], price["id"]), (6, 42), "final invoice: last period's usage")


@scenario(
    "usage.item_delete",
    "delete a metered item with clear_usage: its usage is not billed",
    area="usage",
    legacy=True,
)
def usage_item_delete(t: T) -> None:
    cus = customer(t)
    prod = product(t)["id"]
    metered = legacy_metered_price(t, prod, 7)
    base = licensed_price(t, prod, 1000)
    sub = subscribe(t, cus["id"], base["id"], metered["id"], **SEND_INVOICE)
    start, _ = period(t, sub)
    item = next(it for it in sub["items"]["data"] if it["price"]["id"] == metered["id"])
    record(t, item["id"], 40, timestamp=start)
    before = t.call("invoices.upcoming", params={"customer": cus["id"]})
    t.eq(usage_of(t, before, metered["id"]), (40, 280), "usage before the delete")
    gone = t.call("subscription_items.delete", item["id"], params={"clear_usage": True})
    t.eq(gone["deleted"], True, "item deleted")
    after = t.call("invoices.upcoming", params={"customer": cus["id"]})
    prices = [ln.get("price", {}).get("id") for ln in after["lines"]["data"]]
    t.check(metered["id"] not in prices, "no line for the deleted metered item")
    t.eq(after["total"], 1000, "only the licensed price remains")
    t.call("subscriptions.cancel", sub["id"])
