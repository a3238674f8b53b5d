"""Payment checks around subscription writes: `payment_behavior=error_if_incomplete` (the first
payment is judged before anything is written; an update is rolled back when the invoice it
charged is declined) and `default_incomplete` on updates (dunning.py reads the behaviour from the
engine state while the update runs).

Rollback is a deep copy of the account's tables, taken only when the request asks for
`error_if_incomplete`, so the common path pays nothing for it.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

from . import invoicing, payments, pending_updates
from .state import restore_extensions, save_extensions, state

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


def checkpoint(ns: Namespace) -> dict[str, Any]:
    """A deep copy of the account's state, for `restore` (`error_if_incomplete` updates): every
    table of the Namespace and every extension that is state. `_mock*` extensions are traffic
    or caches: their lists (the webhook outboxes) are only cut back to their length."""
    tables = {
        f.name: copy.deepcopy(getattr(ns, f.name))
        for f in dataclasses.fields(ns)
        if type(getattr(ns, f.name)) is dict and f.name != "extensions"
    }
    return {"tables": tables, **save_extensions(ns)}


def restore(ns: Namespace, saved: dict[str, Any]) -> None:
    """Put back the state of a `checkpoint` (the update never happened, its events are not
    delivered)."""
    for name, table in saved["tables"].items():
        setattr(ns, name, table)
    restore_extensions(ns, saved)


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


def pend(ns: Namespace, sid: str, saved: dict[str, Any], before_invoices: int, now: int) -> None:
    """`pending_if_incomplete`: the declined update is rolled back but its invoice stays open
    and the subscription carries the update as `pending_update` (pending_updates.py)."""
    got = pending_updates.capture(ns, sid, before_invoices)
    restore(ns, saved)
    pending_updates.make_pending(ns, sid, got, now)
