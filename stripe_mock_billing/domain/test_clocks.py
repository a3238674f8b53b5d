"""Test clocks: the `test_helpers.test_clock` object and its lookup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace
from . import versions

DELETES_AFTER = 30 * 86400


@dataclass(slots=True, kw_only=True)
class TestClock:
    """A test clock; `shown_time` is what it reports while `advancing`."""

    __test__ = False  # not a pytest test class

    id: str
    created: int
    frozen_time: int
    name: str | None = None
    status: str = "ready"
    shown_time: int | None = None

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a test clock."""
        advancing = self.status == "advancing"
        body = {
            "id": self.id,
            "object": "test_helpers.test_clock",
            "created": self.created,
            "deletes_after": self.created + DELETES_AFTER,
            "frozen_time": self.shown_time if advancing else self.frozen_time,
            "livemode": False,
            "name": self.name,
            "status": self.status,
            "status_details": (
                {"advancing": {"target_frozen_time": self.frozen_time}} if advancing else {}
            ),
        }
        if not versions.has_clock_status_details(ctx.version):
            del body["status_details"]
        return body


def get_clock(ns: Namespace, cid: str) -> TestClock:
    """A clock, or Stripe's `No such billingclock` (its internal object name)."""
    clk = ns.test_clocks.get(cid)
    if clk is None:
        raise ResourceMissing("billingclock", cid)
    return clk
