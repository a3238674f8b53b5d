"""Storage and aggregation engine for Billing Meter events (pure: no Flask, no clock).

Emulates what Stripe computes from meter events (shared/spec/meters.md): the
`sum` / `count` / `last` formulas over a `[start, end)` range of event
timestamps (§1, §6 event summaries, §7 invoice quantities), `event_time_window`
pre-aggregation per UTC hour/day (§1), identifier uniqueness for 24 h (§3) and
cancellation by identifier (§4). All times are int unix seconds from the caller.

Storage per (meter, customer) "series", column-wise and append-only: `ts`
(int64), `values`, `received` (int64 `received_at`, for the 24 h rules), a set
of cancelled rows and, for pre-aggregated meters, a dict bucket -> winning row.
The row number is the arrival sequence within the series (no extra column).
Values are exact scaled int64 (`values[i] == value * 10**scale`, one `scale` per
series: 0 while all values are integers, raised with a one-off rescale when a
value with more decimal places arrives); only if a scaled value overflows int64
does the series fall back to a float64 column.

Queries use a lazily built sorted view of the *active* rows (not cancelled; for
pre-aggregated meters only bucket winners), stable-sorted by timestamp so ties
keep arrival order: sorted timestamps plus prefix sums make a range sum/count
two `bisect`s, and `last` is the value at the range's last index. In-order adds
extend the view in place; out-of-order adds, cancels and replaced bucket
winners mark it dirty.

LIMITATIONS:
- Not thread-safe: callers hold the namespace lock.
- `last` ties (same timestamp) are broken by arrival order; cancelling a
  pre-aggregated bucket's winner makes the previous (still valid) event of that
  bucket count again (both unverified against Stripe).
- Summary windows are aligned to UTC hour/day boundaries and clipped to
  `[start, end)`; every window is returned (empty ones with 0), ascending.
  The route validates Stripe's alignment rules; this module does not.
- In the float fallback sums are float prefix differences (not exact).
- `value` strings are parsed with `Decimal`; format validation (what Stripe
  accepts as a numeric string) is the caller's job.
- Asynchronous processing delays and the 35-day / +5-minute timestamp window
  are not applied here.
"""

from __future__ import annotations

import enum
import math
from array import array
from bisect import bisect_left
from decimal import Decimal, InvalidOperation
from itertools import accumulate, filterfalse, pairwise
from typing import Literal, TypeAlias, cast

from stripe_mock_billing.billing.meter_identifiers import IdentifierIndex, identifier_digest

Formula = Literal["sum", "count", "last"]
Window = Literal["hour", "day"]
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


class DuplicateIdentifier(Exception):
    """An event with this identifier was received less than 24 h earlier."""

    def __init__(self, identifier: str) -> None:
        # Stripe's wording: HTTP 400, no `code` (meters.md §3).
        super().__init__(f"An event already exists with identifier {identifier}.")
        self.identifier = identifier


class CancelResult(enum.Enum):
    """Outcome of cancelling an event by identifier."""

    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    TOO_OLD = "too_old"
    ALREADY_CANCELLED = "already_cancelled"


def _parse_value(value: int | Decimal | str) -> tuple[int, int] | float:
    """Return (digits, places) with value == digits / 10**places, or a float if too wide."""
    if isinstance(value, bool):
        raise TypeError("meter event value must be a number, not bool")
    if isinstance(value, int):
        return value, 0
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
        self.order: array[int] | None = None if width else array("I")  # all rows, by ts
        self.view: _View | None = None

    # -- writes ---------------------------------------------------------------------------
    def append(self, timestamp: int, parsed: tuple[int, int] | float, received_at: int) -> int:
        row = len(self.ts)
        if row >> _ROW_BITS:
            raise OverflowError("too many events for one meter and customer")
        self._append_value(parsed)
        self.ts.append(timestamp)
        self.received.append(received_at)
        replaced = False
        if self.winners is not None and self.width is not None:
            bucket = timestamp - timestamp % self.width
            replaced = bucket in self.winners
            self.winners[bucket] = row
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
        self.view = None

    def _to_float(self) -> None:
        divisor = 10 ** (self.scale or 0)
        self.values = array("d", [int(v) / divisor for v in self.values])
        self.scale = None
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
        if view is None:
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
    def sorted_view(self) -> _View:
        if self.view is None:
            self.view = self._build_view()
        return self.view

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

    def evaluate(self, view: _View, formula: str, lo: int, hi: int) -> Number:
        if formula == "count":
            return hi - lo
        if formula == "sum":
            return self.number(view.sums[hi] - view.sums[lo])
        return self.number(self.values[view.rows[hi - 1]]) if hi > lo else 0


