"""Invoicing behaviour pinned while reviewing the surviving mutants of billing/invoicing.py
(issue 15). Clocks start at JAN1; the renewal draft is made at FEB1 and would finalize 1 h later."""

from __future__ import annotations

import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import FEB1, HOUR, advance, clocked_sub, invoices_of, licensed_price
from tests.conftest import make_client


def test_a_stopped_draft_of_a_canceled_subscription_survives_a_snapshot(
    server: ThreadedServer,
    client: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    """A canceled subscription's draft (auto_advance false) exports and imports unchanged."""
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, FEB1 + 60)
    client.v1.subscriptions.cancel(sub.id)
    (draft,) = [i for i in invoices_of(client, sub.id) if i.status == "draft"]
    assert (draft.auto_advance, draft.automatically_finalizes_at) == (False, None)
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations)
    copy = twin.v1.invoices.retrieve(draft.id)
    stopped = (copy.status, copy.auto_advance, copy.automatically_finalizes_at)
    assert stopped == ("draft", False, None)
    assert copy.to_dict() == client.v1.invoices.retrieve(draft.id).to_dict()
    # the imported draft still waits for an explicit finalization
    advance(twin, clk.id, FEB1 + 3 * HOUR)
    assert twin.v1.invoices.retrieve(draft.id).status == "draft"
