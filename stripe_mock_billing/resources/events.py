"""Events: the account's event log, `/v1/events` list and retrieve.

Every state change the emulator makes writes an `event` (`customer.*`, `customer.subscription.*`,
`invoice.*`, `invoiceitem.created`, `test_helpers.test_clock.*`). `data.object` is a snapshot
rendered when the event is created, at the account's default API version
(`settings.api_version`), and never re-rendered; `*.updated` events carry
`data.previous_attributes` (the changed fields with their old values; nested objects contain only
the changed sub-fields). `request.id` / `request.idempotency_key` name the API call that caused
the event; both are null for automatic changes (renewals, finalization, clock advances).
`created` of a clock-driven event is the simulated time at which it happened (the clock's
frozen time), as test-clocks.md §5 suggests (unverified).
`pending_webhooks` counts the webhook endpoints that have not answered 2xx yet (delivery.py);
`delivery_success=false` lists the events still pending for some endpoint, `true` the others.
LIMITATIONS: events are kept for the life of the account (Stripe guarantees 30 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response

from ..errors import ResourceMissing, exclusive_params, invalid_value
from ..limits import parse_int
from ..wire import pipeline as p
from ..wire.form import Node
from ..wire.params import LIST_PARAMS, Bool, List, Param, Str
from ..wire.render import expand, json_response, render_list

events = Blueprint("events", __name__)


@dataclass(slots=True, kw_only=True)
class Range(Param):
    """An integer or a `{gt, gte, lt, lte}` range, as on list `created` filters."""

    def coerce(self, value: Node, name: str) -> Any:
        if isinstance(value, str):
            return {"eq": _int(value, name)}
        if not isinstance(value, dict):
            raise invalid_value(name, f"Invalid range: {name} must be an integer or a hash.")
        out: dict[str, int] = {}
        for k, v in value.items():
            if k not in ("gt", "gte", "lt", "lte") or not isinstance(v, str):
                raise invalid_value(f"{name}[{k}]", f"Received unknown parameter: {name}[{k}]")
            out[k] = _int(v, f"{name}[{k}]")
        return out


def _int(value: str, name: str) -> int:
    n = parse_int(value.strip())
    if n is None:
        msg = f"Invalid integer: {value[:100]}"
        raise invalid_value(name, msg, "parameter_invalid_integer")
    return n


def in_range(t: int, rng: dict[str, int] | None) -> bool:
    """Whether `t` satisfies a parsed `Range`."""
    if not rng:
        return True
    checks = {
        "eq": t == rng.get("eq", t),
        "gt": t > rng.get("gt", t - 1),
        "gte": t >= rng.get("gte", t),
        "lt": t < rng.get("lt", t + 1),
        "lte": t <= rng.get("lte", t),
    }
    return all(checks.values())


LIST = {
    **LIST_PARAMS,
    "type": Str(),
    "types": List(item=Str(), max_items=20),
    "created": Range(),
    "delivery_success": Bool(),
}


def _type_matcher(prm: dict[str, Any]) -> Any:
    if prm.get("type") is not None and prm.get("types"):
        raise exclusive_params(["type", "types"])
    if prm.get("types"):
        wanted = set(prm["types"])
        return lambda t: t in wanted
    pattern = prm.get("type")
    if pattern is None:
        return lambda t: True
    if pattern.endswith("*"):
        head = pattern[:-1]
        return lambda t: t.startswith(head)
    return lambda t: t == pattern


@events.get("/v1/events")
def list_events() -> Response:
    """List events, newest first; `type` (with `*` wildcard), `types[]`, `created` filters."""
    ns = p.ns()
    prm = p.params(LIST)
    match = _type_matcher(prm)
    rng = prm.get("created")
    success = prm.get("delivery_success")
    objs = [
        e
        for e in reversed(ns.events.values())
        if match(e.type)
        and in_range(e.created, rng)
        and (success is None or (e.pending_webhooks == 0) == success)
    ]
    return render_list(objs, prm, p.ctx(), url="/v1/events", noun="event")


@events.get("/v1/events/<eid>")
def retrieve_event(eid: str) -> Response:
    """Retrieve an event."""
    ns = p.ns()
    prm = p.params({})
    ev = ns.events.get(eid)
    if ev is None:
        raise ResourceMissing("event", eid)
    return json_response(expand(ev.render(p.ctx()), prm.get("expand") or (), p.ctx()))
