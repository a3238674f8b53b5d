"""Legacy usage records of one subscription item, indexed by time (pure: no Flask, no clock).

Emulates what Stripe keeps for `POST /v1/subscription_items/{id}/usage_records`
(shared/spec/usage-records-legacy.md §3, §5): a map `timestamp -> quantity` where
`increment` adds to the bucket at that exact timestamp and `set` overwrites it, and
the billed quantity of a period `[start, end)` under the price's `aggregate_usage`:

- `sum`: sum of the buckets in the period;
- `last_during_period`: the bucket at the latest timestamp in the period (0 if none);
- `last_ever`: the bucket at the latest timestamp `< end`, across all time (0 if none);
- `max`: the largest bucket in the period (0 if none).

Storage is column-wise, never one object per record: parallel columns of distinct,
sorted timestamps (`array('q')`) and the quantity stored at each one, plus

- prefix sums (`_prefix[k]` = sum of the first k buckets), valid up to a watermark;
- block maxima over fixed blocks of `BLOCK` buckets, each either valid or `STALE`.

Writing: a timestamp after the newest one appends (amortised O(1); prefix sums and the
last block's maximum kept valid); a timestamp already stored updates its bucket in place
(O(log n) to find it), lowers the prefix watermark to that index and marks its block
stale only if a `set` lowered the block's maximum; a new timestamp older than the newest
one goes to a `pending` dict that is merged into the sorted columns lazily, on the next
query (a few by memmove inserts, many by one sort of the tail; sorted lazily, as the
meter event store does).

Querying: `sum` and both `last_*` modes are two binary searches, O(log n), after the
prefix sums are rebuilt from the watermark w, O(n - w). `max` is O(log n + BLOCK +
k / BLOCK) for k buckets in the period, plus O(BLOCK) per stale block inside the period
(only blocks of the queried range are ever recomputed). The API only accepts usage in
the current period (plus a 5-minute grace), so w and the stale blocks are near the tail
and a period close never rescans all history.

LIMITATIONS:
- Not thread-safe: callers hold the namespace lock.
- Quantities are non-negative Python ints (exact, no overflow); the API layer rejects
  negative quantities before they reach this module.
- `count()` counts distinct timestamps (buckets), `records` counts `record` calls.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import accumulate
from typing import Final, Literal

AggregateUsage = Literal["sum", "last_during_period", "last_ever", "max"]
Action = Literal["increment", "set"]

MODES: Final[tuple[str, ...]] = ("sum", "last_during_period", "last_ever", "max")
ACTIONS: Final[tuple[str, ...]] = ("increment", "set")
BLOCK: Final = 256
"""Buckets per block of the block-maximum index used by `max`."""
STALE: Final = -1
"""Block maximum to recompute (quantities are non-negative, so -1 is never a real maximum)."""
MERGE_ONE_BY_ONE: Final = 64
"""Up to this many pending buckets are inserted one by one instead of re-sorting the tail."""


class ItemUsage:
    """The usage of one subscription item: a time-indexed bucket map with range aggregates."""

    __slots__ = ("_bmax", "_pending", "_prefix", "_pvalid", "_qty", "_ts", "records")

    def __init__(self) -> None:
        self._ts: array[int] = array("q")  # distinct timestamps, ascending
        self._qty: list[int] = []  # quantity at each timestamp (Python ints: exact)
        self._prefix: list[int] = [0]  # _prefix[k] = sum(_qty[:k]) for k <= _pvalid
        self._pvalid = 0
        # max of each block of BLOCK buckets (one entry per started block); STALE = recompute
        self._bmax: list[int] = []
        self._pending: dict[int, int] = {}  # new timestamps older than the newest stored one
        self.records = 0

    # --- writing -----------------------------------------------------------------------------

    def record(self, timestamp: int, quantity: int, action: str = "increment") -> None:
        """Add (`increment`) or overwrite (`set`) the quantity at exactly `timestamp`."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
        if quantity < 0:
            raise ValueError("usage quantities must be non-negative")
        self.records += 1
        ts, qty = self._ts, self._qty
        n = len(ts)
        if n == 0 or timestamp > ts[-1]:
            ts.append(timestamp)
            qty.append(quantity)
            if self._pvalid == n:
                self._prefix.append(self._prefix[-1] + quantity)
                self._pvalid = n + 1
            bmax, b = self._bmax, n // BLOCK
            if b == len(bmax):
                bmax.append(quantity)  # a new block holding one bucket
            elif quantity > (cur := bmax[b]) and cur != STALE:
                bmax[b] = quantity
            return
        i = n - 1 if timestamp == ts[-1] else bisect_left(ts, timestamp)
        if i < n and ts[i] == timestamp:
            old = qty[i]
            new = old + quantity if action == "increment" else quantity
            qty[i] = new
            if i == n - 1 and self._pvalid == n:
                self._prefix[n] += new - old  # the common case: more usage at "now"
            else:
                self._pvalid = min(self._pvalid, i)
            bmax, b = self._bmax, i // BLOCK
            cur = bmax[b]
            if new < old and old == cur:
                bmax[b] = STALE  # the block's max may have been lowered by a `set`
            elif new > cur and cur != STALE:
                bmax[b] = new
            return
        self._bump_pending(timestamp, quantity, action)

    def _bump_pending(self, timestamp: int, quantity: int, action: str) -> None:
        if action == "increment":
            self._pending[timestamp] = self._pending.get(timestamp, 0) + quantity
        else:
            self._pending[timestamp] = quantity

    def clear(self) -> None:
        """Forget all usage (`DELETE /v1/subscription_items/{id}` with `clear_usage=true`)."""
        self._ts = array("q")
        self._qty = []
        self._prefix = [0]
        self._pvalid = 0
        self._bmax = []
        self._pending = {}

    # --- lazy maintenance --------------------------------------------------------------------

    def _settle(self) -> None:
        """Merge pending buckets into the sorted columns; rebuild stale prefix sums."""
        if self._pending:
            cut = self._merge_pending()
            self._pvalid = min(self._pvalid, cut)
            first = cut // BLOCK
            del self._bmax[first:]
            self._bmax.extend([STALE] * (-(-len(self._ts) // BLOCK) - first))
        n = len(self._qty)
        if self._pvalid < n:
            v = self._pvalid
            del self._prefix[v + 1 :]
            sums = accumulate(self._qty[v:], initial=self._prefix[v])
            next(sums)  # `initial` repeats the already-valid prefix[v]
            self._prefix.extend(sums)
            self._pvalid = n

    def _merge_pending(self) -> int:
        """Move pending buckets into the sorted columns; return the lowest index that moved."""
        pending, self._pending = self._pending, {}
        ts, qty = self._ts, self._qty
        if len(pending) <= MERGE_ONE_BY_ONE:  # a few late records: memmove inserts
            keys = sorted(pending)
            for t in keys:
                i = bisect_left(ts, t)
                ts.insert(i, t)
                qty.insert(i, pending[t])
            return bisect_left(ts, keys[0])
        cut = bisect_left(ts, min(pending))
        values = dict(zip(ts[cut:], qty[cut:], strict=True))
        values.update(pending)  # pending timestamps are not in the columns
        merged = sorted(values)  # plain ints: much faster than sorting pairs
        del ts[cut:]
        del qty[cut:]
        ts.extend(merged)
        qty.extend([values[t] for t in merged])
        return cut

    # --- reading -----------------------------------------------------------------------------

    def quantity(self, mode: str, start: int, end: int) -> int:
        """The billed quantity of the period `[start, end)` under `aggregate_usage` `mode`."""
        if mode not in MODES:
            raise ValueError(f"unknown aggregate_usage {mode!r}; expected one of {MODES}")
        self._settle()
        ts = self._ts
        j = bisect_left(ts, end)
        if mode == "last_ever":
            return self._qty[j - 1] if j > 0 else 0
        i = bisect_left(ts, start, 0, j) if start < end else j
        if i >= j:
            return 0
        if mode == "sum":
            return self._prefix[j] - self._prefix[i]
        if mode == "last_during_period":
            return self._qty[j - 1]
        return self._range_max(i, j)

    def _range_max(self, i: int, j: int) -> int:
        """Largest bucket among indexes `[i, j)` (non-empty) via block maxima."""
        qty = self._qty
        bi, bj = -(-i // BLOCK), j // BLOCK  # full blocks: [bi, bj)
        if bi >= bj:
            return max(qty[i:j])
        bmax = self._bmax
        for b in range(bi, bj):  # only the blocks of this range, and only stale ones
            if bmax[b] == STALE:
                bmax[b] = max(qty[b * BLOCK : (b + 1) * BLOCK])
        best = max(bmax[bi:bj])
        if i < bi * BLOCK:
            best = max(best, max(qty[i : bi * BLOCK]))
        if bj * BLOCK < j:
            best = max(best, max(qty[bj * BLOCK : j]))
        return best

    def count(self) -> int:
        """Number of distinct timestamps holding usage."""
        return len(self._ts) + len(self._pending)

    def first_timestamp(self) -> int | None:
        """The earliest timestamp holding usage, or None."""
        self._settle()
        return self._ts[0] if self._ts else None

    def last_timestamp(self) -> int | None:
        """The latest timestamp holding usage, or None."""
        self._settle()
        return self._ts[-1] if self._ts else None

    def has_usage(self, start: int, end: int) -> bool:
        """Whether any timestamp in `[start, end)` holds usage (even a `set` to 0)."""
        self._settle()
        return bisect_left(self._ts, start) < bisect_left(self._ts, end)

    def buckets(self, start: int, end: int) -> list[tuple[int, int]]:
        """The `(timestamp, quantity)` buckets in `[start, end)`, ascending (debugging, tests)."""
        self._settle()
        i, j = bisect_left(self._ts, start), bisect_left(self._ts, end)
        return list(zip(self._ts[i:j], self._qty[i:j], strict=True))
