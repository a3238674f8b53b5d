"""Billing period math: anchors, month-end clamping, containment, boundaries."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mock_billing.billing import periods
from stripe_mock_billing.billing.periods import (
    MAX_INTERVAL_COUNT,
    add_interval,
    boundaries_between,
    interval_seconds_estimate,
    period_containing,
    period_index,
    validate_interval_count,
)

DAY = 86_400


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, second))


def utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def t1030(year: int, month: int, day: int) -> int:
    """A timestamp at the anchor's time of day, 10:30:15 UTC."""
    return ts(year, month, day, 10, 30, 15)


JAN31_2024 = t1030(2024, 1, 31)

ADD_INTERVAL_CASES = [
    # monthly from Jan 31 (leap year): clamp, then back to the 31st (never chained)
    (JAN31_2024, "month", 1, 0, JAN31_2024),
    (JAN31_2024, "month", 1, 1, t1030(2024, 2, 29)),
    (JAN31_2024, "month", 1, 2, t1030(2024, 3, 31)),
    (JAN31_2024, "month", 1, 3, t1030(2024, 4, 30)),
    (JAN31_2024, "month", 1, 12, t1030(2025, 1, 31)),
    (JAN31_2024, "month", 1, 13, t1030(2025, 2, 28)),
    (JAN31_2024, "month", 1, -1, t1030(2023, 12, 31)),
    (JAN31_2024, "month", 1, -2, t1030(2023, 11, 30)),
    (JAN31_2024, "month", 1, -11, t1030(2023, 2, 28)),
    # non-leap year
    (ts(2023, 1, 31), "month", 1, 1, ts(2023, 2, 28)),
    (ts(2023, 1, 31), "month", 1, 2, ts(2023, 3, 31)),
    # anchor days 29 and 30
    (ts(2024, 1, 29), "month", 1, 1, ts(2024, 2, 29)),
    (ts(2023, 1, 29), "month", 1, 1, ts(2023, 2, 28)),
    (ts(2023, 1, 29), "month", 1, 2, ts(2023, 3, 29)),
    (ts(2023, 1, 30), "month", 1, 1, ts(2023, 2, 28)),
    (ts(2023, 1, 30), "month", 1, 2, ts(2023, 3, 30)),
    (ts(2023, 8, 31), "month", 1, 1, ts(2023, 9, 30)),
    # interval_count 3 months
    (ts(2024, 11, 30, 8), "month", 3, 1, ts(2025, 2, 28, 8)),
    (ts(2024, 11, 30, 8), "month", 3, 2, ts(2025, 5, 30, 8)),
    (ts(2024, 11, 30, 8), "month", 3, -1, ts(2024, 8, 30, 8)),
    (ts(2023, 11, 30), "month", 3, 1, ts(2024, 2, 29)),
    (ts(2024, 1, 1), "month", 36, 1, ts(2027, 1, 1)),
    # yearly from Feb 29
    (ts(2024, 2, 29, 12), "year", 1, 1, ts(2025, 2, 28, 12)),
    (ts(2024, 2, 29, 12), "year", 1, 3, ts(2027, 2, 28, 12)),
    (ts(2024, 2, 29, 12), "year", 1, 4, ts(2028, 2, 29, 12)),
    (ts(2024, 2, 29, 12), "year", 1, -1, ts(2023, 2, 28, 12)),
    (ts(2024, 2, 29, 12), "year", 1, -4, ts(2020, 2, 29, 12)),
    (ts(2024, 2, 29), "year", 2, 1, ts(2026, 2, 28)),
    (ts(2024, 2, 29), "year", 2, 2, ts(2028, 2, 29)),
    (ts(2000, 2, 29), "year", 1, 100, ts(2100, 2, 28)),  # 2100 is not a leap year
    # weekly and daily are plain seconds
    (ts(2024, 2, 26, 9), "week", 1, 1, ts(2024, 3, 4, 9)),
    (ts(2024, 2, 26, 9), "week", 2, 1, ts(2024, 3, 11, 9)),
    (ts(2024, 2, 26, 9), "week", 1, -1, ts(2024, 2, 19, 9)),
    (ts(2024, 2, 28, 9), "day", 1, 1, ts(2024, 2, 29, 9)),
    (ts(2024, 2, 28, 9), "day", 1, 2, ts(2024, 3, 1, 9)),
    (ts(2024, 2, 28, 9), "day", 3, -1, ts(2024, 2, 25, 9)),
    # before the Unix epoch
    (ts(1960, 1, 31, 23, 59, 59), "month", 1, 1, ts(1960, 2, 29, 23, 59, 59)),
    (ts(1970, 1, 15), "month", 1, -1, ts(1969, 12, 15)),
]


