"""Billing Meters: the `billing.meter` object and its lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace

Formula = Literal["sum", "count", "last"]
Window = Literal["hour", "day"]


NOUN = "meter"


# ns.extensions key: event_name -> meter id (active and inactive meters)
BY_EVENT_NAME = "meters_by_event_name"


@dataclass(slots=True, kw_only=True)
class Meter:
    """A billing meter (`object: billing.meter`)."""

    id: str
    created: int
    updated: int
    display_name: str
    event_name: str
    formula: Formula
    customer_key: str = "stripe_customer_id"
    value_key: str = "value"
    event_time_window: Window | None = None
    status: str = "active"
    deactivated_at: int | None = None

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a meter."""
        return {
            "id": self.id,
            "object": "billing.meter",
            "created": self.created,
            "customer_mapping": {"event_payload_key": self.customer_key, "type": "by_id"},
            "default_aggregation": {"formula": self.formula},
            "display_name": self.display_name,
            "event_name": self.event_name,
            "event_time_window": self.event_time_window,
            "livemode": False,
            "status": self.status,
            "status_transitions": {"deactivated_at": self.deactivated_at},
            "updated": self.updated,
            "value_settings": {"event_payload_key": self.value_key},
        }


def get_meter(ns: Namespace, mid: str, *, param: str = "id", in_path: bool = True) -> Meter:
    """A meter of the account or Stripe's `resource_missing`."""
    meter = ns.meters.get(mid)
    if meter is None:
        raise ResourceMissing(NOUN, mid, param=param, in_path=in_path)
    return meter  # type: ignore[no-any-return]


def meter_for_event_name(ns: Namespace, event_name: str) -> Meter | None:
    """The meter (active or inactive) that owns `event_name`, if any."""
    index: dict[str, str] = ns.extensions.get(BY_EVENT_NAME) or {}
    mid = index.get(event_name)
    return ns.meters.get(mid) if mid is not None else None
