"""Billing Meters: `/v1/billing/meters` create, retrieve, update, list, deactivate, reactivate.

Emulated (shared/spec/meters.md §1-2): `display_name` (the only updatable field; anything else
is `parameter_unknown`), `event_name` (at most 100 characters, one meter per event name, also
while the meter is inactive so that a reactivate can always succeed), `default_aggregation`
(`sum` / `count`, plus `last` from `2025-03-31.basil` on: `versions.has_formula_last`),
`customer_mapping` / `value_settings` payload keys, `event_time_window` (`hour` / `day`
pre-aggregation), status transitions. Event summaries live in meter_events.py.

Choices where Stripe's behaviour is unverified (also in README "Billing Meters"):
- unknown id: 404 `resource_missing`, `No such meter: 'mtr_x'` (as prices.py);
- event name taken: 400, param `event_name`, no code,
  `A meter with event_name "<name>" already exists.` (integrations match on "already exists");
- deactivating an inactive meter / reactivating an active one: 400 `invalid_request_error`,
  no code, `This meter is already inactive.` / `This meter is already active.`;
- reactivate resets `status_transitions.deactivated_at` to null.
Each change writes a v1 event to the account's log (`billing.meter.created`, `.updated` with
`previous_attributes`, `.deactivated`, `.reactivated`; meters.md §2).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..domain import events as event_log
from ..domain import versions
from ..domain.meters import BY_EVENT_NAME, NOUN, Meter, get_meter
from ..errors import InvalidRequest
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Enum, Obj, Str
from ..wire.render import render_list, render_one

billing_meters = Blueprint("billing_meters", __name__)


def _create_spec(version: str) -> dict[str, Any]:
    formulas = ("sum", "count", "last") if versions.has_formula_last(version) else ("sum", "count")
    return {
        "display_name": Str(required=True, nullable=False, max_length=250),
        "event_name": Str(required=True, nullable=False, max_length=100),
        "default_aggregation": Obj(
            required=True,
            nullable=False,
            fields={"formula": Enum(required=True, nullable=False, values=formulas)},
        ),
        "customer_mapping": Obj(
            nullable=False,
            fields={
                "event_payload_key": Str(required=True, nullable=False, max_length=100),
                "type": Enum(required=True, nullable=False, values=("by_id",)),
            },
        ),
        "value_settings": Obj(
            nullable=False,
            fields={"event_payload_key": Str(required=True, nullable=False, max_length=100)},
        ),
        "event_time_window": Enum(values=("day", "hour")),
    }


UPDATE = {"display_name": Str(nullable=False, max_length=250)}
LIST = {**LIST_PARAMS, "status": Enum(values=("active", "inactive"))}


@billing_meters.post("/v1/billing/meters")
def create_meter() -> Response:
    """Create a meter."""
    ns = p.ns()
    prm = p.params(_create_spec(p.api_version()))
    name = prm["event_name"]
    index: dict[str, str] = ns.extensions.setdefault(BY_EVENT_NAME, {})
    if name in index:
        raise InvalidRequest(
            f'A meter with event_name "{name}" already exists.', param="event_name"
        )
    now = clock.wall_now(ns)
    meter = Meter(
        id=ids.new_id("billing.meter"),
        created=now,
        updated=now,
        display_name=prm["display_name"],
        event_name=name,
        formula=prm["default_aggregation"]["formula"],
        event_time_window=prm.get("event_time_window"),
    )
    if prm.get("customer_mapping"):
        meter.customer_key = prm["customer_mapping"]["event_payload_key"]
    if prm.get("value_settings"):
        meter.value_key = prm["value_settings"]["event_payload_key"]
    ns.meters[meter.id] = meter
    index[name] = meter.id
    event_log.emit(ns, "billing.meter.created", meter, created=now)
    return render_one(meter, p.ctx(), prm.get("expand"))


@billing_meters.get("/v1/billing/meters/<mid>")
def retrieve_meter(mid: str) -> Response:
    """Retrieve a meter."""
    prm = p.params({})
    return render_one(get_meter(p.ns(), mid), p.ctx(), prm.get("expand"))


@billing_meters.post("/v1/billing/meters/<mid>")
def update_meter(mid: str) -> Response:
    """Update a meter's `display_name` (nothing else is updatable)."""
    ns = p.ns()
    meter = get_meter(ns, mid)
    prm = p.params(UPDATE)
    if prm.get("display_name") is not None and prm["display_name"] != meter.display_name:
        before = event_log.snapshot(ns, meter)
        meter.display_name = prm["display_name"]
        meter.updated = clock.wall_now(ns)
        after = event_log.snapshot(ns, meter)
        previous = event_log.diff(before, after)
        event_log.emit(ns, "billing.meter.updated", after, created=meter.updated, previous=previous)
    return render_one(meter, p.ctx(), prm.get("expand"))


@billing_meters.get("/v1/billing/meters")
def list_meters() -> Response:
    """List meters, newest first, optionally by status."""
    prm = p.params(LIST)
    status = prm.get("status")
    objs = [m for m in reversed(p.ns().meters.values()) if status is None or m.status == status]
    return render_list(objs, prm, p.ctx(), url="/v1/billing/meters", noun=NOUN)


@billing_meters.post("/v1/billing/meters/<mid>/deactivate")
def deactivate_meter(mid: str) -> Response:
    """Deactivate a meter: it accepts no new events and cannot back new prices."""
    ns = p.ns()
    meter = get_meter(ns, mid)
    prm = p.params({})
    if meter.status != "active":
        raise InvalidRequest("This meter is already inactive.")
    now = clock.wall_now(ns)
    meter.status, meter.deactivated_at, meter.updated = "inactive", now, now
    event_log.emit(ns, "billing.meter.deactivated", meter, created=now)
    return render_one(meter, p.ctx(), prm.get("expand"))


@billing_meters.post("/v1/billing/meters/<mid>/reactivate")
def reactivate_meter(mid: str) -> Response:
    """Reactivate an inactive meter."""
    ns = p.ns()
    meter = get_meter(ns, mid)
    prm = p.params({})
    if meter.status == "active":
        raise InvalidRequest("This meter is already active.")
    meter.status, meter.deactivated_at, meter.updated = "active", None, clock.wall_now(ns)
    event_log.emit(ns, "billing.meter.reactivated", meter, created=meter.updated)
    return render_one(meter, p.ctx(), prm.get("expand"))
