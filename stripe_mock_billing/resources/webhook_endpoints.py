"""Webhook endpoints: `/v1/webhook_endpoints` create, retrieve, update, list, delete.

Emulated: `url`, `enabled_events` (`*` or any event type the emulator emits), `api_version`
(create only: events are rendered at it for this endpoint), `description`, `metadata`,
`disabled` (update: `status` becomes `disabled`, nothing is delivered to it and pending retries
stop), `secret` (`whsec_...`) only in the create response, at most 16 endpoints per account.
Delivery itself is delivery.py's (an edge: it does network I/O).
Emulator choices (unverified at Stripe): a URL must be http(s) with a host; the host must be
loopback (127.0.0.0/8, ::1, localhost, *.localhost) or allow-listed (`--webhook-allow`), else
400 on `url`; an unknown event type is 400 `Invalid enabled_events[i]: ...` on
`enabled_events`; `connect=true` is refused (no connected accounts here).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..domain import versions
from ..domain.event_types import SNAPSHOT_TYPES, THIN_TYPES
from ..domain.webhook_endpoints import WebhookEndpoint, get_webhook_endpoint, url_problem
from ..errors import InvalidRequest, StripeError, invalid_value
from ..shapes import deleted_stub
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Bool, List, Metadata, Str, apply_metadata
from ..wire.render import expand, json_response, render_list, render_one

webhook_endpoints = Blueprint("webhook_endpoints", __name__)

MAX_ENDPOINTS = 16  # webhook-delivery-and-dunning.md §1
CREATE = {
    "url": Str(required=True, max_length=5000, nullable=False),
    "enabled_events": List(item=Str(), max_items=500, required=True, nullable=False),
    "api_version": Str(),
    "description": Str(max_length=5000),
    "metadata": Metadata(),
    "connect": Bool(),
}
UPDATE = {
    "url": Str(max_length=5000, nullable=False),
    "enabled_events": List(item=Str(), max_items=500, nullable=False),
    "description": Str(max_length=5000),
    "metadata": Metadata(),
    "disabled": Bool(),
}
LIST = dict(LIST_PARAMS)


def _check_url(url: str) -> str:
    problem = url_problem(url, p.settings().webhook_allow)
    if problem is not None:
        raise invalid_value("url", problem, "url_invalid")
    return url


def _check_events(names: list[str]) -> list[str]:
    if not names:
        raise invalid_value("enabled_events", "Invalid array: enabled_events must not be empty.")
    for i, name in enumerate(names):
        if name != "*" and name not in SNAPSHOT_TYPES:
            hint = (
                " Thin (v2) event types go to event destinations (/v2/core/event_destinations)."
                if name in THIN_TYPES
                else ""
            )
            raise invalid_value(
                "enabled_events",
                f"Invalid enabled_events[{i}]: {name} is not an event type this account can "
                f"receive: use * or one of {', '.join(sorted(SNAPSHOT_TYPES))}.{hint}",
            )
    return list(dict.fromkeys(names))  # Stripe keeps one of each


@webhook_endpoints.post("/v1/webhook_endpoints")
def create_webhook_endpoint() -> Response:
    """Create an endpoint; the response is the only one that shows its `secret`."""
    ns = p.ns()
    prm = p.params(CREATE)
    url = _check_url(prm["url"])
    events = _check_events(prm["enabled_events"])
    version = prm.get("api_version")
    if version is not None:
        try:
            versions.validate(version)
        except StripeError:
            raise invalid_value("api_version", f"Invalid Stripe API version: {version}") from None
    if prm.get("connect"):
        raise invalid_value(
            "connect",
            "Connect webhook endpoints are not supported: the emulator has no connected accounts.",
        )
    if len(ns.webhook_endpoints) >= MAX_ENDPOINTS:
        raise InvalidRequest(
            f"You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints.",
        )
    ep = WebhookEndpoint(
        id=ids.new_id("webhook_endpoint"),
        url=url,
        enabled_events=events,
        secret="whsec_" + ids.random_tail(32),
        created=clock.wall_now(ns),
        api_version=version,
        description=prm.get("description"),
        metadata=apply_metadata({}, prm.get("metadata")),
    )
    ns.webhook_endpoints[ep.id] = ep
    body = ep.render(p.ctx())
    body["secret"] = ep.secret
    return json_response(expand(body, prm.get("expand") or (), p.ctx()))


@webhook_endpoints.get("/v1/webhook_endpoints/<we_id>")
def retrieve_webhook_endpoint(we_id: str) -> Response:
    """Retrieve an endpoint (without its secret)."""
    prm = p.params({})
    return render_one(get_webhook_endpoint(p.ns(), we_id), p.ctx(), prm.get("expand"))


@webhook_endpoints.post("/v1/webhook_endpoints/<we_id>")
def update_webhook_endpoint(we_id: str) -> Response:
    """Update `url`, `enabled_events`, `description`, `metadata`, `disabled`."""
    ns = p.ns()
    ep = get_webhook_endpoint(ns, we_id)
    prm = p.params(UPDATE)
    url = _check_url(prm["url"]) if "url" in prm else None
    events = _check_events(prm["enabled_events"]) if "enabled_events" in prm else None
    if url is not None:
        ep.url = url
    if events is not None:
        ep.enabled_events = events
    if "description" in prm:
        ep.description = prm["description"]
    if "metadata" in prm:
        ep.metadata = apply_metadata(ep.metadata, prm["metadata"])
    if prm.get("disabled") is not None:
        ep.status = "disabled" if prm["disabled"] else "enabled"
    return render_one(ep, p.ctx(), prm.get("expand"))


@webhook_endpoints.get("/v1/webhook_endpoints")
def list_webhook_endpoints() -> Response:
    """List endpoints, newest first."""
    ns = p.ns()
    prm = p.params(LIST)
    objs: list[Any] = list(reversed(ns.webhook_endpoints.values()))
    return render_list(objs, prm, p.ctx(), url="/v1/webhook_endpoints", noun="webhook endpoint")


@webhook_endpoints.delete("/v1/webhook_endpoints/<we_id>")
def delete_webhook_endpoint(we_id: str) -> Response:
    """Delete an endpoint: nothing more is delivered to it, pending retries stop."""
    ns = p.ns()
    ep = get_webhook_endpoint(ns, we_id)
    p.params({})
    del ns.webhook_endpoints[ep.id]
    return json_response(deleted_stub(ep.id, "webhook_endpoint"))
