"""Meter store internals no API path reaches cheaply (issue 15: survivors of the meter store
modules), checked with literal values or against the brute-force reference."""

from __future__ import annotations

import random
from enum import IntEnum

import pytest

from stripe_mock_billing.billing import meter_hours
from stripe_mock_billing.billing.meter_ingest import rfc3339
from stripe_mock_billing.billing.meter_usage import MeterEventStore
from tests.meter_reference import aggregate

DAY0 = 1_700_006_400  # a UTC midnight
H, D = 3600, 86400
M, C = "mtr_1", "cus_1"


def test_an_event_without_identifier_takes_no_identifier_entry() -> None:
    """Events stored with no identifier are not in the identifier index (prune drops none)."""
    store = MeterEventStore()
    store.add(M, C, DAY0, 1, None, DAY0)
    store.add(M, C, DAY0 + 1, 2, None, DAY0)
    assert store.prune(DAY0 + D) == 0
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == 3


def test_raw_events_of_a_meter_without_events_is_empty() -> None:
    """The raw columns of a (meter, customer) with no stored event are an empty list."""
    store = MeterEventStore()
    assert store.raw_events(M, C) == []
    store.add(M, C, DAY0, 4, "a", DAY0 + 5)
    assert store.raw_events("mtr_other", C) == []
    assert store.raw_events(M, "cus_other") == []
    assert store.raw_events(M, C) == [(DAY0, 4, DAY0 + 5, False)]


def test_an_unknown_event_time_window_is_refused() -> None:
    """The store takes only the meter windows Stripe has (none, hour, day): `week` is an error."""
    store = MeterEventStore()
    with pytest.raises(ValueError, match=r"^unknown event_time_window: 'week'$"):
        store.add(M, C, DAY0, 1, "a", DAY0, "week")  # type: ignore[arg-type]
    assert store.count() == 0
    assert store.customers_for(M) == []


def test_decimal_values_keep_their_sign_and_digits() -> None:
    """Decimal strings are summed exactly: -1.5 + 0.11 + 0.22 is -1.17."""
    store = MeterEventStore()
    for n, value in enumerate(["-1.5", "0.11", "0.22"]):
        store.add(M, C, DAY0 + n, value, None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == -1.17
    assert store.aggregate(M, C, "last", DAY0, DAY0 + 1) == -1.5


def test_trailing_zeros_cost_no_precision() -> None:
    """0.1 written with 40 decimal places plus 0.2 is exactly 0.3 (not the float sum
    0.30000000000000004): trailing zeros do not push a value out of the exact columns."""
    store = MeterEventStore()
    store.add(M, C, DAY0, "0." + "1".ljust(40, "0"), None, DAY0)
    store.add(M, C, DAY0 + 1, "0.2", None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == 0.3


def test_an_int_enum_value_counts_as_its_int() -> None:
    """An int subclass (IntEnum) is stored as the whole number it stands for."""

    class Units(IntEnum):
        TEN = 10

    store = MeterEventStore()
    store.add(M, C, DAY0, Units.TEN, None, DAY0)
    store.add(M, C, DAY0 + 1, 5, None, DAY0)
    total = store.aggregate(M, C, "sum", DAY0, DAY0 + H)
    assert (total, type(total)) == (15, int)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (True, TypeError, "meter event value must be a number, not bool"),
        ("abc", ValueError, "meter event value is not a number: 'abc'"),
        ("1E+400", ValueError, "meter event value must be finite: '1E+400'"),
        ("NaN", ValueError, "meter event value must be finite: 'NaN'"),
    ],
)
def test_values_that_are_not_finite_numbers_are_refused(
    value: object, error: type[Exception], message: str
) -> None:
    """A bool, a non-number, or a number beyond float range is refused, and nothing is stored."""
    store = MeterEventStore()
    with pytest.raises(error) as exc:
        store.add(M, C, DAY0, value, "a", DAY0)  # type: ignore[arg-type]
    assert str(exc.value) == message
    assert store.count() == 0


# --- large series (the per-hour index) against the brute-force reference -----------------------


def _check_against_reference(
    store: MeterEventStore,
    events: list[tuple[int, int, str]],
    cancelled: set[str],
    bounds: list[tuple[int, int]],
) -> None:
    for formula in ("sum", "count", "last"):
        for start, end in bounds:
            expected = aggregate(events, cancelled, formula, None, start, end)
            assert store.aggregate(M, C, formula, start, end) == expected, (formula, start, end)


