"""The per-hour index of a large raw meter series (meter_series.py `_Series.view`).

`_Hours` groups a series' active events by UTC hour, keeping each hour's count, exact sum and
latest event up to date on every add and cancel, and prefix sums over the hours refreshed by
the next query from the earliest hour changed; an hour of more than `BUSY_HOUR_EVENTS` events
also keeps per-second tallies (`_Seconds`), so a range bound inside it never walks more than
that many events. See meter_series.py for when a series uses it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate

_HOUR = 3600
_NO_ROW = (1 << 32) - 1  # "no row" (meter_series' row mask): `_Series.append` keeps rows below
_BEFORE_ALL = -(1 << 62)  # earlier than any timestamp
_AFTER_ALL = 1 << 62  # later than any timestamp
BUSY_HOUR_EVENTS = 4096
"""Events of one hour from which `_Hours` also keeps that hour's per-second tallies."""


class _Seconds:
    """Per-second tallies of one busy hour: active count, scaled sum and newest active row."""

    __slots__ = ("count", "last", "total")

    def __init__(self) -> None:
        self.count = array("I", [0]) * _HOUR
        self.total: list[int | float] = [0] * _HOUR  # exact: Python ints (floats if float)
        self.last = array("I", [_NO_ROW]) * _HOUR


