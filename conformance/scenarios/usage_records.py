"""Legacy usage records (API 2025-02-24.acacia): the flows of Stripe's legacy usage-billing docs.

stripe-python 11.6.1 and stripe-node 17.7.0 use their own usage-record methods; stripe-python
16.1.0 and stripe-node 23 send the same requests through raw requests with the acacia version.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..harness import T, scenario
from ..sdks import ACACIA
from .common import (
    customer,
    legacy_metered_price,
    licensed_price,
    only_item,
    period,
    product,
    subscribe,
)

Obj = dict[str, Any]
PERIOD_START_ERROR = (
    "Cannot create the usage record with this timestamp because timestamps must be after the "
    "subscription's last invoice period (or current period start time)."
)


def legacy_setup(t: T, mode: str = "sum", **sub_params: Any) -> tuple[Obj, Obj, Obj]:
    """Customer, legacy metered price (7 cents/unit) and a subscription on it."""
    cus = customer(t)
    price = legacy_metered_price(t, product(t)["id"], 7, mode)
    sub = subscribe(t, cus["id"], price["id"], **sub_params)
    return cus, price, sub


def record(t: T, si: str, quantity: Any, **params: Any) -> dict[str, Any]:
    """POST a usage record (options such as idempotency_key go through as options)."""
    key = params.pop("idempotency_key", None)
    body = {"quantity": quantity, **params}
    rec: dict[str, Any] = t.call("usage_records.create", si, params=body, idempotency_key=key)
    return rec


@scenario(
    "usage.increment_set",
    "usage records: increment and set at one timestamp, idempotent replay, summaries",
    area="usage",
    legacy=True,
)
def usage_increment_set(t: T) -> None:
    _, _, sub = legacy_setup(t)
    si = only_item(sub)["id"]
    start, end = period(t, sub)
    key = f"usage-{uuid.uuid4()}"
    first = record(t, si, 5, timestamp=start, action="increment", idempotency_key=key)
    t.eq(first["object"], "usage_record", "object")
    t.check(first["id"].startswith("mbur_"), f"usage record id prefix: {first['id']}")
    t.eq([first["subscription_item"], first["timestamp"]], [si, start], "item and timestamp")
    t.eq(first["quantity"], 5, "quantity as sent")
    again = record(t, si, 5, timestamp=start, action="increment", idempotency_key=key)
    t.eq(again, first, "idempotent replay returns the same record")
    t.eq(t.header("Idempotent-Replayed"), "true", "Idempotent-Replayed on the replay")
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": 9, "timestamp": start, "action": "increment"},
        idempotency_key=key,
        status=400,
        cls="IdempotencyError",
        type="idempotency_error",
    )
    record(t, si, 3, timestamp=start)  # default action: increment -> 8 at `start`
    record(t, si, 6, timestamp=start, action="set")  # overwrites the bucket -> 6
    record(t, si, 1, timestamp=start, action="increment")  # -> 7
    now_rec = record(t, si, 0, timestamp="now")
    t.check(start <= now_rec["timestamp"] < end, "timestamp=now resolves inside the period")
    summaries = t.call("usage_record_summaries.list", si)
    t.eq(summaries["url"], f"/v1/subscription_items/{si}/usage_record_summaries", "list url")
    current = summaries["data"][0]
    t.eq(current["object"], "usage_record_summary", "summary object")
    t.check(current["id"].startswith("sis_"), "summary id prefix")
    t.eq(current["total_usage"], 7, "total_usage: 5 (replay not counted) +3, set 6, +1")
    t.eq([current["invoice"], current["subscription_item"]], [None, si], "open period, item")
    t.eq(current["period"], {"start": start, "end": end}, "summary period", emulator_only=True)
    t.call("subscriptions.cancel", sub["id"])


@scenario(
    "usage.errors",
    "usage record errors: period rule, bad params, unknown ids",
    area="usage",
    legacy=True,
)
def usage_errors(t: T) -> None:
    cus, _, sub = legacy_setup(t)
    si = only_item(sub)["id"]
    start, _ = period(t, sub)
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": 1, "timestamp": start - 3600},
        status=400,
        cls="InvalidRequestError",
        code=None,
        param="timestamp",
        message=PERIOD_START_ERROR,
    )
    t.fails(
        "usage_records.create",
        si,
        params={"timestamp": start},
        status=400,
        code="parameter_missing",
        param="quantity",
        message="Missing required param: quantity.",
    )
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": "1.5", "timestamp": start},
        status=400,
        code="parameter_invalid_integer",
        param="quantity",
        message="Invalid integer: 1.5",
    )
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": 1, "action": "add"},
        status=400,
        param="action",
    )
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": 1, "bogus": "x"},
        status=400,
        code="parameter_unknown",
        param="bogus",
        message="Received unknown parameter: bogus",
    )
    t.fails(
        "usage_records.create",
        "si_doesnotexist",
        params={"quantity": 1},
        status=404,
        code="resource_missing",
        param="subscription_item",
        message="No such subscription item: 'si_doesnotexist'",
        only_emulator=("param",),
    )
    t.fails("usage_record_summaries.list", "si_doesnotexist", status=404, code="resource_missing")
    licensed = licensed_price(t, product(t)["id"])
    item = t.call(
        "subscription_items.create", params={"subscription": sub["id"], "price": licensed["id"]}
    )
    t.fails(
        "usage_records.create",
        item["id"],
        params={"quantity": 1},
        status=400,
        param="subscription_item",
        message=f"Cannot create a usage record for `{item['id']}` because it is not on the legacy "
        "metered billing system. Call /v1/billing/meter_events instead.",
        only_emulator=("message", "param"),  # licensed-item wording unverified
    )
    summaries = t.call("usage_record_summaries.list", si)
    t.eq(summaries["data"][0]["total_usage"], 0, "failed calls recorded nothing")
    t.eq(cus["id"], sub["customer"], "customer")
    t.call("subscriptions.cancel", sub["id"])


@scenario(
    "usage.basil_removed",
    "usage records are gone at the SDK's basil+ version (current SDKs only)",
    area="usage",
    emulator_only=True,  # Stripe's live answer is unverified (usage-records-legacy.md §0)
)
def usage_basil_removed(t: T) -> None:
    if t.sdk.legacy:
        t.skip("this SDK pins acacia, where usage records exist")
    cus = customer(t, api_version=None)
    price = t.call(
        "prices.create",
        params={
            "product": product(t)["id"],
            "currency": "usd",
            "unit_amount": 7,
            "recurring": {"interval": "month", "usage_type": "metered"},
        },
        api_version=ACACIA,
    )
    sub = t.call(
        "subscriptions.create",
        params={"customer": cus["id"], "items": [{"price": price["id"]}]},
        api_version=ACACIA,
    )
    si = only_item(sub)["id"]
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": 1},
        status=404,
        code=None,
        message="Unrecognized request URL (POST: "
        f"/v1/subscription_items/{si}/usage_records). Please see https://stripe.com/docs or we "
        "can help at https://support.stripe.com/.",
    )
    t.fails(
        "prices.create",
        params={
            "product": price["product"],
            "currency": "usd",
            "unit_amount": 7,
            "recurring": {"interval": "month", "usage_type": "metered"},
        },
        status=400,
        message="Starting with Stripe version `2025-03-31.basil`, metered prices must be backed "
        "by meters.",
    )
    t.call("subscriptions.cancel", sub["id"], api_version=ACACIA)


@scenario(
    "usage.meter_backed_item",
    "a usage record on a meter-backed item points to meter events",
    area="usage",
    legacy=True,
)
def usage_meter_backed(t: T) -> None:
    name = f"conformance_{uuid.uuid4().hex[:10]}"
    meter = t.call(
        "meters.create",
        params={
            "display_name": "Conformance meter",
            "event_name": name,
            "default_aggregation": {"formula": "sum"},
        },
    )
    t.defer("meters.deactivate", meter["id"])
    cus = customer(t)
    price = t.call(
        "prices.create",
        params={
            "product": product(t)["id"],
            "currency": "usd",
            "unit_amount": 3,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter["id"]},
        },
    )
    sub = subscribe(t, cus["id"], price["id"])
    si = only_item(sub)["id"]
    t.fails(
        "usage_records.create",
        si,
        params={"quantity": 1},
        status=400,
        code=None,
        param="subscription_item",
        message=f"Cannot create a usage record for `{si}` because it is not on the legacy metered "
        "billing system. Call /v1/billing/meter_events instead.",
    )
    t.fails(
        "usage_record_summaries.list",
        si,
        status=400,
        message=f"Cannot list usage record summaries for `{si}` because it is not on the legacy "
        "metered billing system. Call /v1/billing/meters/:id/event_summaries instead.",
    )
    t.call("subscriptions.cancel", sub["id"])


@scenario(
    "usage.resource_style",
    "stripe-python 11.6.1 resource-style calls: SubscriptionItem.create_usage_record, "
    "list_usage_record_summaries, Invoice.upcoming (module-level api_base)",
    area="usage",
    legacy=True,
)
def usage_resource_style(t: T) -> None:
    if t.sdk.name != "python-11.6.1":
        t.skip("resource-style usage-record methods exist in stripe-python 11.x only")
    cus, price, sub = legacy_setup(t)
    si = only_item(sub)["id"]
    start, _ = period(t, sub)
    rec, cls = t.resource(
        "SubscriptionItem.create_usage_record", si, params={"quantity": 9, "timestamp": start}
    )
    t.eq(cls, "UsageRecord", "the SDK's UsageRecord class")
    t.eq([rec["quantity"], rec["subscription_item"]], [9, si], "usage record")
    page, cls = t.resource("SubscriptionItem.list_usage_record_summaries", si)
    t.eq(cls, "ListObject", "a ListObject")
    t.eq(page["data"][0]["total_usage"], 9, "total_usage")
    up, cls = t.resource("Invoice.upcoming", params={"customer": cus["id"]})
    t.eq(cls, "Invoice", "Invoice.upcoming gives an Invoice")
    lines = [ln for ln in up["lines"]["data"] if ln["price"]["id"] == price["id"]]
    t.eq([(ln["quantity"], ln["amount"]) for ln in lines], [(9, 63)], "upcoming metered line")
    t.call("subscriptions.cancel", sub["id"])
