"""Subscription items through the SDK: create, retrieve, update, list, delete, and their rules
(metered quantity, last item, clear_usage)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.conftest import err_of

METERED_QTY = (
    "Quantity should not be specified where usage_type is `metered`. Remove quantity from the "
    "request."
)


def price(c: stripe.StripeClient, **params: Any) -> stripe.Price:
    base: dict[str, Any] = {
        "currency": "usd",
        "unit_amount": 100,
        "product_data": {"name": "Item plan"},
        "recurring": {"interval": "month"},
    }
    base.update(params)
    return c.v1.prices.create(base)  # type: ignore[arg-type]


def metered(c: stripe.StripeClient) -> stripe.Price:
    return price(c, recurring={"interval": "month", "usage_type": "metered"})


def subscription(c: stripe.StripeClient, p: stripe.Price | None = None) -> stripe.Subscription:
    cus = c.v1.customers.create({})
    return c.v1.subscriptions.create({"customer": cus.id, "items": [{"price": (p or price(c)).id}]})


def test_create_retrieve_update(client: stripe.StripeClient) -> None:
    sub = subscription(client)
    p = price(client, unit_amount=7)
    item = client.v1.subscription_items.create(
        {"subscription": sub.id, "price": p.id, "quantity": 3, "metadata": {"k": "v"}}
    )
    d = item.to_dict()
    assert d["id"].startswith("si_") and d["object"] == "subscription_item"
    assert (d["subscription"], d["price"]["id"], d["quantity"], d["metadata"]) == (
        sub.id,
        p.id,
        3,
        {"k": "v"},
    )
    got = client.v1.subscription_items.retrieve(item.id)
    assert got.quantity == 3
    upd = client.v1.subscription_items.update(item.id, {"quantity": 5, "metadata": {"k": ""}})
    assert (upd.quantity, upd.metadata.to_dict()) == (5, {})
    on_sub = client.v1.subscriptions.retrieve(sub.id)["items"].data
    assert [i.id for i in on_sub][-1] == item.id and on_sub[-1].quantity == 5


def test_create_requires_subscription_and_price(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.create({"price": price(client).id})  # type: ignore[typeddict-item]
    assert (err_of(exc)["code"], err_of(exc)["param"]) == ("parameter_missing", "subscription")
    sub = subscription(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.create({"subscription": sub.id})
    assert (err_of(exc)["code"], err_of(exc)["param"]) == ("parameter_missing", "price")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.create({"subscription": "sub_nope", "price": "price_x"})
    e = err_of(exc)
    assert (exc.value.http_status, e["code"], e["param"], e["message"]) == (
        400,
        "resource_missing",
        "subscription",
        "No such subscription: 'sub_nope'",
    )


def test_quantity_on_metered_item_create(acacia: stripe.StripeClient) -> None:
    sub = subscription(acacia)
    m = metered(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.v1.subscription_items.create({"subscription": sub.id, "price": m.id, "quantity": 1})
    e = err_of(exc)
    assert (exc.value.http_status, e["param"], e["message"]) == (400, "quantity", METERED_QTY)
    assert len(acacia.v1.subscription_items.list({"subscription": sub.id}).data) == 1


def test_quantity_on_metered_item_update(acacia: stripe.StripeClient) -> None:
    m = metered(acacia)
    sub = subscription(acacia, m)
    item = sub["items"].data[0]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.v1.subscription_items.update(item.id, {"quantity": 4})
    assert (err_of(exc)["param"], err_of(exc)["message"]) == ("quantity", METERED_QTY)
    assert "quantity" not in acacia.v1.subscription_items.retrieve(item.id).to_dict()


def test_metered_quantity_on_subscription_update_item(acacia: stripe.StripeClient) -> None:
    m = metered(acacia)
    sub = subscription(acacia, m)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.v1.subscriptions.update(
            sub.id, {"items": [{"id": sub["items"].data[0].id, "quantity": 2}]}
        )
    assert err_of(exc)["param"] == "items[0][quantity]"
    assert err_of(exc)["message"] == (
        "Quantity should not be specified where usage_type is `metered`. "
        "Remove quantity from `items[0]`."
    )


def test_change_price_and_incompatible_interval(client: stripe.StripeClient) -> None:
    sub = subscription(client)
    item = sub["items"].data[0]
    newer = price(client, unit_amount=999)
    assert client.v1.subscription_items.update(item.id, {"price": newer.id}).price.id == newer.id
    yearly = price(client, recurring={"interval": "year"})
    other = client.v1.subscription_items.create({"subscription": sub.id, "price": price(client).id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.update(other.id, {"price": yearly.id})
    assert err_of(exc)["param"] == "price"
    assert "Found mismatch in interval field." in err_of(exc)["message"]


def test_list_requires_subscription_and_lists_its_items(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.list({})  # type: ignore[typeddict-item]
    assert (err_of(exc)["code"], err_of(exc)["param"]) == ("parameter_missing", "subscription")
    sub = subscription(client)
    added = client.v1.subscription_items.create({"subscription": sub.id, "price": price(client).id})
    lst = client.v1.subscription_items.list({"subscription": sub.id})
    assert lst.url == "/v1/subscription_items"
    assert {i.id for i in lst.data} == {sub["items"].data[0].id, added.id}
    assert len(client.v1.subscription_items.list({"subscription": sub.id, "limit": 1}).data) == 1
    paged = client.v1.subscription_items.list({"subscription": sub.id, "limit": 1})
    assert len(list(paged.auto_paging_iter())) == 2


def test_delete_returns_stub_and_then_404(client: stripe.StripeClient) -> None:
    sub = subscription(client)
    item = client.v1.subscription_items.create({"subscription": sub.id, "price": price(client).id})
    d = client.v1.subscription_items.delete(item.id)
    assert d.to_dict() == {"id": item.id, "object": "subscription_item", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.retrieve(item.id)
    e = err_of(exc)
    assert (exc.value.http_status, e["code"], e["message"]) == (
        404,
        "resource_missing",
        f"No such subscription item: '{item.id}'",
    )
    assert [i.id for i in client.v1.subscriptions.retrieve(sub.id)["items"].data] == [
        sub["items"].data[0].id
    ]


def test_last_item_cannot_be_deleted(client: stripe.StripeClient) -> None:
    sub = subscription(client)
    item = sub["items"].data[0]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.delete(item.id)
    assert exc.value.http_status == 400
    assert err_of(exc)["message"] == (
        "A subscription must have at least one active plan. To cancel a subscription, please use "
        "the cancel API endpoint on /v1/subscriptions."
    )
    assert client.v1.subscription_items.retrieve(item.id).id == item.id


def test_clear_usage_only_for_metered(acacia: stripe.StripeClient) -> None:
    sub = subscription(acacia)
    licensed = acacia.v1.subscription_items.create(
        {"subscription": sub.id, "price": price(acacia).id}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.v1.subscription_items.delete(licensed.id, {"clear_usage": True})
    e = err_of(exc)
    assert (e["param"], e["message"]) == (
        "clear_usage",
        "clear_usage can only be used with metered prices.",
    )
    m = acacia.v1.subscription_items.create({"subscription": sub.id, "price": metered(acacia).id})
    assert acacia.v1.subscription_items.delete(m.id, {"clear_usage": True}).deleted is True


def test_canceled_subscription_items_are_frozen(client: stripe.StripeClient) -> None:
    sub = subscription(client)
    client.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.create({"subscription": sub.id, "price": price(client).id})
    assert err_of(exc)["message"] == (
        "A canceled subscription can only update its cancellation_details and metadata."
    )


def test_unknown_item(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.update("si_nope", {"quantity": 1})
    e = err_of(exc)
    assert (exc.value.http_status, e["code"], e["param"], e["message"]) == (
        404,
        "resource_missing",
        "id",
        "No such subscription item: 'si_nope'",
    )


def test_expand_price_product_on_item(client: stripe.StripeClient) -> None:
    sub = subscription(client)
    got = client.v1.subscription_items.retrieve(
        sub["items"].data[0].id, {"expand": ["price.product"]}
    )
    assert got.price.product.name == "Item plan"  # type: ignore[union-attr]
