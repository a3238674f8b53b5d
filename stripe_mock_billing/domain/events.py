"""The account's event log: `event` objects, `emit`, snapshots and `previous_attributes` diffs."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..shapes import Renderable, RenderContext
from ..store import Namespace
from .webhook_endpoints import endpoints_for, pinned_versions

# ns.extensions key: events not yet handed to webhook delivery (the app drains it per request;
# `_mock` keys are not exported by snapshots)
OUTBOX = "_mock_webhook_outbox"
# thin (v2) events not yet handed to delivery: meter error reports, destination pings
THIN_OUTBOX = "_mock_thin_outbox"


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
    # webhook endpoints that have not yet answered 2xx for this event
    pending_webhooks: int = 0
    # the snapshot at other API versions (webhook endpoints pinned to another `api_version`):
    # versions to render the frozen copy at, and the renders
    alt_versions: tuple[str, ...] = ()
    alt_objects: dict[str, dict[str, Any]] | None = None
    alt_previous: dict[str, dict[str, Any]] | None = None

    def body(self, ns: Namespace) -> dict[str, Any]:
        """The `data.object` snapshot (rendered from the frozen copy on first use)."""
        if self.data_object is None:
            if self.frozen is None:
                return {}
            if self.alt_versions:
                self.alt_objects = {
                    v: self.frozen.render(RenderContext(ns=ns, version=v))
                    for v in self.alt_versions
                }
            self.data_object = self.frozen.render(RenderContext(ns=ns, version=self.api_version))
            self.frozen = None
        return self.data_object

    def payload(self, ns: Namespace, version: str | None = None) -> dict[str, Any]:
        """The event as delivered to a webhook endpoint, `data.object` at `version` (the
        endpoint's pinned version) when it was rendered at it, else at the account default."""
        body = self.body(ns)
        prev = self.previous_attributes
        if version and version != self.api_version and self.alt_objects is not None:
            if version in self.alt_objects:
                body = self.alt_objects[version]
                if self.alt_previous is not None:
                    prev = self.alt_previous.get(version, prev)
        else:
            version = self.api_version
        data: dict[str, Any] = {"object": body}
        if prev is not None:
            data["previous_attributes"] = prev
        return {
            "id": self.id,
            "object": "event",
            "api_version": version,
            "created": self.created,
            "data": data,
            "livemode": False,
            "pending_webhooks": self.pending_webhooks,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": self.type,
        }

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
            "pending_webhooks": self.pending_webhooks,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": self.type,
        }


class Snapshot(dict[str, Any]):
    """A render at the account's default version that also carries renders at the versions
    webhook endpoints are pinned to (`alt`), so events and diffs exist in every shape."""

    __slots__ = ("alt",)

    def __init__(self, body: dict[str, Any], alt: dict[str, dict[str, Any]]) -> None:
        super().__init__(body)
        self.alt = alt


def publish_thin(ns: Namespace, event: Any) -> None:
    """Hand a thin event (with `id`, `type`, `render()`) to delivery after the request."""
    ns.extensions.setdefault(THIN_OUTBOX, []).append(event)


def snapshot(ns: Namespace, obj: Renderable) -> dict[str, Any]:
    """`obj` rendered at the account's default API version (and at pinned endpoint versions)."""
    body = obj.render(RenderContext(ns=ns, version=ns.settings.api_version))
    pinned = pinned_versions(ns)
    if not pinned:
        return body
    return Snapshot(body, {v: obj.render(RenderContext(ns=ns, version=v)) for v in pinned})


def diff(before: dict[str, Any], after: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
    """Stripe's `previous_attributes`: old values of changed fields (nested: changed sub-fields;
    a key a nested object did not have before, such as a new metadata key, is shown as null)."""
    out = _diff(before, after, nested=nested)
    if isinstance(before, Snapshot) and isinstance(after, Snapshot):
        alt = {v: _diff(before.alt[v], a) for v, a in after.alt.items() if v in before.alt}
        return Snapshot(out, alt)
    return out


def _diff(before: dict[str, Any], after: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get("object") != "list":
            out[key] = _diff(old, new, nested=True)
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
    alt: dict[str, dict[str, Any]] | None = None
    # no endpoint or destination (the common case of an API test): no pinned version to render
    # at and no webhook pending, so neither is looked up
    listening = bool(ns.webhook_endpoints or ns.event_destinations)
    if isinstance(obj, Snapshot):
        body, alt = dict(obj), obj.alt
    elif isinstance(obj, dict):
        body = obj
    elif getattr(obj, "frozen", False):
        frozen = obj  # already a frozen copy (shared by events of one state) or a preview
    elif hasattr(obj, "frozen_copy"):
        frozen = obj.frozen_copy()
    elif not listening:
        body = obj.render(RenderContext(ns=ns, version=ns.settings.api_version))
    else:
        rendered = snapshot(ns, obj)
        body, alt = (
            (dict(rendered), rendered.alt)
            if isinstance(rendered, Snapshot)
            else (
                rendered,
                None,
            )
        )
    req_id = idem = None
    if not automatic and ns.origin is not None:
        req_id, idem = ns.origin
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
        pending_webhooks=len(endpoints_for(ns, type_)) if listening else 0,
        alt_objects=alt,
        alt_previous=previous.alt if isinstance(previous, Snapshot) else None,
    )
    if ev.alt_previous is not None:
        ev.previous_attributes = dict(ev.previous_attributes or {})
    if frozen is not None:
        ev.alt_versions = tuple(sorted(pinned_versions(ns)))
    ns.events[ev.id] = ev
    ns.extensions.setdefault(OUTBOX, []).append(ev)
    return ev
