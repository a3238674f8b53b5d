"""The billing engine: the only orchestrator of time-driven and lifecycle billing effects.

Resources call these functions at the points where Stripe's billing reacts (a subscription is
created, canceled, an item's price changes, a customer is deleted, ...). This first version only
keeps subscription state consistent; invoices, usage and test clocks build on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import clock
from .periods import period_containing

if TYPE_CHECKING:
    from ..resources.customers import Customer
    from ..resources.subscription_model import Subscription, SubscriptionItem
    from ..store import Namespace


def customer_joining_clock(ns: Namespace, clock_id: str) -> None:
    """Checks before a customer is attached to a test clock (strict limits)."""


def subscription_created(ns: Namespace, sub: Subscription) -> None:
    """Effects of a new subscription (first invoice, events)."""


def cancel_subscription(
    ns: Namespace, sub: Subscription, *, invoice_now: bool = False, prorate: bool = False
) -> None:
    """Cancel `sub` now."""
    now = clock.customer_now(ns, sub.customer)
    sub.status = "canceled"
    sub.canceled_at = sub.canceled_at or now
    sub.ended_at = now
    sub.cancel_at_period_end = False


def customer_deleted(ns: Namespace, cust: Customer) -> None:
    """Deleting a customer cancels its live subscriptions immediately."""
    for sub in list(ns.subscriptions.values()):
        if sub.customer == cust.id and sub.status != "canceled":
            cancel_subscription(ns, sub)


def subscription_joining(ns: Namespace, cust: Customer) -> None:
    """Checks before a subscription is created for `cust` (strict clock limits)."""


def subscription_updated(ns: Namespace, sub: Subscription) -> None:
    """Effects of an update (events)."""


def item_added(ns: Namespace, sub: Subscription, item: SubscriptionItem) -> None:
    """An item added mid-cycle bills from its start."""


def item_price_changed(
    ns: Namespace, sub: Subscription, item: SubscriptionItem, old_price: str
) -> None:
    """A mid-cycle price change: only usage after the change is billed, at the new price."""


def delete_item(
    ns: Namespace, sub: Subscription, item: SubscriptionItem, clear_usage: bool
) -> None:
    """Remove an item from its subscription; its un-invoiced usage is not invoiced."""
    item.deleted = True
    if item.id in sub.item_ids:
        sub.item_ids.remove(item.id)


def cancel_at_period_end_changed(ns: Namespace, sub: Subscription) -> None:
    """`cancel_at_period_end` was switched on or off."""


def reset_anchor(ns: Namespace, sub: Subscription) -> None:
    """`billing_cycle_anchor=now`: close the period now and start a new one."""


def end_trial(ns: Namespace, sub: Subscription) -> None:
    """`trial_end=now`."""


# --- interim hooks for legacy usage records (resources/usage_records.py) -------------------
# Added by the usage-records work so its routes run before the full engine lands; the engine's
# own implementations (invoices, thresholds) replace these three functions with the same names.


def sync_subscription(ns: Namespace, sub: Subscription) -> None:
    """Roll a wall-clock subscription's current period forward to the one containing now."""
    if sub.test_clock is not None or sub.status in ("canceled", "incomplete_expired"):
        return
    now = clock.customer_now(ns, sub.customer)
    if now >= sub.current_period_end:
        start, end = period_containing(
            sub.billing_cycle_anchor, sub.interval, sub.interval_count, now
        )
        sub.current_period_start, sub.current_period_end = start, end


def period_invoice(ns: Namespace, sub: Subscription, start: int, end: int) -> Any | None:
    """The invoice billing the metered usage of `[start, end)`; None until invoices exist."""
    return None


def usage_recorded(ns: Namespace, sub: Subscription, item: SubscriptionItem) -> None:
    """Usage was stored for `item` (billing thresholds are evaluated by the full engine)."""
