"""Cards made from Stripe's test ids, through the SDK: the fields a user reads on them (the
mutation review of billing/payments.py, docs/mutation-testing.md). Values are worked by hand:
a test card expires in December three calendar years after the year it is made in
(docs/payments-and-dunning.md), `visa_debit` is a debit card, every test card is a US one."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import DAY, JAN1, new_clock

DEC31_1400 = JAN1 - 10 * 3_600  # 2025-12-31T14:00:00Z
DEC31_LAST = JAN1 - 1  # 2025-12-31T23:59:59Z
JAN1_2024_0100 = 1_704_070_800  # 2024-01-01T01:00:00Z


def _attach_at(client: stripe.StripeClient, at: int, test_id: str) -> stripe.PaymentMethod:
    """Attach `test_id` to a new customer on a clock frozen at `at`."""
    clk = new_clock(client, at)
    cust = client.v1.customers.create({"test_clock": clk.id})
    return client.v1.payment_methods.attach(test_id, {"customer": cust.id})


def test_a_debit_test_card_is_a_us_debit_card_made_at_the_clock_time(
    client: stripe.StripeClient,
) -> None:
    """`pm_card_visa_debit` attached at the clock's 2026-01-01: debit, US, created then."""
    pm = _attach_at(client, JAN1, "pm_card_visa_debit")
    assert (pm.card.brand, pm.card.last4, pm.card.funding) == ("visa", "5556", "debit")
    assert pm.card.country == "US"
    assert pm.created == JAN1
    again = client.v1.payment_methods.retrieve(pm.id)
    assert (again.card.funding, again.card.country, again.created) == ("debit", "US", JAN1)


def test_a_credit_test_card_says_credit(client: stripe.StripeClient) -> None:
    """`pm_card_amex` is a US credit card."""
    pm = _attach_at(client, JAN1, "pm_card_amex")
    assert (pm.card.brand, pm.card.funding, pm.card.country) == ("amex", "credit", "US")


@pytest.mark.parametrize(
    ("at", "year"),
    [
        (DEC31_1400, 2028),  # still 2025 in the afternoon of 31 December
        (DEC31_LAST, 2028),  # the last second of 2025
        (JAN1, 2029),  # the first second of 2026
        (JAN1_2024_0100, 2027),  # an hour into 2024
    ],
)
def test_a_test_card_expires_three_calendar_years_on(
    client: stripe.StripeClient, at: int, year: int
) -> None:
    """The expiry year is the calendar year of the attach plus three, on both sides of New
    Year (a mean-year division put 2025-12-31 14:00 in 2026 and 2024-01-01 01:00 in 2023)."""
    pm = _attach_at(client, at, "pm_card_visa")
    assert (pm.card.exp_month, pm.card.exp_year) == (12, year)


def test_an_update_charges_the_test_card_it_names_as_default(client: stripe.StripeClient) -> None:
    """An update 10 days in that resets the anchor now and names `pm_card_chargeCustomerFail` as
    the subscription's default: the new period's 5000 invoice is charged on that card and
    declined (`past_due`, first retry 3 days on); the card becomes a `pm_...` of the customer."""
    clk = new_clock(client)
    cust = client.v1.customers.create(
        {"test_clock": clk.id, "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 5000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro"},
        }
    )
    sub = client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": price.id}]})
    client.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": JAN1 + 10 * DAY})
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "billing_cycle_anchor": "now",
            "proration_behavior": "none",
            "default_payment_method": "pm_card_chargeCustomerFail",
        },
    )
    assert got.status == "past_due"
    assert got.default_payment_method.startswith("pm_")
    assert got.default_payment_method != "pm_card_chargeCustomerFail"
    inv = client.v1.invoices.retrieve(got.latest_invoice)
    assert (inv.status, inv.amount_due, inv.attempt_count) == ("open", 5000, 1)
    assert inv.next_payment_attempt == JAN1 + 13 * DAY
