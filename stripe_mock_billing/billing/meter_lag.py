"""Event summaries as Stripe shows them while aggregation lags behind ingestion.

Emulates meters.md §3/§6 "eventually consistent" summaries for apps that poll: with a
per-account lag of L seconds, events received less than L seconds ago (account wall clock)
are not yet visible in `event_summaries`. Billing is not affected (meter_billing.py).

Only used when the customer's series has events inside the lag; then it recomputes the
windows from the raw columns (O(events of that customer)), applying the same rules as
meter_usage.py: cancelled events never count; with `event_time_window` the most recently
received visible event of each UTC bucket counts; `last` = latest timestamp, ties by arrival.

LIMITATIONS: cancellations are visible immediately (not delayed by the lag).
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import pairwise

from ..domain.meters import Formula, Window
from .meter_series import Number, Summary, window_bounds
from .meter_usage import MeterEventStore

_WIDTH = {"hour": 3600, "day": 86400}


def lagged_summaries(
    store: MeterEventStore,
    meter_id: str,
    customer_id: str,
    formula: Formula,
    start: int,
    end: int,
    grouping: Window | None,
    event_window: Window | None,
    received_before: int,
) -> list[Summary]:
    """Like `store.summaries`, counting only events received before `received_before`."""
    latest = store.latest_received(meter_id, customer_id)
    if latest is None or latest < received_before:
        return store.summaries(meter_id, customer_id, formula, start, end, grouping)
    visible = [
        (ts, value)
        for ts, value, received, cancelled in store.raw_events(meter_id, customer_id)
        if received < received_before and not cancelled
    ]
    if event_window is not None:
        width = _WIDTH[event_window]
        winners: dict[int, tuple[int, Number]] = {}
        for ts, value in visible:  # arrival order: the later event replaces the earlier one
            winners[ts - ts % width] = (ts, value)
        visible = list(winners.values())
    visible.sort(key=lambda ev: ev[0])  # stable: same-timestamp events keep arrival order
    stamps = [ts for ts, _ in visible]
    bounds = window_bounds(start, end, grouping)
    out: list[Summary] = []
    for low, high in pairwise(bounds):
        lo, hi = bisect_left(stamps, low), bisect_left(stamps, high)
        total: Number
        if formula == "count":
            total = hi - lo
        elif formula == "sum":
            total = sum(v for _, v in visible[lo:hi])
        else:
            total = visible[hi - 1][1] if hi > lo else 0
        out.append((low, high, total))
    return out
