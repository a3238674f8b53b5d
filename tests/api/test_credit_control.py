"""The control side of billing credits and alerts: `StripeMock.credit_balance`,
`StripeMock.alerts_triggered` (also what the pytest plugin's `stripe_mock` fixture offers), and
snapshots carrying grants, the ledger and alert state."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from tests.api.billing_helpers import FEB1, HOUR, advance
from tests.api.credit_helpers import clocked, grant, meter, meter_price, send, subscribe


def _alert(client: stripe.StripeClient, meter_id: str, gte: int) -> str:
    th = {"gte": gte, "meter": meter_id, "recurrence": "one_time"}
    a = client.v1.billing.alerts.create(
        {"alert_type": "usage_threshold", "title": "t", "usage_threshold": th}  # type: ignore[typeddict-item]
    )
    return str(a.id)


def test_credit_balance(client: stripe.StripeClient, mock: StripeMock) -> None:
    m = meter(client)
    price = meter_price(client, m.id)
    clk, cus = clocked(client)
    subscribe(client, cus.id, price.id)
    assert mock.credit_balance(cus.id) == {"available": 0, "ledger": 0}
    grant(client, cus.id, 1000)
    send(client, cus.id, 40)
    advance(client, clk.id, FEB1)  # the cycle invoice is a draft holding 400
    assert mock.credit_balance(cus.id) == {"available": 600, "ledger": 1000}
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert mock.credit_balance(cus.id) == {"available": 600, "ledger": 600}
    assert mock.credit_balance(cus.id, "eur") == {"available": 0, "ledger": 0}


def test_credit_balance_of_an_unknown_customer(mock: StripeMock) -> None:
    with pytest.raises(ControlError) as exc:
        mock.credit_balance("cus_nope")
    assert exc.value.status == 404


def test_alerts_triggered(client: stripe.StripeClient, mock: StripeMock) -> None:
    m = meter(client)
    a, b = client.v1.customers.create({}), client.v1.customers.create({})
    aid = _alert(client, m.id, 10)
    send(client, a.id, 12)
    send(client, b.id, 3)
    assert mock.alerts_triggered() == [{"alert": aid, "customer": a.id, "value": 12}]
    assert mock.alerts_triggered(customer=b.id) == []


def test_snapshot_carries_grants_ledger_and_alerts(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    g = grant(client, cus.id, 500)
    aid = _alert(client, m.id, 10)
    send(client, cus.id, 10)
    state = mock.export_state()
    mock.reset()
    mock.import_state(state)
    assert client.v1.billing.credit_grants.retrieve(g.id).amount.monetary.value == 500
    assert mock.credit_balance(cus.id) == {"available": 500, "ledger": 500}
    txns = client.v1.billing.credit_balance_transactions.list({"customer": cus.id}).data
    assert [t.credit.type for t in txns] == ["credits_granted"]
    assert mock.alerts_triggered() == [{"alert": aid, "customer": cus.id, "value": 10}]
    send(client, cus.id, 10)  # fired alerts stay fired after an import
    assert len(mock.alerts_triggered()) == 1
    other = client.v1.customers.create({})
    send(client, other.id, 10)  # and the imported alert still fires for others
    assert [t["customer"] for t in mock.alerts_triggered()] == [cus.id, other.id]
