"""The account's event log: `event` objects, `emit`, snapshots and `previous_attributes` diffs."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..shapes import Renderable, RenderContext
from ..store import Namespace


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
    )
    ns.events[ev.id] = ev
    return ev
