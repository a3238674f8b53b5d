"""Subscription and SubscriptionItem models, their rendering and their shared validation.

Periods: `current_period_start/end` are stored state moved by the billing engine; on creation
they come from `billing_cycle_anchor` + n intervals (billing/periods.py, Stripe's month-end rule).
Where they render depends on the API version (on the subscription up to acacia, on its items
from basil), decided in domain/versions.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceMissing, invalid_value
from ..shapes import RenderContext
from ..store import Namespace
from . import versions
from .prices import Price, get_price


@dataclass(slots=True, kw_only=True)
class SubscriptionItem:
    """One price on a subscription."""

    id: str
    subscription: str
    price: str
    created: int
    quantity: int | None = None  # None for metered prices
    metadata: dict[str, str] = field(default_factory=dict)
    usage_gte: int | None = None  # billing_thresholds[usage_gte]
    deleted: bool = False
    # billing engine state: when the current price started, and the first second of usage not
    # yet billed (or discarded); metered lines cover [metered_from, period end)
    price_since: int = 0
    metered_from: int = 0

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a subscription item (price embedded, as Stripe does)."""
        sub = ctx.ns.subscriptions[self.subscription]
        body: dict[str, Any] = {
            "id": self.id,
            "object": "subscription_item",
            "billing_thresholds": (
                {"usage_gte": self.usage_gte} if self.usage_gte is not None else None
            ),
            "created": self.created,
            "discounts": [],
            "metadata": dict(self.metadata),
            "price": ctx.ns.prices[self.price].render(ctx),
            "quantity": self.quantity,
            "subscription": self.subscription,
            "tax_rates": [],
        }
        if self.quantity is None:
            del body["quantity"]
        if not versions.has_billing_thresholds(ctx.version):
            del body["billing_thresholds"]
        if versions.periods_on_items(ctx.version):
            body["current_period_start"] = sub.current_period_start
            body["current_period_end"] = sub.current_period_end
        return body


@dataclass(slots=True, kw_only=True)
class PendingUpdate:
    """`pending_update`: an update made with `payment_behavior=pending_if_incomplete` whose
    invoice was not paid; applied when `invoice` is paid, discarded at `expires_at`."""

    expires_at: int
    invoice: str
    items: list[SubscriptionItem]
    billing_cycle_anchor: int | None
    trial_end: int | None
    current_period_start: int
    current_period_end: int
    status: str

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of `subscription.pending_update`."""
        return {
            "billing_cycle_anchor": self.billing_cycle_anchor,
            "expires_at": self.expires_at,
            "subscription_items": [it.render(ctx) for it in self.items],
            "trial_end": self.trial_end,
            "trial_from_plan": None,
        }


@dataclass(slots=True, kw_only=True)
class Subscription:
    """A subscription; its items live in `ns.subscription_items`, in `item_ids` order."""

    id: str
    customer: str
    created: int
    start_date: int
    billing_cycle_anchor: int
    interval: str
    interval_count: int
    currency: str
    current_period_start: int
    current_period_end: int
    item_ids: list[str] = field(default_factory=list)
    status: str = "active"
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_comment: str | None = None
    cancellation_feedback: str | None = None
    cancellation_reason: str | None = None
    trial_start: int | None = None
    trial_end: int | None = None
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    default_payment_method: str | None = None
    description: str | None = None
    latest_invoice: str | None = None
    test_clock: str | None = None
    amount_gte: int | None = None  # billing_thresholds[amount_gte]
    reset_billing_cycle_anchor: bool | None = None
    # created with a future billing_cycle_anchor and proration_behavior=none: the stub period up
    # to the anchor is free (Stripe: "customers receive the initial period ... for free")
    free_stub: bool = False
    billing_mode: str = "classic"
    metadata: dict[str, str] = field(default_factory=dict)
    # billing engine state: invoices of this subscription (oldest first), drafts waiting for
    # automatic finalization, and the invoice that billed the metered usage up to a period end
    invoice_ids: list[str] = field(default_factory=list)
    draft_ids: list[str] = field(default_factory=list)
    # open invoices with time-driven collection pending (a retry, or a due date to pass)
    collect_ids: list[str] = field(default_factory=list)
    pending_update: PendingUpdate | None = None
    metered_invoices: dict[int, str] = field(default_factory=dict)

    def items(self, ns: Namespace) -> list[SubscriptionItem]:
        """The live items, in order."""
        return [ns.subscription_items[i] for i in self.item_ids]

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a subscription; period fields placed by API version."""
        items = [it.render(ctx) for it in self.items(ctx.ns)]
        thresholds = None
        if self.amount_gte is not None:
            thresholds = {
                "amount_gte": self.amount_gte,
                "reset_billing_cycle_anchor": self.reset_billing_cycle_anchor,
            }
        body: dict[str, Any] = {
            "id": self.id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": self.billing_cycle_anchor,
            "billing_cycle_anchor_config": None,
            "billing_thresholds": thresholds,
            "cancel_at": self.cancel_at,
            "cancel_at_period_end": self.cancel_at_period_end,
            "canceled_at": self.canceled_at,
            "cancellation_details": {
                "comment": self.cancellation_comment,
                "feedback": self.cancellation_feedback,
                "reason": self.cancellation_reason,
            },
            "collection_method": self.collection_method,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "days_until_due": self.days_until_due,
            "default_payment_method": self.default_payment_method,
            "default_source": None,
            "default_tax_rates": [],
            "description": self.description,
            "discount": None,
            "discounts": [],
            "ended_at": self.ended_at,
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "total_count": len(items),
                "url": f"/v1/subscription_items?subscription={self.id}",
            },
            "latest_invoice": self.latest_invoice,
            "livemode": False,
            "metadata": dict(self.metadata),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": self.pending_update.render(ctx) if self.pending_update else None,
            "schedule": None,
            "start_date": self.start_date,
            "status": self.status,
            "test_clock": self.test_clock,
            "transfer_data": None,
            "trial_end": self.trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": self.trial_start,
        }
        if not versions.has_billing_thresholds(ctx.version):
            del body["billing_thresholds"]
        if versions.periods_on_items(ctx.version):
            del body["discount"]
            body["billing_mode"] = {"flexible": None, "type": self.billing_mode}
            body["billing_schedules"] = []
            body["invoice_settings"] = {"account_tax_ids": None, "issuer": {"type": "self"}}
        else:
            body["current_period_start"] = self.current_period_start
            body["current_period_end"] = self.current_period_end
        return body


