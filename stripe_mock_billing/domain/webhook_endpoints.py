"""Webhook endpoints: the `webhook_endpoint` object, its lookup, and the endpoints an event
goes to.

An endpoint receives the events whose type its `enabled_events` names (`*`: every snapshot type)
while its `status` is `enabled`, rendered at its own `api_version` when it has one, else at the
account's default version (events-webhooks.md §3, webhook-delivery-and-dunning.md §4).
`secret` is kept here and rendered only in the create response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace
from .event_destinations import snapshot_destinations_for
from .event_types import matches


@dataclass(slots=True, kw_only=True)
class WebhookEndpoint:
    """A registered URL and the event types it receives."""

    id: str
    url: str
    enabled_events: list[str]
    secret: str
    created: int
    api_version: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = "enabled"

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape (without `secret`: Stripe shows it only when the endpoint is created)."""
        return {
            "id": self.id,
            "object": "webhook_endpoint",
            "api_version": self.api_version,
            "application": None,
            "created": self.created,
            "description": self.description,
            "enabled_events": list(self.enabled_events),
            "livemode": False,
            "metadata": dict(self.metadata),
            "status": self.status,
            "url": self.url,
        }

    def wants(self, type_: str) -> bool:
        """Whether an event of `type_` is delivered to this endpoint now."""
        return self.status == "enabled" and matches(self.enabled_events, type_)


def get_webhook_endpoint(ns: Namespace, we_id: str) -> WebhookEndpoint:
    """An endpoint of the account or Stripe's `No such webhook endpoint`."""
    ep: WebhookEndpoint | None = ns.webhook_endpoints.get(we_id)
    if ep is None:
        raise ResourceMissing("webhook endpoint", we_id, param="webhook_endpoint")
    return ep


def endpoints_for(ns: Namespace, type_: str) -> list[Any]:
    """Enabled endpoints subscribed to `type_` in creation order, then the snapshot event
    destinations subscribed to it (both have `id`, `url`, `secret`, `api_version`)."""
    if not ns.webhook_endpoints and not ns.event_destinations:
        return []  # the common case, on every event
    found: list[Any] = [ep for ep in ns.webhook_endpoints.values() if ep.wants(type_)]
    if ns.event_destinations:
        found.extend(snapshot_destinations_for(ns, type_))
    return found


def pinned_versions(ns: Namespace) -> set[str]:
    """API versions other than the account default that some endpoint renders events at."""
    if not ns.webhook_endpoints and not ns.event_destinations:
        return set()  # the common case, on every event
    default = ns.settings.api_version
    out = {ep.api_version for ep in ns.webhook_endpoints.values() if ep.api_version}
    out |= {ed.api_version for ed in ns.event_destinations.values() if ed.api_version}
    out.discard(default)
    return out


LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, `localhost` and `*.localhost` (RFC 6761)."""
    h = host.lower().strip("[]").rstrip(".")
    if h in LOOPBACK_NAMES or h.endswith(".localhost") or h == "::1":
        return True
    parts = h.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts)
    )


def url_problem(url: str, allow: list[str] | tuple[str, ...]) -> str | None:
    """Why the emulator will not deliver to `url` (None: it will). Delivery stays on loopback
    unless the host is allow-listed (`--webhook-allow`); never anywhere else."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return f"Invalid URL: {url}"
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        return f"Invalid URL: {url}"
    del port
    host = parts.hostname
    if is_loopback(host) or host.lower() in {h.lower() for h in allow}:
        return None
    return (
        f"Invalid URL: {url}. The emulator delivers webhooks only to loopback hosts "
        "(127.0.0.1, ::1, localhost) and to hosts allow-listed with --webhook-allow "
        "(STRIPE_MOCK_BILLING_WEBHOOK_ALLOW)."
    )
