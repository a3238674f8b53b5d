"""Object shape, id prefixes, lists and pagination, deleted stubs and `expand[]` through the SDK
(wire-format.md §3)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.test_wire_format import _err, make_price, make_sub, raw
from tests.conftest import err_of

# --- object shape, lists, deletes -------------------------------------------------------------


def test_object_shape_and_id_prefixes(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    item = sub["items"].data[0]
    objs = [
        (client.v1.customers.retrieve(sub.customer), "cus_", "customer"),  # type: ignore[arg-type]
        (item.price, "price_", "price"),
        (client.v1.products.retrieve(item.price.product), "prod_", "product"),  # type: ignore[arg-type]
        (sub, "sub_", "subscription"),
        (item, "si_", "subscription_item"),
    ]
    for obj, prefix, kind in objs:
        d = obj.to_dict()
        assert d["id"].startswith(prefix)
        assert len(d["id"]) == len(prefix) + 24
        assert d["object"] == kind
        assert d["metadata"] == {}
        assert isinstance(d["created"], int)
        if kind != "subscription_item":
            assert d["livemode"] is False


def test_null_fields_are_present(client: stripe.StripeClient) -> None:
    d = client.v1.customers.create({}).to_dict()
    for k in ("name", "email", "description", "phone", "address", "test_clock"):
        assert k in d and d[k] is None


def test_list_default_limit_is_10_and_max_100(client: stripe.StripeClient) -> None:
    for i in range(12):
        client.v1.products.create({"name": f"p{i}"})
    lst = client.v1.products.list()
    assert len(lst.data) == 10 and lst.has_more is True
    assert lst.url == "/v1/products" and lst.object == "list"
    assert len(client.v1.products.list({"limit": 100}).data) == 12
    assert client.v1.products.list({"limit": 100}).has_more is False


def test_list_pagination_walk_both_directions(client: stripe.StripeClient) -> None:
    made = [client.v1.products.create({"name": f"p{i}"}).id for i in range(7)]
    newest_first = made[::-1]
    assert [p.id for p in client.v1.products.list({"limit": 3}).auto_paging_iter()] == newest_first
    page = client.v1.products.list({"limit": 3, "starting_after": newest_first[2]})
    assert [p.id for p in page.data] == newest_first[3:6] and page.has_more is True
    last = client.v1.products.list({"limit": 3, "starting_after": newest_first[5]})
    assert [p.id for p in last.data] == newest_first[6:] and last.has_more is False
    back = client.v1.products.list({"limit": 3, "ending_before": newest_first[6]})
    assert [p.id for p in back.data] == newest_first[3:6] and back.has_more is True
    first = client.v1.products.list({"limit": 3, "ending_before": newest_first[2]})
    assert [p.id for p in first.data] == newest_first[:2] and first.has_more is False


def test_ending_before_unknown_id(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.list({"ending_before": "prod_gone"})
    assert _err(exc) == (400, "resource_missing", "ending_before", "No such product: 'prod_gone'")


def test_deleted_stubs(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create({"name": "bye"})
    d = client.v1.products.delete(prod.id)
    assert d.to_dict() == {"id": prod.id, "object": "product", "deleted": True}
    cus = client.v1.customers.create({})
    assert client.v1.customers.delete(cus.id).to_dict() == {
        "id": cus.id,
        "object": "customer",
        "deleted": True,
    }


# --- expand ---------------------------------------------------------------------------------


def test_expand_customer_and_latest_invoice_on_subscription(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    assert isinstance(sub.latest_invoice, str) and sub.latest_invoice.startswith("in_")
    got = client.v1.subscriptions.retrieve(
        sub.id, {"expand": ["customer", "latest_invoice", "latest_invoice.customer"]}
    )
    assert got.customer.object == "customer"  # type: ignore[union-attr]
    assert got.customer.id == sub.customer  # type: ignore[union-attr]
    assert got.latest_invoice.object == "invoice"  # type: ignore[union-attr]
    assert got.latest_invoice.id == sub.latest_invoice  # type: ignore[union-attr]
    assert got.latest_invoice.customer.id == sub.customer  # type: ignore[union-attr]


def test_expand_nested_items_price_product(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    got = client.v1.subscriptions.retrieve(sub.id, {"expand": ["items.data.price.product"]})
    prod = got["items"].data[0].price.product
    assert prod.object == "product" and prod.name == "Plan"  # type: ignore[union-attr]


def test_expand_subscription_on_item(
    client: stripe.StripeClient, server: Any, api_key: str
) -> None:
    sub = make_sub(client)
    item_id = sub["items"].data[0].id
    r = raw(server, api_key, "GET", f"/v1/subscription_items/{item_id}?expand[]=price.product")
    assert r.json()["price"]["product"]["object"] == "product"


def test_expand_on_lists_with_data_prefix(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    lst = client.v1.subscriptions.list({"expand": ["data.customer"]})
    assert [s.id for s in lst.data] == [sub.id]
    assert lst.data[0].customer.object == "customer"  # type: ignore[union-attr]
    prices = client.v1.prices.list({"expand": ["data.product"]})
    assert prices.data[0].product.object == "product"  # type: ignore[union-attr]


def test_expand_tiers_on_prices(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "product_data": {"name": "t"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 3}],
            "recurring": {"interval": "month"},
        }
    )
    assert "tiers" not in price.to_dict()
    got = client.v1.prices.retrieve(price.id, {"expand": ["tiers"]})
    assert [t.up_to for t in got.tiers] == [10, None]  # type: ignore[union-attr]
    assert [t.unit_amount for t in got.tiers] == [5, 3]  # type: ignore[union-attr]
    lst = client.v1.prices.list({"expand": ["data.tiers"]})
    assert lst.data[0].tiers is not None


@pytest.mark.parametrize("path", ["name", "nope", "address.city"])
def test_unexpandable_path_is_400(client: stripe.StripeClient, path: str) -> None:
    cus = client.v1.customers.create({"name": "n"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve(cus.id, {"expand": [path]})
    assert _err(exc) == (400, None, "expand", f"This property cannot be expanded ({path}).")


def test_unexpandable_path_on_create_writes_nothing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"name": "ghost", "expand": ["name"]})
    assert _err(exc)[2] == "expand"
    assert client.v1.customers.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        make_price(client, expand=["nope"])
    assert client.v1.prices.list().data == []
    assert client.v1.products.list().data == []


def test_expand_too_deep(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.retrieve(sub.id, {"expand": ["a.b.c.d.e"]})
    assert _err(exc)[2] == "expand"
    assert "more than 4 levels" in err_of(exc)["message"]


def test_expand_tiers_on_a_per_unit_price_is_empty(client: stripe.StripeClient) -> None:
    p = make_price(client, expand=["tiers"])
    assert p.to_dict()["tiers"] == []
    assert client.v1.prices.retrieve(p.id, {"expand": ["tiers"]}).to_dict()["tiers"] == []
    assert len(client.v1.prices.list().data) == 1


def test_bad_path_through_latest_invoice_writes_nothing(acacia: stripe.StripeClient) -> None:
    cus = acacia.v1.customers.create({})
    price = make_price(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        acacia.v1.subscriptions.create(
            {"customer": cus.id, "items": [{"price": price.id}], "expand": ["latest_invoice.nope"]}
        )
    assert _err(exc) == (
        400,
        None,
        "expand",
        "This property cannot be expanded (latest_invoice.nope).",
    )
    assert acacia.v1.subscriptions.list({"customer": cus.id, "status": "all"}).data == []
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [{"price": price.id}],
            "expand": ["latest_invoice.customer", "latest_invoice.lines.data.subscription_item"],
        }
    )
    inv = sub.latest_invoice
    assert inv.customer.id == cus.id  # type: ignore[union-attr]
    line = inv.lines.data[0]  # type: ignore[union-attr]
    assert line.subscription_item.object == "subscription_item"


def test_repeated_and_overlapping_expand_paths(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    for paths in (
        ["customer", "customer"],
        ["latest_invoice.customer", "latest_invoice"],
        ["latest_invoice", "latest_invoice.customer"],
    ):
        got = client.v1.subscriptions.retrieve(sub.id, {"expand": paths})
        assert got.to_dict()[paths[0].split(".")[0]]["object"] in ("customer", "invoice")
    prod = client.v1.products.create({"name": "d"})
    price = client.v1.prices.create({"currency": "usd", "unit_amount": 1, "product": prod.id})
    upd = client.v1.products.update(
        prod.id, {"default_price": price.id, "expand": ["default_price", "default_price"]}
    )
    assert upd.default_price.id == price.id  # type: ignore[union-attr]
