"""Test clocks through the SDK: CRUD, advancing, async mode, strict limits, errors."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    MAR1,
    advance,
    clocked_sub,
    licensed_price,
    new_clock,
    set_account,
)
from tests.conftest import err_of, make_client


def test_create_retrieve_list(client: stripe.StripeClient) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1, "name": "q1"})
    assert clk.id.startswith("clock_")
    assert (clk.status, clk.frozen_time, clk.name) == ("ready", JAN1, "q1")
    assert clk.deletes_after == clk.created + 30 * DAY
    assert clk.status_details.to_dict() == {}
    got = client.v1.test_helpers.test_clocks.retrieve(clk.id)
    assert got.frozen_time == JAN1
    other = new_clock(client)
    listed = client.v1.test_helpers.test_clocks.list()
    assert [c.id for c in listed.data] == [other.id, clk.id]


def test_unknown_clock_is_404_billingclock(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.retrieve("clock_nope")
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("resource_missing", "id")
    assert e["message"] == "No such billingclock: 'clock_nope'"


def test_customer_on_unknown_clock(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"test_clock": "clock_nope"})
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("resource_missing", "test_clock")
    assert e["message"] == "No such billingclock: 'clock_nope'"


def test_missing_frozen_time(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.create({})  # type: ignore[typeddict-item]
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["code"], e["param"]) == ("parameter_missing", "frozen_time")
    assert e["message"] == "Missing required param: frozen_time."


def test_advance_backwards_or_same_time_fails(client: stripe.StripeClient) -> None:
    clk = new_clock(client)
    for target in (JAN1, JAN1 - 1):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            advance(client, clk.id, target)
        e = err_of(exc)
        assert exc.value.http_status == 400
        assert (e["type"], e["param"]) == ("invalid_request_error", "frozen_time")
        assert "code" not in e
        assert e["message"] == (
            "The frozen_time must be after the current frozen_time of the test clock."
        )
    assert client.v1.test_helpers.test_clocks.retrieve(clk.id).frozen_time == JAN1


def test_advance_unknown_clock(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        advance(client, "clock_nope", FEB1)
    assert exc.value.http_status == 404
    assert err_of(exc)["message"] == "No such billingclock: 'clock_nope'"


def test_advance_is_synchronous_by_default(client: stripe.StripeClient) -> None:
    clk = new_clock(client)
    moved = advance(client, clk.id, JAN1 + HOUR)
    assert (moved.status, moved.frozen_time) == ("ready", JAN1 + HOUR)


def test_async_advance_reports_advancing_then_ready(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, async_clock_advance=True)
    clk = new_clock(client)
    moved = advance(client, clk.id, FEB1)
    assert moved.status == "advancing"
    assert moved.frozen_time == JAN1  # Stripe's answer still shows the old time
    assert moved.status_details.advancing.target_frozen_time == FEB1
    with pytest.raises(stripe.InvalidRequestError) as exc:
        advance(client, clk.id, MAR1)
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e.get("code"), e.get("param")) == ("invalid_request_error", None, None)
    assert e["message"] == (
        f"The test clock {clk.id} is currently advancing. Wait until its status is `ready` "
        "before advancing it again."
    )
    ready = client.v1.test_helpers.test_clocks.retrieve(clk.id)
    assert (ready.status, ready.frozen_time) == ("ready", FEB1)


def test_objects_use_the_clock_time(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    _, cust, sub = clocked_sub(client, [price.id])
    assert cust.created == JAN1
    assert sub.start_date == JAN1
    assert sub["items"].data[0].current_period_start == JAN1
    assert sub["items"].data[0].current_period_end == FEB1


def test_delete_deletes_customers_and_cancels_subscriptions(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    clk, cust, sub = clocked_sub(client, [price.id])
    gone = client.v1.test_helpers.test_clocks.delete(clk.id)
    assert gone.deleted is True and gone.id == clk.id
    assert client.v1.customers.retrieve(cust.id).to_dict()["deleted"] is True
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.retrieve(clk.id)
    assert err_of(exc)["message"] == f"No such billingclock: '{clk.id}'"


def test_limits_off_by_default(client: stripe.StripeClient) -> None:
    clk = new_clock(client)
    for _ in range(4):
        client.v1.customers.create({"test_clock": clk.id})
    assert advance(client, clk.id, JAN1 + 5 * 365 * DAY).status == "ready"


def test_strict_customer_cap(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, strict_clock_limits=True)
    clk = new_clock(client)
    for _ in range(3):
        client.v1.customers.create({"test_clock": clk.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"test_clock": clk.id})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e.get("code"), e["param"]) == ("invalid_request_error", None, "test_clock")
    assert e["message"] == f"The test clock {clk.id} has reached its maximum of 3 customers."


def test_strict_subscription_cap(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, strict_clock_limits=True)
    prices = [licensed_price(client, 100 * (i + 1)) for i in range(4)]
    _, cust, _ = clocked_sub(client, [prices[0].id])
    for pr in prices[1:3]:
        client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": pr.id}]})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": prices[3].id}]})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e.get("code"), e["param"]) == ("invalid_request_error", None, "customer")
    assert e["message"] == (
        f"The customer {cust.id} on test clock {cust.test_clock} has reached its maximum of 3 "
        "subscriptions."
    )


def test_strict_two_interval_advance_cap(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, strict_clock_limits=True)
    clk, _, _ = clocked_sub(client, [licensed_price(client).id])
    assert advance(client, clk.id, MAR1).frozen_time == MAR1  # exactly two months is fine
    with pytest.raises(stripe.InvalidRequestError) as exc:
        advance(client, clk.id, MAR1 + 62 * DAY)
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e.get("code"), e["param"]) == ("invalid_request_error", None, "frozen_time")
    assert e["message"] == (
        "Cannot advance the test clock more than two intervals of the shortest subscription on "
        "it (two years when it has no subscriptions)."
    )


def test_strict_two_years_without_subscriptions(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, strict_clock_limits=True)
    clk = new_clock(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        advance(client, clk.id, JAN1 + 3 * 365 * DAY)
    assert err_of(exc)["param"] == "frozen_time"
    assert advance(client, clk.id, JAN1 + 365 * DAY).status == "ready"


def test_create_with_existing_customer_attaches_it(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client).id}]}
    )
    end = sub["items"].data[0].current_period_end
    grant = client.v1.billing.credit_grants.create(
        {
            "customer": cust.id,
            "category": "paid",
            "amount": {"type": "monetary", "monetary": {"currency": "usd", "value": 500}},
            "applicability_config": {"scope": {"price_type": "metered"}},
        }
    )
    assert grant.test_clock is None
    assert client.v1.invoices.retrieve(str(sub.latest_invoice)).test_clock is None
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": end - DAY, "customer": cust.id})
    assert client.v1.customers.retrieve(cust.id).test_clock == clk.id
    # what inherits a customer's clock comes along: subscriptions, invoices, credit grants
    assert client.v1.subscriptions.retrieve(sub.id).test_clock == clk.id
    assert client.v1.invoices.retrieve(str(sub.latest_invoice)).test_clock == clk.id
    assert client.v1.billing.credit_grants.retrieve(grant.id).test_clock == clk.id
    advance(client, clk.id, end + HOUR)
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed["items"].data[0].current_period_start == end
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1, "customer": cust.id})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e.get("code"), e["param"]) == ("invalid_request_error", None, "customer")
    assert e["message"] == f"The customer {cust.id} is already attached to a test clock."
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1, "customer": "cus_nope"})
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "customer",
        "No such customer: 'cus_nope'",
    )


def test_status_details_only_from_2024_09_30(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    old = make_client(server.url, api_key, schema_violations, "2024-06-20")
    clk = old.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    assert "status_details" not in clk.to_dict()
