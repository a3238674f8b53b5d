"""Meter summaries read between writes (issue 15: survivors of billing/meter_series.py and
billing/meter_usage.py). A summary caches the customer's sorted events; every test here reads a
summary, then sends or cancels an event and reads again, so the later answer must account for
the write (meters.md §1 formulas and pre-aggregation, §4 cancellation, §6 summaries). Values are
worked out by hand; the wall clock is frozen in-process where the 24 h identifier rule counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import stripe
import time_machine

from stripe_mock_billing.handle import new_api_key
from stripe_mock_billing.inprocess import mock_stripe
from tests.api.meter_helpers import H, make_meter, send, summaries, total
from tests.conftest import assert_journal_valid, err_of

Y2030 = 1_893_456_000  # 2030-01-01T00:00:00Z, a UTC midnight
T = Y2030 - 3 * H  # an hour start three hours before "now"


@contextmanager
def frozen() -> Iterator[tuple[stripe.StripeClient, Any]]:
    """(client, traveller) of a fresh in-process account, the wall clock frozen at Y2030; every
    response is checked against the schema at the end."""
    with mock_stripe() as m, time_machine.travel(Y2030, tick=False) as traveller:
        sdk = m.client(new_api_key())
        yield sdk, traveller
        assert_journal_valid(m.handle(sdk._requestor.api_key))


def _cancel(sdk: stripe.StripeClient, identifier: str) -> None:
    sdk.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": identifier}}
    )


# --- raw meters --------------------------------------------------------------------------------


def test_an_event_sent_after_a_summary_is_added_to_the_next_one() -> None:
    """4 at T+10, read (4), 6 at T+70: the hour sums to 10; [T, T+60) still holds 4 only."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 4, T + 10)
        assert total(sdk, meter.id, cus, T, T + H) == 4
        send(sdk, cus, 6, T + 70)
        assert total(sdk, meter.id, cus, T, T + H) == 10
        assert total(sdk, meter.id, cus, T, T + 60) == 4


def test_an_earlier_event_sent_after_a_summary_lands_in_its_own_range() -> None:
    """4 at T+130, read, then 6 at T+70 (out of order): [T, T+120) is 6, [T+120, T+H) is 4."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 4, T + 130)
        assert total(sdk, meter.id, cus, T, T + H) == 4
        send(sdk, cus, 6, T + 70)
        assert total(sdk, meter.id, cus, T, T + 120) == 6
        assert total(sdk, meter.id, cus, T + 120, T + H) == 4
        assert total(sdk, meter.id, cus, T, T + H) == 10


def test_an_event_after_the_only_event_was_cancelled_and_summarised() -> None:
    """The only event cancelled, the empty hour read (0), a new event of 6 is summarised: 6."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 4, T + 10, identifier="only")
        _cancel(sdk, "only")
        assert total(sdk, meter.id, cus, T, T + H) == 0
        send(sdk, cus, 6, T + 20)
        assert total(sdk, meter.id, cus, T, T + H) == 6


def test_a_negative_event_after_a_summary_takes_the_sum_below_zero() -> None:
    """5, read (5), then -8 (negatives are allowed): the sum is -3."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 5, T + 10)
        assert total(sdk, meter.id, cus, T, T + H) == 5
        send(sdk, cus, -8, T + 70)
        assert total(sdk, meter.id, cus, T, T + H) == -3
        assert total(sdk, meter.id, cus, T + 60, T + H) == -8


def test_a_sum_past_int64_still_takes_events_sent_after_it_was_read() -> None:
    """Two events of 2**63 - 1 sum to 18446744073709551614 (past int64); after that summary
    an event of 1 makes it 18446744073709551615, exactly."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, "9223372036854775807", T + 10)
        send(sdk, cus, "9223372036854775807", T + 20)
        assert total(sdk, meter.id, cus, T, T + H) == 18_446_744_073_709_551_614
        send(sdk, cus, 1, T + 70)
        assert total(sdk, meter.id, cus, T, T + H) == 18_446_744_073_709_551_615
        assert total(sdk, meter.id, cus, T + 60, T + H) == 1


