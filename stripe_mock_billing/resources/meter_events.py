"""v1 meter events, meter event adjustments and event summaries.

Emulated (shared/spec/meters.md §3, §4, §6):
- `POST /v1/billing/meter_events`: synchronous 400s for no meter with that event name
  (`No active meter found for event name "<name>".`), a timestamp outside
  [now - 35 days, now + 5 minutes] and a reused identifier (`An event already exists with
  identifier <id>.`, no code, `Stripe-Should-Retry: false`); the asynchronous checks
  (meter_ingest.py) answer 200 and add an error report.
- `POST /v1/billing/meter_event_adjustments` (`type=cancel`): the cancelled event leaves
  summaries and every invoice not yet finalized. Returned with `status: pending`.
- `GET /v1/billing/meters/{id}/event_summaries`: one summary per range, or per UTC hour / day
  with `value_grouping_window`; every window is returned (empty ones with 0), ascending;
  `start_time`/`end_time` must be minute-aligned (hour / UTC-midnight aligned with a grouping
  window). Up to date immediately unless the account's `summary_lag` is set.

Choices where Stripe is unverified (README "Billing Meters"):
- an event name whose meter is inactive is accepted (200) and reported as `archived_meter`;
  only a name no meter has is the synchronous "No active meter found" 400;
- adjustments fail synchronously (400, param `cancel[identifier]`): unknown identifier
  (`resource_missing`, `No such meter event: '<id>'`), an event received 24 h ago or more, an
  already cancelled event, an identifier of another meter's event;
- summary errors: misaligned times and `end_time <= start_time` are 400s on that param with our
  wording; an unknown customer is 400 `resource_missing` on `customer`.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

from flask import Blueprint, Response

from .. import clock
from ..billing import usage_watch
from ..billing.meter_billing import event_store
from ..billing.meter_ingest import (
    check_and_store,
    event_now,
    new_identifier,
    report,
    timestamp_problem,
)
from ..billing.meter_lag import lagged_summaries
from ..billing.meter_usage import CancelResult, DuplicateIdentifier
from ..domain.meters import Meter, get_meter, meter_for_event_name
from ..errors import InvalidRequest, ResourceMissing, invalid_value, missing_param
from ..shapes import list_body
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Enum, Int, Obj, Str, StrMap
from ..wire.render import expand, json_response, page

meter_events = Blueprint("meter_events", __name__)

CREATE_EVENT = {
    "event_name": Str(required=True, nullable=False, max_length=100),
    "payload": StrMap(required=True, nullable=False),
    "identifier": Str(max_length=100),
    "timestamp": Int(),
}
CREATE_ADJUSTMENT = {
    "event_name": Str(required=True, nullable=False, max_length=100),
    "type": Enum(required=True, nullable=False, values=("cancel",)),
    "cancel": Obj(fields={"identifier": Str(required=True, nullable=False, max_length=100)}),
}
SUMMARIES = {
    **LIST_PARAMS,
    "customer": Str(required=True, nullable=False),
    "start_time": Int(required=True, nullable=False),
    "end_time": Int(required=True, nullable=False),
    "value_grouping_window": Enum(values=("day", "hour")),
}
_ALIGN = {None: (60, "a minute"), "hour": (3600, "an hour"), "day": (86400, "a day (UTC midnight)")}


def no_active_meter(event_name: str) -> InvalidRequest:
    """Stripe's synchronous 400 for an event name no meter has (meters.md §3)."""
    return InvalidRequest(
        f'No active meter found for event name "{event_name}".', param="event_name"
    )


def duplicate(err: DuplicateIdentifier) -> InvalidRequest:
    """Stripe's 400 for a reused identifier: no code, `Stripe-Should-Retry: false`."""
    return InvalidRequest(str(err), should_retry=False)


@meter_events.post("/v1/billing/meter_events")
def create_meter_event() -> Response:
    """Record a meter event (v1, form-encoded)."""
    ns = p.ns()
    prm = p.params(CREATE_EVENT)
    name, payload = prm["event_name"], prm["payload"] or {}
    meter = meter_for_event_name(ns, name)
    if meter is None:
        raise no_active_meter(name)
    received = clock.wall_now(ns)
    # the customer's test clock time, else the wall clock (read once: no clock to look up)
    now = event_now(ns, meter, payload) if ns.test_clocks else received
    timestamp = prm.get("timestamp")
    if timestamp is None:
        timestamp = now
    else:
        problem = timestamp_problem(timestamp, now)
        if problem is not None:
            raise InvalidRequest(problem[1], param="timestamp")
    identifier = prm.get("identifier") or new_identifier()
    try:
        err = check_and_store(ns, meter, payload, identifier, timestamp, received)
    except DuplicateIdentifier as dup:
        raise duplicate(dup) from None
    if err is not None:
        # the synchronous duplicate check wins over the asynchronous problems
        if event_store(ns).has_identifier(identifier, received):
            raise duplicate(DuplicateIdentifier(identifier))
        report(ns, [(meter, err)])
    body = {
        "object": "billing.meter_event",
        "created": received,
        "event_name": name,
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": timestamp,
    }
    return json_response(body)


