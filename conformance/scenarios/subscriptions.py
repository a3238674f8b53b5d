"""Subscriptions and subscription items: lifecycle, cancel, cancel_at_period_end, backdating."""

from __future__ import annotations

from ..harness import T, scenario
from .common import (
    DAY,
    customer,
    legacy_metered_price,
    licensed_price,
    period,
    product,
    subscribe,
)


@scenario("subs.items", "subscription + items: add, change quantity, list, delete", area="subs")
def subs_items(t: T) -> None:
    cus = customer(t)
    prod = product(t)
    a, b = licensed_price(t, prod["id"], 1000), licensed_price(t, prod["id"], 500)
    sub = subscribe(t, cus["id"], a["id"])
    t.check(sub["id"].startswith("sub_"), "subscription id prefix")
    t.eq(
        [sub["status"], sub["customer"], sub["cancel_at_period_end"]],
        ["active", cus["id"], False],
        "status/customer/cancel_at_period_end",
    )
    start, end = period(t, sub)
    t.eq(start, sub["start_date"], "first period starts at start_date")
    t.check(28 * DAY <= end - start <= 31 * DAY, f"monthly period length: {end - start}s")
    first = sub["items"]["data"][0]
    t.eq([first["price"]["id"], first["quantity"]], [a["id"], 1], "item price and quantity")
    added = t.call(
        "subscription_items.create",
        params={"subscription": sub["id"], "price": b["id"], "quantity": 3},
    )
    t.check(added["id"].startswith("si_"), "item id prefix")
    t.eq([added["subscription"], added["quantity"]], [sub["id"], 3], "added item")
    changed = t.call("subscription_items.update", added["id"], params={"quantity": 5})
    t.eq(changed["quantity"], 5, "updated quantity")
    items = t.call("subscription_items.list", params={"subscription": sub["id"]})
    t.eq(sorted(i["id"] for i in items["data"]), sorted([first["id"], added["id"]]), "list items")
    t.eq(items["url"], "/v1/subscription_items", "items list url")
    gone = t.call("subscription_items.delete", added["id"])
    t.eq(gone, {"id": added["id"], "object": "subscription_item", "deleted": True}, "delete stub")
    t.fails("subscription_items.delete", first["id"], status=400, type="invalid_request_error")
    again = t.call("subscriptions.retrieve", sub["id"])
    t.eq(
        [i["id"] for i in again["items"]["data"]],
        [
            first["id"],
        ],
        "one item left",
    )
    t.fails("subscription_items.retrieve", added["id"], status=404, code="resource_missing")
    t.call("subscriptions.cancel", sub["id"])


@scenario(
    "subs.cancel_at_period_end",
    "cancel_at_period_end, then reactivation before the period ends",
    area="subs",
)
def subs_cancel_at_period_end(t: T) -> None:
    cus = customer(t)
    price = licensed_price(t, product(t)["id"])
    sub = subscribe(t, cus["id"], price["id"])
    _, end = period(t, sub)
    pending = t.call("subscriptions.update", sub["id"], params={"cancel_at_period_end": True})
    t.eq([pending["status"], pending["cancel_at_period_end"]], ["active", True], "still active")
    t.eq(pending["cancel_at"], end, "cancel_at = current period end")
    t.check(pending["canceled_at"] is not None, "canceled_at set when cancellation is requested")
    back = t.call("subscriptions.update", sub["id"], params={"cancel_at_period_end": False})
    t.eq(
        [back["status"], back["cancel_at_period_end"], back["cancel_at"]],
        ["active", False, None],
        "reactivated",
    )
    t.eq(back["canceled_at"], None, "canceled_at cleared on reactivation", emulator_only=True)
    t.call("subscriptions.cancel", sub["id"])


@scenario(
    "subs.cancel_now", "cancel immediately; a canceled subscription stays canceled", area="subs"
)
def subs_cancel_now(t: T) -> None:
    cus = customer(t)
    price = licensed_price(t, product(t)["id"])
    sub = subscribe(t, cus["id"], price["id"])
    done = t.call("subscriptions.cancel", sub["id"])
    t.eq(done["status"], "canceled", "status")
    t.check(
        done["canceled_at"] is not None and done["ended_at"] is not None, "canceled_at, ended_at"
    )
    t.eq(done["canceled_at"], done["ended_at"], "ended now")
    t.fails(
        "subscriptions.update",
        sub["id"],
        params={"cancel_at_period_end": False},
        status=400,
        type="invalid_request_error",
    )
    listed = t.call("subscriptions.list", params={"customer": cus["id"]})
    t.eq(listed["data"], [], "canceled subscriptions are not listed by default")
    everything = t.call("subscriptions.list", params={"customer": cus["id"], "status": "all"})
    t.eq([s["id"] for s in everything["data"]], [sub["id"]], "status=all lists it")


@scenario("subs.backdated", "backdate_start_date: start_date in the past", area="subs")
def subs_backdated(t: T) -> None:
    cus = customer(t)
    price = licensed_price(t, product(t)["id"])
    now = t.wall_now()
    back = now - 10 * DAY
    sub = subscribe(t, cus["id"], price["id"], backdate_start_date=back)
    t.eq(sub["start_date"], back, "start_date = backdate_start_date")
    start, end = period(t, sub)
    t.check(start <= now < end, "the current period contains now")
    t.eq(start, back, "the first period starts at the backdated start", emulator_only=True)
    t.call("subscriptions.cancel", sub["id"])


@scenario(
    "subs.metered_quantity",
    "a metered item takes no quantity (acacia legacy metered price)",
    area="subs",
    legacy=True,
)
def subs_metered_quantity(t: T) -> None:
    cus = customer(t)
    price = legacy_metered_price(t, product(t)["id"])
    t.eq(price["recurring"]["usage_type"], "metered", "usage_type")
    t.eq(price["recurring"]["aggregate_usage"], "sum", "aggregate_usage (acacia)")
    t.fails(
        "subscriptions.create",
        params={"customer": cus["id"], "items": [{"price": price["id"], "quantity": 2}]},
        status=400,
        param="items[0][quantity]",
        message="Quantity should not be specified where usage_type is `metered`. "
        "Remove quantity from `items[0]`.",
        only_emulator=("message", "param"),  # subscription-side wording unverified
    )
    sub = subscribe(t, cus["id"], price["id"])
    item = sub["items"]["data"][0]
    t.check(item.get("quantity") in (None, 1), f"metered item quantity: {item.get('quantity')}")
    t.call("subscriptions.cancel", sub["id"])