def test_a_busy_hour_of_eight_thousand_events_matches_brute_force() -> None:
    """8,000 events in one hour (many per second, out of order), neighbours in the hours
    around it and cancels anywhere: every range, bounds inside the hour included, is exact."""
    rng = random.Random(15)
    store, events, cancelled = MeterEventStore(), list[tuple[int, int, str]](), set[str]()
    hour = DAY0 + 5 * H
    stamps = [hour + rng.randrange(H) for _ in range(8_000)]
    stamps += [hour - H + 7, hour - 1, hour + H, hour + H + 59, hour + 3 * H + 1]
    for n, ts in enumerate(stamps):
        value = rng.randrange(-50, 1000)
        store.add(M, C, ts, value, f"e{n}", DAY0)
        events.append((ts, value, f"e{n}"))
    latest = max(range(8_000), key=lambda n: (stamps[n], n))
    for n in [latest, 7_999, 0, 4_000, *rng.sample(range(8_000), 60)]:
        if f"e{n}" not in cancelled:
            store.cancel(f"e{n}", DAY0)
            cancelled.add(f"e{n}")
    bounds = [(hour - H, hour + 4 * H), (hour, hour + H), (hour + 1, hour + H - 1)]
    bounds += [(hour + 1799, hour + 1801), (hour - 1, hour + 1), (hour + H - 1, hour + H + 60)]
    bounds += [(hour + rng.randrange(H), hour + H + rng.randrange(H)) for _ in range(3)]
    _check_against_reference(store, events, cancelled, bounds)
    got = store.summaries(M, C, "sum", hour - H, hour + 2 * H, "hour")
    assert [v for _, _, v in got] == [
        aggregate(events, cancelled, "sum", None, low, low + H)
        for low in (hour - H, hour, hour + H)
    ]


