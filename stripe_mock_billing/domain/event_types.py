"""The event types the emulator can emit: what `enabled_events` of a webhook endpoint or an event
destination may name (events-webhooks.md §1.1, event-destinations.md §3).

Snapshot (v1) types are delivered as `event` objects; thin types as `v2.core.event` notifications
(only to event destinations with `event_payload: thin`).
"""

from __future__ import annotations

SNAPSHOT_TYPES: frozenset[str] = frozenset(
    {
        "billing.alert.triggered",
        "billing.credit_balance_transaction.created",
        "billing.credit_grant.created",
        "billing.credit_grant.updated",
        "billing.meter.created",
        "billing.meter.deactivated",
        "billing.meter.reactivated",
        "billing.meter.updated",
        "customer.created",
        "customer.deleted",
        "customer.updated",
        "customer.subscription.created",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "customer.subscription.updated",
        "invoice.created",
        "invoice.deleted",
        "invoice.finalization_failed",
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.overdue",
        "invoice.paid",
        "invoice.payment_action_required",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.sent",
        "invoice.upcoming",
        "invoice.updated",
        "invoice.voided",
        "invoice.will_be_due",
        "invoiceitem.created",
        "invoiceitem.deleted",
        "invoiceitem.updated",
        "price.created",
        "price.deleted",
        "price.updated",
        "product.created",
        "product.deleted",
        "product.updated",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.deleted",
        "test_helpers.test_clock.internal_failure",
        "test_helpers.test_clock.ready",
    }
)

THIN_TYPES: frozenset[str] = frozenset(
    {
        "v1.billing.meter.error_report_triggered",
        "v1.billing.meter.no_meter_found",
        "v2.core.event_destination.ping",
    }
)


def matches(enabled: list[str], type_: str) -> bool:
    """Whether an `enabled_events` list selects `type_` (`*` selects every snapshot type)."""
    return type_ in enabled or ("*" in enabled and type_ in SNAPSHOT_TYPES)
