"""The finalization grace on both sides (test-clocks.md: default 1 hour, configurable up to 72
hours): a renewal draft created at FEB1 is still a draft one second before `created + grace` and
finalized at it; a grace above 72 h is held at 72 h, a negative one at 0. Invoice numbers count
per customer: `<invoice_prefix>-0001`, then `-0002`."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    FEB1,
    advance,
    clocked_sub,
    invoices_of,
    licensed_price,
    set_account,
)


def _renewal_status_around(
    client: stripe.StripeClient, finalizes_at: int
) -> tuple[int, str, str, int]:
    """(automatically_finalizes_at, status 1 s before, status at `finalizes_at`, finalized_at)."""
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, FEB1)
    draft = invoices_of(client, sub.id)[-1]
    assert (draft.billing_reason, draft.created) == ("subscription_cycle", FEB1)
    if finalizes_at > FEB1:
        advance(client, clk.id, finalizes_at - 1)
    before = client.v1.invoices.retrieve(draft.id).status
    advance(client, clk.id, finalizes_at)
    after = client.v1.invoices.retrieve(draft.id)
    return (
        draft.automatically_finalizes_at,
        before,
        after.status,
        after.status_transitions.finalized_at,
    )


def test_default_grace_is_one_hour(client: stripe.StripeClient) -> None:
    assert _renewal_status_around(client, FEB1 + 3600) == (
        FEB1 + 3600,
        "draft",
        "paid",
        FEB1 + 3600,
    )


@pytest.mark.parametrize(
    ("grace", "effective"),
    [(7200, 7200), (259_200, 259_200), (259_201, 259_200)],  # 72 h is the most Stripe allows
)
def test_configured_grace_up_to_72_hours(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str, grace: int, effective: int
) -> None:
    set_account(server, api_key, finalization_grace=grace)
    got = _renewal_status_around(client, FEB1 + effective)
    assert got == (FEB1 + effective, "draft", "paid", FEB1 + effective)


def test_invoice_numbers_count_per_customer(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    prefix = client.v1.customers.retrieve(cust.id).invoice_prefix
    advance(client, clk.id, FEB1 + 3600)
    first, renewal = invoices_of(client, sub.id)
    assert (first.number, renewal.number) == (f"{prefix}-0001", f"{prefix}-0002")
    assert client.v1.customers.retrieve(cust.id).next_invoice_sequence == 3
