"""Parameters the emulator does not emulate are refused with a 400, never accepted and ignored
(issue 15): a user's test that sends one must fail instead of passing while testing nothing."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import JAN1, clocked_sub, err_tuple, licensed_price


def _unknown(name: str) -> tuple[object, ...]:
    return (
        400,
        "invalid_request_error",
        "parameter_unknown",
        name,
        f"Received unknown parameter: {name}",
    )


def _sub(client: stripe.StripeClient, **kw: Any) -> Any:
    return clocked_sub(client, [licensed_price(client).id], **kw)[2]


@pytest.mark.parametrize("params", [{"off_session": True}, {"off_session": False}])
def test_subscription_create_refuses_off_session(
    client: stripe.StripeClient, cus: str, params: dict[str, Any]
) -> None:
    price = licensed_price(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create({"customer": cus, "items": [{"price": price.id}], **params})
    assert err_tuple(exc) == _unknown("off_session")
    assert client.v1.subscriptions.list({"customer": cus}).data == []


def test_subscription_update_refuses_off_session(client: stripe.StripeClient) -> None:
    sub = _sub(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(sub.id, {"off_session": True})
    assert err_tuple(exc) == _unknown("off_session")


def test_subscription_update_refuses_a_trial_end_timestamp(client: stripe.StripeClient) -> None:
    sub = _sub(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(sub.id, {"trial_end": JAN1 + 40 * 86400})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "trial_end",
        "trial_end=<timestamp> on a subscription update is not supported by the emulator; "
        "use trial_end=now to end a trial.",
    )
    after = client.v1.subscriptions.retrieve(sub.id)
    assert (after.status, after.trial_end) == ("active", None)


def test_subscription_update_trial_end_now_still_ends_the_trial(
    client: stripe.StripeClient,
) -> None:
    sub = _sub(client, trial_period_days=7)
    assert sub.status == "trialing"
    ended = client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    assert ended.status == "active"


@pytest.mark.parametrize("name", ["off_session", "payment_behavior"])
def test_subscription_item_update_refuses(client: stripe.StripeClient, name: str) -> None:
    sub = _sub(client)
    value = True if name == "off_session" else "error_if_incomplete"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.update(sub["items"].data[0].id, {"quantity": 2, name: value})
    assert err_tuple(exc) == _unknown(name)
    assert client.v1.subscription_items.retrieve(sub["items"].data[0].id).quantity == 1


def test_subscription_item_create_refuses_payment_behavior(client: stripe.StripeClient) -> None:
    sub = _sub(client)
    other = licensed_price(client, 300)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.create(
            {"subscription": sub.id, "price": other.id, "payment_behavior": "default_incomplete"}
        )
    assert err_tuple(exc) == _unknown("payment_behavior")


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"currency": "eur"}, "currency"),
        ({"automatic_tax": {"enabled": True}}, "automatic_tax"),
        ({"subscription_details": {"cancel_at": JAN1 + 86400}}, "subscription_details[cancel_at]"),
        ({"subscription_details": {"trial_end": "now"}}, "subscription_details[trial_end]"),
    ],
)
def test_create_preview_refuses(
    client: stripe.StripeClient, params: dict[str, Any], name: str
) -> None:
    sub = _sub(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview({"subscription": sub.id, **params})
    assert err_tuple(exc) == _unknown(name)


def _open_invoice(client: stripe.StripeClient) -> str:
    sub = _sub(client, collection_method="send_invoice", days_until_due=1)
    return str(sub.latest_invoice)


def test_invoice_pay_refuses_off_session(client: stripe.StripeClient) -> None:
    inv = _open_invoice(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv, {"off_session": True})
    assert err_tuple(exc) == _unknown("off_session")
    assert client.v1.invoices.retrieve(inv).status == "open"


@pytest.mark.parametrize(("name", "value"), [("source", "src_123"), ("mandate", "mandate_123")])
def test_invoice_pay_with_a_source_or_mandate_is_resource_missing(
    client: stripe.StripeClient, name: str, value: str
) -> None:
    # the emulator has no sources or mandates: any id names a missing object, as at Stripe
    inv = _open_invoice(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv, {name: value})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        name,
        f"No such {name}: '{value}'",
    )
    assert client.v1.invoices.retrieve(inv).status == "open"


def test_invoiceitem_create_refuses_discountable(client: stripe.StripeClient, cus: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(
            {"customer": cus, "amount": 100, "currency": "usd", "discountable": False}
        )
    assert err_tuple(exc) == _unknown("discountable")


def test_subscription_currency_must_be_the_prices(client: stripe.StripeClient, cus: str) -> None:
    price = licensed_price(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create(
            {"customer": cus, "items": [{"price": price.id}], "currency": "eur"}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "currency",
        f"The price specified ({price.id}) does not support currency eur.",
    )
    ok = client.v1.subscriptions.create(
        {"customer": cus, "items": [{"price": price.id}], "currency": "usd"}
    )
    assert ok.currency == "usd"


def test_list_filters_by_exact_created(client: stripe.StripeClient) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    first = client.v1.customers.create({"test_clock": clk.id})
    client.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": JAN1 + 60})
    second = client.v1.customers.create({"test_clock": clk.id})
    price = licensed_price(client)
    s1 = client.v1.subscriptions.create({"customer": second.id, "items": [{"price": price.id}]})
    ii = client.v1.invoice_items.create({"customer": second.id, "amount": 100, "currency": "usd"})

    def ids(objs: Any) -> list[str]:
        return [o.id for o in objs.data]

    base = {"test_clock": clk.id}
    assert ids(client.v1.customers.list({**base, "created": JAN1})) == [first.id]
    assert ids(client.v1.customers.list({**base, "created": JAN1 + 60})) == [second.id]
    assert ids(client.v1.customers.list({**base, "created": JAN1 + 59})) == []
    assert ids(client.v1.subscriptions.list({**base, "created": JAN1 + 60})) == [s1.id]
    assert ids(client.v1.subscriptions.list({**base, "created": JAN1})) == []
    cus_f = {"customer": second.id}
    assert ids(client.v1.invoice_items.list({**cus_f, "created": JAN1 + 60})) == [ii.id]
    assert ids(client.v1.invoice_items.list({**cus_f, "created": JAN1 + 61})) == []
