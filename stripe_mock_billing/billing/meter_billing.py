"""What the billing engine asks about Billing Meters: the billable aggregate of a customer.

Emulates meters.md §7: the quantity of a metered line of a price with `recurring[meter]` is the
meter's formula (`sum` / `count` / `last`) over the customer's events with `timestamp` in
`[start, end)`, honouring cancellations (adjustments) and pre-aggregation windows
(`event_time_window`). The per-account summary lag (`ns.settings.summary_lag`) is deliberately
NOT applied here: it only delays what `event_summaries` shows, billing always sees every event
(documented choice, see README "Billing Meters").

LIMITATIONS:
- Returns the raw aggregate, possibly negative; the engine clamps negative totals to 0.
- An unknown meter id, or an account without events, aggregates to 0.
"""

from __future__ import annotations

from typing import Any, cast

from ..domain.meters import Formula
from .meter_series import Number
from .meter_usage import MeterEventStore


def event_store(ns: Any) -> MeterEventStore:
    """The account's meter event store, created on first use."""
    store = ns.meter_events
    if store is None:
        store = ns.meter_events = MeterEventStore()
    return cast(MeterEventStore, store)


def meter_quantity(ns: Any, meter_id: str, customer_id: str, start: int, end: int) -> Number:
    """Aggregate of the meter's formula for `customer_id` over event timestamps in [start, end)."""
    meter = ns.meters.get(meter_id)
    store = ns.meter_events
    if meter is None or store is None or end <= start:
        return 0
    formula = cast(Formula, meter.formula)
    return cast(MeterEventStore, store).aggregate(meter_id, customer_id, formula, start, end)
