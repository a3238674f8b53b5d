"""Parameter specs of the subscription endpoints (subscriptions.py, subscription_items.py)."""

from __future__ import annotations

from ..wire.params import (
    LIST_PARAMS,
    Bool,
    Enum,
    Int,
    List,
    Metadata,
    Obj,
    Str,
    Timestamp,
)

PRORATION = Enum(values=("always_invoice", "create_prorations", "none"))
THRESHOLDS = Obj(fields={"amount_gte": Int(min=1), "reset_billing_cycle_anchor": Bool()})
ITEM_THRESHOLDS = Obj(fields={"usage_gte": Int(min=1, required=True, nullable=False)})
ITEM = Obj(
    nullable=False,
    fields={
        "price": Str(),
        "quantity": Int(min=0),
        "metadata": Metadata(),
        "billing_thresholds": ITEM_THRESHOLDS,
    },
)
UPDATE_ITEM = Obj(
    nullable=False,
    fields={
        **ITEM.fields,
        "id": Str(),
        "deleted": Bool(),
        "clear_usage": Bool(),
    },
)
COMMON = {
    "metadata": Metadata(),
    "cancel_at_period_end": Bool(),
    "cancel_at": Timestamp(allow_now=False),
    "description": Str(max_length=500),
    "default_payment_method": Str(),
    "collection_method": Enum(values=("charge_automatically", "send_invoice")),
    "days_until_due": Int(min=0, max=730),
    "proration_behavior": PRORATION,
    "payment_behavior": Enum(
        values=(
            "allow_incomplete",
            "default_incomplete",
            "error_if_incomplete",
            "pending_if_incomplete",
        )
    ),
    "billing_thresholds": THRESHOLDS,
    "trial_end": Timestamp(),
}
CREATE = {
    **COMMON,
    "customer": Str(required=True, nullable=False),
    "items": List(item=ITEM, required=True, nullable=False, max_items=20),
    "billing_cycle_anchor": Timestamp(allow_now=False),
    "backdate_start_date": Timestamp(allow_now=False),
    "trial_period_days": Int(min=0, max=730),
    "currency": Str(),
    "billing_mode": Obj(fields={"type": Enum(values=("classic", "flexible"))}),
}
UPDATE = {
    **COMMON,
    "items": List(item=UPDATE_ITEM, max_items=20),
    "billing_cycle_anchor": Enum(values=("now", "unchanged")),
    "cancellation_details": Obj(
        fields={
            "comment": Str(max_length=5000),
            "feedback": Enum(
                values=(
                    "customer_service",
                    "low_quality",
                    "missing_features",
                    "other",
                    "switched_service",
                    "too_complex",
                    "too_expensive",
                    "unused",
                )
            ),
        }
    ),
    "proration_date": Int(),
}
CANCEL = {
    "invoice_now": Bool(),
    "prorate": Bool(),
    "cancellation_details": UPDATE["cancellation_details"],
}
LIST = {
    **LIST_PARAMS,
    "customer": Str(),
    "price": Str(),
    "status": Enum(
        values=(
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        )
    ),
    "test_clock": Str(),
    "created": Int(),
}
