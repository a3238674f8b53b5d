"""Helpers for the payment and dunning API tests: a subscription whose renewal fails, and a
reader of the events that happened since the last look."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import DAY, FEB1, HOUR, clocked_sub, licensed_price

# the default retry schedule [3, 5, 7] (days after the previous attempt), written out
ATTEMPT1 = FEB1 + HOUR  # the renewal invoice is finalized and charged one hour after FEB1
RETRY1 = ATTEMPT1 + 3 * DAY
RETRY2 = RETRY1 + 5 * DAY
RETRY3 = RETRY2 + 7 * DAY
# customer create parameters: a default card that pays, or one whose charges are declined
VISA_CUSTOMER = {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
FAILING_CUSTOMER = {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}


class Events:
    """The account's events, oldest first, handed out once each."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.seen: set[str] = set()

    def new(self) -> list[Any]:
        """Events logged since the previous call (at most 100), test clock events left out."""
        got = list(reversed(self.client.v1.events.list({"limit": 100}).data))
        fresh = [e for e in got if e.id not in self.seen]
        self.seen.update(e.id for e in fresh)
        return [e for e in fresh if not e.type.startswith("test_helpers.")]

    def types(self) -> list[str]:
        """Types of the events logged since the previous call, oldest first."""
        return [e.type for e in self.new()]

    def skip(self) -> None:
        """Forget what happened so far."""
        self.new()


def failing_renewal(
    client: stripe.StripeClient, failing: str = "pm_card_chargeCustomerFail", **extra: Any
) -> tuple[Any, Any, Any]:
    """(clock, customer, subscription): a 5000/month subscription created at JAN1 and paid with
    `pm_card_visa`, whose customer's default payment method is then `failing`."""
    clk, cust, sub = clocked_sub(
        client,
        [licensed_price(client, 5000).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
        **extra,
    )
    client.v1.customers.update(cust.id, {"invoice_settings": {"default_payment_method": failing}})
    return clk, cust, sub


def hard_declining_renewal(client: stripe.StripeClient) -> tuple[Any, Any, Any]:
    """`failing_renewal` whose customer's default is a card attached to it that declines with a
    hard decline (`lost_card`: never retried)."""
    pm = client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_visa_chargeCustomerFailLostCard"}}
    )
    clk, cust, sub = failing_renewal(client, failing="pm_card_visa")
    client.v1.payment_methods.attach(pm.id, {"customer": cust.id})
    client.v1.customers.update(cust.id, {"invoice_settings": {"default_payment_method": pm.id}})
    return clk, cust, sub


def latest_invoice(client: stripe.StripeClient, sub_id: str) -> Any:
    """The subscription's latest invoice, fresh."""
    sub = client.v1.subscriptions.retrieve(sub_id)
    return client.v1.invoices.retrieve(sub.latest_invoice)
