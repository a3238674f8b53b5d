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

Queries read a structure kept next to the columns (meter_series.py), chosen so that
the first query after any write is cheap (no write makes a query sort more than a
few thousand rows):
- a small raw series (fewer than 2,048 events, or fewer than 6,144 with under 8
  per hour it has events in), and every pre-aggregated series (at most one active
  event per hour/day bucket), keeps a lazily built sorted view of its
  *active* rows (not cancelled; for pre-aggregated meters only bucket winners),
  stable-sorted by timestamp so ties keep arrival order: prefix sums make a range
  sum/count two `bisect`s and `last` is the value at the range's last index.
  In-order adds extend it in place; other writes drop it, and rebuilding costs
  O(k log k) for those few rows;
- a larger raw series keeps its active events grouped by UTC hour: each add
  updates its hour's count, exact sum and latest event in O(1) (a cancel also
  walks its hour's events to unlink it), and a query refreshes prefix sums over
  the hours from the earliest hour changed.
  Summary windows are hour/day aligned, so they read prefix sums only; a range
  bound inside an hour (the ends of an invoice period) subtracts that hour's
  events at or after it, by walking them (at most 4,096) or from per-second
  tallies that busier hours keep.

LIMITATIONS:
- Not thread-safe: callers hold the namespace lock.
- `last` ties (same timestamp) are broken by arrival order; cancelling a
  pre-aggregated bucket's winner makes the previous (still valid) event of that
  bucket count again (both unverified against Stripe).
- Summary windows are aligned to UTC hour/day boundaries and clipped to
  `[start, end)`; every window is returned (empty ones with 0), ascending.
  The route validates Stripe's alignment rules; this module does not.
- In the float fallback sums are float sums and differences (not exact).
- A snapshot does not carry the query structures: the first write or query of a
  large series after an import regroups its events (O(events)).
- `value` strings are parsed with `Decimal`; format validation (what Stripe
  accepts as a numeric string) is the caller's job.
- Asynchronous processing delays and the 35-day / +5-minute timestamp window
  are not applied here.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from itertools import pairwise

from stripe_mock_billing.billing.meter_identifiers import IdentifierIndex, identifier_digest
from stripe_mock_billing.billing.meter_series import (
    _FORMULAS,
    _ROW_BITS,
    _ROW_MASK,
    _WINDOW_SECONDS,
    IDENTIFIER_TTL,
    Number,
    Summary,
    _parse_value,
    _Series,
    window_bounds,
)
from stripe_mock_billing.domain.meters import Formula, Window

_WIDTHS: dict[str | None, int | None] = {None: None}  # event_time_window -> bucket seconds
_WIDTHS.update(_WINDOW_SECONDS)


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
        digest = slot = 0
        if identifier is not None:
            digest = identifier_digest(identifier)
            slot = self._identifiers.find(digest)
            ref = self._identifiers.get_at(slot)
            if ref is not None and received_at - self._received_at(ref) < IDENTIFIER_TTL:
                raise DuplicateIdentifier(identifier)
        parsed = _parse_value(value)
        series = self._series_for(meter_id, customer_id, window)
        row = series.append(timestamp, parsed, received_at)
        if digest:
            self._identifiers.put_at(slot, digest, series.sid << _ROW_BITS | row)
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
        values = series.window_values(formula, bounds)
        windows = pairwise(bounds)
        return [(low, high, value) for (low, high), value in zip(windows, values, strict=True)]

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
        width = _WIDTHS.get(window, -1)
        if width == -1:
            raise ValueError(f"unknown event_time_window: {window!r}")
        customers = self._meters.get(meter_id)
        if customers is None:
            customers = self._meters[meter_id] = {}
        series = customers.get(customer_id)
        if series is None:
            series = customers[customer_id] = _Series(len(self._series), width)
            self._series.append(series)
            self._owners.append((meter_id, customer_id))
        elif series.width != width:
            raise ValueError(f"meter {meter_id} has a fixed event_time_window")
        return series
