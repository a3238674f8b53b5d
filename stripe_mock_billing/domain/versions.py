"""API-version facts: every decision that depends on the Stripe-Version, in one place.

Dated versions, with a release-train suffix since 2024-09 (`2025-02-24.acacia`,
`2025-03-31.basil`, ...). See wire-format.md §6 for the table this module encodes.
"""

from __future__ import annotations

from ..config import validate_api_version as validate

# the well-formedness check is core (config.py): the request pipeline needs it below domain
__all__ = ["validate"]

BASIL = "2025-03-31"  # usage records, aggregate_usage, upcoming removed; periods move to items
THRESHOLDS_BACK = "2025-05-28"  # billing_thresholds reintroduced
V2_METERS = "2024-09-30"  # v2 meter event endpoints


def _day(version: str) -> str:
    return version[:10]


def is_basil_or_later(version: str) -> bool:
    """True from `2025-03-31.basil` on."""
    return _day(version) >= BASIL


def has_usage_records(version: str) -> bool:
    """Legacy usage records, `aggregate_usage` and metered prices without a meter."""
    return not is_basil_or_later(version)


def has_upcoming_invoice(version: str) -> bool:
    """`GET /v1/invoices/upcoming` exists up to acacia."""
    return not is_basil_or_later(version)


def has_billing_thresholds(version: str) -> bool:
    """Thresholds exist up to acacia and again from `2025-05-28.basil`."""
    d = _day(version)
    return d < BASIL or d >= THRESHOLDS_BACK


def has_formula_last(version: str) -> bool:
    """Meter `default_aggregation[formula]=last` arrived with basil."""
    return is_basil_or_later(version)


def periods_on_items(version: str) -> bool:
    """`current_period_start/end` render on subscription items (basil+) or subscriptions."""
    return is_basil_or_later(version)


def basil_invoice_lines(version: str) -> bool:
    """Invoice lines use `pricing`/`parent` (basil+) instead of `price`/`subscription_item`."""
    return is_basil_or_later(version)


FINALIZES_AT = "2024-09-30"  # invoice.automatically_finalizes_at


def has_finalizes_at(version: str) -> bool:
    """`invoice.automatically_finalizes_at` exists from `2024-09-30.acacia`."""
    return _day(version) >= FINALIZES_AT


def has_clock_status_details(version: str) -> bool:
    """`test_helpers.test_clock.status_details` exists (required) from `2024-09-30.acacia`."""
    return _day(version) >= FINALIZES_AT


CREDITS = "2024-10-28"  # billing credits (grants, balance summary, balance transactions)
CREDITS_VOID_REINSTATES = "2024-12-18"  # voiding an invoice gives its credits back
CREDITS_PRIORITY = "2025-02-24"  # grant `priority`, `applicability_config[scope][prices]`
CREDITS_CATEGORY_OPTIONAL = "2025-10-29"  # create `category` defaults to `paid`
CUSTOMER_ACCOUNT = "2025-12-15"  # `customer_account` beside `customer`
ALERTS = "2024-09-30"  # /v1/billing/alerts and billing.alert.triggered


def has_credit_grants(version: str) -> bool:
    """Billing credits exist from `2024-10-28.acacia` (billing-credits.md §0)."""
    return _day(version) >= CREDITS


def credits_void_reinstates(version: str) -> bool:
    """Voiding an invoice reinstates its applied credits from `2024-12-18.acacia`."""
    return _day(version) >= CREDITS_VOID_REINSTATES


def has_credit_priority(version: str) -> bool:
    """Grant `priority` and price-level scope from `2025-02-24.acacia`."""
    return _day(version) >= CREDITS_PRIORITY


def credit_category_optional(version: str) -> bool:
    """Grant create `category` is optional (default `paid`) from `2025-10-29.clover`."""
    return _day(version) >= CREDITS_CATEGORY_OPTIONAL


def has_customer_account(version: str) -> bool:
    """`customer_account` exists on grants and summaries from `2025-12-15.clover`."""
    return _day(version) >= CUSTOMER_ACCOUNT


def has_alerts(version: str) -> bool:
    """The Alerts API exists from `2024-09-30.acacia` (billing-alerts.md §0)."""
    return _day(version) >= ALERTS
