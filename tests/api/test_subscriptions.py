"""Subscriptions through the SDK: items, periods from the anchor (month-end rule), anchors,
backdating, cancellation, metadata, lists and validation."""

from __future__ import annotations

import calendar
import time
from typing import Any

import pytest
import stripe

from tests.conftest import err_of

DAY = 86_400
JAN31 = calendar.timegm((2026, 1, 31, 10, 30, 15))


def ts(y: int, m: int, d: int, hh: int = 10, mm: int = 30, ss: int = 15) -> int:
    return calendar.timegm((y, m, d, hh, mm, ss))


def price(c: stripe.StripeClient, **params: Any) -> stripe.Price:
    base: dict[str, Any] = {
        "currency": "usd",
        "unit_amount": 1000,
        "product_data": {"name": "Plan"},
        "recurring": {"interval": "month"},
    }
    base.update(params)
    return c.v1.prices.create(base)  # type: ignore[arg-type]


def clocked_customer(c: stripe.StripeClient, at: int) -> stripe.Customer:
    clock = c.v1.test_helpers.test_clocks.create({"frozen_time": at})
    return c.v1.customers.create({"test_clock": clock.id})


def create(c: stripe.StripeClient, **params: Any) -> stripe.Subscription:
    return c.v1.subscriptions.create(params)  # type: ignore[arg-type]


def rejected(c: stripe.StripeClient, **params: Any) -> dict[str, Any]:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        create(c, **params)
    assert exc.value.http_status == 400
    cust = params.get("customer")
    if isinstance(cust, str) and cust.startswith("cus_"):
        # nothing was written
        assert c.v1.subscriptions.list({"customer": cust, "status": "all"}).data == []
    return err_of(exc)


def month_end_boundary(anchor: int, n: int) -> int:
    """Independent month-end rule: anchor's day clamped to the month's length, n months on."""
    g = time.gmtime(anchor)
    months = g.tm_year * 12 + (g.tm_mon - 1) + n
    y, m = divmod(months, 12)
    day = min(g.tm_mday, calendar.monthrange(y, m + 1)[1])
    return calendar.timegm((y, m + 1, day, g.tm_hour, g.tm_min, g.tm_sec))


# --- creation and shape ------------------------------------------------------------------


def test_create_shape(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    p1 = price(client)
    p2 = price(client, unit_amount=200)
    sub = create(
        client,
        customer=cus.id,
        items=[{"price": p1.id, "quantity": 2, "metadata": {"i": "1"}}, {"price": p2.id}],
        metadata={"plan": "pro"},
    )
    d = sub.to_dict()
    assert d["id"].startswith("sub_") and d["object"] == "subscription"
    assert (d["customer"], d["status"], d["currency"], d["livemode"]) == (
        cus.id,
        "active",
        "usd",
        False,
    )
    assert d["metadata"] == {"plan": "pro"}
    assert d["billing_cycle_anchor"] == d["start_date"] == d["created"]
    items = d["items"]
    assert (
        items["object"] == "list"
        and items["url"] == f"/v1/subscription_items?subscription={sub.id}"
    )
    assert items["total_count"] == 2 and items["has_more"] is False
    first, second = items["data"]
    assert first["id"].startswith("si_") and first["object"] == "subscription_item"
    assert (first["price"]["id"], first["quantity"], first["metadata"]) == (p1.id, 2, {"i": "1"})
    assert (second["price"]["id"], second["quantity"]) == (p2.id, 1)  # licensed default 1
    assert first["subscription"] == sub.id


def test_retrieve_and_expand_customer(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"name": "E"})
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}], expand=["customer"])
    assert sub.customer.name == "E"  # type: ignore[union-attr]
    assert client.v1.subscriptions.retrieve(sub.id).customer == cus.id


def test_metered_item_has_no_quantity(acacia: stripe.StripeClient) -> None:
    cus = acacia.v1.customers.create({})
    p = price(acacia, recurring={"interval": "month", "usage_type": "metered"})
    sub = create(acacia, customer=cus.id, items=[{"price": p.id}])
    assert "quantity" not in sub["items"].data[0].to_dict()


# --- validation --------------------------------------------------------------------------------


