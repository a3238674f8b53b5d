"""v2 meter events: session, high-throughput stream, sync create, adjustments; thin events.

Emulated (shared/spec/meters.md §5, §8; wire-format.md §8, §12), JSON bodies and the v2 error
envelope throughout:
- `POST /v2/billing/meter_event_session` (secret key): an `authentication_token` valid 15
  minutes of the account's wall clock (`created` / `expires_at` RFC 3339).
- `POST /v2/billing/meter_event_stream` (`Authorization: Bearer <token>`; served on the same
  server, so point the SDK's `meter_events` base address here): up to 100 events, answered `{}`;
  an unknown or expired token is 401 `temporary_session_expired` /
  `billing_meter_event_session_expired`. Every per-event problem (no meter, inactive meter,
  payload, customer, timestamp window, duplicate identifier) is reported asynchronously.
- `POST /v2/billing/meter_events`: validated synchronously (`no_meter`, `archived_meter`,
  `payload_no_customer_defined`, `payload_no_value_defined`, `payload_invalid_value`,
  `duplicate_meter_event`, timestamp window); an unknown customer is reported asynchronously.
- `POST /v2/billing/meter_event_adjustments`: cancel by identifier
  (`invalid_cancel_configuration` without `cancel.identifier`).
- `GET /v2/core/events[/{id}]`: the account's thin events (meter error reports).

Choices (unverified; README "Billing Meters"): HTTP 400 for every synchronous v2 error but the
session one (401); malformed bodies (missing fields, wrong JSON types, more than 100 events,
timestamps that are not RFC 3339) are 400 `invalid_fields` and store nothing; timestamp window
errors use the error-report codes `timestamp_too_far_in_past` / `timestamp_in_future`.
LIMITATIONS: no 409 `too_many_concurrent_requests` (requests of an account are serialized).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing.meter_billing import event_store
from ..billing.meter_ingest import (
    EventError,
    check_and_store,
    error_reports,
    event_now,
    new_identifier,
    parse_rfc3339,
    report,
    rfc3339,
    timestamp_problem,
)
from ..billing.meter_usage import DuplicateIdentifier
from ..domain.meters import Meter, meter_for_event_name
from ..errors import ResourceMissing, StripeError, V2Error
from ..limits import parse_int
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.auth import key_from_header
from ..wire.render import json_response
from .meter_events import cancel_event

meter_events_v2 = Blueprint("meter_events_v2", __name__)

SESSION_TTL = 15 * 60
MAX_STREAM_EVENTS = 100
_SYNC_CODES = {
    "archived_meter": "archived_meter",
    "meter_event_no_customer_defined": "payload_no_customer_defined",
    "meter_event_value_not_found": "payload_no_value_defined",
    "meter_event_invalid_value": "payload_invalid_value",
}
_EVENT_FIELDS = frozenset(("event_name", "payload", "identifier", "timestamp"))
RawEvent = tuple[str, dict[str, str], str | None, int | None]


def invalid_fields(message: str) -> V2Error:
    """400 for a malformed v2 body."""
    return V2Error(message, code="invalid_fields")


def session_expired() -> V2Error:
    """401 for an unknown or expired meter event session token (wire-format.md §8)."""
    return V2Error(
        "The temporary session token has expired.",
        status=401,
        type="temporary_session_expired",
        code="billing_meter_event_session_expired",
    )


def _event_fields(raw: Any, where: str) -> RawEvent:
    """(event_name, payload, identifier, timestamp) of one JSON event, or `invalid_fields`."""
    if not isinstance(raw, dict):
        raise invalid_fields(f"{where} must be an object.")
    unknown = sorted(set(raw) - _EVENT_FIELDS)
    if unknown:
        raise invalid_fields(f"Unknown field: {where}{unknown[0]}.")
    name, payload = raw.get("event_name"), raw.get("payload")
    if not isinstance(name, str) or not name:
        raise invalid_fields(f"Missing required field: {where}event_name.")
    if len(name) > 100:
        raise invalid_fields(f"{where}event_name must be at most 100 characters.")
    if not isinstance(payload, dict):
        raise invalid_fields(f"Missing required field: {where}payload.")
    for key, value in payload.items():
        if not isinstance(value, str):
            raise invalid_fields(f"{where}payload.{key} must be a string.")
    identifier = raw.get("identifier")
    if identifier is not None and (
        not isinstance(identifier, str) or not 0 < len(identifier) <= 100
    ):
        raise invalid_fields(f"{where}identifier must be a string of 1 to 100 characters.")
    stamp = raw.get("timestamp")
    timestamp = None
    if stamp is not None:
        timestamp = parse_rfc3339(stamp) if isinstance(stamp, str) else None
        if timestamp is None:
            raise invalid_fields(f"{where}timestamp must be an RFC 3339 timestamp.")
    return name, payload, identifier, timestamp


def _v2_event(name: str, payload: dict[str, str], identifier: str, ts: int, created: int) -> Any:
    return {
        "object": "v2.billing.meter_event",
        "created": rfc3339(created),
        "event_name": name,
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": rfc3339(ts),
    }


@meter_events_v2.post("/v2/billing/meter_event_session")
def create_meter_event_session() -> Response:
    """A 15-minute token for the meter event stream."""
    ns = p.ns()
    now = clock.wall_now(ns)
    tokens = p.store().session_tokens
    if len(tokens) > 10_000:  # forget expired tokens now and then
        for tok, (_, exp) in list(tokens.items()):
            if exp <= clock.real_time():
                tokens.pop(tok, None)
    token = "mes_tok_" + ids.random_tail(40)
    tokens[token] = (ns.api_key, now + SESSION_TTL)
    body = {
        "object": "v2.billing.meter_event_session",
        "id": ids.new_id("v2.billing.meter_event_session"),
        "authentication_token": token,
        "created": rfc3339(now),
        "expires_at": rfc3339(now + SESSION_TTL),
        "livemode": False,
    }
    return json_response(body)


def _session_namespace() -> Namespace:
    """The account of the stream request's session token, or 401."""
    try:
        token = key_from_header(p.header("HTTP_AUTHORIZATION"))
    except StripeError:  # no or malformed Authorization header
        raise session_expired() from None
    st = p.store()
    entry = st.session_tokens.get(token)
    if entry is None:
        raise session_expired()
    ns = st.namespace(entry[0])
    if clock.wall_now(ns) >= entry[1]:
        raise session_expired()
    return ns


