"""PaymentMethods through the SDK: test ids become cards of the customer, declines at attach,
lists, detach, and default payment methods on customers and subscriptions."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import clocked_sub, err_tuple, licensed_price


def test_attach_a_test_id_makes_a_card_of_the_customer(
    client: stripe.StripeClient, cus: str
) -> None:
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus})
    assert pm.id.startswith("pm_") and pm.id != "pm_card_visa"
    assert (pm.object, pm.type, pm.customer) == ("payment_method", "card", cus)
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month) == ("visa", "4242", 12)
    assert pm.card.exp_year > 2026
    again = client.v1.payment_methods.retrieve(pm.id)
    assert again.to_dict() == pm.to_dict()
    mc = client.v1.payment_methods.attach("pm_card_mastercard", {"customer": cus})
    assert (mc.card.brand, mc.card.last4) == ("mastercard", "4444")
    fail = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus})
    assert fail.card.last4 == "0341"  # attaches fine; its charges fail
    listed = client.v1.customers.payment_methods.list(cus)
    assert [p.id for p in listed.data] == [fail.id, mc.id, pm.id]
    assert listed.url == f"/v1/customers/{cus}/payment_methods"
    one = client.v1.customers.payment_methods.retrieve(cus, mc.id)
    assert one.id == mc.id
    assert [p.id for p in client.v1.payment_methods.list({"customer": cus}).data] == [
        fail.id,
        mc.id,
        pm.id,
    ]


@pytest.mark.parametrize(
    ("test_id", "code", "decline_code", "param", "message"),
    [
        (
            "pm_card_visa_chargeDeclined",
            "card_declined",
            "generic_decline",
            None,
            "Your card was declined.",
        ),
        (
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
            None,
            "Your card has insufficient funds.",
        ),
        (
            "pm_card_visa_chargeDeclinedLostCard",
            "card_declined",
            "lost_card",
            None,
            "Your card was declined.",
        ),
        (
            "pm_card_visa_chargeDeclinedStolenCard",
            "card_declined",
            "stolen_card",
            None,
            "Your card was declined.",
        ),
        (
            "pm_card_chargeDeclinedExpiredCard",
            "expired_card",
            "expired_card",
            "exp_month",
            "Your card has expired.",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
            "cvc",
            "Your card's security code is incorrect.",
        ),
        (
            "pm_card_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
            None,
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        (
            "pm_card_chargeDeclined",
            "card_declined",
            "generic_decline",
            None,
            "Your card was declined.",
        ),
    ],
)
def test_declining_cards_fail_at_attach(
    client: stripe.StripeClient,
    cus: str,
    test_id: str,
    code: str,
    decline_code: str,
    param: str | None,
    message: str,
) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.attach(test_id, {"customer": cus})
    assert err_tuple(exc) == (402, "card_error", code, param, message)
    assert exc.value.json_body["error"]["decline_code"] == decline_code
    assert client.v1.customers.payment_methods.list(cus).data == []


def test_token_payment_method_then_attach(client: stripe.StripeClient, cus: str) -> None:
    pm = client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_chargeCustomerFail"}}
    )
    assert (pm.customer, pm.card.last4) == (None, "0341")
    attached = client.v1.payment_methods.attach(pm.id, {"customer": cus})
    assert (attached.id, attached.customer) == (pm.id, cus)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_nope"}})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "card[token]",
        "No such token: 'tok_nope'",
    )


def test_attach_errors(client: stripe.StripeClient, cus: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.attach("pm_nope", {"customer": cus})
    assert err_tuple(exc) == (
        404,
        "invalid_request_error",
        "resource_missing",
        "payment_method",
        "No such PaymentMethod: 'pm_nope'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.attach("pm_card_visa", {"customer": "cus_nope"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "customer",
        "No such customer: 'cus_nope'",
    )
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus})
    other = client.v1.customers.create({}).id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.attach(pm.id, {"customer": other})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "payment_method_unexpected_state",
        "payment_method",
        "The payment method you provided has already been attached to a customer.",
    )


def test_detach_clears_the_default(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create(
        {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    pm_id = cust.invoice_settings.default_payment_method
    assert pm_id.startswith("pm_") and pm_id != "pm_card_visa"
    gone = client.v1.payment_methods.detach(pm_id)
    assert gone.customer is None
    assert client.v1.customers.retrieve(cust.id).invoice_settings.default_payment_method is None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_methods.detach(pm_id)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "payment_method_unexpected_state",
        None,
        "The payment method you provided is not attached to a customer so detachment is "
        "impossible.",
    )
    types = [e.type for e in client.v1.events.list({"limit": 10}).data]
    assert "payment_method.detached" in types and "payment_method.attached" in types


def test_customer_payment_method_params(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create(
        {
            "payment_method": "pm_card_mastercard",
            "invoice_settings": {"default_payment_method": "pm_card_mastercard"},
        }
    )
    cards = client.v1.customers.payment_methods.list(cust.id).data
    assert len(cards) == 1  # the same test id in both params is one card
    assert cust.invoice_settings.default_payment_method == cards[0].id
    stranger = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update(
            cust.id, {"name": "x", "invoice_settings": {"default_payment_method": stranger.id}}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "invoice_settings[default_payment_method]",
        f"The customer does not have a payment method with the ID {stranger.id}. The payment "
        "method must be attached to the customer.",
    )
    assert client.v1.customers.retrieve(cust.id).name is None  # nothing written
    with pytest.raises(stripe.CardError) as exc:
        client.v1.customers.create({"payment_method": "pm_card_visa_chargeDeclined"})
    assert err_tuple(exc) == (402, "card_error", "card_declined", None, "Your card was declined.")
    assert client.v1.customers.list().data[0].id == cust.id  # no customer was created


def test_subscription_default_payment_method(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    _, cust, sub = clocked_sub(client, [price.id], default_payment_method="pm_card_visa")
    assert sub.default_payment_method.startswith("pm_")
    assert sub.default_payment_method != "pm_card_visa"
    card = client.v1.payment_methods.retrieve(sub.default_payment_method)
    assert card.customer == cust.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(sub.id, {"default_payment_method": "pm_nope"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "default_payment_method",
        "No such PaymentMethod: 'pm_nope'",
    )


def test_a_customer_with_a_card_declined_at_attach_is_not_created(
    client: stripe.StripeClient,
) -> None:
    """`payment_method` naming an unattached card (made from a token) that declines at attach:
    402 and no customer (the customer was written before the attach failed)."""
    pm = client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_chargeDeclinedInsufficientFunds"}}
    )
    before = len(client.v1.customers.list({"limit": 100}).data)
    with pytest.raises(stripe.CardError) as exc:
        client.v1.customers.create({"payment_method": pm.id})
    assert err_tuple(exc) == (
        402,
        "card_error",
        "card_declined",
        None,
        "Your card has insufficient funds.",
    )
    assert exc.value.json_body["error"]["decline_code"] == "insufficient_funds"
    assert len(client.v1.customers.list({"limit": 100}).data) == before
    assert client.v1.payment_methods.retrieve(pm.id).customer is None
