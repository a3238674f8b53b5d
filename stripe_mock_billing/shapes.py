"""What every rendered Stripe object shares: the render context, the `Renderable` protocol and
the list / deleted-stub shapes that object renders embed.

Core: knows the store and nothing above it. Domain objects render themselves through
`render(ctx)`; `wire/render.py` builds responses, pagination and `expand` on top of this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .store import Namespace

# Called by an object's render before reading derived state (a draft invoice's metered lines
# follow late usage). The request pipeline passes the billing engine's refresher; renders made
# outside a request (event snapshots, diffs) pass none and show the state as it is.
Refresh = Callable[[Namespace, Any], None]


@dataclass(slots=True)
class RenderContext:
    """What a render needs: the account and the request's API version."""

    ns: Namespace
    version: str
    # "includable" fields requested through expand[] (e.g. `tiers` on prices)
    includes: frozenset[str] = frozenset()
    refresh: Refresh | None = None


class Renderable(Protocol):
    """A model that renders itself into Stripe's wire shape."""

    id: str

    def render(self, ctx: RenderContext) -> dict[str, Any]: ...


def list_body(items: Sequence[dict[str, Any]], url: str, has_more: bool) -> dict[str, Any]:
    """Stripe's list object."""
    return {"object": "list", "data": list(items), "has_more": has_more, "url": url}


def deleted_stub(obj_id: str, obj_type: str) -> dict[str, Any]:
    """The body of a DELETE: `{id, object, deleted: true}`."""
    return {"id": obj_id, "object": obj_type, "deleted": True}
