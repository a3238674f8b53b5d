"""Products: `/v1/products` create, retrieve, update, list, delete.

Emulated: user-chosen ids, `active`, `metadata`, `default_price`, deletion refused while prices
exist (as Stripe refuses). A deleted product retrieves as 404 (unverified; wire-format.md §3.2).
LIMITATIONS: no search, features, images upload or package dimensions validation.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..domain import events as event_log
from ..domain.products import Product, get_product
from ..errors import InvalidRequest, ResourceMissing, invalid_value
from ..shapes import deleted_stub
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Bool, List, Metadata, Str, apply_metadata
from ..wire.render import json_response, render_list, render_one

products = Blueprint("products", __name__)


FIELDS = {
    "active": Bool(),
    "description": Str(max_length=40000),
    "unit_label": Str(max_length=12),
    "statement_descriptor": Str(max_length=22),
    "url": Str(),
    "images": List(item=Str(), max_items=8),
    "metadata": Metadata(),
}
CREATE = {**FIELDS, "name": Str(required=True, nullable=False), "id": Str(max_length=255)}
UPDATE = {**FIELDS, "name": Str(nullable=False), "default_price": Str()}
LIST = {**LIST_PARAMS, "active": Bool(), "ids": List(item=Str())}
_ID_RE = re.compile(r"[A-Za-z0-9_\-]+")


def apply_product(prod: Product, prm: dict[str, Any]) -> None:
    """Copy updatable product fields from validated params."""
    for name in ("name", "description", "unit_label", "statement_descriptor", "url"):
        if name in prm:
            setattr(prod, name, prm[name])
    if prm.get("active") is not None:
        prod.active = prm["active"]
    if "images" in prm:
        prod.images = prm["images"] or []
    if "metadata" in prm:
        prod.metadata = apply_metadata(prod.metadata, prm["metadata"])


def new_product(ns: Namespace, prm: dict[str, Any], *, param: str = "id") -> Product:
    """Create and store a product from validated params (also used by `product_data`)."""
    pid = prm.get("id")
    if pid is not None:
        if not _ID_RE.fullmatch(pid):
            raise invalid_value(param, f"Invalid id: {pid}")
        if pid in ns.products:
            raise InvalidRequest(
                f"Product already exists with ID '{pid}'",
                code="resource_already_exists",
                param=param,
            )
    else:
        pid = ids.new_id("product")
    now = clock.wall_now(ns)
    prod = Product(id=pid, created=now, updated=now, name=prm["name"])
    apply_product(prod, prm)
    ns.products[pid] = prod
    event_log.emit(ns, "product.created", prod, created=now)
    return prod


@products.post("/v1/products")
def create_product() -> Response:
    """Create a product."""
    prm = p.params(CREATE)
    return render_one(new_product(p.ns(), prm), p.ctx(), prm.get("expand"))


@products.get("/v1/products/<pid>")
def retrieve_product(pid: str) -> Response:
    """Retrieve a product."""
    prm = p.params({})
    return render_one(get_product(p.ns(), pid), p.ctx(), prm.get("expand"))


@products.post("/v1/products/<pid>")
def update_product(pid: str) -> Response:
    """Update a product."""
    ns = p.ns()
    prod = get_product(ns, pid)
    prm = p.params(UPDATE)
    if "default_price" in prm and prm["default_price"] is not None:
        price = ns.prices.get(prm["default_price"])
        if price is None:
            raise ResourceMissing(
                "price", prm["default_price"], param="default_price", in_path=False
            )
        if price.product != pid:
            raise invalid_value(
                "default_price",
                f"The price `{price.id}` does not belong to the product `{pid}`.",
            )
    before = event_log.snapshot(ns, prod)
    apply_product(prod, prm)
    if "default_price" in prm:
        prod.default_price = prm["default_price"]
    prod.updated = clock.wall_now(ns)
    after = event_log.snapshot(ns, prod)
    previous = event_log.diff(before, after)
    if set(previous) - {"updated"}:  # `updated` alone moving is not a change worth an event
        event_log.emit(ns, "product.updated", after, created=prod.updated, previous=previous)
    return render_one(prod, p.ctx(), prm.get("expand"))


@products.get("/v1/products")
def list_products() -> Response:
    """List products, newest first."""
    prm = p.params(LIST)
    wanted = set(prm.get("ids") or ())
    objs = [
        o
        for o in reversed(p.ns().products.values())
        if (prm.get("active") is None or o.active == prm["active"])
        and (not wanted or o.id in wanted)
    ]
    return render_list(objs, prm, p.ctx(), url="/v1/products", noun="product")


@products.delete("/v1/products/<pid>")
def delete_product(pid: str) -> Response:
    """Delete a product that has no prices."""
    ns = p.ns()
    prod = get_product(ns, pid)
    p.params({})
    if any(pr.product == pid for pr in ns.prices.values()):
        raise InvalidRequest(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    body = event_log.snapshot(ns, prod)
    del ns.products[pid]
    event_log.emit(ns, "product.deleted", body, created=clock.wall_now(ns))
    return json_response(deleted_stub(pid, "product"))
