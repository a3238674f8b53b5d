"""Per-(meter, customer) event columns of the Billing Meter event store (meter_usage.py).

One `_Series` holds a customer's events of one meter as append-only `array` columns
(timestamp, value, received_at) plus a query structure in its `view` slot, a cache (a snapshot
writes it as null; the first write or query after an import rebuilds it):

- `_View`, for a small raw series (fewer than `INDEX_MIN_EVENTS` events, or a sparse one of
  fewer than `INDEX_ALWAYS_EVENTS`, which would pay more memory per event for its hours than
  for a view) and for every pre-aggregated series (whose active events are at most one per
  hour/day bucket): the active rows sorted by timestamp with prefix sums, built lazily
  (O(k log k) for those k rows, a few ms at most) and extended in place by in-order adds;
- `_Hours`, for a larger raw series: its active events grouped by UTC hour, with each hour's
  count, exact sum and latest event updated by every add in O(1) and by every cancel (which
  walks its hour's events, newest first, to unlink the cancelled one), and prefix sums
  over the hours recomputed by the next query from the earliest hour changed (O(hours), not
  O(events)). Summary windows are hour/day aligned, so a query reads prefix sums; only a range
  bound inside an hour (an invoice period's ends) walks that hour's events, or reads the
  per-second tallies (`_Seconds`) that an hour of more than `BUSY_HOUR_EVENTS` events keeps
  (both in meter_hours.py).
  No write makes a query re-sort the series.

See meter_usage.py for the model and its choices.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from itertools import accumulate, filterfalse, pairwise
from typing import TypeAlias, cast

from ..domain.meters import Window
from .meter_hours import _HOUR, _NO_ROW, _Hours

Number = int | float
Summary = tuple[int, int, Number]
Sums: TypeAlias = "array[int] | array[float] | list[int]"

IDENTIFIER_TTL = 24 * 3600
"""Seconds an identifier stays unique and its event cancellable (Stripe: 24 h)."""

_WINDOW_SECONDS: dict[str, int] = {"hour": 3600, "day": 86400}
_FORMULAS = frozenset(("sum", "count", "last"))
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_ROW_BITS = 32
_ROW_MASK = (1 << _ROW_BITS) - 1
_MAX_EXACT_EXPONENT = 40  # beyond this a value cannot fit a scaled int64 anyway

INDEX_MIN_EVENTS = 2048
"""Events from which a raw series may keep `_Hours` instead of a lazily sorted `_View`: when
it has at least `MIN_EVENTS_PER_HOUR` events per hour it has events in (checked at every
multiple of this count), or in any case from `INDEX_ALWAYS_EVENTS` events on."""
INDEX_ALWAYS_EVENTS = 6144
MIN_EVENTS_PER_HOUR = 8


def _parse_value(value: int | Decimal | str) -> tuple[int, int] | float:
    """Return (digits, places) with value == digits / 10**places, or a float if too wide."""
    if type(value) is int:
        return value, 0
    if isinstance(value, bool):
        raise TypeError("meter event value must be a number, not bool")
    if isinstance(value, int):
        return int(value), 0
    try:
        dec = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"meter event value is not a number: {value!r}") from None
    sign, digit_tuple, exponent = dec.as_tuple()
    if not isinstance(exponent, int) or not math.isfinite(float(dec)):
        raise ValueError(f"meter event value must be finite: {value!r}")
    if abs(exponent) > _MAX_EXACT_EXPONENT or len(digit_tuple) > _MAX_EXACT_EXPONENT:
        return float(dec)
    digits = int("".join(map(str, digit_tuple)))
    places = -exponent
    if places < 0:
        digits, places = digits * 10**-places, 0
    while places and digits % 10 == 0:
        digits, places = digits // 10, places - 1
    return (-digits if sign else digits), places


def _prefix_sums(values: array[int] | array[float], rows: array[int]) -> Sums:
    """Prefix sums of `values` taken in `rows` order; Python ints if int64 would overflow."""
    if values.typecode == "d":
        floats = cast("array[float]", values)
        return array("d", accumulate(map(floats.__getitem__, rows), initial=0.0))
    ints = cast("array[int]", values)
    try:
        return array("q", accumulate(map(ints.__getitem__, rows), initial=0))
    except OverflowError:
        return list(accumulate(map(ints.__getitem__, rows), initial=0))


def window_bounds(start: int, end: int, grouping: Window | None) -> list[int]:
    """Boundaries of the summary windows of [start, end): UTC hour/day aligned, ends clipped."""
    if grouping is None:
        return [start, max(start, end)]
    if grouping not in _WINDOW_SECONDS:
        raise ValueError(f"unknown value_grouping_window: {grouping!r}")
    if end <= start:
        return [start]
    width = _WINDOW_SECONDS[grouping]
    return [start, *range(start - start % width + width, end, width), end]


class _View:
    """Active rows sorted by timestamp, their timestamps and prefix sums of their values."""

    __slots__ = ("rows", "sums", "ts")

    def __init__(self, rows: array[int], ts: array[int], sums: Sums) -> None:
        self.rows, self.ts, self.sums = rows, ts, sums


class _Series:
    """Events of one customer on one meter, column-wise."""

    __slots__ = (
        "cancelled",
        "order",
        "received",
        "scale",
        "sid",
        "ts",
        "values",
        "view",
        "width",
        "winners",
    )

    def __init__(self, sid: int, width: int | None) -> None:
        self.sid = sid
        self.width = width  # pre-aggregation bucket seconds, None for raw meters
        self.ts: array[int] = array("q")
        self.values: array[int] | array[float] = array("q")
        self.received: array[int] = array("q")
        self.scale: int | None = 0  # None: float64 fallback column
        self.cancelled: set[int] = set()
        self.winners: dict[int, int] | None = {} if width else None
        # all rows by ts while they arrive in order (raw `_View` series only)
        self.order: array[int] | None = None if width else array("I")
        self.view: _View | _Hours | None = None

    # -- writes ---------------------------------------------------------------------------
    def append(self, timestamp: int, parsed: tuple[int, int] | float, received_at: int) -> int:
        row = len(self.ts)
        if row >= _NO_ROW:
            raise OverflowError("too many events for one meter and customer")
        if (
            type(parsed) is tuple
            and parsed[1] == self.scale
            and _INT64_MIN <= parsed[0] <= _INT64_MAX
        ):
            self.values.append(parsed[0])  # the usual case: no rescale, no float fallback
        else:
            self._append_value(parsed)
        self.ts.append(timestamp)
        self.received.append(received_at)
        view = self.view
        if type(view) is _Hours:
            view.add(row, timestamp, self.values[row])
            return row
        replaced = False
        if self.winners is not None and self.width is not None:
            bucket = timestamp - timestamp % self.width
            replaced = bucket in self.winners
            self.winners[bucket] = row
        elif (row + 1) % INDEX_MIN_EVENTS == 0 and self._wants_hours():
            self.view = self._build_hours()
            return row
        self._extend_sorted(row, timestamp, replaced)
        return row

    def _append_value(self, parsed: tuple[int, int] | float) -> None:
        if isinstance(parsed, tuple) and self.scale is not None:
            digits, places = parsed
            if places > self.scale:
                self._rescale(places)
            if self.scale is not None:
                scaled = digits * 10 ** (self.scale - places)
                if _INT64_MIN <= scaled <= _INT64_MAX:
                    self.values.append(scaled)
                    return
        if self.scale is not None:
            self._to_float()
        number = parsed[0] / 10 ** parsed[1] if isinstance(parsed, tuple) else parsed
        cast("array[float]", self.values).append(number)

    def _rescale(self, places: int) -> None:
        factor = 10 ** (places - (self.scale or 0))
        try:
            self.values = array("q", [int(v) * factor for v in self.values])
            self.scale = places
        except OverflowError:
            self._to_float()
            return
        self._converted(lambda total: total * factor)

    def _to_float(self) -> None:
        divisor = 10 ** (self.scale or 0)
        self.values = array("d", [int(v) / divisor for v in self.values])
        self.scale = None
        self._converted(lambda total: total / divisor)

    def _converted(self, convert: Callable[[int | float], int | float]) -> None:
        if isinstance(self.view, _Hours):
            self.view.convert_totals(self.values, convert)
        else:
            self.view = None

    def _extend_sorted(self, row: int, timestamp: int, replaced: bool) -> None:
        """Keep the cached order/view valid when an event arrives in timestamp order."""
        order = self.order
        if order is not None:
            if order and self.ts[order[-1]] > timestamp:
                self.order = None
            else:
                order.append(row)
        view = self.view
        if not isinstance(view, _View):
            return
        if replaced or (view.ts and view.ts[-1] > timestamp):
            self.view = None
            return
        if view.rows is not order:
            view.rows.append(row)
        view.ts.append(timestamp)
        sums = view.sums
        total = sums[-1] + self.values[row]
        if isinstance(sums, list) or sums.typecode == "d":
            sums.append(total)  # type: ignore[arg-type]
        elif _INT64_MIN <= total <= _INT64_MAX:
            sums.append(int(total))
        else:
            view.sums = [*sums, int(total)]

    def cancel(self, row: int) -> None:
        self.cancelled.add(row)
        if isinstance(self.view, _Hours):
            self.view.remove(row)
        else:
            self.view = None
        if self.winners is None or self.width is None:
            return
        bucket = self.ts[row] - self.ts[row] % self.width
        if self.winners.get(bucket) != row:
            return
        # The newest remaining event of the bucket counts again (scan backwards).
        for earlier in range(row - 1, -1, -1):
            stamp = self.ts[earlier]
            if stamp - stamp % self.width == bucket and earlier not in self.cancelled:
                self.winners[bucket] = earlier
                return
        del self.winners[bucket]

    # -- reads ----------------------------------------------------------------------------
    def window_values(self, formula: str, bounds: list[int]) -> list[Number]:
        """The formula's value over each window [bounds[i], bounds[i + 1])."""
        view = self.view
        if view is None:
            view = self.view = self._build()
        if isinstance(view, _Hours):
            return self._hour_values(view, formula, bounds)
        positions = [bisect_left(view.ts, bound) for bound in bounds]
        return [self._evaluate(view, formula, lo, hi) for lo, hi in pairwise(positions)]

    def _hour_values(self, hours: _Hours, formula: str, bounds: list[int]) -> list[Number]:
        hours.refresh()
        if formula == "last":
            rows = [hours.latest(lo, hi) for lo, hi in pairwise(bounds)]
            return [0 if row == _NO_ROW else self.number(self.values[row]) for row in rows]
        below = [hours.below(bound) for bound in bounds]
        if formula == "count":
            return [high[0] - low[0] for low, high in pairwise(below)]
        return [self.number(high[1] - low[1]) for low, high in pairwise(below)]

    def _build(self) -> _View | _Hours:
        return self._build_hours() if self._wants_hours() else self._build_view()

    def _wants_hours(self) -> bool:
        """Whether `_Hours` suits this series (see `INDEX_MIN_EVENTS`): O(events) to decide."""
        events = len(self.ts)
        if self.width is not None or events < INDEX_MIN_EVENTS:
            return False
        if events >= INDEX_ALWAYS_EVENTS:
            return True
        hours = len({stamp - stamp % _HOUR for stamp in self.ts})
        return hours * MIN_EVENTS_PER_HOUR <= events

    def _build_hours(self) -> _Hours:
        """Group the active events by hour (O(events); once per series, or after an import)."""
        self.order = None
        hours = _Hours(self.ts, self.values)
        cancelled, values = self.cancelled, self.values
        for row, timestamp in enumerate(self.ts):
            if row in cancelled:
                hours.skip()
            else:
                hours.add(row, timestamp, values[row])
        return hours

    def _build_view(self) -> _View:
        ts = self.ts
        if self.winners is not None:
            rows = array("I", sorted(self.winners.values(), key=ts.__getitem__))
        else:
            if self.order is None:
                self.order = array("I", sorted(range(len(ts)), key=ts.__getitem__))
            rows = self.order
            if self.cancelled:
                rows = array("I", filterfalse(self.cancelled.__contains__, rows))
        sums = _prefix_sums(self.values, rows)
        return _View(rows, array("q", map(ts.__getitem__, rows)), sums)

    def number(self, raw: int | float) -> Number:
        """Turn a stored (scaled) value or sum into int when exact, else float."""
        if isinstance(raw, float):
            return int(raw) if raw.is_integer() and abs(raw) < 2**53 else raw
        if not self.scale:
            return raw
        divisor: int = 10**self.scale
        quotient, remainder = divmod(raw, divisor)
        return quotient if remainder == 0 else raw / divisor

    def _evaluate(self, view: _View, formula: str, lo: int, hi: int) -> Number:
        if formula == "count":
            return hi - lo
        if formula == "sum":
            return self.number(view.sums[hi] - view.sums[lo])
        return self.number(self.values[view.rows[hi - 1]]) if hi > lo else 0
