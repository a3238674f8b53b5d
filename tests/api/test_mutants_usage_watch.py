"""Billing thresholds after a test clock advance, pinned while reviewing the surviving mutants of
billing/usage_watch.py (issue 15; billing-alerts.md §6: thresholds are measured on active and
past_due subscriptions). Usage stamped ahead of the clock counts once the clock reaches it,
also for a past_due subscription. A price at 1 cent a unit with `amount_gte` 1000."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import FEB1, HOUR, advance
from tests.api.credit_helpers import (
    past_due_threshold_subscription,
    send,
)


def _reasons(client: stripe.StripeClient, sub_id: str) -> list[Any]:
    got = client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
    return [(i.billing_reason, i.created, i.total) for i in reversed(got)]


def test_a_past_due_subscription_reaches_its_threshold_on_the_advance(
    client: stripe.StripeClient,
) -> None:
    """past_due after a failed renewal; 1,000 units stamped 4 minutes ahead of the clock make
    no invoice at once; the advance to their time makes the threshold invoice (1,000)."""
    clk, cus, sub = past_due_threshold_subscription(client)
    now = FEB1 + 2 * HOUR
    send(client, cus.id, 1000, timestamp=now + 240)
    assert [r[0] for r in _reasons(client, sub.id)] == ["subscription_create", "subscription_cycle"]
    advance(client, clk.id, now + 240)
    assert _reasons(client, sub.id)[-1] == ("subscription_threshold", now + 240, 1000)
