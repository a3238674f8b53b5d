"""Failed renewals (docs/payments-and-dunning.md): a card that attaches and then fails every
charge, the first attempt one hour after the renewal, the retries of the emulator's default
schedule (3, 5, 7 days after the previous attempt; Stripe's own default is Smart Retries, so
their times are checked against the emulator only), cancellation after the last retry, and
recovery by making `pm_card_visa` the default card and paying. (The `/v1/payment_methods`
endpoints are outside the schema checker's usage-billing cut, so the scenarios reach cards
through the customer.)"""

from __future__ import annotations

from typing import Any

from ..harness import T, scenario
from .billing import HOUR, clock_start, clocked_customer
from .common import DAY, licensed_price, period, product
from .events import events_about


def _failing_renewal(t: T) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int]:
    """(clock, customer, subscription, first attempt time): a 50 USD/month subscription paid at
    creation with `pm_card_visa`, then `pm_card_chargeCustomerFail` as the default card, and
    the clock advanced past the renewal's first attempt."""
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    cus = t.call(
        "customers.update",
        cus["id"],
        params={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
    )
    visa = cus["invoice_settings"]["default_payment_method"]
    t.check(visa.startswith("pm_") and visa != "pm_card_visa", "a test id becomes a pm_ card")
    price = licensed_price(t, product(t)["id"], 5000)
    sub = t.call(
        "subscriptions.create",
        params={"customer": cus["id"], "items": [{"price": price["id"]}]},
    )
    t.eq(sub["status"], "active", "paid at creation with pm_card_visa")
    t.call(
        "customers.update",
        cus["id"],
        params={"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}},
    )
    _, end = period(t, sub)
    attempt = end + HOUR
    t.advance_clock(clk["id"], attempt + 60)
    return clk, cus, sub, attempt


def _latest(t: T, sub_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sub = t.call("subscriptions.retrieve", sub_id)
    return sub, t.call("invoices.retrieve", sub["latest_invoice"])


@scenario(
    "dunning.default_schedule",
    "renewal on pm_card_chargeCustomerFail: past_due, retries 3/5/7 days apart, then canceled",
    area="dunning",
)
def dunning_default_schedule(t: T) -> None:
    clk, cus, sub, attempt = _failing_renewal(t)
    sub, inv = _latest(t, sub["id"])
    t.eq(
        [inv["billing_reason"], inv["status"], inv["attempted"], inv["attempt_count"]],
        ["subscription_cycle", "open", True, 1],
        "the renewal's first attempt failed",
    )
    t.eq(sub["status"], "past_due", "past_due after the failed renewal")
    t.eq(t.call("customers.retrieve", cus["id"])["delinquent"], True, "delinquent customer")
    failed = events_about(t, "invoice.payment_failed", inv["id"], attempt - DAY)
    t.eq(len(failed), 1, "one invoice.payment_failed")
    t.eq(failed[0]["data"]["object"]["attempt_count"], 1, "the event carries attempt_count 1")
    retry = attempt + 3 * DAY
    t.eq(inv["next_payment_attempt"], retry, "first retry 3 days later", emulator_only=True)
    if not t.emulator:
        return  # Stripe's own retry times come from its Smart Retries model
    for count, gap in ((2, 5), (3, 7)):
        t.advance_clock(clk["id"], retry)
        sub, inv = _latest(t, sub["id"])
        retry += gap * DAY
        t.eq(
            [inv["attempt_count"], inv["next_payment_attempt"], sub["status"]],
            [count, retry, "past_due"],
            f"retry {count - 1} failed",
        )
    t.advance_clock(clk["id"], retry)
    sub, inv = _latest(t, sub["id"])
    t.eq(
        [inv["status"], inv["attempt_count"], inv["next_payment_attempt"], sub["status"]],
        ["open", 4, None, "canceled"],
        "the last retry failed: canceled",
    )
    failed = events_about(t, "invoice.payment_failed", inv["id"], attempt - DAY)
    t.eq(
        [e["data"]["object"]["attempt_count"] for e in failed],
        [4, 3, 2, 1],
        "one invoice.payment_failed per attempt, newest first",
    )
    deleted = events_about(t, "customer.subscription.deleted", sub["id"], attempt - DAY)
    t.eq(len(deleted), 1, "customer.subscription.deleted after the last retry")


@scenario(
    "dunning.recovery",
    "a failed renewal is paid with a new default pm_card_visa: invoice paid, sub active",
    area="dunning",
)
def dunning_recovery(t: T) -> None:
    _, cus, sub, attempt = _failing_renewal(t)
    sub, inv = _latest(t, sub["id"])
    t.eq(sub["status"], "past_due", "past_due after the failed renewal")
    t.fails(
        "invoices.pay",
        inv["id"],
        status=402,
        cls="CardError",
        type="card_error",
        code="card_declined",
        message="Your card was declined.",
    )
    cus = t.call(
        "customers.update",
        cus["id"],
        params={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
    )
    cards = t.call("customers.payment_methods", cus["id"])["data"]
    card = next(c for c in cards if c["id"] == cus["invoice_settings"]["default_payment_method"])
    t.eq(
        [card["customer"], card["card"]["brand"], card["card"]["last4"]],
        [cus["id"], "visa", "4242"],
        "pm_card_visa attached as a visa ending 4242 and made the default",
    )
    paid = t.call("invoices.pay", inv["id"])
    t.eq(
        [paid["status"], paid["amount_paid"], paid["amount_remaining"]],
        ["paid", 5000, 0],
        "paid in full",
    )
    t.eq(t.call("subscriptions.retrieve", sub["id"])["status"], "active", "active again")
    t.check(
        len(events_about(t, "invoice.paid", inv["id"], attempt - DAY)) == 1, "invoice.paid sent"
    )
