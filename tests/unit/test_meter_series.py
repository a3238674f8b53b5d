"""The per-hour index of large raw meter series (billing/meter_hours.py `_Hours`).

A raw series switches from a lazily sorted view to `_Hours` at `INDEX_MIN_EVENTS` events; these
tests lower that threshold so that small examples take the indexed path (or cross the threshold
midway), and check every query against a brute-force reference after every kind of write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mock_billing import snapshot
from stripe_mock_billing.billing import meter_hours, meter_series
from stripe_mock_billing.billing.meter_identifiers import identifier_digest
from stripe_mock_billing.billing.meter_usage import CancelResult, Formula, MeterEventStore
from stripe_mock_billing.config import Settings
from stripe_mock_billing.store import Store
from tests.meter_reference import check_number, split_windows

DAY0 = 1_700_006_400  # a UTC midnight
H, D = 3600, 86400
M, C = "mtr_1", "cus_1"
FORMULAS: tuple[Formula, ...] = ("sum", "count", "last")


@contextmanager
def index_from(events: int, busy_hour: int = 4096, always: int | None = None) -> Iterator[None]:
    """Make raw series use `_Hours` from `events` events on (dense ones; all from `always`
    events, by default `events` too), and hours keep seconds above `busy_hour` events."""
    names = (
        (meter_series, "INDEX_MIN_EVENTS"),
        (meter_series, "INDEX_ALWAYS_EVENTS"),
        (meter_hours, "BUSY_HOUR_EVENTS"),
    )
    saved = [getattr(module, name) for module, name in names]
    values = (events, events if always is None else always, busy_hour)
    for (module, name), value in zip(names, values, strict=True):
        setattr(module, name, value)
    try:
        yield
    finally:
        for (module, name), value in zip(names, saved, strict=True):
            setattr(module, name, value)


def reference(
    events: list[tuple[int, Fraction, bool]], formula: Formula, start: int, end: int
) -> Fraction:
    """Brute force over (timestamp, value, cancelled) in arrival order."""
    hits = [(ts, n, v) for n, (ts, v, gone) in enumerate(events) if not gone and start <= ts < end]
    if formula == "count":
        return Fraction(len(hits))
    if formula == "sum":
        return sum((v for _, _, v in hits), Fraction(0))
    return max(hits)[2] if hits else Fraction(0)


# minutes over three hours, plus hour edges and a day away: many events share an hour
STAMPS = st.one_of(
    st.integers(0, 3 * 60).map(lambda m: DAY0 + m * 60),
    st.sampled_from([DAY0 - 1, DAY0 + H - 1, DAY0 + H, DAY0 + D, DAY0 + D + 1]),
)
BOUNDS = st.one_of(STAMPS, st.integers(-H, 2 * D).map(lambda s: DAY0 + s))
VALUES = st.one_of(
    st.integers(-50, 50),
    st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False).map(str),
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.one_of(STAMPS, st.none()), VALUES),
        st.tuples(st.just("add"), st.one_of(STAMPS, st.none()), VALUES),
        st.tuples(st.just("cancel"), st.integers(0, 80)),
        st.tuples(st.just("query"), BOUNDS, BOUNDS),
    ),
    max_size=80,
)


def run(ops: list[tuple[Any, ...]]) -> None:
    store, events = MeterEventStore(), list[tuple[int, Fraction, bool]]()
    newest = DAY0
    for op in ops:
        if op[0] == "add":
            ts = op[1]
            if ts is None:  # in order: not earlier than any event so far
                ts = newest + len(events) % 3 * 60
            newest = max(newest, ts)
            store.add(M, C, ts, op[2], f"e{len(events)}", DAY0)
            events.append((ts, Fraction(Decimal(op[2])), False))
        elif op[0] == "cancel":
            if not events:
                continue
            n = op[1] % len(events)
            ts, value, gone = events[n]
            expected = CancelResult.ALREADY_CANCELLED if gone else CancelResult.CANCELLED
            assert store.cancel(f"e{n}", DAY0) is expected
            events[n] = (ts, value, True)
        for formula in FORMULAS:  # the first query after every write, each formula
            if op[0] == "query":
                start, end = op[1], op[2]
            else:
                start, end = DAY0 - H, newest + 1
            check_number(
                store.aggregate(M, C, formula, start, end), reference(events, formula, start, end)
            )
    for formula in FORMULAS:
        for width, grouping in ((H, "hour"), (D, "day")):
            got = store.summaries(M, C, formula, DAY0 - H + 7, newest + H, grouping)  # type: ignore[arg-type]
            assert [(s, e) for s, e, _ in got] == split_windows(DAY0 - H + 7, newest + H, width)
            for s, e, value in got:
                check_number(value, reference(events, formula, s, e))


@pytest.mark.parametrize(
    ("threshold", "busy_hour", "always"),
    [(1, 4096, 1), (1, 0, 1), (5, 3, 5), (2, 2, 30), (2048, 4096, 6144)],
)
@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_every_query_after_every_write_matches_brute_force(
    threshold: int, busy_hour: int, always: int, ops: list[tuple[Any, ...]]
) -> None:
    with index_from(threshold, busy_hour, always):
        run(ops)


# Examples hypothesis found: an hour that kept per-second tallies, brought back to `busy_hour`
# events or fewer by cancels, took new events without tallying them, so a later cancel
# underflowed its second's count (OverflowError) or a bound inside it subtracted too little.
FELL_BELOW_BUSY = [
    [
        *[("add", DAY0 + H, 0), ("add", None, 0), ("add", DAY0, 0), ("add", DAY0 + H, 0)],
        *[("add", DAY0 + H, 0), ("cancel", 0), ("cancel", 1), ("add", DAY0, 0)],
        *[("add", None, 0), ("add", None, 0), ("cancel", 6)],
    ],
    [
        *[("add", DAY0 + 2 * H + 3480, 0), ("add", None, -17), ("add", DAY0, 0)],
        *[("add", DAY0 + 2 * H + 2760, 0), ("add", DAY0 + 2 * H + 3480, 0), ("cancel", 0)],
        *[("add", DAY0, 0), ("cancel", 27), ("add", None, 0), ("add", DAY0, 0), ("cancel", 14)],
    ],
]


@pytest.mark.parametrize("ops", FELL_BELOW_BUSY, ids=["cancel-untallied", "bound-in-hour"])
def test_an_hour_brought_below_busy_by_cancels_still_tallies_its_seconds(
    ops: list[tuple[Any, ...]],
) -> None:
    with index_from(5, busy_hour=3, always=5):
        run(ops)


@pytest.mark.parametrize("busy_hour", [0, 4096])
def test_cancels_unlink_from_any_place_in_an_hour(busy_hour: int) -> None:
    with index_from(1, busy_hour):
        store = MeterEventStore()
        for n, minute in enumerate([10, 5, 50, 30, 5]):  # arrival order, one hour
            store.add(M, C, DAY0 + minute * 60, n + 1, f"e{n}", DAY0)
        assert store.aggregate(M, C, "last", DAY0, DAY0 + H) == 3
        assert store.cancel("e2", DAY0) is CancelResult.CANCELLED  # the hour's last, mid-chain
        assert store.aggregate(M, C, "last", DAY0, DAY0 + H) == 4
        assert store.cancel("e4", DAY0) is CancelResult.CANCELLED  # the newest (chain head)
        assert store.cancel("e0", DAY0) is CancelResult.CANCELLED  # the oldest (chain tail)
        assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == 6
        assert store.aggregate(M, C, "sum", DAY0 + 6 * 60, DAY0 + H) == 4  # bound inside
        assert store.aggregate(M, C, "last", DAY0, DAY0 + 30 * 60) == 2
        for n in (1, 3):
            store.cancel(f"e{n}", DAY0)
        assert store.summaries(M, C, "last", DAY0, DAY0 + 2 * H, "hour") == [
            (DAY0, DAY0 + H, 0),
            (DAY0 + H, DAY0 + 2 * H, 0),
        ]
        store.add(M, C, DAY0 + 20 * 60, 9, "e5", DAY0)  # the emptied hour counts again
        assert store.aggregate(M, C, "last", DAY0, DAY0 + D) == 9


@pytest.mark.parametrize("busy_hour", [0, 4096])
def test_last_skips_hours_emptied_by_cancels(busy_hour: int) -> None:
    with index_from(1, busy_hour):
        store = MeterEventStore()
        store.add(M, C, DAY0 + 5, 1, "a", DAY0)
        store.add(M, C, DAY0 + 3 * H + 5, 2, "b", DAY0)
        store.add(M, C, DAY0 + 2 * H + 5, 3, "c", DAY0)
        store.cancel("b", DAY0)
        store.cancel("c", DAY0)
        assert store.aggregate(M, C, "last", DAY0, DAY0 + D) == 1
        assert store.aggregate(M, C, "last", DAY0 + 1 * H, DAY0 + D) == 0


@pytest.mark.parametrize("busy_hour", [0, 4096])
def test_rescale_and_float_fallback_keep_hour_sums(busy_hour: int) -> None:
    with index_from(1, busy_hour):
        store = MeterEventStore()
        store.add(M, C, DAY0, 3, None, DAY0)
        store.add(M, C, DAY0 + H, "0.25", None, DAY0)  # rescales the stored values
        assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 3.25
        store.add(M, C, DAY0 + 2 * H, "0.5", None, DAY0)
        assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 3.75
        store.add(M, C, DAY0 + 1, "1e-50", None, DAY0)  # cannot be scaled: float column
        assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == pytest.approx(3.75)
        assert store.aggregate(M, C, "sum", DAY0 + H, DAY0 + D) == 0.75
        assert store.aggregate(M, C, "count", DAY0, DAY0 + D) == 4


def test_crossing_the_threshold_after_cancels() -> None:
    with index_from(4):
        store = MeterEventStore()
        for n in range(3):
            store.add(M, C, DAY0 + n, n + 1, f"e{n}", DAY0)
        store.cancel("e1", DAY0)
        store.add(M, C, DAY0 + 10, 10, "e3", DAY0)  # 4th event: the index is built here
        assert store.aggregate(M, C, "sum", DAY0, DAY0 + D) == 14
        assert store.cancel("e1", DAY0) is CancelResult.ALREADY_CANCELLED
        store.cancel("e0", DAY0)
        assert store.aggregate(M, C, "sum", DAY0 + 1, DAY0 + D) == 13


def test_snapshot_round_trip_rebuilds_the_index() -> None:
    with index_from(3):
        store = Store(Settings())
        space = store.namespace("sk_test_a")
        events = space.meter_events = MeterEventStore()
        for n in range(6):
            events.add(M, C, DAY0 + n * 1000, n, f"e{n}", DAY0)
        events.cancel("e2", DAY0)
        before = [events.aggregate(M, C, f, DAY0 + 500, DAY0 + D) for f in FORMULAS]
        state = snapshot.export_state(space)
        other = store.namespace("sk_test_b")
        snapshot.import_state(other, state)
        copy = other.meter_events
        assert isinstance(copy, MeterEventStore)
        assert [copy.aggregate(M, C, f, DAY0 + 500, DAY0 + D) for f in FORMULAS] == before
        copy.add(M, C, DAY0 + 1, 100, "e6", DAY0)  # writes after the import
        assert copy.cancel("e5", DAY0) is CancelResult.CANCELLED
        assert copy.aggregate(M, C, "sum", DAY0, DAY0 + D) == 0 + 1 + 3 + 4 + 100
        assert copy.aggregate(M, C, "last", DAY0, DAY0 + D) == 4


@pytest.mark.parametrize("busy_hour", [0, 2, 4096])
def test_same_second_ties_and_cancels_in_a_busy_hour(busy_hour: int) -> None:
    with index_from(1, busy_hour):
        store = MeterEventStore()
        for n, (second, value) in enumerate([(7, 1), (7, 2), (9, 3), (7, 4), (8, 5)]):
            store.add(M, C, DAY0 + second, value, f"e{n}", DAY0)
        assert store.aggregate(M, C, "last", DAY0, DAY0 + 8) == 4  # same second: newest
        assert store.aggregate(M, C, "sum", DAY0 + 8, DAY0 + 9) == 5
        assert store.cancel("e3", DAY0) is CancelResult.CANCELLED
        assert store.aggregate(M, C, "last", DAY0, DAY0 + 8) == 2
        assert store.cancel("e2", DAY0) is CancelResult.CANCELLED  # the hour's last
        assert store.aggregate(M, C, "last", DAY0, DAY0 + H) == 5
        assert store.aggregate(M, C, "sum", DAY0 + 7, DAY0 + 9) == 8
        assert store.aggregate(M, C, "count", DAY0 + 8, DAY0 + H) == 1


def test_identifier_digests_are_stable() -> None:
    """Snapshots store these digests: the function must never change its output."""
    assert identifier_digest("evt_1") == 5278118921624246742
    assert identifier_digest("idem_0") == 136198931785446115


# ---------------------------------------------------------------- cost guarantees (structure)
def _series(store: MeterEventStore) -> Any:
    return store._meters[M][C]


def test_the_index_starts_at_the_threshold_and_never_sorts(monkeypatch: pytest.MonkeyPatch) -> None:
    with index_from(4):
        store = MeterEventStore()
        for n in range(3):
            store.add(M, C, DAY0 + 10 - n, 1, None, DAY0)
        assert store.aggregate(M, C, "count", DAY0, DAY0 + D) == 3
        assert type(_series(store).view) is meter_series._View
        store.add(M, C, DAY0 + 5, 1, None, DAY0)
        assert type(_series(store).view) is meter_hours._Hours
        assert _series(store).order is None
        monkeypatch.setattr(meter_series._Series, "_build_view", None)  # no lazy sort any more
        store.add(M, C, DAY0 + 1, 1, "x", DAY0)  # out of order
        store.cancel("x", DAY0)
        assert store.summaries(M, C, "count", DAY0, DAY0 + 2 * H, "hour") == [
            (DAY0, DAY0 + H, 4),
            (DAY0 + H, DAY0 + 2 * H, 0),
        ]


def test_sparse_series_keep_the_sorted_view_until_they_are_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(meter_series, "INDEX_MIN_EVENTS", 4)
    monkeypatch.setattr(meter_series, "INDEX_ALWAYS_EVENTS", 12)
    monkeypatch.setattr(meter_series, "MIN_EVENTS_PER_HOUR", 2)
    sparse, dense = MeterEventStore(), MeterEventStore()
    for n in range(12):
        sparse.add(M, C, DAY0 + n * H, 1, None, DAY0)  # one event per hour
        dense.add(M, C, DAY0 + n % 2 * H, 1, None, DAY0)  # two hours
        for store in (sparse, dense):
            assert store.aggregate(M, C, "count", DAY0, DAY0 + D) == n + 1
        hours = type(_series(sparse).view) is meter_hours._Hours
        assert hours is (n + 1 >= 12)
        assert (type(_series(dense).view) is meter_hours._Hours) is (n + 1 >= 4)
    assert sparse.aggregate(M, C, "sum", DAY0 + H, DAY0 + 3 * H) == 2


def test_a_bound_after_an_hours_latest_event_walks_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with index_from(1):
        store = MeterEventStore()
        for second in (5, 100, 7):
            store.add(M, C, DAY0 + second, second, None, DAY0)
        store.aggregate(M, C, "sum", DAY0, DAY0 + D)
        monkeypatch.setattr(meter_hours._Hours, "_rows", None)
        assert store.aggregate(M, C, "sum", DAY0, DAY0 + 101) == 112
        assert store.aggregate(M, C, "last", DAY0, DAY0 + 101) == 100
        assert store.aggregate(M, C, "sum", DAY0 + 3 * H, DAY0 + 3 * H + 1) == 0


def test_a_busy_hour_answers_bounds_inside_it_from_its_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with index_from(1, busy_hour=3):
        store = MeterEventStore()
        for n, second in enumerate((50, 10, 30, 10, 20)):
            store.add(M, C, DAY0 + second, n + 1, f"e{n}", DAY0)
        assert set(_series(store).view.seconds) == {0}
        store.cancel("e2", DAY0)  # the walk to unlink it is allowed: not a query
        monkeypatch.setattr(meter_hours._Hours, "_rows", None)
        assert store.aggregate(M, C, "sum", DAY0 + 10, DAY0 + 30) == 2 + 4 + 5
        assert store.aggregate(M, C, "count", DAY0 + 11, DAY0 + 50) == 1
        assert store.aggregate(M, C, "last", DAY0, DAY0 + 20) == 4
        assert store.aggregate(M, C, "last", DAY0 + 11, DAY0 + 50) == 5
        assert store.aggregate(M, C, "last", DAY0 + 21, DAY0 + 50) == 0
