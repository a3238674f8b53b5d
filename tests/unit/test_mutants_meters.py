"""Meter store internals no API path reaches cheaply (issue 15: survivors of the meter store
modules), checked with literal values or against the brute-force reference."""

from __future__ import annotations

from enum import IntEnum

import pytest

from stripe_mock_billing.billing.meter_usage import MeterEventStore

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