@pytest.mark.parametrize(("anchor", "interval", "count", "n", "expected"), ADD_INTERVAL_CASES)
def test_add_interval(anchor: int, interval: str, count: int, n: int, expected: int) -> None:
    assert add_interval(anchor, interval, count, n) == expected


PERIOD_CASES = [
    # t on a boundary belongs to the period starting there
    (JAN31_2024, "month", 1, t1030(2024, 2, 29), (t1030(2024, 2, 29), t1030(2024, 3, 31))),
    # one second before the boundary
    (JAN31_2024, "month", 1, ts(2024, 2, 29, 10, 30, 14), (JAN31_2024, t1030(2024, 2, 29))),
    # same calendar day as the anchor but earlier in the day: previous period
    (JAN31_2024, "month", 1, ts(2024, 3, 31, 1), (t1030(2024, 2, 29), t1030(2024, 3, 31))),
    # before the anchor (backdating)
    (JAN31_2024, "month", 1, ts(2023, 12, 1), (t1030(2023, 11, 30), t1030(2023, 12, 31))),
    (ts(2024, 2, 29), "year", 1, ts(2026, 6, 1), (ts(2026, 2, 28), ts(2027, 2, 28))),
    (ts(2024, 2, 29), "year", 1, ts(2028, 2, 28, 23), (ts(2027, 2, 28), ts(2028, 2, 29))),
    (ts(2024, 1, 1), "week", 1, ts(2024, 1, 10), (ts(2024, 1, 8), ts(2024, 1, 15))),
    (ts(2024, 1, 1), "day", 1, ts(2023, 12, 31, 5), (ts(2023, 12, 31), ts(2024, 1, 1))),
    (ts(2024, 11, 30), "month", 3, ts(2025, 3, 1), (ts(2025, 2, 28), ts(2025, 5, 30))),
]


@pytest.mark.parametrize(("anchor", "interval", "count", "t", "expected"), PERIOD_CASES)
def test_period_containing(
    anchor: int, interval: str, count: int, t: int, expected: tuple[int, int]
) -> None:
    assert period_containing(anchor, interval, count, t) == expected


BOUNDARY_CASES = [
    (
        JAN31_2024,
        "month",
        1,
        JAN31_2024,
        ts(2024, 5, 1),
        [t1030(2024, 2, 29), t1030(2024, 3, 31), t1030(2024, 4, 30)],
    ),
    # after is exclusive, until is inclusive
    (ts(2024, 1, 1), "month", 1, ts(2024, 2, 1), ts(2024, 3, 1), [ts(2024, 3, 1)]),
    (ts(2024, 1, 1), "month", 1, ts(2024, 2, 1) - 1, ts(2024, 3, 1) - 1, [ts(2024, 2, 1)]),
    (ts(2024, 1, 1), "day", 1, ts(2024, 1, 1), ts(2024, 1, 1), []),
    (ts(2024, 1, 1), "day", 1, ts(2024, 1, 5), ts(2024, 1, 2), []),
    (
        ts(2024, 1, 1),
        "day",
        2,
        ts(2023, 12, 27),
        ts(2024, 1, 3),
        [ts(2023, 12, 28), ts(2023, 12, 30), ts(2024, 1, 1), ts(2024, 1, 3)],
    ),
]


@pytest.mark.parametrize(
    ("anchor", "interval", "count", "after", "until", "expected"), BOUNDARY_CASES
)
def test_boundaries_between(
    anchor: int, interval: str, count: int, after: int, until: int, expected: list[int]
) -> None:
    assert boundaries_between(anchor, interval, count, after, until) == expected


