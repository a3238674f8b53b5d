"""v2 event destinations: `/v2/core/event_destinations` create, retrieve, update, list, delete,
enable, disable, ping (event-destinations.md §1-§3, §8). JSON bodies, v2 error envelope.

Emulated: `type: webhook_endpoint` with `webhook_endpoint.url` (loopback or allow-listed, as
for v1 endpoints), `event_payload: thin` (meter error reports as thin notifications, fetchable
with `GET /v2/core/events/{id}`) or `snapshot` (v1 events rendered at
`snapshot_api_version`, default: the account's version), `enabled_events`, `events_from`
(`@self` only), `include` (`webhook_endpoint.url`, and on create
`webhook_endpoint.signing_secret`), `metadata`, `description`; `disable` stops deliveries
and pending retries, `enable` resumes; `ping` creates, delivers and returns a
`v2.core.event_destination.ping` event.
Choices (unverified): validation errors are 400 `invalid_request`; an unknown destination is
404 `not_found` `Event destination ed_x not found.`; `amazon_eventbridge` and
`azure_event_grid` are refused (no cloud here); at most 16 destinations per account; a
ping goes to the pinged destination whatever its `enabled_events` and payload.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing.meter_ingest import store_thin
from ..domain import versions
from ..domain.event_destinations import EventDestination, PingEvent, get_event_destination
from ..domain.event_types import SNAPSHOT_TYPES, THIN_TYPES
from ..domain.webhook_endpoints import url_problem
from ..errors import StripeError, V2Error
from ..wire import pipeline as p
from ..wire.render import json_response

event_destinations = Blueprint("event_destinations", __name__)

MAX_DESTINATIONS = 16
INCLUDABLE = ("webhook_endpoint.signing_secret", "webhook_endpoint.url")
CREATE_FIELDS = {
    "name",
    "type",
    "event_payload",
    "enabled_events",
    "webhook_endpoint",
    "description",
    "events_from",
    "include",
    "metadata",
    "snapshot_api_version",
    "amazon_eventbridge",
    "azure_event_grid",
}
UPDATE_FIELDS = {"name", "description", "enabled_events", "webhook_endpoint", "include", "metadata"}
SUBSCRIBABLE_THIN = THIN_TYPES - {"v2.core.event_destination.ping"}


def _bad(message: str) -> V2Error:
    return V2Error(message, code="invalid_request")


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(k for k in body if k not in allowed)
    if extra:
        raise _bad(f"Unknown field(s): {', '.join(extra)}.")


def _string(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"Missing required field: {name}.")
        return None
    if not isinstance(value, str) or (required and not value):
        raise _bad(f"Invalid {name}: must be a non-empty string.")
    return value


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(f"Invalid {name}: must be an array of strings.")
    return list(value)


def _includes(value: Any, allowed: tuple[str, ...]) -> frozenset[str]:
    if value is None:
        return frozenset()
    names = _strings(value, "include")
    for name in names:
        if name not in allowed:
            raise _bad(f"Invalid include: {name} (allowed: {', '.join(allowed)}).")
    return frozenset(names)


def _query_includes(allowed: tuple[str, ...]) -> frozenset[str]:
    names = [v for k, v in p.query_args().items(multi=True) if k.split("[")[0] == "include"]
    return _includes(names, allowed) if names else frozenset()


def _events(value: Any, payload: str) -> list[str]:
    names = _strings(value, "enabled_events")
    if not names:
        raise _bad("Invalid enabled_events: must not be empty.")
    allowed = SUBSCRIBABLE_THIN if payload == "thin" else SNAPSHOT_TYPES | {"*"}
    for name in names:
        if name not in allowed:
            raise _bad(
                f"Invalid enabled_events: {name} is not a {payload} event type the emulator "
                f"emits (allowed: {', '.join(sorted(allowed))})."
            )
    return list(dict.fromkeys(names))


def _url(value: Any) -> str:
    if not isinstance(value, dict) or set(value) - {"url"}:
        raise _bad("Invalid webhook_endpoint: must be an object with a url.")
    url = value.get("url")
    if not isinstance(url, str) or not url:
        raise _bad("Missing required field: webhook_endpoint.url.")
    problem = url_problem(url, p.settings().webhook_allow)
    if problem is not None:
        raise _bad(problem)
    return url


def _metadata(value: Any, current: dict[str, str]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _bad("Invalid metadata: must be an object of strings.")
    out = dict(current)
    for k, v in value.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, str):
            out[k] = v
        else:
            raise _bad("Invalid metadata: must be an object of strings.")
    return out


def _render(ed: EventDestination, includes: frozenset[str]) -> Response:
    return json_response(ed.render(None, includes))


@event_destinations.post("/v2/core/event_destinations")
def create_event_destination() -> Response:
    """Create a destination; its signing secret is shown only here, when included."""
    ns = p.ns()
    body = p.json_body()
    _unknown(body, CREATE_FIELDS)
    name = str(_string(body, "name", required=True))
    kind = _string(body, "type", required=True)
    payload = _string(body, "event_payload", required=True)
    if "enabled_events" not in body:
        raise _bad("Missing required field: enabled_events.")
    if kind != "webhook_endpoint":
        raise _bad(
            f"Invalid type: {kind}. The emulator delivers only to webhook endpoints "
            "(amazon_eventbridge and azure_event_grid are not supported)."
        )
    if body.get("amazon_eventbridge") is not None or body.get("azure_event_grid") is not None:
        raise _bad("amazon_eventbridge and azure_event_grid need their destination type.")
    if payload not in ("thin", "snapshot"):
        raise _bad(f"Invalid event_payload: {payload} (allowed: snapshot, thin).")
    events = _events(body["enabled_events"], payload)
    if "webhook_endpoint" not in body:
        raise _bad("Missing required field: webhook_endpoint.")
    url = _url(body["webhook_endpoint"])
    version = _string(body, "snapshot_api_version")
    if version is not None:
        if payload != "snapshot":
            raise _bad("snapshot_api_version can only be set when event_payload is snapshot.")
        try:
            versions.validate(version)
        except StripeError:
            raise _bad(f"Invalid snapshot_api_version: {version}") from None
    elif payload == "snapshot":
        version = ns.settings.api_version
    events_from = body.get("events_from")
    if events_from is not None:
        events_from = _strings(events_from, "events_from")
        if any(v not in ("@self", "self") for v in events_from):
            raise _bad("Invalid events_from: the emulator has only the account itself (@self).")
    includes = _includes(body.get("include"), INCLUDABLE)
    description = _string(body, "description") or ""
    metadata = _metadata(body["metadata"], {}) if body.get("metadata") is not None else {}
    if len(ns.event_destinations) >= MAX_DESTINATIONS:
        raise _bad(f"You have reached the maximum of {MAX_DESTINATIONS} event destinations.")
    now = clock.wall_now(ns)
    ed = EventDestination(
        id=ids.new_id("v2.core.event_destination", 44),
        name=name,
        event_payload=str(payload),
        enabled_events=events,
        url=url,
        secret="whsec_" + ids.random_tail(32),
        created=now,
        updated=now,
        description=description,
        snapshot_api_version=version,
        metadata=metadata,
    )
    if events_from is not None:
        ed.events_from = events_from
    ns.event_destinations[ed.id] = ed
    return _render(ed, includes)


@event_destinations.get("/v2/core/event_destinations/<ed_id>")
def retrieve_event_destination(ed_id: str) -> Response:
    """Retrieve a destination (`include=webhook_endpoint.url`)."""
    ed = get_event_destination(p.ns(), ed_id)
    return _render(ed, _query_includes(("webhook_endpoint.url",)))


@event_destinations.post("/v2/core/event_destinations/<ed_id>")
def update_event_destination(ed_id: str) -> Response:
    """Update name, description, enabled_events, webhook_endpoint.url, metadata."""
    ns = p.ns()
    ed = get_event_destination(ns, ed_id)
    body = p.json_body()
    _unknown(body, UPDATE_FIELDS)
    name = _string(body, "name")
    events = _events(body["enabled_events"], ed.event_payload) if "enabled_events" in body else None
    url = _url(body["webhook_endpoint"]) if body.get("webhook_endpoint") is not None else None
    includes = _includes(body.get("include"), ("webhook_endpoint.url",))
    metadata = _metadata(body["metadata"], ed.metadata) if "metadata" in body else None
    description = _string(body, "description")
    if name is not None:
        ed.name = name
    if description is not None:
        ed.description = description
    if events is not None:
        ed.enabled_events = events
    if url is not None:
        ed.url = url
    if metadata is not None:
        ed.metadata = metadata
    ed.updated = clock.wall_now(ns)
    return _render(ed, includes)


@event_destinations.get("/v2/core/event_destinations")
def list_event_destinations() -> Response:
    """Destinations, oldest first, `limit` (1-100, default 20) and `page` tokens."""
    ns = p.ns()
    args = p.query_args()
    raw_limit = args.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise _bad("Invalid limit: must be an integer between 1 and 100.")
    limit = int(raw_limit)
    start = 0
    page = args.get("page")
    if page is not None:
        if not page.startswith("page_") or not page[5:].isdigit():
            raise _bad(f"Invalid page: {page}")
        start = int(page[5:])
    includes = _query_includes(("webhook_endpoint.url",))
    objs = list(ns.event_destinations.values())
    chunk = objs[start : start + limit]
    base = "/v2/core/event_destinations"
    nxt = f"{base}?limit={limit}&page=page_{start + limit}" if start + limit < len(objs) else None
    prev = f"{base}?limit={limit}&page=page_{max(start - limit, 0)}" if start > 0 else None
    return json_response(
        {
            "data": [ed.render(None, includes) for ed in chunk],
            "next_page_url": nxt,
            "previous_page_url": prev,
        }
    )


@event_destinations.delete("/v2/core/event_destinations/<ed_id>")
def delete_event_destination(ed_id: str) -> Response:
    """Delete a destination: nothing more is delivered to it, pending retries stop."""
    ns = p.ns()
    ed = get_event_destination(ns, ed_id)
    del ns.event_destinations[ed.id]
    return json_response({"id": ed.id, "object": "v2.core.event_destination"})


@event_destinations.post("/v2/core/event_destinations/<ed_id>/disable")
def disable_event_destination(ed_id: str) -> Response:
    """Stop deliveries (`status_details.disabled.reason: user`)."""
    ns = p.ns()
    ed = get_event_destination(ns, ed_id)
    ed.status = "disabled"
    ed.updated = clock.wall_now(ns)
    return _render(ed, frozenset())


@event_destinations.post("/v2/core/event_destinations/<ed_id>/enable")
def enable_event_destination(ed_id: str) -> Response:
    """Resume deliveries."""
    ns = p.ns()
    ed = get_event_destination(ns, ed_id)
    ed.status = "enabled"
    ed.updated = clock.wall_now(ns)
    return _render(ed, frozenset())


@event_destinations.post("/v2/core/event_destinations/<ed_id>/ping")
def ping_event_destination(ed_id: str) -> Response:
    """Create, deliver and return a `v2.core.event_destination.ping` event."""
    ns = p.ns()
    ed = get_event_destination(ns, ed_id)
    ping = PingEvent(id=ids.new_id("event"), destination=ed.id, created=clock.wall_now(ns))
    store_thin(ns, ping)
    return json_response(ping.render())
