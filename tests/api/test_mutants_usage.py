"""Legacy usage behaviour pinned while reviewing the surviving mutants of billing/usage.py (issue
15): an item deleted with `clear_usage` keeps an empty usage store, which a snapshot exports and
imports like any other. Clocks start at JAN1."""

from __future__ import annotations

import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    JAN1,
    advance,
    clocked_sub,
    legacy_metered_price,
    licensed_price,
    report,
)
from tests.conftest import ACACIA, make_client


def test_usage_cleared_by_deleting_an_item_survives_a_snapshot(
    server: ThreadedServer,
    acacia: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    """After deleting a metered item with clear_usage, the account exports and imports intact."""
    seats, metered = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [seats.id, metered.id])
    advance(acacia, clk.id, JAN1 + 5 * DAY)
    (item,) = [it for it in sub["items"].data if it.price.id == metered.id]
    report(acacia, item.id, 12, JAN1 + 5 * DAY)
    acacia.v1.subscription_items.delete(item.id, {"clear_usage": True})
    snap = mock.export_state()
    other = StripeMock.connect(server.url)
    other.import_state(snap)
    assert other.export_state()["state"] == snap["state"]
    twin = make_client(server.url, other.api_key, schema_violations, ACACIA)
    kept = twin.v1.subscriptions.retrieve(sub.id)
    assert [it.price.id for it in kept["items"].data] == [seats.id]
