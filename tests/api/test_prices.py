"""Prices through the SDK: creation and rendering, updates, lookup keys and list filters (the
creation rules of usage-records-legacy.md §1: test_price_validation.py)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.conftest import err_of


def create(c: stripe.StripeClient, **params: Any) -> stripe.Price:
    base: dict[str, Any] = {"currency": "usd", "product_data": {"name": "P"}}
    base.update(params)
    return c.v1.prices.create(base)  # type: ignore[arg-type]


def rejected(c: stripe.StripeClient, **params: Any) -> dict[str, Any]:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        create(c, **params)
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    # a rejected create writes nothing, not even its product_data product
    assert c.v1.prices.list().data == []
    assert c.v1.products.list().data == []
    return e


def add_meter(c: stripe.StripeClient, name: str, status: str = "active") -> str:
    """A meter of the account made through the Meters API (deactivated when `status` is
    `inactive`); its id."""
    meter = c.v1.billing.meters.create(
        {"display_name": name, "event_name": name, "default_aggregation": {"formula": "sum"}}
    )
    if status == "inactive":
        assert c.v1.billing.meters.deactivate(meter.id).status == "inactive"
    return str(meter.id)


METERED = {"interval": "month", "usage_type": "metered"}
TIERS = [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 3}]


# --- happy paths and rendering -------------------------------------------------------------


def test_one_time_price(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=1999)
    d = p.to_dict()
    assert d["id"].startswith("price_") and d["object"] == "price"
    assert (d["type"], d["recurring"], d["unit_amount"], str(d["unit_amount_decimal"])) == (
        "one_time",
        None,
        1999,
        "1999",
    )
    assert (d["billing_scheme"], d["tiers_mode"], d["transform_quantity"]) == (
        "per_unit",
        None,
        None,
    )
    assert d["active"] is True and d["livemode"] is False and d["lookup_key"] is None
    assert d["tax_behavior"] == "unspecified"


def test_product_data_creates_the_product(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=1, product_data={"name": "Made inline", "metadata": {"a": "b"}})
    prod = client.v1.products.retrieve(p.product)  # type: ignore[arg-type]
    assert prod.name == "Made inline" and prod.metadata.to_dict() == {"a": "b"}


def test_existing_product(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create({"name": "Existing"})
    p = client.v1.prices.create({"currency": "eur", "unit_amount": 5, "product": prod.id})
    assert p.product == prod.id and p.currency == "eur"


def test_currency_is_lowercased(client: stripe.StripeClient) -> None:
    assert create(client, currency="USD", unit_amount=1).currency == "usd"


def test_invalid_currency(client: stripe.StripeClient) -> None:
    e = rejected(client, currency="xyz", unit_amount=1)
    assert (e["param"], e["message"]) == ("currency", "Invalid currency: xyz.")


def test_unit_amount_decimal(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount_decimal="0.05", recurring={"interval": "month"})
    # the SDK turns the wire's decimal strings into Decimal (the schema check sees the string)
    assert (p.unit_amount, str(p.unit_amount_decimal)) == (None, "0.05")
    whole = create(client, unit_amount_decimal="2000", recurring={"interval": "month"})
    assert (whole.unit_amount, str(whole.unit_amount_decimal)) == (2000, "2000")


def test_recurring_licensed_defaults(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=1, recurring={"interval": "year"})
    assert p.type == "recurring"
    assert p.recurring is not None
    r = p.recurring.to_dict()
    assert r == {
        "interval": "year",
        "interval_count": 1,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def test_acacia_metered_without_meter_defaults_to_sum(acacia: stripe.StripeClient) -> None:
    p = create(acacia, unit_amount=7, recurring=METERED)
    assert p.recurring is not None
    assert p.recurring.to_dict()["aggregate_usage"] == "sum"
    assert p.recurring.usage_type == "metered"


@pytest.mark.parametrize("mode", ["sum", "last_during_period", "last_ever", "max"])
def test_acacia_aggregate_usage_modes(acacia: stripe.StripeClient, mode: str) -> None:
    p = create(acacia, unit_amount=1, recurring={**METERED, "aggregate_usage": mode})
    assert p.recurring is not None and p.recurring.to_dict()["aggregate_usage"] == mode


def test_metered_with_meter(client: stripe.StripeClient) -> None:
    meter = add_meter(client, "api_calls")
    p = create(client, unit_amount=1, recurring={**METERED, "meter": meter})
    assert p.recurring is not None and p.recurring.meter == meter


def test_tiered_graduated_with_flat_amounts(client: stripe.StripeClient) -> None:
    p = create(
        client,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[
            {"up_to": 5, "flat_amount": 100},
            {"up_to": 10, "unit_amount_decimal": "2.5"},
            {"up_to": "inf", "unit_amount": 1, "flat_amount_decimal": "10"},
        ],
        recurring={"interval": "month"},
        expand=["tiers"],
    )
    assert (p.billing_scheme, p.tiers_mode, p.unit_amount, p.unit_amount_decimal) == (
        "tiered",
        "graduated",
        None,
        None,
    )
    tiers = [
        {k: str(v) if k.endswith("_decimal") and v is not None else v for k, v in t.items()}
        for t in p.to_dict()["tiers"]
    ]
    assert tiers == [
        {
            "flat_amount": 100,
            "flat_amount_decimal": "100",
            "unit_amount": None,
            "unit_amount_decimal": None,
            "up_to": 5,
        },
        {
            "flat_amount": None,
            "flat_amount_decimal": None,
            "unit_amount": None,
            "unit_amount_decimal": "2.5",
            "up_to": 10,
        },
        {
            "flat_amount": 10,
            "flat_amount_decimal": "10",
            "unit_amount": 1,
            "unit_amount_decimal": "1",
            "up_to": None,
        },
    ]


def test_tiered_volume(client: stripe.StripeClient) -> None:
    p = create(client, billing_scheme="tiered", tiers_mode="volume", tiers=TIERS)
    assert p.tiers_mode == "volume"
    assert "tiers" not in p.to_dict()  # only when expanded


def test_transform_quantity(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=10, transform_quantity={"divide_by": 1000, "round": "up"})
    assert p.transform_quantity is not None
    assert p.transform_quantity.to_dict() == {"divide_by": 1000, "round": "up"}


# --- lookup keys -----------------------------------------------------------------------------


def test_lookup_key_unique_and_transfer(client: stripe.StripeClient) -> None:
    a = create(client, unit_amount=1, lookup_key="pro_monthly")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        create(client, unit_amount=2, lookup_key="pro_monthly")
    e = err_of(exc)
    assert e["param"] == "lookup_key"
    assert e["message"] == f"A price (`{a.id}`) already uses that lookup key."
    assert len(client.v1.prices.list().data) == 1
    b = create(client, unit_amount=2, lookup_key="pro_monthly", transfer_lookup_key=True)
    assert b.lookup_key == "pro_monthly"
    assert client.v1.prices.retrieve(a.id).lookup_key is None
    found = client.v1.prices.list({"lookup_keys": ["pro_monthly"]})
    assert [p.id for p in found.data] == [b.id]


def test_lookup_key_on_update(client: stripe.StripeClient) -> None:
    a = create(client, unit_amount=1, lookup_key="k1")
    b = create(client, unit_amount=1)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.update(b.id, {"lookup_key": "k1"})
    assert client.v1.prices.retrieve(b.id).lookup_key is None
    moved = client.v1.prices.update(b.id, {"lookup_key": "k1", "transfer_lookup_key": True})
    assert moved.lookup_key == "k1"
    assert client.v1.prices.retrieve(a.id).lookup_key is None
    # updating a price to its own key is fine
    assert client.v1.prices.update(b.id, {"lookup_key": "k1"}).lookup_key == "k1"


# --- update, list, no delete ---------------------------------------------------------------


def test_update_mutable_fields(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=1, metadata={"a": "1"}, nickname="n")
    u = client.v1.prices.update(
        p.id,
        {
            "active": False,
            "nickname": "",
            "metadata": {"a": "", "b": "2"},
            "tax_behavior": "exclusive",
        },
    )
    assert (u.active, u.nickname, u.tax_behavior) == (False, None, "exclusive")
    assert u.metadata.to_dict() == {"b": "2"}


def test_amount_is_not_updatable(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=1)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.update(p.id, {"unit_amount": 5})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_unknown", "unit_amount")
    assert client.v1.prices.retrieve(p.id).unit_amount == 1


def test_prices_cannot_be_deleted(client: stripe.StripeClient) -> None:
    p = create(client, unit_amount=1)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("delete", f"/v1/prices/{p.id}")
    assert exc.value.http_status == 404
    assert err_of(exc)["message"].startswith(
        f"Unrecognized request URL (DELETE: /v1/prices/{p.id})."
    )


def test_list_filters(client: stripe.StripeClient, acacia: stripe.StripeClient) -> None:
    prod = client.v1.products.create({"name": "filters"})
    one_time = client.v1.prices.create({"currency": "usd", "unit_amount": 1, "product": prod.id})
    monthly = create(client, unit_amount=1, recurring={"interval": "month"})
    metered = create(acacia, unit_amount=1, recurring=METERED)
    eur = create(client, currency="eur", unit_amount=1)
    client.v1.prices.update(eur.id, {"active": False})

    def ids(params: dict[str, Any]) -> list[str]:
        return [p.id for p in client.v1.prices.list(params).data]  # type: ignore[arg-type]

    assert ids({}) == [eur.id, metered.id, monthly.id, one_time.id]
    assert ids({"product": prod.id}) == [one_time.id]
    assert ids({"type": "one_time"}) == [eur.id, one_time.id]
    assert ids({"type": "recurring"}) == [metered.id, monthly.id]
    assert ids({"active": False}) == [eur.id]
    assert ids({"currency": "eur"}) == [eur.id]
    assert ids({"recurring": {"usage_type": "metered"}}) == [metered.id]
    assert ids({"recurring": {"interval": "month", "usage_type": "licensed"}}) == [monthly.id]
    assert ids({"limit": 2}) == [eur.id, metered.id]
    assert client.v1.prices.list().url == "/v1/prices"


def test_retrieve_unknown(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.retrieve("price_missing")
    e = err_of(exc)
    assert exc.value.http_status == 404
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "id",
        "No such price: 'price_missing'",
    )
