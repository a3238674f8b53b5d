"""Prices: every creation rule of usage-records-legacy.md §1, with Stripe's (or our documented)
error texts; a rejected create writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.test_prices import METERED, TIERS, add_meter, create, rejected
from tests.conftest import err_of

# --- validation rules ------------------------------------------------------------------------


def test_aggregate_usage_with_licensed(acacia: stripe.StripeClient) -> None:
    e = rejected(
        acacia,
        unit_amount=1,
        recurring={"interval": "month", "usage_type": "licensed", "aggregate_usage": "sum"},
    )
    assert e["param"] == "recurring[aggregate_usage]"
    assert e["message"] == (
        "`recurring[aggregate_usage]` can only be set when `recurring[usage_type]` is `metered`."
    )


def test_meter_with_licensed(client: stripe.StripeClient) -> None:
    meter = add_meter(client, "licensed_calls")
    e = rejected(client, unit_amount=1, recurring={"interval": "month", "meter": meter})
    assert "code" not in e
    assert (e["param"], e["message"]) == (
        "recurring[meter]",
        "`recurring[meter]` can only be set when `recurring[usage_type]` is `metered`.",
    )


def test_transform_quantity_with_tiered(client: stripe.StripeClient) -> None:
    e = rejected(
        client,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=TIERS,
        transform_quantity={"divide_by": 10, "round": "down"},
    )
    assert e["param"] == "transform_quantity"
    assert "not compatible with tiered pricing" in e["message"]


@pytest.mark.parametrize("name", ["tiers", "tiers_mode"])
def test_tiers_without_tiered_scheme(client: stripe.StripeClient, name: str) -> None:
    extra = {"tiers": TIERS} if name == "tiers" else {"tiers_mode": "volume"}
    e = rejected(client, unit_amount=1, **extra)
    assert e["param"] == name
    assert e["message"] == f"You may only specify `{name}` when `billing_scheme` is `tiered`."


def test_tiered_needs_tiers_mode_and_tiers(client: stripe.StripeClient) -> None:
    e = rejected(client, billing_scheme="tiered", tiers=TIERS)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "tiers_mode",
        "Missing required param: tiers_mode.",
    )
    e = rejected(client, billing_scheme="tiered", tiers_mode="graduated")
    assert (e["code"], e["param"]) == ("parameter_missing", "tiers")


def test_tiered_with_unit_amount(client: stripe.StripeClient) -> None:
    e = rejected(client, billing_scheme="tiered", tiers_mode="volume", tiers=TIERS, unit_amount=1)
    assert e["param"] == "unit_amount"
    assert e["message"] == "You may not specify `unit_amount` when `billing_scheme` is `tiered`."


def test_unit_amount_and_decimal_are_exclusive(client: stripe.StripeClient) -> None:
    e = rejected(client, unit_amount=1, unit_amount_decimal="1.5")
    assert (e["code"], e["param"], e["message"]) == (
        "parameters_exclusive",
        "unit_amount",
        "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
    )


def test_tier_amount_and_decimal_are_exclusive(client: stripe.StripeClient) -> None:
    tiers = [{"up_to": "inf", "unit_amount": 1, "unit_amount_decimal": "1"}]
    e = rejected(client, billing_scheme="tiered", tiers_mode="volume", tiers=tiers)
    assert (e["code"], e["param"]) == ("parameters_exclusive", "tiers[0][unit_amount]")


def test_per_unit_needs_an_amount(client: stripe.StripeClient) -> None:
    e = rejected(client)
    assert (e["code"], e["param"]) == ("parameter_missing", "unit_amount")


@pytest.mark.parametrize(
    ("tiers", "param", "message"),
    [
        (
            [
                {"up_to": 10, "unit_amount": 1},
                {"up_to": 5, "unit_amount": 1},
                {"up_to": "inf", "unit_amount": 1},
            ],
            "tiers[1][up_to]",
            "Tiers must be sorted by `up_to` in ascending order.",
        ),
        (
            [
                {"up_to": 10, "unit_amount": 1},
                {"up_to": 10, "unit_amount": 1},
                {"up_to": "inf", "unit_amount": 1},
            ],
            "tiers[1][up_to]",
            "Tiers must be sorted by `up_to` in ascending order.",
        ),
        (
            [{"up_to": 10, "unit_amount": 1}, {"up_to": 20, "unit_amount": 1}],
            "tiers[1][up_to]",
            "The last tier must have `up_to` set to `inf`.",
        ),
        (
            [{"up_to": "inf", "unit_amount": 1}, {"up_to": "inf", "unit_amount": 1}],
            "tiers[0][up_to]",
            "Only the last tier may have `up_to=inf`.",
        ),
        (
            [{"up_to": 10}, {"up_to": "inf", "unit_amount": 1}],
            "tiers[0]",
            "Each tier must have either a unit amount or a flat amount: tiers[0].",
        ),
    ],
)
def test_tier_rules(
    client: stripe.StripeClient, tiers: list[dict[str, Any]], param: str, message: str
) -> None:
    e = rejected(client, billing_scheme="tiered", tiers_mode="graduated", tiers=tiers)
    assert (e["param"], e["message"]) == (param, message)


def test_tier_up_to_missing(client: stripe.StripeClient) -> None:
    e = rejected(client, billing_scheme="tiered", tiers_mode="volume", tiers=[{"unit_amount": 1}])
    assert (e["code"], e["param"]) == ("parameter_missing", "tiers[0][up_to]")


def test_tier_up_to_not_integer(client: stripe.StripeClient) -> None:
    tiers = [{"up_to": "ten", "unit_amount": 1}]
    e = rejected(client, billing_scheme="tiered", tiers_mode="volume", tiers=tiers)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_invalid_integer",
        "tiers[0][up_to]",
        "Invalid integer: ten",
    )


def test_metered_meter_with_non_sum_aggregate(acacia: stripe.StripeClient) -> None:
    meter = add_meter(acacia, "max_calls")
    e = rejected(
        acacia,
        unit_amount=1,
        recurring={**METERED, "meter": meter, "aggregate_usage": "max"},
    )
    assert e["param"] == "recurring[aggregate_usage]"
    assert (
        e["message"] == "`recurring[aggregate_usage]` must be `sum` for prices backed by a meter."
    )


def test_basil_metered_without_meter(client: stripe.StripeClient) -> None:
    e = rejected(client, unit_amount=1, recurring=METERED)
    assert e["message"] == (
        "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed by meters."
    )
    assert e["param"] == "recurring[meter]"


def test_unknown_meter(client: stripe.StripeClient) -> None:
    e = rejected(client, unit_amount=1, recurring={**METERED, "meter": "mtr_nope"})
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "recurring[meter]",
        "No such meter: 'mtr_nope'",
    )


def test_inactive_meter(client: stripe.StripeClient) -> None:
    meter = add_meter(client, "retired_calls", status="inactive")
    e = rejected(client, unit_amount=1, recurring={**METERED, "meter": meter})
    assert "code" not in e
    assert (e["param"], e["message"]) == (
        "recurring[meter]",
        f"The meter `{meter}` is inactive and cannot be used.",
    )


def test_reactivated_meter_backs_a_price_again(client: stripe.StripeClient) -> None:
    meter = add_meter(client, "revived_calls", status="inactive")
    client.v1.billing.meters.reactivate(meter)
    p = create(client, unit_amount=1, recurring={**METERED, "meter": meter})
    assert p.recurring is not None and p.recurring.meter == meter


@pytest.mark.parametrize(
    ("interval", "ok", "too_many"),
    [("day", 1095, 1096), ("week", 156, 157), ("month", 36, 37), ("year", 3, 4)],
)
def test_interval_count_max_three_years(
    client: stripe.StripeClient, interval: str, ok: int, too_many: int
) -> None:
    e = rejected(
        client, unit_amount=1, recurring={"interval": interval, "interval_count": too_many}
    )
    assert e["param"] == "recurring[interval_count]"
    assert e["message"] == (
        "The maximum billing interval is 3 years (3 years, 36 months, 156 weeks or 1095 days)."
    )
    p = create(client, unit_amount=1, recurring={"interval": interval, "interval_count": ok})
    assert p.recurring is not None and p.recurring.interval_count == ok


def test_interval_count_zero(client: stripe.StripeClient) -> None:
    e = rejected(client, unit_amount=1, recurring={"interval": "month", "interval_count": 0})
    assert e["param"] == "recurring[interval_count]"


def test_product_and_product_data_are_exclusive(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create({"name": "x"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        create(client, unit_amount=1, product=prod.id)
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameters_exclusive",
        "product",
        "You may only specify one of these parameters: product, product_data.",
    )
    assert [p.id for p in client.v1.products.list().data] == [prod.id]


def test_product_or_product_data_required(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create({"currency": "usd", "unit_amount": 1})
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "product",
        "Missing required param: product.",
    )


def test_product_data_needs_a_name(client: stripe.StripeClient) -> None:
    e = rejected(client, unit_amount=1, product_data={"unit_label": "x"})
    assert (e["code"], e["param"]) == ("parameter_missing", "product_data[name]")


def test_product_data_custom_id_taken(client: stripe.StripeClient) -> None:
    client.v1.products.create({"name": "taken", "id": "prod_taken"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        create(client, unit_amount=1, product_data={"name": "n", "id": "prod_taken"})
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("resource_already_exists", "product_data[id]")
    assert client.v1.prices.list().data == []
