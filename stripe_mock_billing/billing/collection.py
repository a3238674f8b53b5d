"""Payment checks around subscription writes: `payment_behavior=error_if_incomplete` (the first
payment is judged before anything is written; an update is rolled back when the invoice it
charged is declined) and `default_incomplete` on updates (dunning.py reads the behaviour from the
engine state while the update runs).

Rollback is a deep copy of the tables an update can touch, taken only when the request asks for
`error_if_incomplete`, so the common path pays nothing for it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from . import invoicing, payments
from .state import state

if TYPE_CHECKING:
    from ..domain.customers import Customer
    from ..domain.subscriptions import Subscription, SubscriptionItem
    from ..store import Namespace


def check_first_payment(
    ns: Namespace, cust: Customer, sub: Subscription, items: list[SubscriptionItem]
) -> None:
    """`payment_behavior=error_if_incomplete`: the 402 of a first payment that would fail,
    raised before anything is written."""
    if sub.collection_method != "charge_automatically":
        return
    amount = 0
    if sub.status != "trialing":
        for item in items:
            price = ns.prices[item.price]
            if not price.metered:
                amount += invoicing.fast_rate(price, item.quantity or 0)
    for ii_id in state(ns).pending_items.get(cust.id, []):
        ii = ns.invoiceitems.get(ii_id)
        if ii is not None and not ii.deleted and ii.subscription is None:
            amount += ii.amount
    if amount <= 0:
        return
    decline = payments.preview_decline(ns, cust, sub.default_payment_method)
    if decline is not None:
        raise decline.error()


# Namespace tables a subscription update can change (rolled back by `restore`)
_TX_TABLES = (
    "customers",
    "subscriptions",
    "subscription_items",
    "invoices",
    "invoiceitems",
    "payment_methods",
    "events",
    "usage",
    "credit_grants",
    "credit_balance_transactions",
    "alerts",
)
_TX_EXTENSIONS = ("billing", "standalone_invoices", "credit_grants_by_customer")


def checkpoint(ns: Namespace) -> dict[str, Any]:
    """A deep copy of what an update can change, for `restore` (`error_if_incomplete`)."""
    saved = {name: copy.deepcopy(getattr(ns, name)) for name in _TX_TABLES}
    saved["$ext"] = {
        k: copy.deepcopy(ns.extensions[k]) for k in _TX_EXTENSIONS if k in ns.extensions
    }
    return saved


def restore(ns: Namespace, saved: dict[str, Any]) -> None:
    """Put back the state of a `checkpoint` (the update never happened)."""
    for name in _TX_TABLES:
        setattr(ns, name, saved[name])
    for k in _TX_EXTENSIONS:
        ns.extensions.pop(k, None)
    ns.extensions.update(saved["$ext"])


def begin_update(ns: Namespace, payment_behavior: str | None) -> None:
    """A subscription update starts: its invoices are charged per `payment_behavior`."""
    st = state(ns)
    st.payment_behavior = payment_behavior or "allow_incomplete"
    st.update_decline = None


def end_update(ns: Namespace) -> Any:
    """The update is done: the decline of the invoice it charged, if any."""
    st = state(ns)
    decline = st.update_decline
    st.payment_behavior = st.update_decline = None
    return decline
