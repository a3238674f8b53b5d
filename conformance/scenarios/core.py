"""Customers, products, prices: create/retrieve/update/list/delete, errors, auth, idempotency."""

from __future__ import annotations

from ..harness import T, scenario


@scenario("customers.crud", "customer create, retrieve, update, delete", area="core")
def customers_crud(t: T) -> None:
    cus = t.call(
        "customers.create",
        params={"name": "Ada", "email": "ada@example.com", "metadata": {"k": "v"}},
    )
    t.eq(cus["object"], "customer", "object")
    t.eq(cus["name"], "Ada", "name")
    t.eq(cus["metadata"], {"k": "v"}, "metadata")
    got = t.call("customers.retrieve", cus["id"])
    t.eq(got["id"], cus["id"], "retrieve id")
    t.check(bool(t.header("Request-Id", -1)), "Request-Id header present")
    t.fails(
        "customers.retrieve",
        "cus_nope",
        status=404,
        cls="InvalidRequestError",
        code="resource_missing",
        param="id",
        message="No such customer: 'cus_nope'",
    )
