"""The clock-drift grace of legacy usage records (usage-records-legacy.md §4) on both sides of the
"the item existed during the previous period" rule (issue 15): during the first minutes of a
period, usage stamped in the last minutes of the previous period is accepted for an item that was
on the subscription in that period (it lands on the previous period's draft invoice), and refused
for an item added at the new period's start (it had no previous period to bill).

Periods are monthly from JAN1, so the rollover is at FEB1; the report is made at FEB1 + 60 s."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import (
    FEB1,
    JAN1,
    advance,
    clocked_sub,
    invoices_of,
    legacy_metered_price,
    licensed_price,
    report,
)
from tests.conftest import err_of


def _metered_item_added_at(acacia: stripe.StripeClient, added: int) -> tuple[Any, str, str]:
    """(subscription, clock id, metered item id): a licensed subscription from JAN1 gets a
    legacy metered item (7 cents a unit) at `added`; the clock then stands at FEB1 + 60 s."""
    clk, _, sub = clocked_sub(acacia, [licensed_price(acacia, 1000).id])
    advance(acacia, clk.id, added)
    metered = legacy_metered_price(acacia, 7)
    si = acacia.v1.subscription_items.create({"subscription": sub.id, "price": metered.id})
    advance(acacia, clk.id, FEB1 + 60)
    return sub, clk.id, si.id


def test_item_added_in_the_last_second_of_the_period_takes_grace_usage(
    acacia: stripe.StripeClient,
) -> None:
    sub, _, si = _metered_item_added_at(acacia, FEB1 - 1)
    rec = report(acacia, si, 4, FEB1 - 1)
    assert rec.timestamp == FEB1 - 1
    january = invoices_of(acacia, sub.id)[-1]
    assert (january.billing_reason, january.status) == ("subscription_cycle", "draft")
    (line,) = [ln for ln in january.lines.data if ln["subscription_item"] == si]
    assert (line.quantity, line.amount) == (4, 28)  # 4 x 7 cents on the previous period


def test_item_added_at_the_period_start_refuses_grace_usage(acacia: stripe.StripeClient) -> None:
    _, _, si = _metered_item_added_at(acacia, FEB1)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, 4, FEB1 - 1)
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "timestamp",
        "Cannot create the usage record with this timestamp because timestamps must be after "
        "the subscription's last invoice period (or current period start time).",
    )


def test_item_from_the_subscription_start_takes_grace_usage(acacia: stripe.StripeClient) -> None:
    price = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [price.id], at=JAN1)
    si = sub["items"].data[0].id
    advance(acacia, clk.id, FEB1 + 60)
    report(acacia, si, 3, FEB1 - 1)
    january = invoices_of(acacia, sub.id)[-1]
    (line,) = [ln for ln in january.lines.data if ln["subscription_item"] == si]
    assert (line.quantity, line.amount) == (3, 21)
