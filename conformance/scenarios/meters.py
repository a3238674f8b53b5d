"""Billing Meters: meter configuration, v1 meter events, adjustments, summaries, v2 session +
stream, v2 sync events and adjustments (the flows of Stripe's usage-based billing docs)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ..harness import UNSET, T, scenario
from .common import customer

HOUR = 3600


def new_meter(t: T, formula: str = "sum", **extra: Any) -> dict[str, Any]:
    """An active meter with a unique event name (deactivated after the scenario)."""
    meter: dict[str, Any] = t.call(
        "meters.create",
        params={
            "display_name": "Conformance meter",
            "event_name": f"conformance_{uuid.uuid4().hex[:12]}",
            "default_aggregation": {"formula": formula},
            **extra,
        },
    )
    t.defer("meters.deactivate", meter["id"])
    return meter


def event(
    t: T, meter: dict[str, Any], cus: str, value: Any, ts: int, ident: str | None = None
) -> dict[str, Any]:
    """A v1 meter event."""
    params: dict[str, Any] = {
        "event_name": meter["event_name"],
        "payload": {"stripe_customer_id": cus, "value": str(value)},
        "timestamp": ts,
    }
    if ident:
        params["identifier"] = ident
    ev: dict[str, Any] = t.call("meter_events.create", params=params)
    return ev


def summary(
    t: T, meter: str, cus: str, start: int, end: int, **params: Any
) -> list[dict[str, Any]]:
    """Event summaries for [start, end), sorted by start_time."""
    got = t.call(
        "meters.event_summaries",
        meter,
        params={"customer": cus, "start_time": start, "end_time": end, **params},
    )
    return sorted(got["data"], key=lambda s: s["start_time"])


def expect_total(t: T, meter: str, cus: str, start: int, end: int, total: float, what: str) -> None:
    """The meter's aggregate for [start, end) (retried against real Stripe, which lags)."""

    def check() -> None:
        data = summary(t, meter, cus, start, end)
        t.eq([(s["start_time"], s["end_time"]) for s in data], [(start, end)], f"{what}: range")
        t.eq(data[0]["aggregated_value"], total, f"{what}: aggregated_value")

    t.eventually(check)


