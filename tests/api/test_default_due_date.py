"""A `send_invoice` subscription created without `days_until_due` gets invoices due 30 days after
finalization (issue 15: 30 days exactly, not 29 or 31), the first one and the renewals alike; an
explicit value wins."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import DAY, FEB1, HOUR, JAN1, advance, clocked_sub, licensed_price


def _send_invoice_sub(client: stripe.StripeClient, **extra: Any) -> tuple[Any, Any]:
    price = licensed_price(client, 2000)
    clk, _, sub = clocked_sub(client, [price.id], collection_method="send_invoice", **extra)
    return clk, sub


def test_first_invoice_is_due_30_days_after_finalization(client: stripe.StripeClient) -> None:
    _, sub = _send_invoice_sub(client)
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert first.status == "open"
    assert (first.status_transitions.finalized_at, first.due_date) == (JAN1, JAN1 + 2_592_000)


def test_renewal_is_due_30_days_after_its_finalization(client: stripe.StripeClient) -> None:
    clk, sub = _send_invoice_sub(client)
    advance(client, clk.id, FEB1 + 2 * HOUR)  # the renewal finalizes 1 h after FEB1
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.billing_reason == "subscription_cycle"
    finalized = renewal.status_transitions.finalized_at
    assert finalized == FEB1 + HOUR
    assert renewal.due_date == FEB1 + HOUR + 30 * DAY


def test_explicit_days_until_due_wins(client: stripe.StripeClient) -> None:
    _, sub = _send_invoice_sub(client, days_until_due=7)
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert first.due_date == JAN1 + 604_800
