"""Unit tests for the meter event storage/aggregation engine (billing/meter_usage.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mock_billing.billing import meter_series
from stripe_mock_billing.billing.meter_identifiers import IdentifierIndex, identifier_digest
from stripe_mock_billing.billing.meter_usage import (
    IDENTIFIER_TTL,
    CancelResult,
    DuplicateIdentifier,
    Formula,
    MeterEventStore,
    Number,
    Window,
)
from tests.meter_reference import check_number, split_windows

DAY0 = 1_700_006_400  # a UTC midnight
H, D = 3600, 86400
M, C = "mtr_1", "cus_1"


def _store(events: list[tuple[int, int | str]], window: Window | None = None) -> MeterEventStore:
    store = MeterEventStore()
    for n, (ts, value) in enumerate(events):
        store.add(M, C, DAY0 + ts, value, f"id_{n}", DAY0, window)
    return store


# ---------------------------------------------------------------- table-driven aggregation
AGGREGATE_CASES = [
    # (events (ts offset, value), formula, start, end, expected)
    ([], "sum", 0, D, 0),
    ([], "count", 0, D, 0),
    ([], "last", 0, D, 0),
    ([(0, 5), (10, 7)], "sum", 0, D, 12),
    ([(0, 5), (10, 7)], "count", 0, D, 2),
    ([(0, 5), (10, 7)], "last", 0, D, 7),
    ([(10, 7), (0, 5)], "last", 0, D, 7),  # latest timestamp wins, not latest arrival
    ([(10, 7), (10, 9)], "last", 0, D, 9),  # timestamp tie: later arrival wins
    ([(0, 5), (H, 7)], "sum", 0, H, 5),  # end is exclusive
    ([(0, 5), (H, 7)], "sum", H, 2 * H, 7),  # start is inclusive
    ([(0, 5), (-1, 7)], "sum", 0, D, 5),
    ([(0, 5), (1, -8)], "sum", 0, D, -3),  # negatives count (billing clamps, not us)
    ([(0, "1.5"), (1, "2.25")], "sum", 0, D, 3.75),
    ([(0, "1.5"), (1, "2.5")], "sum", 0, D, 4),  # exact decimal sum comes back as int
    ([(0, "0.1"), (1, "0.2")], "sum", 0, D, 0.3),  # scaled ints: no 0.30000000000000004
    ([(0, 3), (1, "0.5")], "last", 0, D, 0.5),
    ([(0, "1.50")], "last", 0, D, 1.5),
    ([(0, 5)], "sum", D, 0, 0),  # empty range
]


@pytest.mark.parametrize(("events", "formula", "start", "end", "expected"), AGGREGATE_CASES)
def test_aggregate_table(
    events: list[tuple[int, int | str]], formula: Formula, start: int, end: int, expected: Number
) -> None:
    result = _store(events).aggregate(M, C, formula, DAY0 + start, DAY0 + end)
    assert result == expected
    assert type(result) is type(expected)


WINDOW_CASES = [
    # (window, events in arrival order, formula, expected over the whole day)
    ("hour", [(0, 5), (10, 7)], "sum", 7),  # same hour: newest received replaces
    ("hour", [(10, 7), (0, 5)], "sum", 5),  # received order, not timestamp order
    ("hour", [(0, 5), (H, 7)], "sum", 12),  # boundary starts a new bucket
    ("hour", [(H - 1, 5), (H, 7), (0, 1)], "count", 2),
    ("day", [(0, 5), (H, 7), (D - 1, 2)], "sum", 2),
    ("day", [(0, 5), (H, 7)], "last", 7),
    ("day", [(H, 7), (0, 5)], "last", 5),
]


@pytest.mark.parametrize(("window", "events", "formula", "expected"), WINDOW_CASES)
def test_pre_aggregation_table(
    window: Window, events: list[tuple[int, int | str]], formula: Formula, expected: int
) -> None:
    store = _store(events, window)
    assert store.aggregate(M, C, formula, DAY0, DAY0 + D) == expected


def test_summaries_include_empty_windows_ascending_and_clip() -> None:
    store = _store([(0, 1), (2 * H + 5, 2)])
    assert store.summaries(M, C, "sum", DAY0, DAY0 + 3 * H, "hour") == [
        (DAY0, DAY0 + H, 1),
        (DAY0 + H, DAY0 + 2 * H, 0),
        (DAY0 + 2 * H, DAY0 + 3 * H, 2),
    ]
    assert store.summaries(M, C, "count", DAY0 + 60, DAY0 + 2 * H + 60, "hour") == [
        (DAY0 + 60, DAY0 + H, 0),
        (DAY0 + H, DAY0 + 2 * H, 0),
        (DAY0 + 2 * H, DAY0 + 2 * H + 60, 1),
    ]
    assert store.summaries(M, C, "sum", DAY0, DAY0 + 2 * D, None) == [(DAY0, DAY0 + 2 * D, 3)]
    assert store.summaries(M, C, "sum", DAY0, DAY0, "day") == []
    assert store.summaries(M, "cus_none", "last", DAY0, DAY0 + 2 * D, "day") == [
        (DAY0, DAY0 + D, 0),
        (DAY0 + D, DAY0 + 2 * D, 0),
    ]


# ---------------------------------------------------------------- identifiers and cancel
def test_duplicate_identifier_within_24h_only() -> None:
    store = MeterEventStore()
    store.add(M, C, DAY0, 1, "dup", DAY0)
    with pytest.raises(
        DuplicateIdentifier, match=r"^An event already exists with identifier dup\.$"
    ):
        store.add(M, "cus_2", DAY0, 1, "dup", DAY0 + IDENTIFIER_TTL - 1)
    assert store.has_identifier("dup", DAY0 + IDENTIFIER_TTL - 1)
    assert not store.has_identifier("dup", DAY0 + IDENTIFIER_TTL)
    store.add(M, C, DAY0 + 5, 2, "dup", DAY0 + IDENTIFIER_TTL)  # reusable after 24 h
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 3
    assert store.count() == 2


def test_cancel_results() -> None:
    store = MeterEventStore()
    store.add(M, C, DAY0, 5, "a", DAY0)
    store.add(M, C, DAY0 + 1, 7, "b", DAY0 + 10)
    assert store.cancel("zzz", DAY0) is CancelResult.NOT_FOUND
    assert store.cancel("a", DAY0 + IDENTIFIER_TTL) is CancelResult.TOO_OLD
    assert store.cancel("b", DAY0 + IDENTIFIER_TTL) is CancelResult.CANCELLED
    assert store.cancel("b", DAY0 + IDENTIFIER_TTL) is CancelResult.ALREADY_CANCELLED
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 5
    assert store.aggregate(M, C, "last", DAY0, DAY0 + D) == 5
    assert store.aggregate(M, C, "count", DAY0, DAY0 + D) == 1


def test_cancel_winner_restores_previous_event_of_bucket() -> None:
    store = MeterEventStore()
    store.add(M, C, DAY0 + 1, 5, "a", DAY0, "hour")
    store.add(M, C, DAY0 + 2, 7, "b", DAY0, "hour")
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == 7
    assert store.cancel("b", DAY0) is CancelResult.CANCELLED
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == 5
    assert store.cancel("a", DAY0) is CancelResult.CANCELLED
    assert store.aggregate(M, C, "count", DAY0, DAY0 + H) == 0


def test_prune_forgets_old_identifiers_only() -> None:
    store = MeterEventStore()
    for n in range(3000):
        store.add(M, C, DAY0, 1, f"old_{n}", DAY0)
    store.add(M, C, DAY0, 1, "fresh", DAY0 + D)
    assert store.prune(DAY0 + D) == 3000
    assert store.cancel("old_1", DAY0 + D) is CancelResult.NOT_FOUND
    assert store.has_identifier("fresh", DAY0 + D)
    assert store.aggregate(M, C, "count", DAY0, DAY0 + 1) == 3001


def test_identifier_index_grows_and_overwrites() -> None:
    index = IdentifierIndex()
    digests = [identifier_digest(f"evt_{n}") for n in range(5000)]
    for n, digest in enumerate(digests):
        index.put(digest, n)
    index.put(digests[7], 99)
    assert len(index) == 5000
    assert [index.get(d) for d in digests[:8]] == [0, 1, 2, 3, 4, 5, 6, 99]
    assert index.get(identifier_digest("missing")) is None


# ---------------------------------------------------------------- value representation
def test_values_and_validation() -> None:
    store = MeterEventStore()
    store.add(M, C, DAY0, Decimal("2.5"), None, DAY0)
    store.add(M, C, DAY0 + 1, "1e2", None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + 2) == 102.5
    with pytest.raises(ValueError, match="finite"):
        store.add(M, C, DAY0, "NaN", None, DAY0)
    with pytest.raises(ValueError, match="event_time_window"):
        store.add(M, C, DAY0, 1, None, DAY0, "hour")
    with pytest.raises(ValueError, match="formula"):
        store.aggregate(M, C, "max", DAY0, DAY0 + 1)  # type: ignore[arg-type]
    assert store.count() == 2
    assert store.customers_for(M) == [C]
    assert store.customers_for("mtr_none") == []


def test_int64_overflowing_sums_stay_exact() -> None:
    store = _store([(0, 2**62), (1, 2**62 - 1)])
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 2**63 - 1
    store.add(M, C, DAY0 + 3, 2**62, None, DAY0)  # in-order append to the cached view
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 3 * 2**62 - 1
    store.add(M, C, DAY0 + 2, 2**62, None, DAY0)  # out of order: rebuilt as Python ints
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 4 * 2**62 - 1


@pytest.mark.parametrize("window", [None, "hour"])
def test_in_order_adds_extend_cached_view_after_cancel(window: Window | None) -> None:
    store = MeterEventStore()
    for n in range(3):
        store.add(M, C, DAY0 + n * H, n + 1, f"e{n}", DAY0, window)
    assert store.cancel("e1", DAY0) is CancelResult.CANCELLED
    assert store.aggregate(M, C, "last", DAY0, DAY0 + D) == 3
    store.add(M, C, DAY0 + 5 * H, 9, "e3", DAY0, window)
    assert store.aggregate(M, C, "last", DAY0, DAY0 + D) == 9
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 13


def test_decimal_that_cannot_be_scaled_falls_back_to_float() -> None:
    store = _store([(0, "0.000000000001"), (1, 10**8)])
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == pytest.approx(1e8 + 1e-12)
    assert store.aggregate(M, C, "last", DAY0, DAY0 + D) == 10**8
    store.add(M, C, DAY0 + 2, "0.25", None, DAY0)  # in-order append to the float view
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == pytest.approx(1e8 + 0.25, abs=1e-6)
    store.add(M, C, DAY0 + 3, "1e-50", None, DAY0)
    assert store.aggregate(M, C, "count", DAY0, DAY0 + D) == 4


# ---------------------------------------------------------------- property tests vs brute force
@dataclass
class _Event:
    meter: str
    customer: str
    ts: int
    value: Fraction
    arrival: int
    cancelled: bool = False


_OFFSETS = [0, 1, H - 1, H, H + 1, 2 * H, D - 1, D, D + 1, 2 * D - 1, 2 * D]
_TIMESTAMPS = st.one_of(st.sampled_from(_OFFSETS), st.integers(-H, 3 * D)).map(lambda t: DAY0 + t)
_VALUES = st.one_of(
    st.integers(-50, 50),
    st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False).map(str),
)
_ADD = st.tuples(
    st.just("add"),
    st.sampled_from([(M, C), (M, "cus_2"), ("mtr_2", C)]),
    st.one_of(_TIMESTAMPS, st.none()),  # None: later than every earlier event (in-order path)
    _VALUES,
    st.one_of(st.none(), st.sampled_from([f"idem_{n}" for n in range(8)])),
)
_OTHER = st.one_of(
    st.tuples(st.just("cancel"), st.sampled_from([f"idem_{n}" for n in range(8)])),
    st.tuples(st.just("tick"), st.sampled_from([0, 1, H, IDENTIFIER_TTL - 1, IDENTIFIER_TTL])),
    st.tuples(st.just("query"), _TIMESTAMPS, _TIMESTAMPS),
    st.tuples(st.just("prune")),
)


def _reference(
    events: list[_Event], window: int | None, formula: Formula, start: int, end: int
) -> Fraction:
    alive = [e for e in events if not e.cancelled]
    if window is not None:
        winners: dict[int, _Event] = {}
        for e in alive:  # arrival order: the newest received event of a bucket wins
            winners[e.ts - e.ts % window] = e
        alive = list(winners.values())
    hits = [e for e in alive if start <= e.ts < end]
    if formula == "count":
        return Fraction(len(hits))
    if formula == "sum":
        return sum((e.value for e in hits), Fraction(0))
    return max(hits, key=lambda e: (e.ts, e.arrival)).value if hits else Fraction(0)


FORMULAS: tuple[Formula, ...] = ("sum", "count", "last")


def _run(ops: list[tuple[Any, ...]], window_name: Window | None) -> None:
    widths = {"hour": H, "day": D}
    window = widths[window_name] if window_name else None
    store, events = MeterEventStore(), list[_Event]()
    ids: dict[str, tuple[_Event, int]] = {}
    now, latest = DAY0, DAY0 + 3 * D
    for op in ops:
        if op[0] == "add":
            _, (meter, customer), ts, value, ident = op
            if ts is None:
                latest += 1 + len(events) % 2 * H
                ts = latest
            if ident is not None and ident in ids and now - ids[ident][1] < IDENTIFIER_TTL:
                with pytest.raises(DuplicateIdentifier):
                    store.add(meter, customer, ts, value, ident, now, window_name)
                continue
            store.add(meter, customer, ts, value, ident, now, window_name)
            event = _Event(meter, customer, ts, Fraction(Decimal(value)), len(events))
            events.append(event)
            if ident is not None:
                ids[ident] = (event, now)
        elif op[0] == "cancel":
            ident = str(op[1])
            expected = CancelResult.NOT_FOUND
            if ident in ids:
                event, received = ids[ident]
                if now - received >= IDENTIFIER_TTL:
                    expected = CancelResult.TOO_OLD
                elif event.cancelled:
                    expected = CancelResult.ALREADY_CANCELLED
                else:
                    expected, event.cancelled = CancelResult.CANCELLED, True
            assert store.cancel(ident, now) is expected
        elif op[0] == "tick":
            now += int(op[1])
        elif op[0] == "prune":
            store.prune(now)
            ids = {k: v for k, v in ids.items() if now - v[1] < IDENTIFIER_TTL}
        else:
            start, end = int(op[1]), int(op[2])
            mine = [e for e in events if (e.meter, e.customer) == (M, C)]
            for formula in FORMULAS:
                check_number(
                    store.aggregate(M, C, formula, start, end),
                    _reference(mine, window, formula, start, end),
                )
    assert store.count() == len(events)
    lo, hi = DAY0 - H, latest + 1
    for meter, customer in [(M, C), (M, "cus_2"), ("mtr_2", C)]:
        mine = [e for e in events if (e.meter, e.customer) == (meter, customer)]
        for formula in FORMULAS:
            groupings: tuple[tuple[Window, int], ...] = (("hour", H), ("day", D))
            for grouping, width in groupings:
                got = store.summaries(meter, customer, formula, lo + 60, hi, grouping)
                assert [(s, e) for s, e, _ in got] == split_windows(lo + 60, hi, width)
                for s, e, value in got:
                    check_number(value, _reference(mine, window, formula, s, e))
            check_number(
                store.aggregate(meter, customer, formula, lo, hi),
                _reference(mine, window, formula, lo, hi),
            )


_OPS = st.lists(st.one_of(_ADD, _ADD, _OTHER), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ops=_OPS, window=st.sampled_from([None, "hour", "day"]))
def test_matches_brute_force(ops: list[tuple[Any, ...]], window: Window | None) -> None:
    _run(ops, window)


@settings(max_examples=100, deadline=None)
@given(
    stamps=st.lists(_TIMESTAMPS, min_size=1, max_size=40),
    values=st.lists(st.integers(-(2**63) + 1, 2**63 - 1), min_size=40, max_size=40),
)
def test_big_integers_exact(stamps: list[int], values: list[int]) -> None:
    ops: list[tuple[Any, ...]] = []
    for n, ts in enumerate(stamps):
        ops.append(("add", (M, C), ts, values[n], None))
        ops.append(("query", DAY0 - H, ts + 1))
    _run(ops, None)


@contextmanager
def _index_from(events: int) -> Iterator[None]:
    """Make raw series switch to the per-hour index (`_Hours`) from `events` events on."""
    saved = meter_series.INDEX_MIN_EVENTS, meter_series.INDEX_ALWAYS_EVENTS
    meter_series.INDEX_MIN_EVENTS = meter_series.INDEX_ALWAYS_EVENTS = events
    try:
        yield
    finally:
        meter_series.INDEX_MIN_EVENTS, meter_series.INDEX_ALWAYS_EVENTS = saved


@pytest.mark.parametrize("threshold", [1, 4])
@settings(max_examples=300, deadline=None)
@given(ops=_OPS, window=st.sampled_from([None, "hour", "day"]))
def test_hour_index_matches_brute_force(
    threshold: int, ops: list[tuple[Any, ...]], window: Window | None
) -> None:
    with _index_from(threshold):
        _run(ops, window)


@settings(max_examples=100, deadline=None)
@given(
    stamps=st.lists(_TIMESTAMPS, min_size=1, max_size=40),
    values=st.lists(st.integers(-(2**63) + 1, 2**63 - 1), min_size=40, max_size=40),
)
def test_hour_index_big_integers_exact(stamps: list[int], values: list[int]) -> None:
    ops: list[tuple[Any, ...]] = []
    for n, ts in enumerate(stamps):
        ops.append(("add", (M, C), ts, values[n], None))
        ops.append(("query", DAY0 - H, ts + 1))
    with _index_from(1):
        _run(ops, None)
