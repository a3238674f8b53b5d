"""A brute-force reference of meter aggregation, for property tests (unit and HTTP level).

Stated from the spec (meters.md §1, §4), independently of billing/meter_usage.py: events are
(timestamp, value, identifier) in arrival order; a reused identifier is refused; cancelled
events never count; with an event time window only the most recently received remaining event
of each UTC hour/day bucket counts; `last` is the value with the latest timestamp, ties broken
by arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

WIDTH = {"hour": 3600, "day": 86400}


def accepted(events: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The events that are stored: the first one of each identifier."""
    seen: set[str] = set()
    out = []
    for ts, value, ident in events:
        if ident in seen:
            continue
        seen.add(ident)
        out.append((ts, value, ident))
    return out


def aggregate(
    events: Iterable[tuple[int, int, str]],
    cancelled: set[str],
    formula: str,
    window: str | None,
    start: int,
    end: int,
) -> int:
    """The meter formula over [start, end) by brute force."""
    live = [(ts, v) for ts, v, ident in accepted(events) if ident not in cancelled]
    if window is not None:
        buckets: dict[int, tuple[int, int]] = {}
        for ts, v in live:
            buckets[ts - ts % WIDTH[window]] = (ts, v)
        live = list(buckets.values())
    # keep arrival order among equal timestamps (bucket dict keeps first-insertion order, but
    # at most one event per bucket survives, so ties cannot happen within a window meter)
    inside = [(ts, v) for ts, v in live if start <= ts < end]
    if formula == "count":
        return len(inside)
    if formula == "sum":
        return sum(v for _, v in inside)
    if not inside:
        return 0
    best = inside[0]
    for item in inside[1:]:
        if item[0] >= best[0]:
            best = item
    return best[1]


def check_number(result: int | float, expected: Fraction) -> None:
    """A whole expected value comes back as an int, any other as the nearest float."""
    if expected.denominator == 1:
        assert type(result) is int
        assert result == expected
    else:
        assert type(result) is float
        assert result == float(expected)


def split_windows(start: int, end: int, width: int) -> list[tuple[int, int]]:
    """[start, end) cut at every multiple of `width` (UTC hour or day boundaries)."""
    out, low = [], start
    while low < end:
        high = min((low // width + 1) * width, end)
        out.append((low, high))
        low = high
    return out
