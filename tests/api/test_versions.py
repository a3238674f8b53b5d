"""Stripe-Version: validation, echo, the server default, and what renders differently between
acacia and basil-or-later (wire-format.md §6)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.config import Settings
from stripe_mock_billing.domain import versions
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import ACACIA, err_of, make_client, validated

BASIL = "2025-03-31.basil"
BASIL_THRESHOLDS = "2025-05-28.basil"


def subscription(c: stripe.StripeClient) -> stripe.Subscription:
    cus = c.v1.customers.create({})
    price = c.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 100,
            "product_data": {"name": "v"},
            "recurring": {"interval": "month"},
        }
    )
    return c.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})


@pytest.mark.parametrize(
    "bad", ["foo", "2025-02-30.acacia", "2025-13-01", "25-01-01", "2025-02-24.Acacia", "latest"]
)
def test_invalid_version_is_400(
    server: Any, api_key: str, bad: str, schema_violations: list[str]
) -> None:
    c = make_client(server.url, api_key, schema_violations, bad)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.customers.list()
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    assert e["message"] == f"Invalid Stripe API version: {bad}"
    assert "code" not in e and "param" not in e


def test_invalid_version_changes_nothing(
    server: Any, api_key: str, schema_violations: list[str]
) -> None:
    bad = make_client(server.url, api_key, schema_violations, "nope")
    with pytest.raises(stripe.InvalidRequestError):
        bad.v1.customers.create({"name": "x"})
    assert make_client(server.url, api_key, schema_violations).v1.customers.list().data == []


@pytest.mark.parametrize("good", ["2024-06-20", ACACIA, BASIL, "2026-10-28.endive"])
def test_valid_versions_are_echoed(server: Any, api_key: str, good: str) -> None:
    r = validated(
        requests.get(
            server.url + "/v1/customers",
            headers={"Authorization": f"Bearer {api_key}", "Stripe-Version": good},
            timeout=10,
        )
    )
    assert r.status_code == 200 and r.headers["Stripe-Version"] == good


def test_sdk_pinned_version_is_echoed(client: stripe.StripeClient) -> None:
    resp = client.raw_request("get", "/v1/customers")
    assert resp.headers["Stripe-Version"] == "2026-10-28.endive"


def test_server_default_version_applies_without_header(api_key: str) -> None:
    with ThreadedServer(Settings(port=0, api_version=BASIL)) as srv:
        r = validated(
            requests.get(
                srv.url + "/v1/customers",
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=10,
            )
        )
        assert r.headers["Stripe-Version"] == BASIL


def test_acacia_renders_periods_on_the_subscription(acacia: stripe.StripeClient) -> None:
    sub = subscription(acacia).to_dict()
    assert isinstance(sub["current_period_start"], int)
    assert sub["current_period_end"] > sub["current_period_start"]
    item = sub["items"]["data"][0]
    assert "current_period_start" not in item and "current_period_end" not in item


def test_basil_renders_periods_on_items(client: stripe.StripeClient) -> None:
    sub = subscription(client).to_dict()
    assert "current_period_start" not in sub and "current_period_end" not in sub
    item = sub["items"]["data"][0]
    assert item["current_period_end"] > item["current_period_start"]


def test_same_subscription_rendered_per_request_version(
    client: stripe.StripeClient, acacia: stripe.StripeClient
) -> None:
    sub = subscription(client)
    legacy = acacia.v1.subscriptions.retrieve(sub.id).to_dict()
    item = sub["items"].data[0]
    assert legacy["current_period_start"] == item.current_period_start
    assert legacy["current_period_end"] == item.current_period_end


def test_aggregate_usage_renders_only_up_to_acacia(
    client: stripe.StripeClient, acacia: stripe.StripeClient
) -> None:
    price = acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1,
            "product_data": {"name": "m"},
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "max"},
        }
    )
    assert price.recurring is not None
    assert price.recurring.to_dict()["aggregate_usage"] == "max"
    newer = client.v1.prices.retrieve(price.id).to_dict()
    assert "aggregate_usage" not in newer["recurring"]


def test_aggregate_usage_is_unknown_from_basil(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request(
            "post",
            "/v1/prices",
            currency="usd",
            unit_amount=1,
            product_data={"name": "m"},
            recurring={"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
        )
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_unknown",
        "recurring[aggregate_usage]",
        "Received unknown parameter: recurring[aggregate_usage]",
    )


@pytest.mark.parametrize(
    ("version", "allowed"), [(ACACIA, True), (BASIL, False), (BASIL_THRESHOLDS, True)]
)
def test_billing_thresholds_by_version(
    server: Any, api_key: str, version: str, allowed: bool, schema_violations: list[str]
) -> None:
    c = make_client(server.url, api_key, schema_violations, version)
    cus = c.v1.customers.create({})
    price = c.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1,
            "product_data": {"name": "t"},
            "recurring": {"interval": "month"},
        }
    )
    params: dict[str, Any] = {
        "customer": cus.id,
        "items": [{"price": price.id}],
        "billing_thresholds": {"amount_gte": 10000},
    }
    if allowed:
        sub = c.v1.subscriptions.create(params)  # type: ignore[arg-type]
        assert sub.to_dict()["billing_thresholds"]["amount_gte"] == 10000
    else:
        with pytest.raises(stripe.InvalidRequestError) as exc:
            c.v1.subscriptions.create(params)  # type: ignore[arg-type]
        assert err_of(exc)["code"] == "parameter_unknown"
        assert err_of(exc)["param"] == "billing_thresholds"
        assert c.v1.subscriptions.list().data == []


@pytest.mark.parametrize(
    ("version", "basil", "thresholds"),
    [
        ("2024-06-20", False, True),
        (ACACIA, False, True),
        (BASIL, True, False),
        ("2025-04-30.basil", True, False),
        (BASIL_THRESHOLDS, True, True),
        ("2026-10-28.endive", True, True),
    ],
)
def test_version_decisions(version: str, basil: bool, thresholds: bool) -> None:
    assert versions.is_basil_or_later(version) is basil
    assert versions.periods_on_items(version) is basil
    assert versions.has_usage_records(version) is not basil
    assert versions.has_billing_thresholds(version) is thresholds