def test_last_takes_an_event_with_the_same_timestamp_sent_after_a_summary() -> None:
    """`last`: 3 at T+10, read (3), then 9 at the same T+10: the later-received 9 is last."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk, formula="last")
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 3, T + 10)
        assert total(sdk, meter.id, cus, T, T + H) == 3
        send(sdk, cus, 9, T + 10)
        assert total(sdk, meter.id, cus, T, T + H) == 9


def test_last_of_an_hour_without_events_is_zero() -> None:
    """`last` with one event of 7 at T+10: hourly windows T-1h..T+2h read 0, 7, 0."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk, formula="last")
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 7, T + 10)
        assert summaries(sdk, meter.id, cus, T - H, T + 2 * H, "hour") == [
            (T - H, T, 0),
            (T, T + H, 7),
            (T + H, T + 2 * H, 0),
        ]


# --- pre-aggregated meters (event_time_window) -------------------------------------------------


def test_hourly_winners_sent_out_of_order_are_summarised_in_their_hours() -> None:
    """Hourly pre-aggregation: 5 in the second hour is sent before 3 in the first: 3, then 5."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk, event_time_window="hour")
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 5, T + H + 10)
        send(sdk, cus, 3, T + 10)
        assert summaries(sdk, meter.id, cus, T, T + 2 * H, "hour") == [
            (T, T + H, 3),
            (T + H, T + 2 * H, 5),
        ]


def test_a_newer_event_of_the_hour_replaces_the_summarised_winner() -> None:
    """Hourly pre-aggregation: 5 at T+10, read (5), then 7 at T+20 in the same hour: the hour
    is 7 (the newest event counts), not 12."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk, event_time_window="hour")
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 5, T + 10)
        assert total(sdk, meter.id, cus, T, T + H) == 5
        send(sdk, cus, 7, T + 20)
        assert total(sdk, meter.id, cus, T, T + H) == 7


# --- identifiers of several customers (meter_usage.py) -----------------------------------------


def test_cancelling_the_second_customers_event_leaves_the_first_customers_alone() -> None:
    """Customer A sends 2 (`a1`), customer B sends 4 (`b1`); cancelling `b1` makes B's sum 0
    and 8 (`b2`) and leaves A's at 2."""
    with frozen() as (sdk, _):
        meter = make_meter(sdk)
        cus_a = sdk.v1.customers.create({}).id
        cus_b = sdk.v1.customers.create({}).id
        send(sdk, cus_a, 2, T + 10, identifier="a1")
        send(sdk, cus_b, 4, T + 20, identifier="b1")
        send(sdk, cus_b, 8, T + 30, identifier="b2")
        _cancel(sdk, "b1")
        assert total(sdk, meter.id, cus_a, T, T + H) == 2
        assert total(sdk, meter.id, cus_b, T, T + H) == 8


def test_an_identifier_is_free_again_exactly_24_hours_after_it_was_received() -> None:
    """An identifier received at Y2030 is a duplicate 23:59:59 later and accepted at 24:00:00
    (meters.md §3): the second event then counts."""
    with frozen() as (sdk, traveller):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, 1, Y2030 - H, identifier="daily")
        traveller.move_to(Y2030 + 86_399)
        with pytest.raises(stripe.InvalidRequestError) as exc:
            send(sdk, cus, 2, Y2030 - H, identifier="daily")
        e = err_of(exc)
        assert (exc.value.http_status, e["type"], e.get("code"), e["message"]) == (
            400,
            "invalid_request_error",
            None,
            "An event already exists with identifier daily.",
        )
        traveller.move_to(Y2030 + 86_400)
        send(sdk, cus, 2, Y2030 - H, identifier="daily")
        assert total(sdk, meter.id, cus, Y2030 - H, Y2030) == 3