def _stream_one(
    ns: Namespace, raw: tuple[str, dict[str, str], str | None, int | None], now_wall: int
) -> tuple[Meter | None, EventError] | None:
    name, payload, identifier, timestamp = raw
    identifier = identifier or new_identifier()
    meter = meter_for_event_name(ns, name)
    if meter is None:
        return None, EventError(
            "no_meter", f"No meter was found matching event_name {name}.", identifier
        )
    now = event_now(ns, meter, payload)
    if timestamp is None:
        timestamp = now
    else:
        problem = timestamp_problem(timestamp, now)
        if problem is not None:
            return meter, EventError(problem[0], problem[1], identifier)
    try:
        err = check_and_store(ns, meter, payload, identifier, timestamp, now_wall)
    except DuplicateIdentifier as dup:
        err = EventError("duplicate_meter_event", str(dup), identifier)
    return None if err is None else (meter, err)


@meter_events_v2.post("/v2/billing/meter_event_stream")
@p.token_auth
def create_meter_event_stream() -> Response:
    """Up to 100 events, validated asynchronously; `{}` on success."""
    ns = _session_namespace()
    body = p.json_body()
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise invalid_fields("Missing required field: events.")
    if len(events) > MAX_STREAM_EVENTS:
        raise invalid_fields(f"events must contain at most {MAX_STREAM_EVENTS} items.")
    parsed = [_event_fields(ev, f"events[{i}].") for i, ev in enumerate(events)]
    with ns.lock:
        now_wall = clock.wall_now(ns)
        found = [f for f in (_stream_one(ns, raw, now_wall) for raw in parsed) if f is not None]
        report(ns, found)
    return json_response({})