def cancel_event(ns: Any, meter: Meter, identifier: str, *, param: str) -> None:
    """Cancel the event `identifier` of `meter`, or raise Stripe-style errors (v1 and v2)."""
    store = event_store(ns)
    now = clock.wall_now(ns)
    owner = store.owner(identifier)
    if owner is None:
        raise ResourceMissing("meter event", identifier, param=param, in_path=False)
    if owner[0] != meter.id:
        raise invalid_value(
            param,
            f"The meter event with identifier {identifier} does not belong to the meter of "
            f'event name "{meter.event_name}".',
        )
    result = store.cancel(identifier, now)
    if result is CancelResult.NOT_FOUND:
        raise ResourceMissing("meter event", identifier, param=param, in_path=False)
    if result is CancelResult.TOO_OLD:
        raise invalid_value(
            param,
            f"The meter event with identifier {identifier} cannot be cancelled: events can "
            "only be cancelled within 24 hours of Stripe receiving them.",
        )
    if result is CancelResult.ALREADY_CANCELLED:
        raise invalid_value(
            param, f"The meter event with identifier {identifier} has already been cancelled."
        )
    usage_watch.meter_usage(ns, meter, owner[1])  # thresholds see the lower usage


@meter_events.post("/v1/billing/meter_event_adjustments")
def create_meter_event_adjustment() -> Response:
    """Cancel a meter event by identifier (v1)."""
    ns = p.ns()
    prm = p.params(CREATE_ADJUSTMENT)
    if prm.get("cancel") is None:
        raise missing_param("cancel")
    name, identifier = prm["event_name"], prm["cancel"]["identifier"]
    meter = meter_for_event_name(ns, name)
    if meter is None:
        raise no_active_meter(name)
    cancel_event(ns, meter, identifier, param="cancel[identifier]")
    body = {
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": identifier},
        "event_name": name,
        "livemode": False,
        "status": "pending",
        "type": "cancel",
    }
    return json_response(body)


def _check_alignment(prm: dict[str, Any]) -> None:
    grouping = prm.get("value_grouping_window")
    width, what = _ALIGN[grouping]
    for name in ("start_time", "end_time"):
        if prm[name] % width:
            suffix = f" when value_grouping_window is {grouping}" if grouping else ""
            raise invalid_value(name, f"The {name} must be aligned to {what} boundary{suffix}.")
    if prm["end_time"] <= prm["start_time"]:
        raise invalid_value("end_time", "The end_time must be after the start_time.")


def summary_id(meter_id: str, customer: str, start: int, end: int) -> str:
    """A stable id for a summary window (pagination cursors must survive re-computation)."""
    digest = blake2b(f"{meter_id}:{customer}:{start}:{end}".encode(), digest_size=12)
    return "mtrusg_test_" + digest.hexdigest()


@meter_events.get("/v1/billing/meters/<mid>/event_summaries")
def list_event_summaries(mid: str) -> Response:
    """Aggregated usage of a customer on a meter, per range or per hour/day window."""
    ns = p.ns()
    meter = get_meter(ns, mid)
    prm = p.params(SUMMARIES)
    cid = prm["customer"]
    cust = ns.customers.get(cid)
    if cust is None or cust.deleted:
        raise ResourceMissing("customer", cid, param="customer", in_path=False)
    _check_alignment(prm)
    start, end, grouping = prm["start_time"], prm["end_time"], prm.get("value_grouping_window")
    store = event_store(ns)
    lag = ns.settings.summary_lag
    if lag > 0:
        cutoff = clock.wall_now(ns) - lag + 1
        rows = lagged_summaries(
            store, mid, cid, meter.formula, start, end, grouping, meter.event_time_window, cutoff
        )
    else:
        rows = store.summaries(mid, cid, meter.formula, start, end, grouping)
    summaries = [
        {
            "id": summary_id(mid, cid, low, high),
            "object": "billing.meter_event_summary",
            "aggregated_value": value,
            "end_time": high,
            "livemode": False,
            "meter": mid,
            "start_time": low,
        }
        for low, high, value in rows
    ]
    chunk, more = page(summaries, prm, noun="billing.meter_event_summary", key=lambda s: s["id"])
    body = list_body(chunk, f"/v1/billing/meters/{mid}/event_summaries", more)
    return json_response(expand(body, prm.get("expand") or (), p.ctx()))