class _Hours:
    """Active events of a raw series grouped by UTC hour ("slots", numbered in order of use).

    Per slot: the active count, the sum of scaled values (Python ints, so exact and never
    overflowing; floats in the float fallback), the newest active row, head of a chain
    (`chain[row]` is the next older active row of the same hour), and the active row with the
    greatest (timestamp, row) with its timestamp. `keys` / `order` list the hours ascending;
    `pcount` / `ptotal` hold prefix sums over them (entry j: the hours before keys[j]), up to
    date for the hours before `stale`. A range bound inside an hour subtracts that hour's events
    at or after it: none if the bound is past the hour's latest event, else by walking the
    hour's chain, or from per-second tallies (`seconds`) once the hour has held more than
    `BUSY_HOUR_EVENTS` events, so no bound walks more than that many.
    `ts` / `values` are the series' columns (the series re-points `values` when it rescales).
    """

    __slots__ = (
        "chain",
        "count",
        "head",
        "hour",
        "keys",
        "last",
        "last_ts",
        "order",
        "pcount",
        "ptotal",
        "seconds",
        "slots",
        "stale",
        "total",
        "ts",
        "values",
    )

    def __init__(self, ts: array[int], values: array[int] | array[float]) -> None:
        self.ts, self.values = ts, values
        self.slots: dict[int, int] = {}  # hour start -> slot
        self.hour: list[int] = []  # slot -> hour start
        self.count: list[int] = []
        self.total: list[int | float] = []
        # arrays where a list would hold an int object per hour (memory of sparse series)
        self.head: array[int] = array("I")
        self.last: array[int] = array("I")
        self.last_ts: array[int] = array("q")
        self.chain: array[int] = array("I")
        self.keys: list[int] = []
        self.order: array[int] = array("I")
        self.pcount: array[int] = array("q", [0])
        self.ptotal: list[int | float] = [0]
        self.seconds: dict[int, _Seconds] = {}  # slot -> tallies of a busy hour
        self.stale = _AFTER_ALL  # prefix sums of the hours from this one on are out of date

    # -- writes ---------------------------------------------------------------------------
    def add(self, row: int, timestamp: int, value: int | float) -> None:
        """Count an active event; `row` must be the next row (len(chain))."""
        key = timestamp - timestamp % _HOUR
        try:
            slot = self.slots[key]
        except KeyError:
            slot = self._open(key)
        count = self.count[slot] = self.count[slot] + 1
        self.total[slot] += value
        self.chain.append(self.head[slot])
        self.head[slot] = row
        if timestamp >= self.last_ts[slot]:  # a tie goes to the later arrival
            self.last_ts[slot] = timestamp
            self.last[slot] = row
        if key < self.stale:
            self.stale = key
        if count > BUSY_HOUR_EVENTS or slot in self.seconds:  # once kept, kept for every add
            seconds = self.seconds.get(slot)
            if seconds is None:
                seconds = self.seconds[slot] = _Seconds()
                for older in self._rows(self.chain[row]):  # newest first
                    second = self._tally(seconds, older, 1)
                    if seconds.last[second] == _NO_ROW:
                        seconds.last[second] = older
            seconds.last[self._tally(seconds, row, 1)] = row

    def _tally(self, seconds: _Seconds, row: int, sign: int) -> int:
        """Add (sign 1) or take (sign -1) a row to its second's count and sum; its second."""
        second = self.ts[row] % _HOUR
        seconds.count[second] += sign
        seconds.total[second] += sign * self.values[row]
        return second

    def _rows(self, row: int) -> list[int]:
        """The chain from `row` on (newest first)."""
        chain, rows = self.chain, []
        while row != _NO_ROW:
            rows.append(row)
            row = chain[row]
        return rows

    def skip(self) -> None:
        """Give the next row (a cancelled one, while rebuilding) no place in any chain."""
        self.chain.append(_NO_ROW)

    def _open(self, key: int) -> int:
        slot = self.slots[key] = len(self.hour)
        self.hour.append(key)
        self.count.append(0)
        self.total.append(0)
        self.head.append(_NO_ROW)
        self.last.append(_NO_ROW)
        self.last_ts.append(_BEFORE_ALL)
        if len(self.keys) == slot and (not self.keys or key > self.keys[-1]):
            self.keys.append(key)  # the usual case: a new latest hour
            self.order.append(slot)
        return slot

    def remove(self, row: int) -> None:
        """Stop counting the active event `row` (cancelled)."""
        ts, chain = self.ts, self.chain
        timestamp = ts[row]
        key = timestamp - timestamp % _HOUR
        slot = self.slots[key]
        self.count[slot] -= 1
        self.total[slot] -= self.values[row]
        if self.head[slot] == row:
            self.head[slot] = chain[row]
        else:
            newer = self.head[slot]
            while chain[newer] != row:
                newer = chain[newer]
            chain[newer] = chain[row]
        seconds = self.seconds.get(slot)
        if seconds is not None:
            second = timestamp - key
            self._tally(seconds, row, -1)
            if seconds.last[second] == row:  # the newest other event of that second, if any
                seconds.last[second] = next(
                    (other for other in self._rows(self.head[slot]) if ts[other] == timestamp),
                    _NO_ROW,
                )
        if self.last[slot] == row:
            self.last[slot] = self._latest_in(slot, key, key + _HOUR)
            found = self.last[slot]
            self.last_ts[slot] = _BEFORE_ALL if found == _NO_ROW else ts[found]
        if key < self.stale:
            self.stale = key

    def convert_totals(
        self, values: array[int] | array[float], convert: Callable[[int | float], int | float]
    ) -> None:
        """Adopt the series' rescaled (or float) value column and re-express the sums."""
        self.values = values
        self.total = [convert(total) for total in self.total]
        for seconds in self.seconds.values():
            seconds.total = [convert(total) for total in seconds.total]
        self.stale = _BEFORE_ALL

    # -- reads ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring `keys` / `order` and the prefix sums up to date (call before reading)."""
        if len(self.keys) != len(self.hour):
            self.order = array("I", sorted(range(len(self.hour)), key=self.hour.__getitem__))
            self.keys = [self.hour[slot] for slot in self.order]
            self.stale = _BEFORE_ALL
        if self.stale == _AFTER_ALL:
            return
        first = bisect_left(self.keys, self.stale)
        tail = self.order[first:]
        for prefix, per_slot in ((self.pcount, self.count), (self.ptotal, self.total)):
            del prefix[first + 1 :]
            sums = accumulate(map(per_slot.__getitem__, tail), initial=prefix[first])
            next(sums)  # the initial value, already in place
            prefix.extend(sums)  # type: ignore[arg-type]
        self.stale = _AFTER_ALL

    def below(self, bound: int) -> tuple[int, int | float]:
        """(count, scaled sum) of the active events with timestamp < `bound`."""
        j = bisect_left(self.keys, bound)
        count, total = self.pcount[j], self.ptotal[j]
        if not j:
            return count, total
        key = self.keys[j - 1]
        slot = self.order[j - 1]
        if bound - key >= _HOUR or bound > self.last_ts[slot]:
            return count, total  # the hour ends before `bound` or has no event at or after it
        seconds = self.seconds.get(slot)
        if seconds is not None:
            return (
                count - sum(seconds.count[bound - key :]),
                total - sum(seconds.total[bound - key :]),
            )
        ts, values = self.ts, self.values
        for row in self._rows(self.head[slot]):
            if ts[row] >= bound:
                count -= 1
                total -= values[row]
        return count, total

    def latest(self, start: int, end: int) -> int:
        """The active row with the greatest (timestamp, row) in [start, end), or _NO_ROW."""
        keys = self.keys
        j = bisect_left(keys, end) - 1
        while j >= 0 and keys[j] + _HOUR > start:
            slot = self.order[j]
            if self.count[slot]:
                if start <= self.last_ts[slot] < end:
                    return self.last[slot]
                found = self._latest_in(slot, max(start, keys[j]), end)
                if found != _NO_ROW:
                    return found
            j -= 1
        return _NO_ROW

    def _latest_in(self, slot: int, start: int, end: int) -> int:
        """The slot's active row with the greatest (timestamp, row) in [start, end)."""
        key = self.hour[slot]
        seconds = self.seconds.get(slot)
        if seconds is not None:
            for second in range(min(end - key, _HOUR) - 1, start - key - 1, -1):
                if seconds.count[second]:
                    return seconds.last[second]
            return _NO_ROW
        ts, best, best_ts = self.ts, _NO_ROW, start - 1
        for row in self._rows(self.head[slot]):  # newest first: of equal stamps the first wins
            if best_ts < ts[row] < end:
                best, best_ts = row, ts[row]
        return best
