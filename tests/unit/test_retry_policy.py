"""The retry policy (billing/retry_policy.py), table-driven with literal times."""

from __future__ import annotations

import pytest

from stripe_mock_billing.billing.retry_policy import due_at, retry_time
from stripe_mock_billing.config import AccountSettings
from stripe_mock_billing.domain.invoices import Invoice

T0 = 1_769_907_600  # 2026-02-01T01:00:00Z, the first attempt
DAY = 86_400


def _invoice(attempts: int, last: int, **kw: object) -> Invoice:
    inv = Invoice(
        id="in_x",
        customer="cus_x",
        created=T0,
        currency="usd",
        billing_reason="subscription_cycle",
        period_start=T0,
        period_end=T0,
        status="open",
        **kw,  # type: ignore[arg-type]
    )
    inv.attempt_count, inv.first_attempt_at, inv.last_attempt_at = attempts, T0, last
    return inv


@pytest.mark.parametrize(
    ("attempts", "last", "expected"),
    [
        (1, T0, T0 + 3 * DAY),  # after the first attempt: 3 days
        (2, T0 + 3 * DAY, T0 + 8 * DAY),  # then 5 days after the previous attempt
        (3, T0 + 8 * DAY, T0 + 15 * DAY),  # then 7
        (4, T0 + 15 * DAY, None),  # no retry left
    ],
)
def test_custom_default_schedule(attempts: int, last: int, expected: int | None) -> None:
    assert retry_time(AccountSettings(), _invoice(attempts, last)) == expected


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(1, T0 + 302_400), (2, T0 + 604_800), (4, T0 + 1_209_600), (5, None)],
)
def test_smart_spreads_evenly(attempts: int, expected: int | None) -> None:
    s = AccountSettings(dunning_mode="smart", dunning_smart_tries=4, dunning_smart_window_days=14)
    assert retry_time(s, _invoice(attempts, T0 + DAY)) == expected


def test_empty_schedule_and_unattempted() -> None:
    assert retry_time(AccountSettings(dunning_retry_days=[]), _invoice(1, T0)) is None
    fresh = _invoice(0, T0)
    fresh.first_attempt_at = fresh.last_attempt_at = None
    assert retry_time(AccountSettings(), fresh) is None


def test_due_at() -> None:
    inv = _invoice(1, T0)
    inv.next_payment_attempt = T0 + 3 * DAY
    assert due_at(inv) == T0 + 3 * DAY
    sent = _invoice(0, T0, collection_method="send_invoice", due_date=T0 + 7 * DAY)
    assert due_at(sent) == T0 + 7 * DAY
    sent.overdue = True
    assert due_at(sent) is None
    inv.status = "paid"
    assert due_at(inv) is None
