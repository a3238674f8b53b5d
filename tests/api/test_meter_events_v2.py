"""v2 meter events through the SDK: session + stream, sync create, adjustments, v2 errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import set_account
from tests.api.meter_helpers import D, day0, error_codes, make_meter, thin_events, total
from tests.conftest import err_of


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ev(cus: str, value: str, t: int | None = None, name: str = "api_calls", **kw: Any) -> Any:
    out: dict[str, Any] = {
        "event_name": name,
        "payload": {"stripe_customer_id": cus, "value": value},
        **kw,
    }
    if t is not None:
        out["timestamp"] = iso(t)
    return out


def _v2_err(exc: pytest.ExceptionInfo[stripe.StripeError], status: int) -> dict[str, Any]:
    assert exc.value.http_status == status
    e = err_of(exc)
    assert "param" not in e
    return e


# ----------------------------------------------------------------------- session + stream


def test_session_token_shape(client: stripe.StripeClient) -> None:
    s = client.v2.billing.meter_event_session.create()
    assert s.object == "v2.billing.meter_event_session"
    assert s.authentication_token and s.id
    assert s.livemode is False
    created = datetime.fromisoformat(s.created)
    assert (datetime.fromisoformat(s.expires_at) - created).total_seconds() == 15 * 60
    assert abs(created.timestamp() - time.time()) < 5
    assert s.created.endswith(".000Z")


def test_stream_ingests_events(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    s = client.v2.billing.meter_event_session.create()
    events = [ev(cus, str(i), base + i * 60, identifier=f"s{i}") for i in range(100)]
    res = client.v2.billing.meter_event_stream.create(
        {"events": events}, {"api_key": s.authentication_token}
    )
    assert res is None  # `{}`
    assert total(client, m.id, cus, base, base + D) == sum(range(100))
    assert error_codes(client) == []


def test_stream_default_timestamp_is_now(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    s = client.v2.billing.meter_event_session.create()
    client.v2.billing.meter_event_stream.create(
        {"events": [ev(cus, "3")]}, {"api_key": s.authentication_token}
    )
    now = int(time.time())
    assert total(client, m.id, cus, now - now % 60 - 600, now - now % 60 + 120) == 3


def test_stream_problems_are_reported_asynchronously(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    other = make_meter(client, "other")
    client.v1.billing.meters.deactivate(other.id)
    base = day0()
    now = int(time.time())
    s = client.v2.billing.meter_event_session.create()
    events = [
        ev(cus, "5", base, identifier="ok"),
        ev(cus, "6", base, identifier="ok"),  # duplicate
        ev(cus, "1", base, name="nothing"),
        ev(cus, "1", base, name="other"),
        ev(cus, "x", base),
        ev("cus_none", "1", base),
        ev(cus, "1", now - 40 * D),
        ev(cus, "1", now + 3600),
    ]
    client.v2.billing.meter_event_stream.create(
        {"events": events}, {"api_key": s.authentication_token}
    )
    assert total(client, m.id, cus, base, base + 60) == 5
    reports = {r["type"] + ":" + (r.get("related_object") or {}).get("id", ""): r
               for r in thin_events(client)}  # fmt: skip
    assert set(reports) == {
        f"v1.billing.meter.error_report_triggered:{m.id}",
        f"v1.billing.meter.error_report_triggered:{other.id}",
        "v1.billing.meter.no_meter_found:",
    }
    mine = reports[f"v1.billing.meter.error_report_triggered:{m.id}"]["data"]["reason"]
    assert mine["error_count"] == 5
    assert {t["code"]: t["error_count"] for t in mine["error_types"]} == {
        "duplicate_meter_event": 1,
        "meter_event_invalid_value": 1,
        "meter_event_customer_not_found": 1,
        "timestamp_too_far_in_past": 1,
        "timestamp_in_future": 1,
    }
    nomatch = reports["v1.billing.meter.no_meter_found:"]["data"]["reason"]["error_types"]
    assert nomatch[0]["code"] == "no_meter"
    assert nomatch[0]["sample_errors"][0]["error_message"] == (
        "No meter was found matching event_name nothing."
    )
    archived = reports[f"v1.billing.meter.error_report_triggered:{other.id}"]["data"]
    assert archived["reason"]["error_types"][0]["code"] == "archived_meter"


def test_stream_wrong_token(client: stripe.StripeClient, cus: str, api_key: str) -> None:
    make_meter(client)
    for token in ("mes_tok_bogus", api_key):
        with pytest.raises(stripe.TemporarySessionExpiredError) as exc:
            client.v2.billing.meter_event_stream.create(
                {"events": [ev(cus, "1")]}, {"api_key": token}
            )
        e = _v2_err(exc, 401)
        assert (e["type"], e["code"], e["message"]) == (
            "temporary_session_expired",
            "billing_meter_event_session_expired",
            "The temporary session token has expired.",
        )


def test_stream_token_expires_after_15_minutes(
    client: stripe.StripeClient, cus: str, server: ThreadedServer, api_key: str
) -> None:
    m = make_meter(client)
    base = day0()
    s = client.v2.billing.meter_event_session.create()
    set_account(server, api_key, clock_offset=14 * 60)
    client.v2.billing.meter_event_stream.create(
        {"events": [ev(cus, "1", base)]}, {"api_key": s.authentication_token}
    )
    set_account(server, api_key, clock_offset=15 * 60)
    with pytest.raises(stripe.TemporarySessionExpiredError) as exc:
        client.v2.billing.meter_event_stream.create(
            {"events": [ev(cus, "1", base)]}, {"api_key": s.authentication_token}
        )
    assert _v2_err(exc, 401)["code"] == "billing_meter_event_session_expired"
    fresh = client.v2.billing.meter_event_session.create()
    client.v2.billing.meter_event_stream.create(
        {"events": [ev(cus, "1", base)]}, {"api_key": fresh.authentication_token}
    )
    assert total(client, m.id, cus, base, base + 60) == 2


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "Missing required field: events."),
        ([{"payload": {}}], "Missing required field: events[0].event_name."),
        ([{"event_name": "api_calls"}], "Missing required field: events[0].payload."),
        ([{"event_name": "a", "payload": {"value": 1}}],
         "events[0].payload.value must be a string."),
        ([{"event_name": "a", "payload": {}, "timestamp": "yesterday"}],
         "events[0].timestamp must be an RFC 3339 timestamp."),
        ([{"event_name": "a", "payload": {}}] * 101, "events must contain at most 100 items."),
    ],
)  # fmt: skip
def test_stream_malformed_body(
    client: stripe.StripeClient, events: list[dict[str, Any]], message: str
) -> None:
    s = client.v2.billing.meter_event_session.create()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_event_stream.create(
            {"events": events}, {"api_key": s.authentication_token}
        )
    e = _v2_err(exc, 400)
    assert (e["type"], e["code"], e["message"]) == (
        "invalid_request_error",
        "invalid_fields",
        message,
    )
    assert error_codes(client) == []


# ------------------------------------------------------------------------- sync create


def test_v2_create_echo(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    out = client.v2.billing.meter_events.create(ev(cus, "12", base, identifier="v2-1"))
    assert out.object == "v2.billing.meter_event"
    assert out.identifier == "v2-1"
    assert out.timestamp == iso(base)
    assert out.payload.to_dict() == {"stripe_customer_id": cus, "value": "12"}
    assert total(client, m.id, cus, base, base + 60) == 12


def test_v2_create_generates_identifier(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    out = client.v2.billing.meter_events.create(ev(cus, "1"))
    assert out.identifier


@pytest.mark.parametrize(
    ("payload", "code", "message"),
    [
        ({"value": "1"}, "payload_no_customer_defined",
         "Customer mapping key stripe_customer_id not found in payload."),
        ({"stripe_customer_id": "CUS"}, "payload_no_value_defined",
         "Value settings key value not found in payload."),
        ({"stripe_customer_id": "CUS", "value": "2.5"}, "payload_invalid_value",
         "Value '2.5' for key value is not a whole number."),
    ],
)  # fmt: skip
def test_v2_create_payload_errors(
    client: stripe.StripeClient, cus: str, payload: dict[str, str], code: str, message: str
) -> None:
    make_meter(client)
    payload = {k: (cus if v == "CUS" else v) for k, v in payload.items()}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_events.create({"event_name": "api_calls", "payload": payload})
    e = _v2_err(exc, 400)
    assert (e["type"], e["code"], e["message"]) == ("invalid_request_error", code, message)


def test_v2_create_meter_errors(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_events.create(ev(cus, "1", name="missing"))
    e = _v2_err(exc, 400)
    assert (e["code"], e["message"]) == (
        "no_meter",
        "No meter was found matching event_name missing.",
    )
    client.v1.billing.meters.deactivate(m.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_events.create(ev(cus, "1"))
    e = _v2_err(exc, 400)
    assert (e["code"], e["message"]) == (
        "archived_meter",
        f"Meter {m.id} is inactive and does not accept new events.",
    )


def test_v2_create_duplicate_and_timestamps(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    client.v2.billing.meter_events.create(ev(cus, "1", identifier="dup"))
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_events.create(ev(cus, "1", identifier="dup"))
    e = _v2_err(exc, 400)
    assert (e["code"], e["message"]) == (
        "duplicate_meter_event",
        "An event already exists with identifier dup.",
    )
    now = int(time.time())
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_events.create(ev(cus, "1", now - 36 * D))
    e = _v2_err(exc, 400)
    assert e["code"] == "timestamp_too_far_in_past"
    assert e["message"].startswith("The event timestamp cannot be more than 35 days in past.")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_events.create(ev(cus, "1", now + 900))
    assert _v2_err(exc, 400)["code"] == "timestamp_in_future"


def test_v2_create_unknown_customer_is_async(client: stripe.StripeClient) -> None:
    make_meter(client)
    out = client.v2.billing.meter_events.create(ev("cus_nobody", "1"))
    assert out.identifier
    assert error_codes(client) == ["meter_event_customer_not_found"]


# ------------------------------------------------------------------------- adjustments


def test_v2_adjustment_cancels(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    client.v2.billing.meter_events.create(ev(cus, "4", base, identifier="c1"))
    client.v2.billing.meter_events.create(ev(cus, "6", base, identifier="c2"))
    adj = client.v2.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "c1"}}
    )
    assert adj.object == "v2.billing.meter_event_adjustment"
    assert adj.id.startswith("mtr_event_adj_")
    assert (adj.status, adj.type, adj.cancel.identifier) == ("pending", "cancel", "c1")
    assert total(client, m.id, cus, base, base + 60) == 6


def test_v2_adjustment_errors(client: stripe.StripeClient, cus: str) -> None:
    make_meter(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel", "cancel": {}}  # type: ignore[typeddict-item]
        )
    e = _v2_err(exc, 400)
    assert e["code"] == "invalid_cancel_configuration"
    assert e["message"] == (
        "The adjustment configuration is invalid for the adjustment type: cancel.identifier is "
        "required when type is cancel."
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v2.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "zzz"}}
        )
    e = _v2_err(exc, 400)
    assert (e["code"], e["message"]) == ("resource_missing", "No such meter event: 'zzz'")
