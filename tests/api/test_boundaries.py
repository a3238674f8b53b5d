"""Boundaries on both sides, with literal values from Stripe's docs (STYLE.md, issue 15): the
24 h identifier window, the 35-day / 5-minute timestamp window, `amount_gte` / `usage_gte`
exactly and one below, the default 30 days of `days_until_due`, tier `up_to` and
`transform_quantity` on the invoice a user reads. Never the code's own constants."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
import time_machine

from stripe_mock_billing.handle import new_api_key
from stripe_mock_billing.inprocess import mock_stripe
from tests.api.billing_helpers import JAN1, clocked_sub, legacy_metered_price, report
from tests.api.conftest import invalid_request
from tests.conftest import assert_journal_valid

Y2030 = 1_893_456_000  # 2030-01-01T00:00:00Z


def _event(client: stripe.StripeClient, cus: str, **kw: Any) -> Any:
    payload = {"stripe_customer_id": cus, "value": "1"}
    return client.v1.billing.meter_events.create(
        {"event_name": "api_calls", "payload": payload, **kw}
    )


def _meter(client: stripe.StripeClient) -> Any:
    return client.v1.billing.meters.create(
        {
            "display_name": "calls",
            "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"},
        }
    )


# --- meter event identifiers: unique within 24 hours (meters.md §3) -------------------------


def test_identifier_reused_at_23_59_59_is_a_duplicate_and_at_24_h_is_accepted() -> None:
    with mock_stripe() as m, time_machine.travel(Y2030, tick=False) as traveller:
        sdk = m.client(new_api_key())
        _meter(sdk)
        cus = sdk.v1.customers.create({}).id
        _event(sdk, cus, identifier="same")
        traveller.move_to(Y2030 + 86_399)  # 23:59:59 later
        with pytest.raises(stripe.InvalidRequestError) as exc:
            _event(sdk, cus, identifier="same")
        e = invalid_request(exc)
        assert (e.get("code"), e["message"]) == (
            None,
            "An event already exists with identifier same.",
        )
        traveller.move_to(Y2030 + 86_400)  # 24:00:00 later
        assert _event(sdk, cus, identifier="same").identifier == "same"
        assert_journal_valid(m.handle(sdk._requestor.api_key))


# --- meter event timestamps: past 35 days, at most 5 minutes ahead (meters.md §3) ------------


@pytest.fixture
def on_clock(client: stripe.StripeClient) -> str:
    """A customer on a test clock frozen at JAN1 (an event's "now" is its customer's clock)."""
    _meter(client)
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    return str(client.v1.customers.create({"test_clock": clk.id}).id)


def test_timestamp_exactly_35_days_old_is_accepted(
    client: stripe.StripeClient, on_clock: str
) -> None:
    assert _event(client, on_clock, timestamp=JAN1 - 3_024_000).timestamp == JAN1 - 3_024_000


def test_timestamp_one_second_past_35_days_is_refused(
    client: stripe.StripeClient, on_clock: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _event(client, on_clock, timestamp=JAN1 - 3_024_001)
    e = invalid_request(exc)
    assert (e["param"], e["message"]) == (
        "timestamp",
        "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater "
        f"than or equal to {JAN1 - 3_024_000}.",
    )


def test_timestamp_exactly_5_minutes_ahead_is_accepted(
    client: stripe.StripeClient, on_clock: str
) -> None:
    assert _event(client, on_clock, timestamp=JAN1 + 300).timestamp == JAN1 + 300


def test_timestamp_one_second_past_5_minutes_ahead_is_refused(
    client: stripe.StripeClient, on_clock: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _event(client, on_clock, timestamp=JAN1 + 301)
    e = invalid_request(exc)
    assert (e["param"], e["message"]) == (
        "timestamp",
        "The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp "
        f"less than or equal to {JAN1 + 300}.",
    )


# --- billing thresholds (acacia, usage records) ----------------------------------------------


def _threshold_sub(acacia: stripe.StripeClient, **extra: Any) -> tuple[Any, str]:
    price = legacy_metered_price(acacia, 1)  # 1 cent a unit: units are cents
    _, _, sub = clocked_sub(acacia, [price.id], **extra)
    return sub, sub["items"].data[0].id


def _reasons(acacia: stripe.StripeClient, sub_id: str) -> list[str]:
    invoices = acacia.v1.invoices.list({"subscription": sub_id}).data
    return [i.billing_reason for i in reversed(invoices)]


@pytest.mark.parametrize(("cents", "invoiced"), [(999, False), (1000, True)])
def test_amount_gte_exactly_and_one_below(
    acacia: stripe.StripeClient, cents: int, invoiced: bool
) -> None:
    sub, si = _threshold_sub(acacia, billing_thresholds={"amount_gte": 1000})
    report(acacia, si, cents, JAN1)
    threshold = ["subscription_threshold"] if invoiced else []
    assert _reasons(acacia, sub.id) == ["subscription_create", *threshold]


@pytest.mark.parametrize(("units", "invoiced"), [(99, False), (100, True)])
def test_item_usage_gte_exactly_and_one_below(
    acacia: stripe.StripeClient, units: int, invoiced: bool
) -> None:
    price = legacy_metered_price(acacia, 10)
    clk = acacia.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cust = acacia.v1.customers.create({"test_clock": clk.id})
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cust.id,
            "items": [{"price": price.id, "billing_thresholds": {"usage_gte": 100}}],
        }
    )
    report(acacia, sub["items"].data[0].id, units, JAN1)
    threshold = ["subscription_threshold"] if invoiced else []
    assert _reasons(acacia, sub.id) == ["subscription_create", *threshold]


# --- send_invoice: due 30 days after finalization by default ----------------------------------


def test_send_invoice_without_days_until_due_is_due_in_30_days(
    client: stripe.StripeClient,
) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cus = client.v1.customers.create({"test_clock": clk.id})
    client.v1.invoice_items.create({"customer": cus.id, "amount": 500, "currency": "usd"})
    inv = client.v1.invoices.create(
        {
            "customer": cus.id,
            "collection_method": "send_invoice",
            "pending_invoice_items_behavior": "include",
        }
    )
    final = client.v1.invoices.finalize_invoice(inv.id)
    assert final.due_date == JAN1 + 2_592_000  # 30 days


# --- money on the invoice: tiers and transform_quantity --------------------------------------


def _tiered(client: stripe.StripeClient, mode: str) -> str:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "recurring": {"interval": "month"},
            "billing_scheme": "tiered",
            "tiers_mode": mode,
            "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": "inf", "unit_amount": 50}],
            "product_data": {"name": "seats"},
        }
    )
    return str(price.id)


def _first_invoice_total(client: stripe.StripeClient, price: str, quantity: int) -> int:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cus = client.v1.customers.create({"test_clock": clk.id})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price, "quantity": quantity}]}
    )
    return int(client.v1.invoices.retrieve(sub.latest_invoice).total)


@pytest.mark.parametrize(
    ("mode", "quantity", "total"),
    [
        ("graduated", 9, 900),
        ("graduated", 10, 1000),  # up_to is inclusive: the 10th unit is still in the first tier
        ("graduated", 11, 1050),
        ("volume", 9, 900),
        ("volume", 10, 1000),
        ("volume", 11, 550),  # every unit at the second tier's price
    ],
)
def test_tier_up_to_below_at_and_above_on_the_invoice(
    client: stripe.StripeClient, mode: str, quantity: int, total: int
) -> None:
    assert _first_invoice_total(client, _tiered(client, mode), quantity) == total


@pytest.mark.parametrize(
    ("quantity", "total"),
    [(20, 200), (21, 300)],  # divide_by 10, round up: an exact multiple, then one above
)
def test_transform_quantity_exact_multiple_and_one_above(
    client: stripe.StripeClient, quantity: int, total: int
) -> None:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 100,
            "recurring": {"interval": "month"},
            "transform_quantity": {"divide_by": 10, "round": "up"},
            "product_data": {"name": "packs"},
        }
    )
    assert _first_invoice_total(client, price.id, quantity) == total