def get_subscription(
    ns: Namespace, sid: str, *, param: str = "id", in_path: bool = True
) -> Subscription:
    """A subscription or Stripe's `No such subscription`."""
    sub = ns.subscriptions.get(sid)
    if sub is None:
        raise ResourceMissing("subscription", sid, param=param, in_path=in_path)
    return sub


def get_item(
    ns: Namespace, iid: str, *, param: str = "id", in_path: bool = True
) -> SubscriptionItem:
    """A live subscription item or Stripe's `No such subscription item`."""
    item = ns.subscription_items.get(iid)
    if item is None or item.deleted:
        raise ResourceMissing("subscription item", iid, param=param, in_path=in_path)
    return item


def check_item_price(
    ns: Namespace, price_id: str, quantity: int | None, version: str, base: str
) -> Price:
    """Validate a price for a subscription item (`base` is e.g. `items[0]`)."""
    price = get_price(ns, price_id, param=f"{base}[price]" if base else "price", in_path=False)
    pname = f"{base}[price]" if base else "price"
    if price.recurring is None:
        raise invalid_value(
            pname,
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
        )
    if not price.active:
        raise invalid_value(
            pname, "The price specified is inactive. This field only accepts active prices."
        )
    if price.metered and quantity is not None:
        where = f"`{base}`" if base else "the request"  # item endpoints: wording unverified
        raise invalid_value(
            f"{base}[quantity]" if base else "quantity",
            f"Quantity should not be specified where usage_type is `metered`. Remove quantity "
            f"from {where}.",
        )
    if price.metered and price.recurring.meter is None and not versions.has_usage_records(version):
        raise invalid_value(
            pname,
            "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed by "
            "meters.",
        )
    return price


def check_compatible(prices: list[Price], base: str = "items") -> None:
    """All prices on a subscription share currency, interval and interval_count."""
    first = prices[0]
    first_rec = first.recurring
    for pr in prices[1:]:
        rec = pr.recurring
        if pr.currency != first.currency:
            field_name = "currency"
        elif (
            rec is None
            or first_rec is None
            or (rec.interval, rec.interval_count)
            != (
                first_rec.interval,
                first_rec.interval_count,
            )
        ):
            field_name = "interval"
        else:
            continue
        raise invalid_value(
            base,
            "Currency and interval fields must match across all plans on this subscription. "
            f"Found mismatch in {field_name} field.",
        )
    seen: set[str] = set()
    for pr in prices:
        if pr.id in seen:
            raise invalid_value(
                base,
                f"Cannot add multiple subscription items with the same price: {pr.id}.",
            )
        seen.add(pr.id)