@pytest.mark.parametrize(
    ("interval", "count", "valid"),
    [
        ("day", 1, True),
        ("day", 1095, True),
        ("day", 1096, False),
        ("week", 156, True),
        ("week", 157, False),
        ("month", 36, True),
        ("month", 37, False),
        ("year", 3, True),
        ("year", 4, False),
        ("month", 0, False),
        ("month", -1, False),
        ("fortnight", 1, False),
    ],
)
def test_validate_interval_count(interval: str, count: int, valid: bool) -> None:
    assert validate_interval_count(interval, count) is valid


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_interval(0, "fortnight", 1, 1),
        lambda: add_interval(0, "month", 0, 1),
        lambda: period_containing(0, "month", -2, 5),
        lambda: boundaries_between(0, "decade", 1, 0, 10),
        lambda: interval_seconds_estimate("hour", 1),
        lambda: add_interval(ts(9999, 12, 1), "month", 1, 1),
        lambda: add_interval(10**15, "month", 1, 1),
    ],
)
def test_invalid_input_raises_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_interval_seconds_estimate() -> None:
    assert interval_seconds_estimate("day", 3) == 3 * DAY
    assert interval_seconds_estimate("week", 2) == 14 * DAY
    assert 28 * DAY < interval_seconds_estimate("month", 1) < 31 * DAY
    assert interval_seconds_estimate("year", 1) == 12 * interval_seconds_estimate("month", 1)


# --- properties -----------------------------------------------------------------------------

MIN_T = ts(1900, 1, 1)
MAX_T = ts(2200, 1, 1)

intervals = st.sampled_from(["day", "week", "month", "year"])


@st.composite
def schedules(draw: st.DrawFn) -> tuple[int, str, int]:
    interval = draw(intervals)
    count = draw(st.integers(1, MAX_INTERVAL_COUNT[interval]))
    anchor = draw(st.integers(ts(1950, 1, 1), ts(2100, 1, 1)))
    return anchor, interval, count


@given(schedules(), st.integers(-200, 200))
def test_periods_are_contiguous_and_increasing(schedule: tuple[int, str, int], n: int) -> None:
    anchor, interval, count = schedule
    start = add_interval(anchor, interval, count, n)
    end = add_interval(anchor, interval, count, n + 1)
    assert start < end
    assert period_containing(anchor, interval, count, start) == (start, end)
    assert period_containing(anchor, interval, count, end - 1) == (start, end)
    assert period_index(anchor, interval, count, start) == n


@given(schedules(), st.integers(-200, 200))
def test_boundaries_keep_time_of_day_and_clamp_day(schedule: tuple[int, str, int], n: int) -> None:
    anchor, interval, count = schedule
    boundary = add_interval(anchor, interval, count, n)
    assert (boundary - anchor) % DAY == 0
    if interval in ("month", "year"):
        a, b = utc(anchor), utc(boundary)
        months = n * count * (12 if interval == "year" else 1)
        assert (b.year * 12 + b.month) - (a.year * 12 + a.month) == months
        assert b.day == min(a.day, calendar.monthrange(b.year, b.month)[1])


@given(schedules(), st.integers(MIN_T, MAX_T))
def test_period_containing_contains_t(schedule: tuple[int, str, int], t: int) -> None:
    anchor, interval, count = schedule
    start, end = period_containing(anchor, interval, count, t)
    assert start <= t < end
    n = period_index(anchor, interval, count, t)
    assert start == add_interval(anchor, interval, count, n)
    assert end == add_interval(anchor, interval, count, n + 1)


@given(schedules(), st.integers(MIN_T, MAX_T))
def test_period_index_uses_a_few_steps(schedule: tuple[int, str, int], t: int) -> None:
    anchor, interval, count = schedule
    calls = 0
    real = periods.add_interval

    def counting(*args: int | str) -> int:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as m:
        m.setattr(periods, "add_interval", counting)
        period_index(anchor, interval, count, t)
    assert calls <= 4


def brute_force_boundaries(
    anchor: int, interval: str, count: int, after: int, until: int
) -> list[int]:
    n = 0
    while add_interval(anchor, interval, count, n) > after:
        n -= 1
    found = []
    while (b := add_interval(anchor, interval, count, n)) <= until:
        if b > after:
            found.append(b)
        n += 1
    return found


@settings(max_examples=60)
@given(
    st.sampled_from(["day", "week", "month", "year"]),
    st.integers(1, 5),
    st.integers(ts(2000, 1, 1), ts(2030, 1, 1)),
    st.integers(ts(1995, 1, 1), ts(2035, 1, 1)),
    st.integers(0, 3 * 366 * DAY),
)
def test_boundaries_between_matches_brute_force(
    interval: str, count: int, anchor: int, after: int, span: int
) -> None:
    until = after + span
    assert boundaries_between(anchor, interval, count, after, until) == brute_force_boundaries(
        anchor, interval, count, after, until
    )
