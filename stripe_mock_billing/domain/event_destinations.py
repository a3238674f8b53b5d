"""v2 event destinations: the `v2.core.event_destination` object, its lookup, the ping event.

A destination of `type: webhook_endpoint` is a webhook endpoint with a v2 face
(event-destinations.md §1, §8): `event_payload: snapshot` destinations receive v1 `event`
objects rendered at `snapshot_api_version` (like a v1 endpoint pinned to that version, and
counted in `pending_webhooks`); `thin` destinations receive `v2.core.event` notifications of
the thin types they enable (meter error reports, pings). The signing secret is shown only in
the create response, and only with `include=[webhook_endpoint.signing_secret]`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import V2Error
from ..shapes import RenderContext
from ..store import Namespace
from .event_types import SNAPSHOT_TYPES

PING = "v2.core.event_destination.ping"


def rfc3339(t: int) -> str:
    """Unix seconds as `2024-06-01T12:00:00.000Z` (v2 timestamps)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"


@dataclass(slots=True, kw_only=True)
class EventDestination:
    """A v2 event destination (only `type: webhook_endpoint`)."""

    id: str
    name: str
    event_payload: str
    enabled_events: list[str]
    url: str
    secret: str
    created: int
    updated: int
    description: str = ""
    events_from: list[str] = field(default_factory=lambda: ["@self"])
    snapshot_api_version: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = "enabled"

    @property
    def api_version(self) -> str | None:
        """The version snapshot events are rendered at (None: the account default)."""
        return self.snapshot_api_version if self.event_payload == "snapshot" else None

    def wants(self, type_: str) -> bool:
        """Whether an event of `type_` is delivered here now."""
        if self.status != "enabled":
            return False
        if self.event_payload == "snapshot":
            return type_ in SNAPSHOT_TYPES and type_ in self.enabled_events
        return type_ in self.enabled_events

    def render(self, ctx: RenderContext | None = None, includes: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
        """Wire shape; `webhook_endpoint.url` / `.signing_secret` only when included."""
        return {
            "id": self.id,
            "object": "v2.core.event_destination",
            "created": rfc3339(self.created),
            "description": self.description,
            "enabled_events": list(self.enabled_events),
            "event_payload": self.event_payload,
            "events_from": list(self.events_from),
            "livemode": False,
            "metadata": dict(self.metadata),
            "name": self.name,
            "snapshot_api_version": self.snapshot_api_version,
            "status": self.status,
            "status_details": (
                {"disabled": {"reason": "user"}} if self.status == "disabled" else None
            ),
            "type": "webhook_endpoint",
            "updated": rfc3339(self.updated),
            "webhook_endpoint": {
                "signing_secret": (
                    self.secret if "webhook_endpoint.signing_secret" in includes else None
                ),
                "url": self.url if "webhook_endpoint.url" in includes else None,
            },
        }


def get_event_destination(ns: Namespace, ed_id: str) -> EventDestination:
    """A destination of the account or a v2 404 `not_found`."""
    ed: EventDestination | None = ns.event_destinations.get(ed_id)
    if ed is None:
        # (unverified text) the v2 404 body is {"error": {"code": "not_found", "message": ...}}
        raise V2Error(f"Event destination {ed_id} not found.", code="not_found", status=404)
    return ed


def snapshot_destinations_for(ns: Namespace, type_: str) -> list[EventDestination]:
    """Enabled snapshot destinations subscribed to `type_`, in creation order."""
    return [
        ed
        for ed in ns.event_destinations.values()
        if ed.event_payload == "snapshot" and ed.wants(type_)
    ]


def thin_destinations_for(ns: Namespace, type_: str) -> list[EventDestination]:
    """Enabled thin destinations subscribed to `type_`, in creation order."""
    return [
        ed
        for ed in ns.event_destinations.values()
        if ed.event_payload == "thin" and ed.wants(type_)
    ]


@dataclass(slots=True, kw_only=True)
class PingEvent:
    """The `v2.core.event_destination.ping` thin event a ping creates and delivers."""

    id: str
    destination: str
    created: int
    type: str = PING
    meter: str | None = None  # (the thin-event list filters error reports by meter)

    def related_object(self) -> dict[str, Any]:
        """The destination pinged (`type` as in the API reference example; unverified)."""
        return {
            "id": self.destination,
            "type": "event_destination",
            "url": f"/v2/core/event_destinations/{self.destination}",
        }

    def render(self, ctx: Any = None) -> dict[str, Any]:
        """The full v2 event (`data` is null for pings)."""
        return {
            "id": self.id,
            "object": "v2.core.event",
            "context": None,
            "created": rfc3339(self.created),
            "data": None,
            "livemode": False,
            "reason": None,
            "related_object": self.related_object(),
            "type": self.type,
        }
