"""The plugin's `stripe_mock` fixture reads credit balances and fired alerts (pytester)."""

from __future__ import annotations

import textwrap

import pytest

from tests.plugin.journal_check import check_journals

TESTS = """
    def test_credit_balance_and_alerts(stripe_mock, stripe_client):
        meter = stripe_client.v1.billing.meters.create(
            {"display_name": "m", "event_name": "calls", "default_aggregation": {"formula": "sum"}}
        )
        cus = stripe_client.v1.customers.create({})
        stripe_client.v1.billing.credit_grants.create(
            {
                "customer": cus.id,
                "amount": {"type": "monetary", "monetary": {"currency": "usd", "value": 700}},
                "applicability_config": {"scope": {"price_type": "metered"}},
            }
        )
        assert stripe_mock.credit_balance(cus.id) == {"available": 700, "ledger": 700}
        alert = stripe_client.v1.billing.alerts.create(
            {
                "alert_type": "usage_threshold",
                "title": "t",
                "usage_threshold": {"gte": 5, "meter": meter.id, "recurrence": "one_time"},
            }
        )
        stripe_client.v1.billing.meter_events.create(
            {"event_name": "calls", "payload": {"stripe_customer_id": cus.id, "value": "5"}}
        )
        assert stripe_mock.alerts_triggered() == [
            {"alert": alert.id, "customer": cus.id, "value": 5}
        ]
"""


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_fixture_reads_credits_and_alerts(pytester: pytest.Pytester, mode: str) -> None:
    check_journals(pytester)
    pytester.makepyfile(test_credits=textwrap.dedent(TESTS))
    result = pytester.runpytest(f"--stripe-mock-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
