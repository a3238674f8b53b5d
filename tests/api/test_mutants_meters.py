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
from tests.api.meter_helpers import H, make_meter, send, summaries, thin_events, total
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
    """value_grouping_window=hour still gives one summary (a sum) per hour while, and after,
    the lag hides an event."""
    with frozen(lag=30) as (sdk, _, traveller):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        start = Y2030 - 3 * H
        send(sdk, cus, 4, start + 10)
        send(sdk, cus, 3, start + 20)
        traveller.move_to(Y2030 + 60)
        send(sdk, cus, 6, start + 2 * H + 10)  # received now: inside the lag
        assert summaries(sdk, meter.id, cus, start, Y2030, "hour") == [
            (start, start + H, 7),
            (start + H, start + 2 * H, 0),
            (start + 2 * H, Y2030, 0),
        ]
        traveller.move_to(Y2030 + 90)  # the lag has passed: every event is visible
        assert summaries(sdk, meter.id, cus, start, Y2030, "hour") == [
            (start, start + H, 7),
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


# --- asynchronous error reports (thin events, meters.md §5) ---------------------------------


def _stream(sdk: stripe.StripeClient, events: list[dict[str, Any]]) -> None:
    session = sdk.v2.billing.meter_event_session.create()
    sdk.v2.billing.meter_event_stream.create(
        {"events": events},  # type: ignore[typeddict-item]
        {"api_key": session.authentication_token},
    )


def test_an_error_report_counts_every_error_and_samples_ten_per_code() -> None:
    """One report per request and meter: errors grouped by code in order of first occurrence,
    every error counted, at most 10 sample errors per code, a 10-second validation window."""
    with frozen() as (sdk, _, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        bad = [
            {"event_name": "api_calls", "identifier": f"bad-{n}",
             "payload": {"stripe_customer_id": cus, "value": "x"}}
            for n in range(11)
        ]  # fmt: skip
        orphans = [
            {"event_name": "api_calls", "identifier": f"nc-{n}", "payload": {"value": "1"}}
            for n in range(2)
        ]
        good = {"event_name": "api_calls", "payload": {"stripe_customer_id": cus, "value": "3"}}
        _stream(sdk, [bad[0], *orphans[:1], *bad[1:], good, *orphans[1:]])
        (listed,) = thin_events(sdk)
        resp = sdk.raw_request("get", f"/v2/core/events/{listed['id']}")
        full = sdk.deserialize(resp, api_mode="V2").to_dict()
        assert full == listed
        assert {k: v for k, v in full.items() if k not in ("id", "data")} == {
            "object": "v2.core.event",
            "type": "v1.billing.meter.error_report_triggered",
            "livemode": False,
            "created": "2030-01-01T00:00:00.000Z",
            "context": None,
            "reason": None,
            "related_object": {
                "id": meter.id,
                "type": "billing.meter",
                "url": f"/v1/billing/meters/{meter.id}",
            },
        }
        invalid = "Value 'x' for key value is not a whole number."
        no_customer = "Customer mapping key stripe_customer_id not found in payload."
        assert full["data"] == {
            "developer_message_summary": "There are 13 invalid events",
            "reason": {
                "error_count": 13,
                "error_types": [
                    {
                        "code": "meter_event_invalid_value",
                        "error_count": 11,
                        "sample_errors": [
                            {"error_message": invalid, "request": {"identifier": f"bad-{n}"}}
                            for n in range(10)
                        ],
                    },
                    {
                        "code": "meter_event_no_customer_defined",
                        "error_count": 2,
                        "sample_errors": [
                            {"error_message": no_customer, "request": {"identifier": f"nc-{n}"}}
                            for n in range(2)
                        ],
                    },
                ],
            },
            "validation_start": "2030-01-01T00:00:00.000Z",
            "validation_end": "2030-01-01T00:00:10.000Z",
        }
        assert total(sdk, meter.id, cus, Y2030 - H, Y2030 + 60) == 3


def test_an_unknown_event_name_is_reported_without_related_object() -> None:
    """A `no_meter_found` report has no `related_object`; reports list newest first."""
    with frozen() as (sdk, _, traveller):
        make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        _stream(sdk, [{"event_name": "nothing", "identifier": "n-1", "payload": {}}])
        traveller.move_to(Y2030 + 1)
        _stream(sdk, [{"event_name": "api_calls", "payload": {"stripe_customer_id": cus}}])
        newest, oldest = thin_events(sdk)
        assert newest["type"] == "v1.billing.meter.error_report_triggered"
        assert newest["created"] == "2030-01-01T00:00:01.000Z"
        assert oldest["type"] == "v1.billing.meter.no_meter_found"
        assert "related_object" not in oldest
        assert oldest["data"]["developer_message_summary"] == "There is 1 invalid event"
        assert oldest["data"]["reason"]["error_types"] == [
            {
                "code": "no_meter",
                "error_count": 1,
                "sample_errors": [
                    {
                        "error_message": "No meter was found matching event_name nothing.",
                        "request": {"identifier": "n-1"},
                    }
                ],
            }
        ]


def test_an_event_for_an_inactive_meter_is_reported_with_its_identifier() -> None:
    """A v1 event for a deactivated meter answers 200 and is reported as `archived_meter`,
    with the meter in the message and the event's identifier in the sample."""
    with frozen() as (sdk, _, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        sdk.v1.billing.meters.deactivate(meter.id)
        send(sdk, cus, 1, identifier="arch-1")
        (report,) = thin_events(sdk)
        assert report["data"]["reason"]["error_types"] == [
            {
                "code": "archived_meter",
                "error_count": 1,
                "sample_errors": [
                    {
                        "error_message": f"Meter {meter.id} is inactive and does not accept "
                        "new events.",
                        "request": {"identifier": "arch-1"},
                    }
                ],
            }
        ]


# --- values ----------------------------------------------------------------------------------


def test_the_largest_whole_value_is_summarised_exactly() -> None:
    """An event value of 2**63 - 1 (the largest accepted) comes back exactly in summaries, not
    rounded to a float."""
    with frozen() as (sdk, _, _):
        meter = make_meter(sdk)
        cus = sdk.v1.customers.create({}).id
        send(sdk, cus, "9223372036854775807", Y2030 - H)
        send(sdk, cus, "-9223372036854775807", Y2030 - H + 60)
        value = total(sdk, meter.id, cus, Y2030 - H, Y2030 - H + 60)
        assert (value, type(value)) == (9_223_372_036_854_775_807, int)
        assert total(sdk, meter.id, cus, Y2030 - H, Y2030) == 0


def test_cancelling_an_hours_winner_restores_its_previous_event_across_other_hours() -> None:
    """On an hourly pre-aggregated meter, cancelling the hour's winning event makes the
    previous event of that hour count again, even when events of other hours came between."""
    with frozen() as (sdk, _, _):
        meter = make_meter(sdk, event_time_window="hour")
        cus = sdk.v1.customers.create({}).id
        hour = Y2030 - 3 * H
        send(sdk, cus, 5, hour + 10, identifier="first")
        send(sdk, cus, 7, hour + H + 10, identifier="next-hour")
        send(sdk, cus, 9, hour + 20, identifier="winner")
        assert total(sdk, meter.id, cus, hour, hour + H) == 9
        sdk.v1.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "winner"}}
        )
        assert summaries(sdk, meter.id, cus, hour, hour + 2 * H, "hour") == [
            (hour, hour + H, 5),
            (hour + H, hour + 2 * H, 7),
        ]
