"""Helpers for time-driven billing scenarios: clocks, invoices, invoice lines in both shapes.

Time moves only through test clocks, so these flows are valid against real Stripe test mode too.
Clocks start 33 days ago (UTC midnight): the first monthly period then ends 2-5 days ago, so
every meter event timestamp stays within Stripe's 35-day window measured from the real time as
well as from the clock's time. Subscriptions use `collection_method=send_invoice` so that no
payment method is needed when invoices finalize.
"""

from __future__ import annotations

from typing import Any

from ..harness import T
from .common import DAY, clock, customer, midnight

HOUR = 3600
SEND_INVOICE = {"collection_method": "send_invoice", "days_until_due": 30}


def clock_start(t: T) -> int:
    """T0 for clocked flows: UTC midnight 33 days ago."""
    return midnight(t.wall_now()) - 33 * DAY


def clocked_customer(t: T, t0: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A test clock frozen at t0 and a customer on it."""
    clk = clock(t, t0)
    t.eq([clk["frozen_time"], clk["status"]], [t0, "ready"], "new clock is ready at frozen_time")
    cus = customer(t, clk["id"])
    t.eq(cus["test_clock"], clk["id"], "the customer is on the clock")
    return clk, cus


def line_price(t: T, line: dict[str, Any]) -> str | None:
    """The price id of an invoice line, in the acacia or the basil+ shape."""
    if t.legacy_rendering:
        t.check("pricing" not in line, "acacia invoice lines have no `pricing`")
        price = line.get("price")
        return price.get("id") if isinstance(price, dict) else price
    t.check("price" not in line, "basil+ invoice lines carry `pricing`, not `price`")
    details = (line.get("pricing") or {}).get("price_details") or {}
    price = details.get("price")
    return price.get("id") if isinstance(price, dict) else price


def lines_of(t: T, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """Every line of a stored invoice (auto-paged) or of a preview (inline)."""
    if invoice.get("id") and not str(invoice["id"]).startswith("upcoming_"):
        lines: list[dict[str, Any]] = t.call("invoices.lines", invoice["id"], paging="auto")
        return lines
    return list(invoice["lines"]["data"])


def usage_of(t: T, invoice: dict[str, Any], price_id: str) -> tuple[int, int]:
    """(quantity, amount) summed over the invoice's lines for `price_id`."""
    lines = [ln for ln in lines_of(t, invoice) if line_price(t, ln) == price_id]
    t.check(bool(lines), f"invoice {invoice.get('id')} has a line for {price_id}")
    return sum(int(ln["quantity"] or 0) for ln in lines), sum(int(ln["amount"]) for ln in lines)


def invoices_of(t: T, sub_id: str) -> list[dict[str, Any]]:
    """The subscription's invoices, newest first."""
    got: list[dict[str, Any]] = t.call(
        "invoices.list", params={"subscription": sub_id, "limit": 100}, paging="auto"
    )
    return got


def cycle_invoice(t: T, sub_id: str, period_end: int) -> dict[str, Any]:
    """The subscription_cycle invoice created at `period_end`."""
    found = [
        inv
        for inv in invoices_of(t, sub_id)
        if inv["billing_reason"] == "subscription_cycle" and inv["period_end"] == period_end
    ]
    t.eq(len(found), 1, f"one subscription_cycle invoice ending at {period_end}")
    return found[0]


def meter_price(t: T, prod: str, meter: str, amount: int) -> dict[str, Any]:
    """A metered price backed by a meter."""
    price: dict[str, Any] = t.call(
        "prices.create",
        params={
            "product": prod,
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter},
        },
    )
    t.eq(price["recurring"]["meter"], meter, "recurring.meter")
    if not t.legacy_rendering:
        t.check("aggregate_usage" not in price["recurring"], "basil+: no aggregate_usage")
    return price
