"""`customer.subscription.trial_will_end` for short trials and trials ended early.

Stripe's event description: "Occurs three days before a subscription's trial period is scheduled
to end, or immediately when a trial is ended early (for example, with trial_end=now ...). If a
trial is shortened so that fewer than three days remain, this event can fire immediately".
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import DAY, JAN1, advance, clocked_sub, licensed_price

NOTICE = "customer.subscription.trial_will_end"


def _notices(client: stripe.StripeClient) -> list[tuple[int, str, Any]]:
    got = client.v1.events.list({"type": NOTICE, "limit": 100}).data
    return [(e.created, e.data.object.id, e.data.object.trial_end) for e in reversed(got)]


def _request_ids(client: stripe.StripeClient) -> list[str | None]:
    got = client.v1.events.list({"type": NOTICE, "limit": 100}).data
    return [e.request.id if e.request else None for e in reversed(got)]


@pytest.mark.parametrize("trial", [2 * DAY, 3 * DAY], ids=["2 days", "exactly 3 days"])
def test_a_trial_of_three_days_or_less_is_noticed_when_it_starts(
    client: stripe.StripeClient, trial: int
) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_end=JAN1 + trial)
    assert _notices(client) == [(JAN1, sub.id, JAN1 + trial)]
    assert _request_ids(client) == [sub.last_response.request_id]  # the create caused it
    advance(client, clk.id, JAN1 + trial + DAY)  # the trial ends: no second notice
    assert _notices(client) == [(JAN1, sub.id, JAN1 + trial)]


def test_a_trial_a_second_longer_than_three_days_is_noticed_three_days_before_its_end(
    client: stripe.StripeClient,
) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_end=JAN1 + 3 * DAY + 1)
    assert _notices(client) == []
    advance(client, clk.id, JAN1 + 1)
    assert _notices(client) == [(JAN1 + 1, sub.id, JAN1 + 3 * DAY + 1)]


def test_ending_a_trial_now_notices_it_at_once(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_period_days=30)
    advance(client, clk.id, JAN1 + 10 * DAY)
    assert _notices(client) == []
    ended = client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    assert (ended.status, ended.trial_end) == ("active", JAN1 + 10 * DAY)
    # the subscription as the update left it: active, its trial ended now
    assert _notices(client) == [(JAN1 + 10 * DAY, sub.id, JAN1 + 10 * DAY)]
    assert _request_ids(client) == [ended.last_response.request_id]  # the update caused it
    advance(client, clk.id, JAN1 + 30 * DAY)  # the old trial end passes: nothing more
    assert _notices(client) == [(JAN1 + 10 * DAY, sub.id, JAN1 + 10 * DAY)]


def test_ending_a_trial_now_after_its_notice_sends_no_second_one(
    client: stripe.StripeClient,
) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_period_days=7)
    advance(client, clk.id, JAN1 + 5 * DAY)
    assert _notices(client) == [(JAN1 + 4 * DAY, sub.id, JAN1 + 7 * DAY)]
    client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    assert _notices(client) == [(JAN1 + 4 * DAY, sub.id, JAN1 + 7 * DAY)]
