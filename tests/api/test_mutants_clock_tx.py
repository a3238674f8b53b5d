"""A test clock advance that fails half-way changes nothing (billing/clock_tx.py), pinned where
the mutation review found it untested: the subscription items (the usage an advance billed is
billed again by the next advance) and a usage alert filtered on the clock's customer (it fires
again on the next advance). The failure is an unexpected exception injected into the advance,
as in tests/api/test_hardening_clocks.py."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import (
    FEB1,
    HOUR,
    JAN1,
    MAR1,
    advance,
    clocked_sub,
    invoices_of,
    legacy_metered_price,
    metered_line,
    report,
)
from tests.api.credit_helpers import clocked, meter, send

APR1 = 1_775_001_600  # 2026-04-01T00:00:00Z


def _failing_advance(client: stripe.StripeClient, clock_id: str, to: int) -> None:
    with pytest.raises(stripe.APIError) as exc:
        advance(client, clock_id, to)
    assert exc.value.http_status == 500


def test_usage_billed_by_a_failed_advance_is_billed_by_the_next_one(
    acacia: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 units at 0.07 on Jan 1; an advance to Apr 1 billed them on Feb 1, then failed at
    the Mar 1 rollover; 4 more units reported on Jan 1 after it: the advance to Feb 1 + 1 h
    that follows bills the 16 units (1.12)."""
    from stripe_mock_billing.billing import lifecycle

    price = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [price.id], at=JAN1)
    si = sub["items"].data[0].id
    report(acacia, si, 12, JAN1)
    real = lifecycle.rollover
    calls: list[int] = []

    def failing(ns: Any, sub: Any, boundary: int) -> None:
        calls.append(boundary)
        if boundary == MAR1:
            raise RuntimeError("boom in the Mar 1 rollover")
        real(ns, sub, boundary)

    monkeypatch.setattr(lifecycle, "rollover", failing)
    _failing_advance(acacia, clk.id, APR1)
    assert calls == [FEB1, MAR1]
    monkeypatch.undo()
    assert len(invoices_of(acacia, sub.id)) == 1
    report(acacia, si, 4, JAN1)
    advance(acacia, clk.id, FEB1 + HOUR)
    cycle = invoices_of(acacia, sub.id)[-1]
    line = metered_line(cycle)
    assert (line.quantity, line.amount) == (16, 112)
    assert (cycle.period_start, cycle.period_end, cycle.amount_due) == (JAN1, FEB1, 112)


@pytest.mark.parametrize("filtered", [True, False])
def test_an_alert_fired_by_a_failed_advance_fires_again_on_the_next_one(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch, filtered: bool
) -> None:
    """An alert at 100 units, filtered on the clock's customer or account-wide, the customer
    has 100: the advance that fired it failed afterwards, so the alert has not fired; the next
    advance fires it once. (An account-wide alert kept its firing: it belongs to no customer,
    and the advance's undo did not restore it.)"""
    from stripe_mock_billing.billing import alerts

    m = meter(client)
    clk, cus = clocked(client)
    send(client, cus.id, 100)
    client.v1.billing.alerts.create(
        {
            "alert_type": "usage_threshold",
            "title": "API usage",
            "usage_threshold": {
                "gte": 100,
                "meter": m.id,
                "recurrence": "one_time",
                **({"filters": [{"type": "customer", "customer": cus.id}]} if filtered else {}),
            },
        }
    )
    real = alerts.usage_arrived

    def fire_then_fail(ns: Any, meter: Any, customer: str) -> None:
        real(ns, meter, customer)
        raise RuntimeError("boom after the alert fired")

    monkeypatch.setattr(alerts, "usage_arrived", fire_then_fail)
    _failing_advance(client, clk.id, JAN1 + HOUR)
    monkeypatch.undo()
    assert client.v1.events.list({"type": "billing.alert.triggered"}).data == []
    advance(client, clk.id, JAN1 + 2 * HOUR)
    (ev,) = client.v1.events.list({"type": "billing.alert.triggered"}).data
    trig = ev.data.object
    assert (trig.customer, trig.value, ev.created) == (cus.id, 100, JAN1 + 2 * HOUR)
