"""Proration math (billing/prorations.py): by the second, half up; diffs of licensed items."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stripe_mock_billing.billing.prorations import Proration, diff, prorate

START, END = 1_000, 1_000 + 31 * 86_400


@pytest.mark.parametrize(
    ("full", "at", "expected"),
    [
        (1000, START, 1000),  # the whole period left
        (1000, END, 0),  # nothing left
        (1000, START - 50, 1000),  # before the period: the whole period
        (10000, START + 31 * 86_400 // 2, 5000),  # exactly half
        (1000, START + 10 * 86_400, 677),  # 21/31 = 677.4
        (3000, START + 10 * 86_400, 2032),  # 2032.3
        (2000, START + 20 * 86_400, 710),  # 11/31 = 709.7
        (1, START + 31 * 86_400 // 2, 1),  # 0.5 rounds half up
    ],
)
def test_prorate(full: int, at: int, expected: int) -> None:
    assert prorate(full, START, END, at) == expected


def test_diff_quantity_change_price_change_add_delete() -> None:
    rates = {("a", 1): 1000, ("a", 3): 3000, ("b", 1): 2000}
    at = START + 10 * 86_400
    got = diff(
        {"si1": ("a", 1), "si2": ("b", 1)},
        {"si1": ("a", 3), "si3": ("b", 1)},
        rates,
        START,
        END,
        at,
    )
    assert got == [
        Proration("si1", "a", 1, -677, at, END),
        Proration("si1", "a", 3, 2032, at, END),
        Proration("si2", "b", 1, -1355, at, END),
        Proration("si3", "b", 1, 1355, at, END),
    ]


def test_diff_unchanged_and_zero_quantity_items_make_nothing() -> None:
    rates = {("a", 1): 1000, ("a", 0): 0}
    assert diff({"si": ("a", 1)}, {"si": ("a", 1)}, rates, START, END, START) == []
    assert diff({"si": ("a", 0)}, {}, rates, START, END, START) == []


@given(full=st.integers(0, 10**9), at=st.integers(START, END))
def test_prorate_is_bounded_and_monotonic(full: int, at: int) -> None:
    got = prorate(full, START, END, at)
    assert 0 <= got <= full
    assert prorate(full, START, END, min(at + 3600, END)) <= got