def test_a_long_sparse_series_matches_brute_force() -> None:
    """7,000 events a few per hour over a year (out of order, some cancelled): sums, counts and
    last values over ranges cut inside hours are exact."""
    rng = random.Random(16)
    store, events, cancelled = MeterEventStore(), list[tuple[int, int, str]](), set[str]()
    for n in range(7_000):
        ts = DAY0 + rng.randrange(365 * D // 4) * 4  # ~3 events per hour on average
        value = rng.randrange(-5, 100)
        store.add(M, C, ts, value, f"e{n}", DAY0)
        events.append((ts, value, f"e{n}"))
    for n in rng.sample(range(7_000), 200):
        store.cancel(f"e{n}", DAY0)
        cancelled.add(f"e{n}")
    bounds = [(DAY0, DAY0 + 366 * D)]
    bounds += [
        (DAY0 + rng.randrange(365 * D), DAY0 + rng.randrange(365 * D) + 30 * D) for _ in range(8)
    ]
    _check_against_reference(store, events, cancelled, bounds)


def test_adding_to_a_busy_hour_never_walks_its_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cost guarantee: once an hour holds thousands of events, adding one more is O(1) (its
    per-second tallies are updated, never rebuilt from the hour's events)."""
    store = MeterEventStore()
    for n in range(5_000):
        store.add(M, C, DAY0 + n % H, 1, None, DAY0)
    assert store.aggregate(M, C, "count", DAY0 + 10, DAY0 + H) == 4_980
    monkeypatch.setattr(meter_hours._Hours, "_rows", None)  # no walk from here on
    for n in range(100):
        store.add(M, C, DAY0 + n, 2, None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0 + 10, DAY0 + H) == 4_980 + 90 * 2
    assert store.aggregate(M, C, "count", DAY0, DAY0 + 10) == 20 + 10


def test_a_small_series_of_tiny_float_values_keeps_their_sum() -> None:
    """In the float fallback (a value beyond exact decimals) tiny values sum to their size,
    not to 0."""
    store = MeterEventStore()
    store.add(M, C, DAY0, "1e-50", None, DAY0)
    store.add(M, C, DAY0 + 1, "2e-50", None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + H) == pytest.approx(3e-50, rel=1e-9, abs=0)


def test_a_large_series_of_tiny_float_values_keeps_their_sum() -> None:
    """In the float fallback (a value beyond exact decimals) a large series still sums tiny
    values to their size, not to 0."""
    store = MeterEventStore()
    for n in range(3_000):
        store.add(M, C, DAY0 + H + n, "1e-50", None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + 3 * H) == pytest.approx(3e-47, rel=1e-9, abs=0)
    assert store.aggregate(M, C, "sum", DAY0 + H + 1_000, DAY0 + 3 * H) == pytest.approx(
        2e-47, rel=1e-9, abs=0
    )


def test_rfc3339_milliseconds_of_a_fractional_time() -> None:
    """A fractional Unix time shows its milliseconds: .999 s is `.999Z`, .001 s is `.001Z`."""
    assert rfc3339(1_767_225_600.999) == "2026-01-01T00:00:00.999Z"
    assert rfc3339(1_767_225_600.001) == "2026-01-01T00:00:00.001Z"


def test_whole_numbers_stored_before_a_float_fallback_keep_their_value() -> None:
    """Whole numbers stored before a value that needs the float column keep their value: 5 and
    7 plus 1e-50 sum to 12 (a float: not exact any more)."""
    store = MeterEventStore()
    store.add(M, C, DAY0, 5, None, DAY0)
    store.add(M, C, DAY0 + 1, 7, None, DAY0)
    store.add(M, C, DAY0 + 2, "1e-50", None, DAY0)
    assert store.aggregate(M, C, "sum", DAY0, DAY0 + 2) == 12
    assert store.aggregate(M, C, "last", DAY0, DAY0 + 1) == 5


def test_float_fallback_values_are_whole_ints_only_below_2_to_the_53() -> None:
    """In the float column a whole value below 2**53 comes back as an int, one at 2**53 (where
    floats stop holding every integer) as a float."""
    store = MeterEventStore()
    store.add(M, C, DAY0, "1e-50", None, DAY0)  # the series is a float column from here on
    store.add(M, C, DAY0 + 1, 2**53 - 1, None, DAY0)
    store.add(M, C, DAY0 + 2, 2**53, None, DAY0)
    store.add(M, C, DAY0 + 3, 106, None, DAY0)
    below = store.aggregate(M, C, "last", DAY0, DAY0 + 2)
    at = store.aggregate(M, C, "last", DAY0, DAY0 + 3)
    small = store.aggregate(M, C, "last", DAY0, DAY0 + 4)
    assert (below, type(below)) == (2**53 - 1, int)
    assert (at, type(at)) == (2.0**53, float)
    assert (small, type(small)) == (106, int)


@pytest.mark.parametrize(
    ("edge", "rest", "expected"),
    [
        ("922337203685477580.7", ["0.2", "0.1"], 922_337_203_685_477_582),
        ("-922337203685477580.8", ["0.2", "0.6"], -922_337_203_685_477_579),
    ],
)
def test_a_decimal_at_the_edge_of_the_exact_column_sums_exactly(
    edge: str, rest: list[str], expected: int
) -> None:
    """A one-decimal value whose scaled digits are exactly int64's largest (smallest) number
    stays exact: 1 + it + the rest is the whole number the decimals add up to."""
    store = MeterEventStore()
    for n, value in enumerate([1, edge, *rest]):
        store.add(M, C, DAY0 + n, value, None, DAY0)
    total = store.aggregate(M, C, "sum", DAY0, DAY0 + H)
    assert (total, type(total)) == (expected, int)


def test_a_pre_aggregated_meter_with_thousands_of_events_counts_one_per_bucket() -> None:
    """An hourly pre-aggregated meter keeps only the most recently received event of each UTC
    hour, also with thousands of events (here 7,000 over 3 hours, out of order)."""
    rng = random.Random(17)
    store, events = MeterEventStore(), list[tuple[int, int, str]]()
    for n in range(7_000):
        ts, value = DAY0 + rng.randrange(3 * H), rng.randrange(1, 1000)
        store.add(M, C, ts, value, f"e{n}", DAY0, "hour")
        events.append((ts, value, f"e{n}"))
    for formula in ("sum", "count", "last"):
        for start, end in [(DAY0, DAY0 + D), (DAY0 + 1, DAY0 + 2 * H + 1)]:
            expected = aggregate(events, set(), formula, "hour", start, end)
            assert store.aggregate(M, C, formula, start, end) == expected
    assert store.aggregate(M, C, "count", DAY0, DAY0 + D) == 3


def test_last_of_a_range_starting_just_after_an_event_of_a_large_series_is_empty() -> None:
    """In a large series, `last` over a range that starts one second after an hour's only event
    (and holds none) is 0, not that event."""
    store = MeterEventStore()
    for n in range(3_000):
        store.add(M, C, DAY0 + n, 1, None, DAY0)  # the first hour: dense, indexed
    store.add(M, C, DAY0 + 5 * H + 100, 7, None, DAY0)
    assert store.aggregate(M, C, "last", DAY0 + 5 * H + 101, DAY0 + 5 * H + 200) == 0
    assert store.aggregate(M, C, "last", DAY0 + 5 * H + 100, DAY0 + 5 * H + 200) == 7
