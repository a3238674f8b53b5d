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
LIMITATIONS: no webhook delivery here (`pending_webhooks` is 0); events are kept for the life of
the account (Stripe guarantees 30 days); `delivery_success` is accepted and ignored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, has_request_context, request

from .. import ids
from ..errors import ResourceMissing, exclusive_params, invalid_value
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.form import Node
from ..wire.params import LIST_PARAMS, Bool, List, Param, Str
from ..wire.render import Renderable, RenderContext, expand, json_response, render_list

events = Blueprint("events", __name__)


@dataclass(slots=True, kw_only=True)
class Event:
    """One entry of the event log, with its rendered snapshot."""

    id: str
    type: str
    created: int
    api_version: str
    data_object: dict[str, Any] | None
    previous_attributes: dict[str, Any] | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    # a frozen copy of the object, rendered on first read (cheap snapshots of invoices)
    frozen: Renderable | None = None

    def body(self, ns: Namespace) -> dict[str, Any]:
        """The `data.object` snapshot (rendered from the frozen copy on first use)."""
        if self.data_object is None:
            if self.frozen is None:
                return {}
            self.data_object = self.frozen.render(RenderContext(ns=ns, version=self.api_version))
            self.frozen = None
        return self.data_object

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of an event (the snapshot is returned as stored, whatever the version)."""
        # a copy: snapshots may be shared between events and `expand` edits bodies in place
        data: dict[str, Any] = {"object": copy.deepcopy(self.body(ctx.ns))}
        if self.previous_attributes is not None:
            data["previous_attributes"] = copy.deepcopy(self.previous_attributes)
        return {
            "id": self.id,
            "object": "event",
            "api_version": self.api_version,
            "created": self.created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": self.type,
        }


def snapshot(ns: Namespace, obj: Renderable) -> dict[str, Any]:
    """`obj` rendered at the account's default API version."""
    return obj.render(RenderContext(ns=ns, version=ns.settings.api_version))


def diff(before: dict[str, Any], after: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
    """Stripe's `previous_attributes`: old values of changed fields (nested: changed sub-fields;
    a key a nested object did not have before, such as a new metadata key, is shown as null)."""
    out: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get("object") != "list":
            out[key] = diff(old, new, nested=True)
        else:
            out[key] = old
    if nested:
        out.update((key, None) for key in after if key not in before)
    return out


def emit(
    ns: Namespace,
    type_: str,
    obj: Renderable | dict[str, Any],
    *,
    created: int,
    previous: dict[str, Any] | None = None,
    automatic: bool = False,
) -> Event:
    """Append an event to the account's log; `obj` is rendered now (or given rendered).

    Objects with a `frozen_copy()` method (invoices) are copied now and rendered on first read:
    the snapshot shows their state at this moment at a fraction of the cost of rendering.
    """
    body: dict[str, Any] | None = None
    frozen: Renderable | None = None
    if isinstance(obj, dict):
        body = obj
    elif getattr(obj, "frozen", False):
        frozen = obj  # already a frozen copy (shared by events of one state) or a preview
    elif hasattr(obj, "frozen_copy"):
        frozen = obj.frozen_copy()
    else:
        body = snapshot(ns, obj)
    req_id = idem = None
    if not automatic and has_request_context():
        req_id = g.get("request_id")
        idem = request.headers.get("Idempotency-Key")
    ev = Event(
        id=ids.new_id("event"),
        type=type_,
        created=created,
        api_version=ns.settings.api_version,
        data_object=body,
        frozen=frozen,
        previous_attributes=previous,
        request_id=req_id,
        idempotency_key=idem,
    )
    ns.events[ev.id] = ev
    return ev


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
    try:
        return int(value)
    except ValueError:
        msg = f"Invalid integer: {value}"
        raise invalid_value(name, msg, "parameter_invalid_integer") from None


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
    objs = [e for e in reversed(ns.events.values()) if match(e.type) and in_range(e.created, rng)]
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
