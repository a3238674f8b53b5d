"""Billing period math: a billing cycle anchor plus ``n`` recurring intervals.

Emulates how Stripe lays out the periods of a subscription with
``recurring[interval]`` (``day``, ``week``, ``month``, ``year``) and
``recurring[interval_count]``:

- boundary ``n`` is always ``anchor + n * interval_count`` intervals, computed
  from the anchor every time and never chained from the previous period end,
  so a Jan 31 anchor gives Feb 28 (Feb 29 in leap years), Mar 31, Apr 30, ...;
- month and year steps clamp the day to the end of the target month (a Feb 29
  yearly anchor falls on Feb 28 in non-leap years and on Feb 29 again in leap
  years); the time of day of the anchor is kept;
- ``n`` may be negative, giving the periods before the anchor (backdated
  subscriptions);
- periods are half-open ``[start, end)``: a timestamp equal to a boundary
  belongs to the period that starts there (usage-records-legacy.md §5).

Timestamps are Unix seconds (``int``) in and out. Datetimes (always UTC) are
used only inside this module (STYLE.md, "State, time, ids").

LIMITATIONS / unverified choices:

- All calendar math is done in UTC. Stripe documents month-end clamping but
  not which time zone it uses to decide "the same day of the month"; an anchor
  close to midnight UTC may land on a different calendar day in the account's
  time zone. (unverified)
- ``day`` and ``week`` intervals are exact multiples of 86400 / 604800 seconds
  (no leap seconds, no DST, as in UTC).
- The interval-count limit (at most three years: 3 years, 36 months, 156
  weeks, 1095 days) follows the price docs; ``validate_interval_count`` only
  reports it, the arithmetic itself accepts any positive count.
- Only timestamps whose datetimes fit in years 1..9999 are supported;
  anything outside raises ``ValueError``.
"""

from __future__ import annotations

import calendar
import functools
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, TypeGuard

Interval = Literal["day", "week", "month", "year"]

INTERVALS: Final[tuple[Interval, ...]] = ("day", "week", "month", "year")

# Stripe: "The maximum of three years interval allowed (3 years, 36 months, or 156 weeks)."
# https://docs.stripe.com/api/prices/create#create_price-recurring-interval_count
MAX_INTERVAL_COUNT: Final[dict[str, int]] = {
    "day": 1095,
    "week": 156,
    "month": 36,
    "year": 3,
}

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND: Final = timedelta(seconds=1)
_FIXED_SECONDS: Final[dict[str, int]] = {"day": 86_400, "week": 7 * 86_400}
# Mean Gregorian lengths, for estimates only (never for boundaries).
_MEAN_MONTH_SECONDS: Final = 2_629_746
_MEAN_YEAR_SECONDS: Final = 12 * _MEAN_MONTH_SECONDS


def is_interval(value: str) -> TypeGuard[Interval]:
    """Whether ``value`` is one of Stripe's recurring intervals."""
    return value in MAX_INTERVAL_COUNT


def validate_interval_count(interval: str, count: int) -> bool:
    """Whether ``interval_count`` is allowed for ``interval`` (1 up to three years in total)."""
    limit = MAX_INTERVAL_COUNT.get(interval)
    return limit is not None and 1 <= count <= limit


def interval_seconds_estimate(interval: str, count: int) -> int:
    """Approximate length of one period in seconds (mean month/year), e.g. for sorting."""
    _check(interval, count)
    if interval in _FIXED_SECONDS:
        return _FIXED_SECONDS[interval] * count
    if interval == "month":
        return _MEAN_MONTH_SECONDS * count
    return _MEAN_YEAR_SECONDS * count


def add_interval(anchor: int, interval: str, count: int, n: int) -> int:
    """Boundary ``n``: the anchor plus ``n * count`` intervals, month-end clamped."""
    _check(interval, count)
    if interval in _FIXED_SECONDS:
        return anchor + n * count * _FIXED_SECONDS[interval]
    months = n * count * (12 if interval == "year" else 1)
    return _from_datetime(_add_months(_to_datetime(anchor), months))


def period_index(anchor: int, interval: str, count: int, t: int) -> int:
    """The ``n`` such that boundary ``n`` <= ``t`` < boundary ``n + 1``."""
    _check(interval, count)
    if interval in _FIXED_SECONDS:
        return (t - anchor) // (count * _FIXED_SECONDS[interval])
    start = _to_datetime(anchor)
    at = _to_datetime(t)
    months = (at.year - start.year) * 12 + (at.month - start.month)
    step = count * (12 if interval == "year" else 1)
    # Boundary n lies in calendar month anchor + n*step, so the floor below is exact
    # up to the day-of-month/time comparison inside t's own month: at most one step off.
    n = months // step
    while add_interval(anchor, interval, count, n) > t:
        n -= 1
    while add_interval(anchor, interval, count, n + 1) <= t:
        n += 1
    return n


def period_containing(anchor: int, interval: str, count: int, t: int) -> tuple[int, int]:
    """The half-open period ``[start, end)`` that contains ``t``."""
    n = period_index(anchor, interval, count, t)
    return (
        add_interval(anchor, interval, count, n),
        add_interval(anchor, interval, count, n + 1),
    )


def boundaries_between(anchor: int, interval: str, count: int, after: int, until: int) -> list[int]:
    """Every boundary ``b`` with ``after < b <= until``, ascending (renewals to replay)."""
    _check(interval, count)
    if until <= after:
        return []
    result: list[int] = []
    n = period_index(anchor, interval, count, after) + 1
    boundary = add_interval(anchor, interval, count, n)
    while boundary <= until:
        result.append(boundary)
        n += 1
        boundary = add_interval(anchor, interval, count, n)
    return result


def _check(interval: str, count: int) -> None:
    if not is_interval(interval):
        raise ValueError(f"unknown interval {interval!r}; expected one of {INTERVALS}")
    if count < 1:
        raise ValueError(f"interval_count must be a positive integer, got {count}")


def _add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise ValueError(f"billing period boundary outside years 1..9999 (year {year})")
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def _to_datetime(t: int) -> datetime:
    try:
        return _EPOCH + timedelta(seconds=t)
    except OverflowError as exc:
        raise ValueError(f"timestamp {t} is outside the supported range") from exc


def _from_datetime(value: datetime) -> int:
    return (value - _EPOCH) // _ONE_SECOND


# period math is pure; subscriptions of one test clock usually share their anchor, so renewals
# of many subscriptions hit the same few periods
cached_period = functools.lru_cache(maxsize=65_536)(period_containing)


def renewal_period(anchor: int, interval: str, count: int, boundary: int) -> tuple[int, int]:
    """The period a renewal at ``boundary`` opens: ``[boundary, anchor)`` while the anchor is
    still ahead (a trial ending before a future ``billing_cycle_anchor``: a stub period), else
    the anchor's period containing ``boundary``."""
    if boundary < anchor:
        return boundary, anchor
    return cached_period(anchor, interval, count, boundary)
