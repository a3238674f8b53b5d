"""Events (`/v1/events`): snapshot events for API calls and for clock-driven billing."""

from __future__ import annotations

import uuid
from typing import Any

from ..harness import T, scenario
from .billing import HOUR, clock_start, clocked_customer
from .common import customer, licensed_price, period, product, subscribe


def events_about(t: T, type_: str, object_id: str, since: int) -> list[dict[str, Any]]:
    """Events of one type about one object, newest first."""
    found: list[dict[str, Any]] = t.call(
        "events.list",
        params={"type": type_, "created": {"gte": since}, "limit": 100},
        paging="auto",
    )
    return [e for e in found if e["data"]["object"].get("id") == object_id]


@scenario("events.api_calls", "customer.created / customer.updated events", area="events")
def events_api_calls(t: T) -> None:
    since = t.wall_now() - 300
    cus = customer(t, name="Before")
    key = f"conformance-{uuid.uuid4()}"
    t.call("customers.update", cus["id"], params={"name": "After"}, idempotency_key=key)
    update_req = t.header("Request-Id")

    def check() -> None:
        created = events_about(t, "customer.created", cus["id"], since)
        t.eq(len(created), 1, "one customer.created event")
        updated = events_about(t, "customer.updated", cus["id"], since)
        t.eq(len(updated), 1, "one customer.updated event")
        ev = updated[0]
        t.eq(ev["object"], "event", "object")
        t.check(ev["id"].startswith("evt_"), "event id prefix")
        t.eq(ev["data"]["object"]["name"], "After", "data.object is the new state")
        t.eq(ev["data"]["previous_attributes"], {"name": "Before"}, "previous_attributes")
        t.eq(ev["request"], {"id": update_req, "idempotency_key": key}, "request id and key")
        again = t.call("events.retrieve", ev["id"])
        t.eq(again["id"], ev["id"], "retrieve")

    t.eventually(check)
    t.fails(
        "events.retrieve",
        "evt_doesnotexist",
        status=404,
        code="resource_missing",
        message="No such event: 'evt_doesnotexist'",
    )


@scenario(
    "events.clock_renewal",
    "a renewal on a test clock emits invoice.created / invoice.finalized with no request",
    area="events",
)
def events_clock_renewal(t: T) -> None:
    t0 = clock_start(t)
    since = t0  # clock-driven events may carry the simulated time (unverified at Stripe)
    clk, cus = clocked_customer(t, t0)
    sub = subscribe(t, cus["id"], licensed_price(t, product(t)["id"], 500)["id"])
    _, end = period(t, sub)
    t.advance_clock(clk["id"], end + 2 * HOUR)
    invoices = t.call("invoices.list", params={"subscription": sub["id"]}, paging="auto")
    cycle = [i for i in invoices if i["billing_reason"] == "subscription_cycle"]
    t.eq(len(cycle), 1, "one cycle invoice")

    def check() -> None:
        for type_ in ("invoice.created", "invoice.finalized"):
            found = events_about(t, type_, cycle[0]["id"], since)
            t.eq(len(found), 1, f"one {type_} event for the cycle invoice")
            t.eq(found[0]["request"]["id"], None, f"{type_}: automatic, no request id")

    t.eventually(check)