def _utc(ts: int) -> str:
    """A v2 timestamp (RFC 3339, UTC, milliseconds)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@scenario(
    "meters.configure",
    "meter create, retrieve, update, list, deactivate, reactivate",
    area="meters",
)
def meters_configure(t: T) -> None:
    meter = new_meter(
        t,
        customer_mapping={"type": "by_id", "event_payload_key": "stripe_customer_id"},
        value_settings={"event_payload_key": "value"},
    )
    t.eq(meter["object"], "billing.meter", "object")
    t.check(meter["id"].startswith("mtr_"), f"meter id prefix: {meter['id']}")
    t.eq(
        [meter["status"], meter["default_aggregation"], meter["event_time_window"]],
        ["active", {"formula": "sum"}, None],
        "status, aggregation, event_time_window",
    )
    t.eq(
        meter["customer_mapping"],
        {"type": "by_id", "event_payload_key": "stripe_customer_id"},
        "customer_mapping",
    )
    t.eq(meter["value_settings"], {"event_payload_key": "value"}, "value_settings")
    t.eq(meter["status_transitions"], {"deactivated_at": None}, "status_transitions")
    t.eq(t.call("meters.retrieve", meter["id"]), meter, "retrieve")
    renamed = t.call("meters.update", meter["id"], params={"display_name": "Renamed meter"})
    t.eq(renamed["display_name"], "Renamed meter", "display_name updated")
    t.check(renamed["updated"] >= meter["updated"], "updated moves forward")
    t.fails(
        "meters.update",
        meter["id"],
        params={"event_name": "other"},
        status=400,
        code="parameter_unknown",
        param="event_name",
        message="Received unknown parameter: event_name",
    )
    t.fails(
        "meters.create",
        params={"display_name": "x", "event_name": f"conformance_{uuid.uuid4().hex[:12]}"},
        status=400,
        code="parameter_missing",
        param="default_aggregation",
        message="Missing required param: default_aggregation.",
    )
    dup = t.fails(
        "meters.create",
        params={
            "display_name": "dup",
            "event_name": meter["event_name"],
            "default_aggregation": {"formula": "sum"},
        },
        status=400,
        param="event_name",
        only_emulator=("param",),
    )
    t.check(
        "already exists" in dup.get("message", ""),
        "duplicate event_name message",
        emulator_only=True,
    )
    active = t.call("meters.list", params={"status": "active", "limit": 100}, paging="auto")
    t.check(meter["id"] in [m["id"] for m in active], "listed as active")
    off = t.call("meters.deactivate", meter["id"])
    t.eq(off["status"], "inactive", "deactivated")
    t.check(isinstance(off["status_transitions"]["deactivated_at"], int), "deactivated_at set")
    inactive = t.call("meters.list", params={"status": "inactive", "limit": 100}, paging="auto")
    t.check(meter["id"] in [m["id"] for m in inactive], "listed as inactive")
    on = t.call("meters.reactivate", meter["id"])
    t.eq(on["status"], "active", "reactivated")
    t.fails(
        "meters.retrieve",
        "mtr_doesnotexist",
        status=404,
        code="resource_missing",
        message="No such meter: 'mtr_doesnotexist'",
        only_emulator=("message",),
    )


@scenario(
    "meters.events", "v1 meter events, duplicate identifiers, summaries (sum, count)", area="meters"
)
def meters_events(t: T) -> None:
    meter = new_meter(t)
    counter = new_meter(t, "count")
    cus = customer(t)["id"]
    now = t.wall_now()
    base = now - now % HOUR - 3 * HOUR
    ident = f"conformance-{uuid.uuid4().hex}"
    first = event(t, meter, cus, 5, base + 60, ident)
    t.eq(first["object"], "billing.meter_event", "object")
    t.check("id" not in first, "meter events have no id")
    t.eq(
        [first["event_name"], first["identifier"], first["timestamp"]],
        [meter["event_name"], ident, base + 60],
        "event_name, identifier, timestamp",
    )
    t.eq(first["payload"], {"stripe_customer_id": cus, "value": "5"}, "payload as strings")
    event(t, meter, cus, 7, base + HOUR + 60)
    event(t, meter, cus, 11, base + 2 * HOUR + 120)
    for ts in (base + 10, base + 20, base + HOUR + 30):
        event(t, counter, cus, 1, ts)
    t.fails(
        "meter_events.create",
        params={
            "event_name": meter["event_name"],
            "payload": {"stripe_customer_id": cus, "value": "1"},
            "identifier": ident,
        },
        status=400,
        code=None,
        message=f"An event already exists with identifier {ident}.",
    )
    t.eq(t.header("Stripe-Should-Retry"), "false", "Stripe-Should-Retry: false on a duplicate")
    expect_total(t, meter["id"], cus, base, base + 3 * HOUR, 23, "sum over 3 hours")
    expect_total(t, counter["id"], cus, base, base + 3 * HOUR, 3, "count over 3 hours")

    def hourly() -> None:
        data = summary(t, meter["id"], cus, base, base + 3 * HOUR, value_grouping_window="hour")
        t.eq(
            [(s["start_time"], s["aggregated_value"]) for s in data],
            [(base, 5), (base + HOUR, 7), (base + 2 * HOUR, 11)],
            "hourly summaries",
        )
        t.eq({s["object"] for s in data}, {"billing.meter_event_summary"}, "summary object")
        t.eq({s["meter"] for s in data}, {meter["id"]}, "summary meter")

    t.eventually(hourly)
    paged = t.call(
        "meters.event_summaries",
        meter["id"],
        params={
            "customer": cus,
            "start_time": base,
            "end_time": base + 3 * HOUR,
            "value_grouping_window": "hour",
            "limit": 1,
        },
        paging="auto",
    )
    t.eq(
        sorted((s["start_time"], s["aggregated_value"]) for s in paged),
        [(base, 5), (base + HOUR, 7), (base + 2 * HOUR, 11)],
        "auto-paging summaries one per page (filters re-sent with starting_after)",
    )
    t.fails(
        "meters.event_summaries",
        meter["id"],
        params={"start_time": base, "end_time": base + HOUR},
        status=400,
        code="parameter_missing",
        param="customer",
        message="Missing required param: customer.",
    )
    t.fails(
        "meters.event_summaries",
        meter["id"],
        params={"customer": cus, "start_time": base + 30, "end_time": base + HOUR},
        status=400,
        param="start_time",  # must be minute-aligned (OpenAPI 2026-05-27.dahlia); text unverified
    )
    missing = f"conformance_missing_{uuid.uuid4().hex[:8]}"
    err = t.fails(
        "meter_events.create",
        params={"event_name": missing, "payload": {"stripe_customer_id": cus, "value": "1"}},
        status=400,
        message=f'No active meter found for event name "{missing}".',
        only_emulator=("message",),  # the final period is unverified
    )
    t.check(
        err["message"].startswith(f'No active meter found for event name "{missing}"'),
        f"no-meter message: {err['message']!r}",
    )
    err = t.fails(
        "meter_events.create",
        params={
            "event_name": meter["event_name"],
            "payload": {"stripe_customer_id": cus, "value": "1"},
            "timestamp": now - 40 * 86400,
        },
        status=400,
    )
    t.check(
        err["message"].startswith("The event timestamp cannot be more than 35 days in past."),
        f"35-day message: {err['message']!r}",
    )


@scenario("meters.adjustments", "cancel meter events with v1 and v2 adjustments", area="meters")
def meters_adjustments(t: T) -> None:
    meter = new_meter(t)
    cus = customer(t)["id"]
    now = t.wall_now()
    base = now - now % HOUR - 2 * HOUR
    a, b = f"conf-a-{uuid.uuid4().hex}", f"conf-b-{uuid.uuid4().hex}"
    event(t, meter, cus, 4, base + 60, a)
    event(t, meter, cus, 6, base + 120, b)
    expect_total(t, meter["id"], cus, base, base + HOUR, 10, "before adjustments")
    adj = t.call(
        "meter_event_adjustments.create",
        params={"event_name": meter["event_name"], "type": "cancel", "cancel": {"identifier": a}},
    )
    t.eq(adj["object"], "billing.meter_event_adjustment", "v1 adjustment object")
    t.eq(
        [adj["type"], adj["cancel"], adj["event_name"]],
        ["cancel", {"identifier": a}, meter["event_name"]],
        "v1 adjustment fields",
    )
    t.check(adj["status"] in ("pending", "complete"), f"v1 adjustment status: {adj['status']}")
    expect_total(t, meter["id"], cus, base, base + HOUR, 6, "after cancelling a")
    v2 = t.call(
        "v2.meter_event_adjustments.create",
        params={"event_name": meter["event_name"], "type": "cancel", "cancel": {"identifier": b}},
    )
    t.eq(v2["object"], "v2.billing.meter_event_adjustment", "v2 adjustment object")
    t.eq([v2["type"], v2["cancel"]], ["cancel", {"identifier": b}], "v2 adjustment fields")
    t.check(bool(v2.get("id")), "v2 adjustment id")
    expect_total(t, meter["id"], cus, base, base + HOUR, 0, "after cancelling b")
    err = t.fails(
        "v2.meter_event_adjustments.create",
        params={"event_name": meter["event_name"], "type": "cancel"},
        status=400,
        type=UNSET,
        code="invalid_cancel_configuration",
        only_emulator=("status", "cls"),  # v2 statuses are unverified
    )
    t.check(bool(err.get("message")), "v2 error message")


@scenario("meters.v2_stream", "v2 meter event session + stream, v2 sync events", area="meters")
def meters_v2_stream(t: T) -> None:
    meter = new_meter(t)
    cus = customer(t)["id"]
    now = t.wall_now()
    base = now - now % HOUR - HOUR
    session = t.call("v2.meter_event_session.create")
    t.eq(session["object"], "v2.billing.meter_event_session", "session object")
    token = session["authentication_token"]
    t.check(bool(token) and bool(session.get("id")), "session id and token")
    life = _parse(session["expires_at"]) - _parse(session["created"])
    t.check(abs(life - 900) <= 1, f"session lifetime 15 minutes, got {life}s")
    events = [
        {
            "event_name": meter["event_name"],
            "payload": {"stripe_customer_id": cus, "value": str(v)},
            "identifier": f"conf-stream-{uuid.uuid4().hex}",
            "timestamp": _utc(base + 60 * (i + 1)),
        }
        for i, v in enumerate((2, 3, 4))
    ]
    t.call("v2.meter_event_stream.create", params={"events": events}, api_key=token)
    stream = [ex for ex in t.last if ex.path == "/v2/billing/meter_event_stream"]
    t.eq([ex.status for ex in stream], [200], "one stream request, HTTP 200")
    t.eq(stream[0].body, {}, "stream answers {}")
    t.eq(stream[0].req_header("Authorization"), f"Bearer {token}", "stream uses the session token")
    sync = t.call(
        "v2.meter_events.create",
        params={
            "event_name": meter["event_name"],
            "payload": {"stripe_customer_id": cus, "value": "10"},
            "timestamp": _utc(base + 600),
        },
    )
    t.eq(sync["object"], "v2.billing.meter_event", "v2 event object")
    t.eq(sync["payload"], {"stripe_customer_id": cus, "value": "10"}, "v2 payload")
    t.eq(_parse(sync["timestamp"]), base + 600, "v2 timestamp (RFC 3339)")
    t.check(bool(sync.get("identifier")), "an identifier is generated")
    key = f"conformance-v2-{uuid.uuid4()}"
    v2_params = {
        "event_name": meter["event_name"],
        "payload": {"stripe_customer_id": cus, "value": "1"},
        "identifier": f"conf-v2-{uuid.uuid4().hex}",
        "timestamp": _utc(base + 900),
    }
    once = t.call("v2.meter_events.create", params=v2_params, idempotency_key=key)
    twice = t.call("v2.meter_events.create", params=v2_params, idempotency_key=key)
    t.eq(twice, once, "v2 POST with the same Idempotency-Key replays (not a duplicate error)")
    expect_total(t, meter["id"], cus, base, base + HOUR, 20, "stream + sync events, once")
    err = t.fails(
        "v2.meter_events.create",
        params={
            "event_name": f"conformance_missing_{uuid.uuid4().hex[:8]}",
            "payload": {"stripe_customer_id": cus, "value": "1"},
        },
        status=400,
        type=UNSET,
        code="no_meter",
        only_emulator=("status", "cls"),
    )
    t.check(bool(err.get("message")), "v2 error message")
    if t.emulator:  # what Stripe answers for a token it never issued is unverified
        t.fails(
            "v2.meter_event_stream.create",
            params={"events": events[:1]},
            api_key="token_conformance_bogus",
            status=401,
            # stripe-node 17 maps every 401 to StripeAuthenticationError before looking at
            # the v2 error type (its RequestSender); the others raise the v2 class
            cls="AuthenticationError" if t.flavor == "node17" else "TemporarySessionExpiredError",
            type="temporary_session_expired",
            code="billing_meter_event_session_expired",
        )


@scenario("meters.formula_last", "formula=last (basil and later)", area="meters")
def meters_formula_last(t: T) -> None:
    if t.legacy_rendering:
        t.skip("formula=last arrived with 2025-03-31.basil; this SDK pins acacia")
    meter = new_meter(t, "last")
    t.eq(meter["default_aggregation"], {"formula": "last"}, "formula")
    cus = customer(t)["id"]
    now = t.wall_now()
    base = now - now % HOUR - HOUR
    for i, v in enumerate((3, 9, 4)):
        event(t, meter, cus, v, base + 60 * (i + 1))
    expect_total(t, meter["id"], cus, base, base + HOUR, 4, "last value")


@scenario(
    "meters.event_time_window",
    "event_time_window=hour: the last event received in each UTC hour counts",
    area="meters",
)
def meters_event_time_window(t: T) -> None:
    meter = new_meter(t, event_time_window="hour")
    t.eq(meter["event_time_window"], "hour", "event_time_window")
    cus = customer(t)["id"]
    now = t.wall_now()
    base = now - now % HOUR - 2 * HOUR
    event(t, meter, cus, 5, base + 60)
    event(t, meter, cus, 7, base + 30)  # received later, same hour: replaces the 5
    event(t, meter, cus, 3, base + HOUR + 10)
    expect_total(t, meter["id"], cus, base, base + 2 * HOUR, 10, "7 (hour 1) + 3 (hour 2)")


@scenario(
    "meters.error_reports",
    "invalid events are reported asynchronously as thin v2 events (error_report_triggered)",
    area="meters",
)
def meters_error_reports(t: T) -> None:
    meter = new_meter(t)
    now = t.wall_now()
    ident = f"conf-bad-{uuid.uuid4().hex}"
    accepted = t.call(
        "meter_events.create",
        params={
            "event_name": meter["event_name"],
            "payload": {"value": "3"},  # no stripe_customer_id: checked asynchronously
            "identifier": ident,
            "timestamp": now - 60,
        },
    )
    t.eq(accepted["identifier"], ident, "accepted (validation is asynchronous)")

    def reported() -> None:
        page = t.call("v2.events.list", params={"object_id": meter["id"]})
        found = [e for e in page["data"] if e["type"] == "v1.billing.meter.error_report_triggered"]
        t.eq(len(found), 1, "one error_report_triggered thin event for the meter")
        thin = found[0]
        t.eq(thin["object"], "v2.core.event", "thin event object")
        t.eq(
            thin["related_object"],
            {
                "id": meter["id"],
                "type": "billing.meter",
                "url": f"/v1/billing/meters/{meter['id']}",
            },
            "related_object",
        )
        full = t.call("v2.events.retrieve", thin["id"])
        kinds = full["data"]["reason"]["error_types"]
        t.eq([k["code"] for k in kinds], ["meter_event_no_customer_defined"], "error code")
        sample = kinds[0]["sample_errors"][0]
        t.eq(
            sample["error_message"],
            "Customer mapping key stripe_customer_id not found in payload.",
            "sample error message",
        )

    t.eventually(reported, timeout=300)
