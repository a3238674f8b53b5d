"""Checks of a subscription create or update request, before anything is stored: API-version
gated `billing_thresholds`, the first period (backdating, trials, `billing_cycle_anchor`),
`days_until_due` against the collection method, `default_payment_method`, and the item changes
of an update (ids on the subscription, prices compatible, at least one item left). Each raises
Stripe's 400 and changes nothing. Used by the routes in subscriptions.py.
"""

from __future__ import annotations

from typing import Any

from ..billing import payments
from ..billing.periods import add_interval, period_containing
from ..domain import versions
from ..domain.customers import Customer
from ..domain.subscriptions import Subscription, check_compatible, check_item_price
from ..errors import InvalidRequest, ResourceMissing, invalid_value, missing_param, unknown_params
from ..store import Namespace


def _check_thresholds(prm: dict[str, Any], version: str) -> None:
    if "billing_thresholds" in prm and not versions.has_billing_thresholds(version):
        raise unknown_params(["billing_thresholds"])
    for i, it in enumerate(prm.get("items") or []):
        if "billing_thresholds" in it and not versions.has_billing_thresholds(version):
            raise unknown_params([f"items[{i}][billing_thresholds]"])


def _first_period(
    prm: dict[str, Any], now: int, interval: str, count: int
) -> tuple[int, int, int, int, int | None, int | None]:
    """start_date, anchor, period start, period end, trial start, trial end."""
    start = prm.get("backdate_start_date")
    if start is not None and start > now:
        raise invalid_value("backdate_start_date", "The backdate_start_date must be in the past.")
    start = now if start is None else start
    trial_end = prm.get("trial_end")
    if trial_end == "now":
        trial_end = None
    if trial_end is None and prm.get("trial_period_days"):
        trial_end = now + prm["trial_period_days"] * 86400
    anchor = prm.get("billing_cycle_anchor")
    if trial_end is not None:
        if trial_end <= now:
            raise invalid_value(
                "trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future."
            )
        # a trial and an anchor: free until trial_end, a stub period up to the anchor, then the
        # anchor's cycle (Stripe's "combining trials with billing_cycle_anchor")
        if anchor is not None:
            _check_anchor(anchor, now, add_interval(trial_end, interval, count, 1))
            if anchor < trial_end:  # (unverified text) the stub runs from the trial's end
                raise invalid_value(
                    "billing_cycle_anchor",
                    "billing_cycle_anchor cannot be earlier than trial_end.",
                )
        return start, anchor or trial_end, now, trial_end, now, trial_end
    if anchor is not None:
        _check_anchor(anchor, now, add_interval(start, interval, count, 1))
        return start, anchor, start, anchor, None, None
    ps, pe = period_containing(start, interval, count, now)
    return start, start, ps, pe, None, None


def _check_anchor(anchor: int, now: int, natural: int) -> None:
    """A future `billing_cycle_anchor` no later than the next natural billing date (counted
    from the start, or from the trial's end)."""
    if anchor <= now:
        raise invalid_value(
            "billing_cycle_anchor",
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
        )
    if anchor > natural:
        raise invalid_value(
            "billing_cycle_anchor",
            f"billing_cycle_anchor cannot be later than next natural billing date "
            f"({natural}) for plan",
        )


def _check_collection(prm: dict[str, Any], current: str) -> None:
    """`days_until_due` only goes with `collection_method=send_invoice` (unverified text)."""
    method = prm.get("collection_method") or current
    if prm.get("days_until_due") is not None and method != "send_invoice":
        raise invalid_value(
            "days_until_due",
            "Invalid days_until_due: days_until_due can only be set when collection_method is "
            "send_invoice.",
        )


def _check_payment_method(ns: Namespace, cust: Customer, pm_id: str | None) -> None:
    """`default_payment_method`: a test id that can be attached, or one of the customer's."""
    if not pm_id:
        return
    if payments.is_test_id(pm_id):
        payments.check_attachable(pm_id)
        return
    pm = ns.payment_methods.get(pm_id)
    if pm is None:
        raise ResourceMissing("PaymentMethod", pm_id, param="default_payment_method", in_path=False)
    if pm.customer != cust.id:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            code="resource_missing",
            param="default_payment_method",
        )


def _validate_item_updates(
    ns: Namespace, sub: Subscription, prm: dict[str, Any], version: str
) -> None:
    final_prices = {it.id: ns.prices[it.price] for it in sub.items(ns)}
    added = []
    for i, spec in enumerate(prm.get("items") or []):
        base = f"items[{i}]"
        iid = spec.get("id")
        if iid is not None:
            if iid not in final_prices:
                raise invalid_value(
                    f"{base}[id]",
                    f"Subscription item {iid} does not exist or is not on subscription {sub.id}",
                )
            if spec.get("deleted"):
                if spec.get("clear_usage") and not final_prices[iid].metered:
                    raise invalid_value(
                        f"{base}[clear_usage]",
                        "clear_usage can only be used with metered prices.",
                    )
                del final_prices[iid]
                continue
            if spec.get("price") is not None:
                final_prices[iid] = check_item_price(
                    ns, spec["price"], spec.get("quantity"), version, base
                )
            elif spec.get("quantity") is not None and final_prices[iid].metered:
                check_item_price(ns, final_prices[iid].id, spec["quantity"], version, base)
        else:
            if spec.get("price") is None:
                raise missing_param(f"{base}[price]")
            added.append(check_item_price(ns, spec["price"], spec.get("quantity"), version, base))
    remaining = list(final_prices.values()) + added
    if not remaining:
        raise InvalidRequest(
            "A subscription must have at least one active plan. To cancel a subscription, please "
            "use the cancel API endpoint on /v1/subscriptions."
        )
    check_compatible(remaining)
