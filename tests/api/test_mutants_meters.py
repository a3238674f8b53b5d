"""Meter behaviours pinned on both sides of their edges (issue 15: survivors of the meter store
modules). The wall clock is frozen in-process (time_machine) where a rule counts seconds of
received time: the summary lag, the 24 h identifier and cancel windows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
import time_machine

from stripe_mock_billing.handle import new_api_key
from stripe_mock_billing.inprocess import mock_stripe
from tests.api.meter_helpers import H, make_meter, send, summaries, total
from tests.conftest import assert_journal_valid

Y2030 = 1_893_456_000  # 2030-01-01T00:00:00Z, a UTC midnight


@contextmanager
def frozen(lag: int = 0) -> Iterator[tuple[stripe.StripeClient, Any, Any]]:
    """(client, control handle, traveller) of a fresh in-process account, the wall clock frozen
    at Y2030 and `summary_lag` set; every response is checked against the schema at the end."""
    with mock_stripe() as m, time_machine.travel(Y2030, tick=False) as traveller:
        sdk = m.client(new_api_key())
        handle = m.handle(sdk._requestor.api_key)
        if lag:
            handle.update_settings(summary_lag=lag)
        yield sdk, handle, traveller
        assert_journal_valid(handle)


# --- summary lag: events received less than `summary_lag` seconds ago are not summarised yet ---


def test_an_event_is_summarised_exactly_lag_seconds_after_it_was_received() -> None:
    """With a 30 s lag an event is hidden 29 s after it arrives and shown at 30 s."""
    with frozen(lag=30) as (sdk, _, traveller):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 5, Y2030 - H)
        traveller.move_to(Y2030 + 29)
        assert total(sdk, meter.id, cus, Y2030 - H, Y2030) == 0
        traveller.move_to(Y2030 + 30)
        assert total(sdk, meter.id, cus, Y2030 - H, Y2030) == 5


def test_hourly_summaries_under_a_lag_keep_their_windows() -> None:
    """value_grouping_window=hour still gives one summary per hour while, and after, the lag
    hides an event."""
    with frozen(lag=30) as (sdk, _, traveller):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        start = Y2030 - 3 * H
        send(sdk, cus, 4, start + 10)
        traveller.move_to(Y2030 + 60)
        send(sdk, cus, 6, start + 2 * H + 10)  # received now: inside the lag
        assert summaries(sdk, meter.id, cus, start, Y2030, "hour") == [
            (start, start + H, 4),
            (start + H, start + 2 * H, 0),
            (start + 2 * H, Y2030, 0),
        ]
        traveller.move_to(Y2030 + 90)  # the lag has passed: every event is visible
        assert summaries(sdk, meter.id, cus, start, Y2030, "hour") == [
            (start, start + H, 4),
            (start + H, start + 2 * H, 0),
            (start + 2 * H, Y2030, 6),
        ]


def test_last_under_a_lag_breaks_timestamp_ties_by_arrival() -> None:
    """`last` over events with the same timestamp is the later-received one, also while a
    newer event is still hidden by the lag."""
    with frozen(lag=30) as (sdk, _, traveller):
        meter = make_meter(sdk, formula="last")
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 9, Y2030 - H)
        send(sdk, cus, 2, Y2030 - H)  # same timestamp, received later: the last value
        traveller.move_to(Y2030 + 60)
        send(sdk, cus, 7, Y2030 - 2 * H)  # received now: hidden by the lag
        assert total(sdk, meter.id, cus, Y2030 - 3 * H, Y2030) == 2
