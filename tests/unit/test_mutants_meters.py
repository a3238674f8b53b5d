"""Meter store internals no API path reaches cheaply (issue 15: survivors of the meter store
modules), checked with literal values or against the brute-force reference."""

from __future__ import annotations

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
