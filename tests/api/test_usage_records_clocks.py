"""Legacy usage records on test clocks (acacia): "now", the grace window across a period boundary
with the previous cycle invoice still a draft or already finalized, and invoiced totals."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.usage_helpers import metered_price, report, summaries
from tests.conftest import err_of

JAN_1 = 1_767_225_600  # 2026-01-01 00:00:00 UTC
FEB_1 = 1_769_904_000
MAR_1 = 1_772_323_200
APR_1 = 1_775_001_600


def _clocked(acacia: stripe.StripeClient, mode: str = "sum") -> tuple[str, Any, str]:
    """A clock at Jan 1 with a monthly legacy metered subscription: (clock id, sub, item id)."""
    clk = acacia.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1})
    cust = acacia.v1.customers.create({"test_clock": clk.id})
    price = metered_price(acacia, mode)
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cust.id,
            "items": [{"price": price.id}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    return clk.id, sub, sub["items"].data[0].id


def _advance(acacia: stripe.StripeClient, clock_id: str, to: int) -> None:
    acacia.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": to})


def _metered_quantity(acacia: stripe.StripeClient, invoice_id: str, si: str) -> int:
    inv = acacia.v1.invoices.retrieve(invoice_id)
    (line,) = [ln for ln in inv.lines.data if ln["subscription_item"] == si]
    return int(line.quantity)


def test_now_is_the_clock_time(acacia: stripe.StripeClient) -> None:
    clock_id, sub, si = _clocked(acacia)
    assert (sub["current_period_start"], sub["current_period_end"]) == (JAN_1, FEB_1)
    _advance(acacia, clock_id, JAN_1 + 3600)
    rec = report(acacia, si, quantity=2)
    assert rec.timestamp == JAN_1 + 3600
    with pytest.raises(stripe.InvalidRequestError) as exc:  # clock time, not the wall clock
        report(acacia, si, quantity=1, timestamp=JAN_1 + 7200)
    assert err_of(exc)["param"] == "timestamp"


def test_grace_lands_on_the_previous_draft_invoice(acacia: stripe.StripeClient) -> None:
    clock_id, _, si = _clocked(acacia)
    report(acacia, si, quantity=5, timestamp=JAN_1 + 10)
    _advance(acacia, clock_id, FEB_1 + 60)
    current, previous = summaries(acacia, si).data[:2]
    assert previous.invoice is not None
    assert acacia.v1.invoices.retrieve(previous.invoice).status == "draft"
    rec = report(acacia, si, quantity=8, timestamp=FEB_1 - 100)
    assert rec.timestamp == FEB_1 - 100
    current, previous = summaries(acacia, si).data[:2]
    assert (current.total_usage, previous.total_usage) == (0, 13)
    assert _metered_quantity(acacia, previous.invoice, si) == 13
    _advance(acacia, clock_id, FEB_1 + 2 * 3600)  # automatic finalization about 1 h later
    inv = acacia.v1.invoices.retrieve(previous.invoice)
    assert inv.status != "draft"
    assert _metered_quantity(acacia, inv.id, si) == 13


def test_grace_after_finalization_counts_in_the_current_period(
    acacia: stripe.StripeClient,
) -> None:
    clock_id, _, si = _clocked(acacia)
    report(acacia, si, quantity=5, timestamp=JAN_1 + 10)
    _advance(acacia, clock_id, FEB_1 + 60)
    previous = summaries(acacia, si).data[1]
    acacia.v1.invoices.finalize_invoice(previous.invoice)
    report(acacia, si, quantity=8, timestamp=FEB_1 - 100)
    current, previous = summaries(acacia, si).data[:2]
    assert (current.total_usage, previous.total_usage) == (8, 5)
    assert _metered_quantity(acacia, previous.invoice, si) == 5
    _advance(acacia, clock_id, MAR_1 + 60)
    march_invoice = summaries(acacia, si).data[1].invoice
    assert _metered_quantity(acacia, march_invoice, si) == 8


def test_grace_closes_five_minutes_into_the_period(acacia: stripe.StripeClient) -> None:
    clock_id, _, si = _clocked(acacia)
    _advance(acacia, clock_id, FEB_1 + 301)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=FEB_1 - 10)
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert "code" not in e
    assert e["param"] == "timestamp"
    assert e["message"].startswith("Cannot create the usage record with this timestamp because")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("sum", [0, 0, 9]),
        ("last_during_period", [0, 0, 2]),
        ("last_ever", [2, 2, 2]),
        ("max", [0, 0, 7]),
    ],
)
def test_totals_and_invoices_over_clock_periods(
    acacia: stripe.StripeClient, mode: str, expected: list[int]
) -> None:
    clock_id, _, si = _clocked(acacia, mode)
    report(acacia, si, quantity=7, timestamp=JAN_1 + 10, action="set")
    report(acacia, si, quantity=2, timestamp=JAN_1 + 20)
    _advance(acacia, clock_id, MAR_1 + 60)
    data = summaries(acacia, si).data
    assert [s.total_usage for s in data] == expected
    assert [(s.period.start, s.period.end) for s in data] == [
        (MAR_1, APR_1),
        (FEB_1, MAR_1),
        (JAN_1, FEB_1),
    ]
    assert data[0].invoice is None
    for s in data[1:]:  # each closed period names the cycle invoice that billed it
        assert s.invoice is not None
        assert _metered_quantity(acacia, s.invoice, si) == s.total_usage
