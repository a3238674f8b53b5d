"""Meter store inputs no API path sends (issue 15: survivors of billing/meter_series.py). The
routes only store whole numbers within int64 (meter_ingest.parse_value) and only ask for the
`hour` / `day` grouping windows (the route's enum), so these are checked on the store itself."""

from __future__ import annotations

import pytest

from stripe_mock_billing.billing.meter_usage import MeterEventStore

DAY0 = 1_700_006_400  # a UTC midnight
H = 3600
M, C = "mtr_1", "cus_1"


def test_a_whole_number_past_int64_moves_the_series_to_floats() -> None:
    """2**64 does not fit the exact int64 column: the series falls back to floats, so the sum
    of 2**64 and 1 is the float 2.0**64 (1 is below a float's precision there)."""
    store = MeterEventStore()
    store.add(M, C, DAY0, 2**64, None, DAY0)
    store.add(M, C, DAY0 + 1, 1, None, DAY0)
    total = store.aggregate(M, C, "sum", DAY0, DAY0 + H)
    assert (total, type(total)) == (2.0**64, float)
    last = store.aggregate(M, C, "last", DAY0, DAY0 + 1)
    assert (last, type(last)) == (2.0**64, float)


def test_an_unknown_grouping_window_is_refused() -> None:
    """Summaries group by `hour` or `day` only: `week` is an error naming the value."""
    store = MeterEventStore()
    store.add(M, C, DAY0, 1, None, DAY0)
    with pytest.raises(ValueError, match=r"^unknown value_grouping_window: 'week'$"):
        store.summaries(M, C, "sum", DAY0, DAY0 + H, "week")  # type: ignore[arg-type]
