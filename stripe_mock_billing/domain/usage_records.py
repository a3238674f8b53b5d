"""Legacy usage records: the `usage_record` and `usage_record_summary` objects (render only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..shapes import RenderContext


@dataclass(slots=True, kw_only=True)
class UsageRecord:
    """The response of a usage report (not stored: the usage lives in `ItemUsage`)."""

    id: str
    subscription_item: str
    quantity: int
    timestamp: int

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a `usage_record`."""
        return {
            "id": self.id,
            "object": "usage_record",
            "livemode": False,
            "quantity": self.quantity,
            "subscription_item": self.subscription_item,
            "timestamp": self.timestamp,
        }


@dataclass(slots=True, kw_only=True)
class UsageRecordSummary:
    """One billing period's aggregated usage of an item (total and invoice found by billing)."""

    id: str
    subscription_item: str
    start: int
    end: int
    total_usage: int
    invoice: str | None

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a `usage_record_summary`."""
        return {
            "id": self.id,
            "object": "usage_record_summary",
            "invoice": self.invoice,
            "livemode": False,
            "period": {"start": self.start, "end": self.end},
            "subscription_item": self.subscription_item,
            "total_usage": self.total_usage,
        }
