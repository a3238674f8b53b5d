"""Products through the SDK: CRUD, custom ids, default_price, deletion rules, list filters."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import err_of


def test_create_and_retrieve(client: stripe.StripeClient) -> None:
    p = client.v1.products.create(
        {"name": "Widget", "description": "d", "unit_label": "seat", "metadata": {"k": "v"}}
    )
    d = client.v1.products.retrieve(p.id).to_dict()
    assert d["id"].startswith("prod_") and d["object"] == "product"
    assert (d["name"], d["description"], d["unit_label"], d["metadata"]) == (
        "Widget",
        "d",
        "seat",
        {"k": "v"},
    )
    assert d["active"] is True and d["livemode"] is False and d["default_price"] is None
    assert d["created"] == d["updated"]


def test_name_is_required_and_not_empty(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({})  # type: ignore[typeddict-item]
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "name",
        "Missing required param: name.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": ""})
    assert err_of(exc)["code"] == "parameter_invalid_empty"
    p = client.v1.products.create({"name": "n"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.update(p.id, {"name": ""})
    assert (err_of(exc)["code"], err_of(exc)["param"]) == ("parameter_invalid_empty", "name")


def test_custom_id_and_conflict(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "Gold", "id": "gold-plan_1"})
    assert p.id == "gold-plan_1"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "Gold again", "id": "gold-plan_1"})
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_already_exists",
        "id",
        "Product already exists with ID 'gold-plan_1'",
    )
    assert exc.value.http_status == 400
    assert len(client.v1.products.list().data) == 1


def test_invalid_custom_id(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "x", "id": "has space"})
    assert (err_of(exc)["param"], err_of(exc)["message"]) == ("id", "Invalid id: has space")


def test_update_fields_and_unset(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "a", "description": "d", "metadata": {"x": "1"}})
    u = client.v1.products.update(
        p.id, {"name": "b", "description": "", "active": False, "metadata": {"y": "2"}}
    )
    assert (u.name, u.description, u.active) == ("b", None, False)
    assert u.metadata.to_dict() == {"x": "1", "y": "2"}
    assert u.updated >= p.updated


def test_default_price(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "dp"})
    price = client.v1.prices.create({"currency": "usd", "unit_amount": 1, "product": p.id})
    u = client.v1.products.update(p.id, {"default_price": price.id})
    assert u.default_price == price.id
    got = client.v1.products.retrieve(p.id, {"expand": ["default_price"]})
    assert got.default_price.object == "price"  # type: ignore[union-attr]
    assert got.default_price.id == price.id  # type: ignore[union-attr]
    assert client.v1.products.update(p.id, {"default_price": ""}).default_price is None


def test_default_price_must_exist_and_belong(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "dp"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.update(p.id, {"default_price": "price_nope"})
    e = err_of(exc)
    assert (exc.value.http_status, e["code"], e["param"], e["message"]) == (
        400,
        "resource_missing",
        "default_price",
        "No such price: 'price_nope'",
    )
    other = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 1, "product_data": {"name": "other"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.update(p.id, {"default_price": other.id})
    assert err_of(exc)["message"] == (
        f"The price `{other.id}` does not belong to the product `{p.id}`."
    )
    assert client.v1.products.retrieve(p.id).default_price is None


def test_delete_and_then_404(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "gone"})
    assert client.v1.products.delete(p.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.retrieve(p.id)
    assert exc.value.http_status == 404
    assert err_of(exc)["message"] == f"No such product: '{p.id}'"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.delete(p.id)
    assert exc.value.http_status == 404


def test_delete_refused_while_prices_exist(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "has prices"})
    client.v1.prices.create({"currency": "usd", "unit_amount": 1, "product": p.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.delete(p.id)
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert e["message"] == (
        "This product cannot be deleted because it has one or more user-created prices."
    )
    assert client.v1.products.retrieve(p.id).name == "has prices"


def test_list_filters(client: stripe.StripeClient) -> None:
    a = client.v1.products.create({"name": "a"})
    b = client.v1.products.create({"name": "b", "active": False})
    c = client.v1.products.create({"name": "c"})
    assert [p.id for p in client.v1.products.list().data] == [c.id, b.id, a.id]
    assert [p.id for p in client.v1.products.list({"active": True}).data] == [c.id, a.id]
    assert [p.id for p in client.v1.products.list({"active": False}).data] == [b.id]
    assert [p.id for p in client.v1.products.list({"ids": [a.id, b.id]}).data] == [b.id, a.id]


def test_too_long_statement_descriptor(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "x", "statement_descriptor": "x" * 23})
    e = err_of(exc)
    assert (e["param"], e["code"]) == ("statement_descriptor", "parameter_invalid_string")
    assert client.v1.products.list().data == []