def test_customer_required_and_must_exist(client: stripe.StripeClient) -> None:
    p = price(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create({"items": [{"price": p.id}]})  # type: ignore[typeddict-item]
    assert (err_of(exc)["code"], err_of(exc)["param"]) == ("parameter_missing", "customer")
    e = rejected(client, customer="cus_missing", items=[{"price": p.id}])
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "customer",
        "No such customer: 'cus_missing'",
    )


def test_items_required(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    e = rejected(client, customer=cus.id)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "items",
        "Missing required param: items.",
    )
    e = rejected(client, customer=cus.id, items=[{"quantity": 1}])
    assert (e["code"], e["param"]) == ("parameter_missing", "items[0][price]")


def test_quantity_on_metered_item(acacia: stripe.StripeClient) -> None:
    cus = acacia.v1.customers.create({})
    lic = price(acacia)
    metered = price(acacia, recurring={"interval": "month", "usage_type": "metered"})
    e = rejected(
        acacia, customer=cus.id, items=[{"price": lic.id}, {"price": metered.id, "quantity": 5}]
    )
    assert e["param"] == "items[1][quantity]"
    assert e["message"] == (
        "Quantity should not be specified where usage_type is `metered`. "
        "Remove quantity from `items[1]`."
    )


def test_one_time_price_rejected(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    one_time = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 1, "product_data": {"name": "o"}}
    )
    e = rejected(client, customer=cus.id, items=[{"price": one_time.id}])
    assert e["param"] == "items[0][price]"
    assert e["message"] == (
        "The price specified is set to `type=one_time` but this field only accepts prices with "
        "`type=recurring`."
    )


