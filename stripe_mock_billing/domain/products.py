"""Products: the `product` object and its lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace


@dataclass(slots=True, kw_only=True)
class Product:
    """A product."""

    id: str
    created: int
    updated: int
    name: str
    active: bool = True
    description: str | None = None
    unit_label: str | None = None
    statement_descriptor: str | None = None
    url: str | None = None
    images: list[str] = field(default_factory=list)
    default_price: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a product."""
        return {
            "id": self.id,
            "object": "product",
            "active": self.active,
            "created": self.created,
            "default_price": self.default_price,
            "description": self.description,
            "images": list(self.images),
            "livemode": False,
            "marketing_features": [],
            "metadata": dict(self.metadata),
            "name": self.name,
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": self.statement_descriptor,
            "tax_code": None,
            "unit_label": self.unit_label,
            "updated": self.updated,
            "url": self.url,
        }


def get_product(ns: Namespace, pid: str, *, param: str = "id", in_path: bool = True) -> Product:
    """A product or Stripe's `No such product`."""
    prod = ns.products.get(pid)
    if prod is None:
        raise ResourceMissing("product", pid, param=param, in_path=in_path)
    return prod
