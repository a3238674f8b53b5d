"""Usage alerts: the `billing.alert` object, the `billing.alert_triggered` event object, lookups.

Emulates billing-alerts.md §1 and §4. An alert watches one meter, for one customer (a
`customer` filter) or for every customer, each judged separately; `one_time` alerts fire at most
once per customer, which `fired` records (customer id -> the value that fired it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace

NOUN = "alert"  # (unverified noun) "No such alert: 'alrt_x'"
MAX_PER_METER_CUSTOMER = 25  # alerts docs: 25 alerts per meter and customer


@dataclass(slots=True, kw_only=True)
class Alert:
    """A usage alert (`object: billing.alert`)."""

    id: str
    title: str
    meter: str
    gte: int
    customer: str | None = None  # the `customer` filter, if any
    status: str = "active"
    created: int = 0
    # customer id -> the value that triggered this alert for it (one_time: never again)
    fired: dict[str, int] = field(default_factory=dict)

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of an alert."""
        filters = (
            [{"customer": self.customer, "type": "customer"}] if self.customer is not None else None
        )
        return {
            "id": self.id,
            "object": "billing.alert",
            "alert_type": "usage_threshold",
            "livemode": False,
            "status": self.status,
            "title": self.title,
            "usage_threshold": {
                "filters": filters,
                "gte": self.gte,
                "meter": self.meter,
                "recurrence": "one_time",
            },
        }


@dataclass(slots=True, kw_only=True)
class AlertTriggered:
    """`data.object` of `billing.alert.triggered` (not stored: rendered into the event)."""

    alert: Alert
    customer: str
    value: int
    created: int
    id: str = ""

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape: the full alert, the customer and the value that crossed `gte`."""
        return {
            "object": "billing.alert_triggered",
            "alert": self.alert.render(ctx),
            "created": self.created,
            "customer": self.customer,
            "livemode": False,
            "value": self.value,
        }


def get_alert(ns: Namespace, aid: str) -> Alert:
    """An alert of the account or Stripe's `resource_missing`."""
    alert = ns.alerts.get(aid)
    if alert is None:
        raise ResourceMissing(NOUN, aid)
    return alert  # type: ignore[no-any-return]