class MeterEventStore:
    """All meter events of one account (namespace): columns per (meter, customer)."""

    def __init__(self) -> None:
        self._meters: dict[str, dict[str, _Series]] = {}
        self._series: list[_Series] = []
        self._owners: list[tuple[str, str]] = []  # series id -> (meter id, customer id)
        self._identifiers = IdentifierIndex()
        self._count = 0

    def add(
        self,
        meter_id: str,
        customer_id: str,
        timestamp: int,
        value: int | Decimal | str,
        identifier: str | None,
        received_at: int,
        window: Window | None = None,
    ) -> None:
        """Store one event; raise DuplicateIdentifier if `identifier` was seen < 24 h ago.

        `value` is an int, a Decimal or an already validated numeric string;
        `window` is the meter's `event_time_window` (fixed per meter).
        `identifier=None` stores an event that cannot be deduplicated or cancelled.
        """
        digest = None
        if identifier is not None:
            digest = identifier_digest(identifier)
            ref = self._identifiers.get(digest)
            if ref is not None and received_at - self._received_at(ref) < IDENTIFIER_TTL:
                raise DuplicateIdentifier(identifier)
        parsed = _parse_value(value)
        series = self._series_for(meter_id, customer_id, window)
        row = series.append(timestamp, parsed, received_at)
        if digest is not None:
            self._identifiers.put(digest, series.sid << _ROW_BITS | row)
        self._count += 1

    def has_identifier(self, identifier: str, now: int) -> bool:
        """True if an event with `identifier` was received less than 24 h before `now`."""
        ref = self._identifiers.get(identifier_digest(identifier))
        return ref is not None and now - self._received_at(ref) < IDENTIFIER_TTL

    def cancel(self, identifier: str, now: int) -> CancelResult:
        """Cancel the event with `identifier` (meter event adjustment `type=cancel`)."""
        ref = self._identifiers.get(identifier_digest(identifier))
        if ref is None:
            return CancelResult.NOT_FOUND
        if now - self._received_at(ref) >= IDENTIFIER_TTL:
            return CancelResult.TOO_OLD
        series, row = self._series[ref >> _ROW_BITS], ref & _ROW_MASK
        if row in series.cancelled:
            return CancelResult.ALREADY_CANCELLED
        series.cancel(row)
        return CancelResult.CANCELLED

    def owner(self, identifier: str) -> tuple[str, str] | None:
        """(meter id, customer id) of the stored event with `identifier`, if indexed."""
        ref = self._identifiers.get(identifier_digest(identifier))
        return None if ref is None else self._owners[ref >> _ROW_BITS]

    def prune(self, now: int) -> int:
        """Forget identifiers received >= 24 h before `now` (events stay); return the count.

        Pruned identifiers make `cancel` report NOT_FOUND instead of TOO_OLD.
        """
        return self._identifiers.prune(lambda ref: now - self._received_at(ref) < IDENTIFIER_TTL)

    def aggregate(
        self, meter_id: str, customer_id: str, formula: Formula, start: int, end: int
    ) -> Number:
        """Meter formula over the customer's events with timestamp in [start, end)."""
        return self.summaries(meter_id, customer_id, formula, start, end, None)[0][2]

    def summaries(
        self,
        meter_id: str,
        customer_id: str,
        formula: Formula,
        start: int,
        end: int,
        grouping: Window | None = None,
    ) -> list[Summary]:
        """(window_start, window_end, value) per UTC hour/day window of [start, end), ascending.

        Every window is returned, empty ones valued 0, the first and last clipped
        to the range. Without `grouping`: exactly one entry (start, end, value).
        """
        if formula not in _FORMULAS:
            raise ValueError(f"unknown meter formula: {formula!r}")
        bounds = window_bounds(start, end, grouping)
        if len(bounds) < 2:
            return []
        series = self._meters.get(meter_id, {}).get(customer_id)
        if series is None:
            return [(low, high, 0) for low, high in pairwise(bounds)]
        view = series.sorted_view()
        positions = [bisect_left(view.ts, bound) for bound in bounds]
        return [
            (low, high, series.evaluate(view, formula, lo, hi))
            for (low, high), (lo, hi) in zip(pairwise(bounds), pairwise(positions), strict=True)
        ]

    def raw_events(self, meter_id: str, customer_id: str) -> list[tuple[int, Number, int, bool]]:
        """(timestamp, value, received_at, cancelled) of every stored event, in arrival order."""
        series = self._meters.get(meter_id, {}).get(customer_id)
        if series is None:
            return []
        return [
            (series.ts[row], series.number(series.values[row]), series.received[row], cancelled)
            for row in range(len(series.ts))
            for cancelled in (row in series.cancelled,)
        ]

    def latest_received(self, meter_id: str, customer_id: str) -> int | None:
        """The largest `received_at` of the customer's events on the meter (None if none)."""
        series = self._meters.get(meter_id, {}).get(customer_id)
        return max(series.received) if series is not None and series.received else None

    def customers_for(self, meter_id: str) -> list[str]:
        """Customers with at least one stored event on the meter, in first-event order."""
        return list(self._meters.get(meter_id, {}))

    def count(self) -> int:
        """Number of stored events, including cancelled and superseded ones."""
        return self._count

    def _received_at(self, ref: int) -> int:
        return self._series[ref >> _ROW_BITS].received[ref & _ROW_MASK]

    def _series_for(self, meter_id: str, customer_id: str, window: Window | None) -> _Series:
        if window is not None and window not in _WINDOW_SECONDS:
            raise ValueError(f"unknown event_time_window: {window!r}")
        width = _WINDOW_SECONDS[window] if window else None
        customers = self._meters.setdefault(meter_id, {})
        series = customers.get(customer_id)
        if series is None:
            series = customers[customer_id] = _Series(len(self._series), width)
            self._series.append(series)
            self._owners.append((meter_id, customer_id))
        elif series.width != width:
            raise ValueError(f"meter {meter_id} has a fixed event_time_window")
        return series