def test_inactive_price_rejected(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    p = price(client)
    client.v1.prices.update(p.id, {"active": False})
    e = rejected(client, customer=cus.id, items=[{"price": p.id}])
    assert e["param"] == "items[0][price]"


def test_unknown_price(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    e = rejected(client, customer=cus.id, items=[{"price": "price_gone"}])
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "items[0][price]",
        "No such price: 'price_gone'",
    )


@pytest.mark.parametrize(
    ("other", "field"),
    [
        ({"currency": "eur"}, "currency"),
        ({"recurring": {"interval": "year"}}, "interval"),
        ({"recurring": {"interval": "month", "interval_count": 2}}, "interval"),
    ],
)
def test_items_must_share_currency_and_interval(
    client: stripe.StripeClient, other: dict[str, Any], field: str
) -> None:
    cus = client.v1.customers.create({})
    e = rejected(
        client,
        customer=cus.id,
        items=[{"price": price(client).id}, {"price": price(client, **other).id}],
    )
    assert e["param"] == "items"
    assert e["message"] == (
        "Currency and interval fields must match across all plans on this subscription. "
        f"Found mismatch in {field} field."
    )


def test_duplicate_price(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    p = price(client)
    e = rejected(client, customer=cus.id, items=[{"price": p.id}, {"price": p.id}])
    assert e["message"] == f"Cannot add multiple subscription items with the same price: {p.id}."


def test_basil_rejects_legacy_metered_price(
    client: stripe.StripeClient, acacia: stripe.StripeClient
) -> None:
    cus = client.v1.customers.create({})
    legacy = price(acacia, recurring={"interval": "month", "usage_type": "metered"})
    e = rejected(client, customer=cus.id, items=[{"price": legacy.id}])
    assert e["param"] == "items[0][price]"
    assert e["message"] == (
        "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed by meters."
    )


# --- updates -----------------------------------------------------------------------------------


def test_metadata_update_and_unset(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    sub = create(
        client, customer=cus.id, items=[{"price": price(client).id}], metadata={"a": "1", "b": "2"}
    )
    sub = client.v1.subscriptions.update(sub.id, {"metadata": {"a": "", "c": "3"}})
    assert sub.metadata.to_dict() == {"b": "2", "c": "3"}
    assert client.v1.subscriptions.update(sub.id, {"metadata": ""}).metadata.to_dict() == {}


def test_cancel_at_period_end_and_reactivate(acacia: stripe.StripeClient) -> None:
    cus = clocked_customer(acacia, JAN31)
    sub = create(acacia, customer=cus.id, items=[{"price": price(acacia).id}])
    end = sub.to_dict()["current_period_end"]
    s = acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert (s.cancel_at_period_end, s.cancel_at, s.status) == (True, end, "active")
    assert s.canceled_at == JAN31
    s = acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert (s.cancel_at_period_end, s.cancel_at, s.canceled_at) == (False, None, None)


def test_add_change_and_remove_items(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    p1, p2 = price(client), price(client, unit_amount=5)
    sub = create(client, customer=cus.id, items=[{"price": p1.id}])
    first = sub["items"].data[0].id
    sub = client.v1.subscriptions.update(
        sub.id, {"items": [{"id": first, "quantity": 4}, {"price": p2.id, "quantity": 2}]}
    )
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [(p1.id, 4), (p2.id, 2)]
    sub = client.v1.subscriptions.update(sub.id, {"items": [{"id": first, "deleted": True}]})
    assert [i.price.id for i in sub["items"].data] == [p2.id]


def test_cannot_remove_every_item(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(
            sub.id, {"items": [{"id": sub["items"].data[0].id, "deleted": True}]}
        )
    assert err_of(exc)["message"] == (
        "A subscription must have at least one active plan. To cancel a subscription, please use "
        "the cancel API endpoint on /v1/subscriptions."
    )
    assert len(client.v1.subscriptions.retrieve(sub.id)["items"].data) == 1


def test_update_unknown_item_id(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(sub.id, {"items": [{"id": "si_nope", "quantity": 2}]})
    e = err_of(exc)
    assert e["param"] == "items[0][id]"
    assert (
        e["message"]
        == f"Subscription item si_nope does not exist or is not on subscription {sub.id}"
    )


def test_failed_update_changes_nothing(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}], metadata={"k": "v"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(
            sub.id,
            {
                "metadata": {"k": "changed"},
                "items": [{"id": sub["items"].data[0].id, "quantity": 9}, {"price": "price_nope"}],
            },
        )
    again = client.v1.subscriptions.retrieve(sub.id)
    assert again.metadata.to_dict() == {"k": "v"}
    assert [i.quantity for i in again["items"].data] == [1]


# --- cancel and lists --------------------------------------------------------------------------


def test_cancel(client: stripe.StripeClient) -> None:
    cus = clocked_customer(client, JAN31)
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}])
    c = client.v1.subscriptions.cancel(sub.id)
    assert (c.status, c.canceled_at, c.ended_at) == ("canceled", JAN31, JAN31)
    assert c.cancellation_details is not None
    assert c.cancellation_details.reason == "cancellation_requested"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.cancel(sub.id)
    assert exc.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert err_of(exc)["message"] == (
        "A canceled subscription can only update its cancellation_details and metadata."
    )
    assert client.v1.subscriptions.update(sub.id, {"metadata": {"after": "1"}}).metadata["after"]


def test_list_filters_and_order(client: stripe.StripeClient) -> None:
    a = client.v1.customers.create({})
    b = client.v1.customers.create({})
    p1, p2 = price(client), price(client)
    s1 = create(client, customer=a.id, items=[{"price": p1.id}])
    s2 = create(client, customer=b.id, items=[{"price": p2.id}])
    s3 = create(client, customer=a.id, items=[{"price": p2.id}])
    client.v1.subscriptions.cancel(s1.id)

    def ids(params: dict[str, Any]) -> list[str]:
        return [s.id for s in client.v1.subscriptions.list(params).data]  # type: ignore[arg-type]

    assert ids({}) == [s3.id, s2.id]
    assert ids({"status": "all"}) == [s3.id, s2.id, s1.id]
    assert ids({"status": "canceled"}) == [s1.id]
    assert ids({"customer": a.id, "status": "all"}) == [s3.id, s1.id]
    assert ids({"price": p2.id}) == [s3.id, s2.id]
    assert ids({"limit": 1}) == [s3.id]
    assert client.v1.subscriptions.list().url == "/v1/subscriptions"


def test_unfiltered_list_omits_test_clock_subscriptions(client: stripe.StripeClient) -> None:
    cus = clocked_customer(client, JAN31)
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}])
    assert client.v1.subscriptions.list().data == []
    assert [s.id for s in client.v1.subscriptions.list({"customer": cus.id}).data] == [sub.id]


def test_deleting_the_customer_cancels_its_subscriptions(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    sub = create(client, customer=cus.id, items=[{"price": price(client).id}])
    client.v1.customers.delete(cus.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