@meter_events_v2.post("/v2/billing/meter_events")
def create_meter_event_v2() -> Response:
    """One event, validated synchronously (v2 error codes)."""
    ns = p.ns()
    body = p.json_body()
    name, payload, identifier, timestamp = _event_fields(body, "")
    meter = meter_for_event_name(ns, name)
    if meter is None:
        raise V2Error(f"No meter was found matching event_name {name}.", code="no_meter")
    now = event_now(ns, meter, payload)
    if timestamp is None:
        timestamp = now
    else:
        problem = timestamp_problem(timestamp, now)
        if problem is not None:
            raise V2Error(problem[1], code=problem[0])
    identifier = identifier or new_identifier()
    received = clock.wall_now(ns)
    store = event_store(ns)
    if store.has_identifier(identifier, received):
        raise V2Error(
            f"An event already exists with identifier {identifier}.", code="duplicate_meter_event"
        )
    if meter.status != "active":
        raise V2Error(
            f"Meter {meter.id} is inactive and does not accept new events.", code="archived_meter"
        )
    err = check_and_store(ns, meter, payload, identifier, timestamp, received)
    if err is not None:
        sync = _SYNC_CODES.get(err.code)
        if sync is not None:
            raise V2Error(err.message, code=sync)
        report(ns, [(meter, err)])
    return json_response(_v2_event(name, payload, identifier, timestamp, received))


@meter_events_v2.post("/v2/billing/meter_event_adjustments")
def create_meter_event_adjustment_v2() -> Response:
    """Cancel an event by identifier (v2)."""
    ns = p.ns()
    body = p.json_body()
    name, kind, cancel = body.get("event_name"), body.get("type"), body.get("cancel")
    if not isinstance(name, str) or not name:
        raise invalid_fields("Missing required field: event_name.")
    if kind != "cancel":
        raise invalid_fields("type must be one of: cancel.")
    identifier = cancel.get("identifier") if isinstance(cancel, dict) else None
    if not isinstance(identifier, str) or not identifier:
        raise V2Error(
            "The adjustment configuration is invalid for the adjustment type: "
            "cancel.identifier is required when type is cancel.",
            code="invalid_cancel_configuration",
        )
    meter = meter_for_event_name(ns, name)
    if meter is None:
        raise V2Error(f"No meter was found matching event_name {name}.", code="no_meter")
    cancel_event(ns, meter, identifier, param="cancel.identifier")
    out = {
        "object": "v2.billing.meter_event_adjustment",
        "id": ids.new_id("v2.billing.meter_event_adjustment"),
        "cancel": {"identifier": identifier},
        "created": rfc3339(clock.wall_now(ns)),
        "event_name": name,
        "livemode": False,
        "status": "pending",
        "type": "cancel",
    }
    return json_response(out)


@meter_events_v2.get("/v2/core/events")
def list_thin_events() -> Response:
    """The account's thin events (meter error reports), newest first; `object_id` filter."""
    ns = p.ns()
    args = p.query_args()
    object_id = args.get("object_id")
    limit = args.get("limit", "20")
    n = parse_int(limit)
    if n is None or not 1 <= n <= 100:
        raise invalid_fields("limit must be an integer between 1 and 100.")
    reps = [r for r in reversed(error_reports(ns)) if object_id is None or r.meter == object_id]
    data = [r.render() for r in reps[:n]]
    return json_response({"data": data, "next_page_url": None, "previous_page_url": None})


@meter_events_v2.get("/v2/core/events/<eid>")
def retrieve_thin_event(eid: str) -> Response:
    """One thin event, with its `data`."""
    rep = next((r for r in error_reports(p.ns()) if r.id == eid), None)
    if rep is None:
        raise ResourceMissing("event", eid)
    return json_response(rep.render())
