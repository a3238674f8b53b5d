"""v1 meter events and adjustments through the SDK (summaries: test_meter_summaries.py)."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import set_account
from tests.api.conftest import invalid_request
from tests.api.meter_helpers import (
    D,
    H,
    day0,
    error_codes,
    make_meter,
    send,
    summaries,
    thin_events,
    total,
)

# ------------------------------------------------------------------------------ events


def test_event_echo_and_generated_identifier(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    before = int(time.time())
    ev = send(client, cus, 25)
    assert ev.object == "billing.meter_event"
    assert ev.event_name == "api_calls"
    assert ev.payload.to_dict() == {"stripe_customer_id": cus, "value": "25"}
    assert ev.identifier and len(ev.identifier) >= 16
    assert before <= ev.timestamp <= int(time.time()) + 1
    assert "id" not in ev.to_dict()


def test_sum_with_negative_values(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    for value, off in ((10, 0), (-3, 60), (5, H)):
        send(client, cus, value, base + off)
    assert total(client, m.id, cus, base, base + D) == 12
    assert total(client, m.id, cus, base, base + H) == 7  # end is exclusive


def test_custom_payload_keys_and_extra_keys(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(
        client,
        customer_mapping={"event_payload_key": "account", "type": "by_id"},
        value_settings={"event_payload_key": "tokens"},
    )
    base = day0()
    client.v1.billing.meter_events.create(
        {
            "event_name": "api_calls",
            "timestamp": base,
            "payload": {"account": cus, "tokens": "40", "model": "large"},
        }
    )
    assert total(client, m.id, cus, base, base + 60) == 40


def test_count_and_last_formulas(client: stripe.StripeClient, cus: str) -> None:
    count = make_meter(client, "hits", "count")
    last = make_meter(client, "level", "last")
    base = day0()
    for off, value in ((0, 5), (120, 9), (60, 2)):
        send(client, cus, value, base + off, name="hits")
        send(client, cus, value, base + off, name="level")
    assert total(client, count.id, cus, base, base + D) == 3
    assert total(client, last.id, cus, base, base + D) == 9  # latest timestamp wins
    assert total(client, last.id, cus, base, base + 120) == 2
    assert total(client, last.id, cus, base + D, base + 2 * D) == 0


def test_count_meter_ignores_value(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client, "hits", "count")
    base = day0()
    client.v1.billing.meter_events.create(
        {"event_name": "hits", "timestamp": base, "payload": {"stripe_customer_id": cus}}
    )
    assert total(client, m.id, cus, base, base + 60) == 1
    assert error_codes(client) == []


def test_pre_aggregated_hour_window_newest_replaces(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client, event_time_window="hour")
    base = day0()
    send(client, cus, 10, base + 100)
    send(client, cus, 4, base + 50)  # received later, same UTC hour: replaces 10
    send(client, cus, 7, base + H)  # next hour
    assert total(client, m.id, cus, base, base + 2 * H) == 11
    assert summaries(client, m.id, cus, base, base + 2 * H, "hour") == [
        (base, base + H, 4),
        (base + H, base + 2 * H, 7),
    ]


def test_pre_aggregated_day_window(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client, event_time_window="day")
    base = day0()
    send(client, cus, 10, base + 5 * H)
    send(client, cus, 3, base + 20 * H)
    send(client, cus, 8, base + D + H)
    assert summaries(client, m.id, cus, base, base + 2 * D, "day") == [
        (base, base + D, 3),
        (base + D, base + 2 * D, 8),
    ]


def test_no_meter_for_event_name(client: stripe.StripeClient, cus: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(client, cus, 1, name="unknown_event")
    e = invalid_request(exc)
    assert "code" not in e
    assert e["param"] == "event_name"
    assert e["message"] == 'No active meter found for event name "unknown_event".'


def test_duplicate_identifier(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    send(client, cus, 5, base, identifier="evt-1")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(client, cus, 9, base, identifier="evt-1")  # the SDK sends a new Idempotency-Key
    e = invalid_request(exc)
    assert "code" not in e and "param" not in e
    assert e["message"] == "An event already exists with identifier evt-1."
    assert exc.value.headers is not None
    assert exc.value.headers.get("Stripe-Should-Retry") == "false"
    assert total(client, m.id, cus, base, base + 60) == 5


def test_duplicate_wins_over_async_problems(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    send(client, cus, 1, identifier="d1")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meter_events.create(
            {"event_name": "api_calls", "identifier": "d1", "payload": {"value": "x"}}
        )
    assert invalid_request(exc)["message"] == "An event already exists with identifier d1."
    assert error_codes(client) == []


def test_identifier_unique_across_meters(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    make_meter(client, "other")
    send(client, cus, 1, identifier="shared")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(client, cus, 1, name="other", identifier="shared")
    assert invalid_request(exc)["message"] == "An event already exists with identifier shared."


def test_idempotent_replay_is_not_a_duplicate(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    params = {
        "event_name": "api_calls",
        "identifier": "once",
        "timestamp": base,
        "payload": {"stripe_customer_id": cus, "value": "3"},
    }
    a = client.v1.billing.meter_events.create(params, {"idempotency_key": "k1"})  # type: ignore[arg-type]
    b = client.v1.billing.meter_events.create(params, {"idempotency_key": "k1"})  # type: ignore[arg-type]
    assert a.to_dict() == b.to_dict()
    assert total(client, m.id, cus, base, base + 60) == 3


def test_timestamp_window(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    now = int(time.time())
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(client, cus, 1, now - 35 * D - 10)
    e = invalid_request(exc)
    assert e["param"] == "timestamp"
    msg = str(e["message"])
    assert msg.startswith(
        "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater "
        "than or equal to "
    )
    floor = int(msg.rsplit(" ", 1)[1].rstrip("."))
    assert abs(floor - (now - 35 * D)) <= 2
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(client, cus, 1, now + 400)
    e = invalid_request(exc)
    assert e["param"] == "timestamp"
    assert str(e["message"]).startswith(
        "The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp "
        "less than or equal to "
    )
    send(client, cus, 1, now + 240)  # clock drift allowance
    send(client, cus, 1, now - 34 * D)


def test_missing_payload(client: stripe.StripeClient) -> None:
    make_meter(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meter_events.create({"event_name": "api_calls"})  # type: ignore[typeddict-item]
    e = invalid_request(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "payload",
        "Missing required param: payload.",
    )


@pytest.mark.parametrize(
    ("payload", "code", "message"),
    [
        ({"value": "1"}, "meter_event_no_customer_defined",
         "Customer mapping key stripe_customer_id not found in payload."),
        ({"stripe_customer_id": "CUS"}, "meter_event_value_not_found",
         "Value settings key value not found in payload."),
        ({"stripe_customer_id": "CUS", "value": "1.5"}, "meter_event_invalid_value",
         "Value '1.5' for key value is not a whole number."),
        ({"stripe_customer_id": "CUS", "value": "ten"}, "meter_event_invalid_value",
         "Value 'ten' for key value is not a whole number."),
        ({"stripe_customer_id": "cus_missing", "value": "1"}, "meter_event_customer_not_found",
         "No customer found with id cus_missing."),
    ],
)  # fmt: skip
def test_async_errors_answer_200_and_report(
    client: stripe.StripeClient, cus: str, payload: dict[str, str], code: str, message: str
) -> None:
    m = make_meter(client)
    payload = {k: (cus if v == "CUS" else v) for k, v in payload.items()}
    base = day0()
    ev = client.v1.billing.meter_events.create(
        {"event_name": "api_calls", "payload": payload, "timestamp": base, "identifier": "bad-1"}
    )
    assert ev.identifier == "bad-1"
    (report,) = thin_events(client)
    assert report["type"] == "v1.billing.meter.error_report_triggered"
    assert report["object"] == "v2.core.event"
    assert report["related_object"] == {
        "id": m.id,
        "type": "billing.meter",
        "url": f"/v1/billing/meters/{m.id}",
    }
    reason = report["data"]["reason"]
    assert reason["error_count"] == 1
    (etype,) = reason["error_types"]
    assert etype["code"] == code
    assert etype["sample_errors"] == [
        {"error_message": message, "request": {"identifier": "bad-1"}}
    ]
    assert report["data"]["developer_message_summary"] == "There is 1 invalid event"
    assert total(client, m.id, cus, base, base + 60) == 0
    # the rejected event does not reserve its identifier
    send(client, cus, 2, base, identifier="bad-1")
    assert total(client, m.id, cus, base, base + 60) == 2
    resp = client.raw_request("get", f"/v2/core/events/{report['id']}")
    got = client.deserialize(resp, api_mode="V2")
    assert got.to_dict()["id"] == report["id"]


def test_deleted_customer_is_not_found(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    client.v1.customers.delete(cus)
    send(client, cus, 1)
    assert error_codes(client) == ["meter_event_customer_not_found"]


def test_inactive_meter_reports_archived_meter(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    client.v1.billing.meters.deactivate(m.id)
    send(client, cus, 1)
    assert error_codes(client) == ["archived_meter"]
    client.v1.billing.meters.reactivate(m.id)
    base = day0()
    send(client, cus, 4, base)
    assert total(client, m.id, cus, base, base + 60) == 4


# ------------------------------------------------------------------------- adjustments


def _cancel(client: stripe.StripeClient, identifier: str, name: str = "api_calls") -> object:
    return client.v1.billing.meter_event_adjustments.create(
        {"event_name": name, "type": "cancel", "cancel": {"identifier": identifier}}
    )


def test_cancel_removes_event_from_summaries(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    send(client, cus, 5, base, identifier="a")
    send(client, cus, 7, base + 60, identifier="b")
    adj = _cancel(client, "a")
    assert adj.to_dict() == {  # type: ignore[attr-defined]
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": "a"},
        "event_name": "api_calls",
        "livemode": False,
        "status": "pending",
        "type": "cancel",
    }
    assert total(client, m.id, cus, base, base + D) == 7


def test_cancel_window_winner_restores_previous(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client, event_time_window="hour")
    base = day0()
    send(client, cus, 5, base, identifier="old")
    send(client, cus, 9, base + 10, identifier="new")
    _cancel(client, "new")
    assert total(client, m.id, cus, base, base + H) == 5


def test_cancel_errors(
    client: stripe.StripeClient, cus: str, server: ThreadedServer, api_key: str
) -> None:
    make_meter(client)
    make_meter(client, "other")
    send(client, cus, 1, identifier="x1")
    send(client, cus, 1, name="other", identifier="o1")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _cancel(client, "never-sent")
    e = invalid_request(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "cancel[identifier]",
        "No such meter event: 'never-sent'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _cancel(client, "o1")
    e = invalid_request(exc)
    assert e["param"] == "cancel[identifier]"
    assert e["message"] == (
        'The meter event with identifier o1 does not belong to the meter of event name "api_calls".'
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _cancel(client, "x1", name="nope")
    e = invalid_request(exc)
    assert (e["param"], e["message"]) == (
        "event_name",
        'No active meter found for event name "nope".',
    )
    _cancel(client, "x1")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _cancel(client, "x1")
    e = invalid_request(exc)
    assert e["message"] == "The meter event with identifier x1 has already been cancelled."
    # 24 hours later (account wall clock moved forward) the event can no longer be cancelled
    set_account(server, api_key, clock_offset=D)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _cancel(client, "o1", name="other")
    e = invalid_request(exc)
    assert (e["param"], e["message"]) == (
        "cancel[identifier]",
        "The meter event with identifier o1 cannot be cancelled: events can only be cancelled "
        "within 24 hours of Stripe receiving them.",
    )
    # ... and its identifier may be used again
    send(client, cus, 1, name="other", identifier="o1")


def test_adjustment_requires_cancel_and_type(client: stripe.StripeClient) -> None:
    make_meter(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel"}
        )
    e = invalid_request(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "cancel")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "void", "cancel": {"identifier": "a"}}  # type: ignore[typeddict-item]
        )
    e = invalid_request(exc)
    assert (e["param"], e["message"]) == ("type", "Invalid type: must be one of cancel")
