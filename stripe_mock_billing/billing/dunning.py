"""Collection of open invoices: charges, their outcomes, retries on the clock, dunning.

Attempts (spec §9): the first attempt of any kind counts 1 in `attempt_count`; after that only
automatic retries count, `pay` calls do not. An automatic failure sets `customer.delinquent`,
schedules the next retry from the account's policy (`next_payment_attempt`) and emits, in this
order, `invoice.payment_failed` (with the new `attempt_count` and `next_payment_attempt`),
`invoice.updated` and the subscription change (`active` -> `past_due`; the first invoice makes
it `incomplete` and is not retried). Retry policy (account settings, config.py):
"custom": retry i runs `dunning_retry_days[i]` days after the previous attempt; "smart": retry
k of N runs k/N of the window after the first attempt. After the last retry fails:
`dunning_invoice_after_final` (`uncollectible`: `invoice.marked_uncollectible`) then
`dunning_after_final` (`cancel`: `customer.subscription.deleted`, reason `payment_failed`;
`unpaid`: `customer.subscription.updated`; `past_due`: nothing).
Hard declines (lost / stolen card, ... domain/payment_methods.HARD_DECLINES) and a missing
payment method: retries stay scheduled and `attempt_count` keeps rising, but a retry runs a
charge only once the invoice's payment method is another one; an unexecuted retry emits
`invoice.updated` only (no `invoice.payment_failed`) (unverified).
A success at any attempt: `invoice.paid`, `invoice.payment_succeeded`, and a `past_due` /
`unpaid` / `incomplete` subscription whose latest (or last open) invoice this was becomes
`active` (`customer.delinquent` cleared).
send_invoice: no automatic attempts; when clock time reaches `due_date` the customer becomes
delinquent and an `active` subscription `past_due` (at `due_date` itself, (unverified) whether
Stripe flips at the second or a little later).
`unpaid` subscriptions keep getting invoices, finalized but never attempted automatically
(unverified: the OpenAPI text and a third-party note disagree on the invoice state).
LIMITATIONS: no Charges or PaymentIntents (so no `charge.failed` /
`payment_intent.payment_failed` events); no `invoice.payment_action_required`; Smart Retries'
ML timing is replaced by even spacing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.events import emit, snapshot
from ..domain.payment_methods import NO_PAYMENT_METHOD, Decline
from . import credits, payments, pending_updates
from .retry_policy import due_at, retry_time
from .state import state

if TYPE_CHECKING:
    from ..domain.invoices import Invoice
    from ..domain.subscriptions import Subscription
    from ..store import Namespace

__all__ = ["due_at", "retry_time"]
RESTORABLE = ("past_due", "unpaid", "incomplete")


def watch(ns: Namespace, inv: Invoice) -> None:
    """Keep `inv` among the invoices with time-driven collection pending."""
    sub = ns.subscriptions.get(inv.subscription) if inv.subscription else None
    if sub is not None:
        if inv.id not in sub.collect_ids and due_at(inv) is not None:
            sub.collect_ids.append(inv.id)
    else:
        standalone(ns)[inv.id] = None


def standalone(ns: Namespace) -> dict[str, None]:
    """Ids (an ordered set) of invoices outside a subscription's lifecycle with time-driven
    work pending (auto-advancing manual drafts, their retries and due dates)."""
    got: dict[str, None] | None = ns.extensions.get("standalone_invoices")
    if got is None:
        got = {}
        ns.extensions["standalone_invoices"] = got
    return got


def _sub_of(ns: Namespace, inv: Invoice) -> Subscription | None:
    return ns.subscriptions.get(inv.subscription) if inv.subscription else None


# --- attempts ----------------------------------------------------------------------------


def collect(ns: Namespace, inv: Invoice, now: int, *, automatic: bool, charge: bool = True) -> None:
    """Collection right after finalization: charge (charge_automatically, auto_advance, not for
    an `unpaid` subscription), or watch the due date (send_invoice)."""
    if inv.collection_method == "send_invoice":
        watch(ns, inv)
        return
    if not charge:
        return
    sub = _sub_of(ns, inv)
    if not inv.auto_advance or (sub is not None and sub.status == "unpaid"):
        return
    st = state(ns)
    if st.payment_behavior == "default_incomplete" and sub is not None:
        # an update's invoice awaits explicit payment; the subscription is past_due meanwhile
        if sub.status in ("active", "trialing"):
            old = sub.status
            sub.status = "past_due"
            _sub_updated(ns, sub, old, now, False)
        return
    decline = attempt(ns, inv, now, automatic=True, caused_by_request=not automatic)
    if st.payment_behavior is not None and decline is not None:
        st.update_decline = decline


def attempt(
    ns: Namespace,
    inv: Invoice,
    now: int,
    *,
    automatic: bool,
    payment_method: str | None = None,
    caused_by_request: bool = False,
) -> Decline | None:
    """Charge an open invoice; the decline when it fails, None when it is paid."""
    pm_id = payment_method or payments.payment_method_of(ns, inv)
    decline = payments.decline_of(ns, inv, pm_id)
    prev: dict[str, Any] = {}
    if automatic or inv.attempt_count == 0:
        prev["attempt_count"] = inv.attempt_count
        inv.attempt_count += 1
    if not inv.attempted:
        prev["attempted"] = False
        inv.attempted = True
    if inv.first_attempt_at is None:
        inv.first_attempt_at = now
    if automatic or inv.last_attempt_at is None:
        inv.last_attempt_at = now
    events_auto = automatic and not caused_by_request
    if decline is None:
        inv.hard_declined_pm = None
        mark_paid(ns, inv, now, automatic=events_auto)
        return None
    hard = decline.hard or decline is NO_PAYMENT_METHOD
    inv.hard_declined_pm = (pm_id or "") if hard else None
    _failed(ns, inv, now, prev, automatic=automatic, events_auto=events_auto, ran=True)
    return decline


def _failed(
    ns: Namespace,
    inv: Invoice,
    now: int,
    prev: dict[str, Any],
    *,
    automatic: bool,
    events_auto: bool,
    ran: bool,
) -> None:
    """After a failed (or unexecuted) attempt: schedule, events, subscription, final outcome."""
    sub = _sub_of(ns, inv)
    first_invoice = inv.billing_reason == "subscription_create"
    if automatic:
        old_next = inv.next_payment_attempt
        inv.next_payment_attempt = None if first_invoice else retry_time(ns.settings, inv)
        if inv.next_payment_attempt != old_next:
            prev["next_payment_attempt"] = old_next
        if inv.next_payment_attempt is not None:
            watch(ns, inv)
    if ran:
        emit(ns, "invoice.payment_failed", inv, created=now, automatic=events_auto)
    if prev:
        emit(ns, "invoice.updated", inv, created=now, previous=prev, automatic=events_auto)
    if automatic:
        _subscription_failed(ns, inv, sub, now, events_auto)
        _delinquent(ns, inv.customer, True, now, events_auto)


def _subscription_failed(
    ns: Namespace, inv: Invoice, sub: Subscription | None, now: int, events_auto: bool
) -> None:
    """An automatic attempt failed: `past_due` (`incomplete` for the first invoice), and the
    final outcome when no retry is left."""
    first_invoice = inv.billing_reason == "subscription_create"
    if sub is not None and sub.status in ("canceled", "incomplete_expired"):
        return
    if sub is None:
        if inv.next_payment_attempt is None:
            final_failure(ns, inv, None, now, events_auto)
        return
    old = sub.status
    if first_invoice and old in ("active", "trialing"):
        sub.status = "incomplete"
    elif not first_invoice and old in ("active", "trialing"):
        sub.status = "past_due"
    if sub.status != old:
        _sub_updated(ns, sub, old, now, events_auto)
    if inv.next_payment_attempt is None and not first_invoice:
        final_failure(ns, inv, sub, now, events_auto)


def final_failure(
    ns: Namespace, inv: Invoice, sub: Subscription | None, now: int, automatic: bool
) -> None:
    """The last retry failed: the account's invoice and subscription outcomes."""
    if ns.settings.dunning_invoice_after_final == "uncollectible":
        mark_uncollectible(ns, inv, now, automatic=automatic)
    if sub is None or sub.status not in ("past_due", "active", "trialing"):
        return
    outcome = ns.settings.dunning_after_final
    if outcome == "cancel":
        cancel_for_nonpayment(ns, sub, now, automatic)
    elif outcome == "unpaid":
        old = sub.status
        sub.status = "unpaid"
        _sub_updated(ns, sub, old, now, automatic)


def cancel_for_nonpayment(ns: Namespace, sub: Subscription, now: int, automatic: bool) -> None:
    """Cancel after the last retry: no final invoice, open invoices stop collecting."""
    for item in sub.items(ns):
        item.metered_from = max(item.metered_from, now + 1)
    for inv_id in sub.draft_ids:
        draft = ns.invoices[inv_id]
        draft.auto_advance = False
        draft.finalizes_at = None
    sub.draft_ids.clear()
    stop_collection(ns, sub)
    sub.status = "canceled"
    sub.canceled_at = sub.canceled_at or now
    sub.ended_at = now
    sub.cancel_at_period_end = False
    sub.cancellation_reason = "payment_failed"
    emit(ns, "customer.subscription.deleted", sub, created=now, automatic=automatic)


def stop_collection(ns: Namespace, sub: Subscription) -> None:
    """A canceled subscription's open invoices: no more retries, `auto_advance=false`."""
    for inv_id in sub.collect_ids:
        inv = ns.invoices[inv_id]
        inv.next_payment_attempt = None
        inv.auto_advance = False
    sub.collect_ids.clear()


def _sub_updated(ns: Namespace, sub: Subscription, old: str, now: int, automatic: bool) -> None:
    emit(
        ns,
        "customer.subscription.updated",
        sub,
        created=now,
        previous={"status": old},
        automatic=automatic,
    )


def _delinquent(ns: Namespace, cust_id: str, value: bool, now: int, automatic: bool) -> None:
    cust = ns.customers.get(cust_id)
    if cust is None or cust.delinquent == value or cust.deleted:
        return
    cust.delinquent = value
    emit(
        ns,
        "customer.updated",
        snapshot(ns, cust),
        created=now,
        previous={"delinquent": not value},
        automatic=automatic,
    )


# --- time-driven -------------------------------------------------------------------------


def run_due(ns: Namespace, inv: Invoice, t: int) -> None:
    """The collection step of `inv` due at `t`: an automatic retry or a passed due date."""
    if inv.status != "open":
        return
    if inv.next_payment_attempt is not None and inv.next_payment_attempt <= t:
        retry(ns, inv, inv.next_payment_attempt)
    elif inv.collection_method == "send_invoice" and due_at(inv) is not None:
        due = inv.due_date or 0
        if due <= t:
            overdue(ns, inv, due)


def retry(ns: Namespace, inv: Invoice, t: int) -> None:
    """An automatic retry; after a hard decline it runs only on another payment method."""
    pm_id = payments.payment_method_of(ns, inv)
    if inv.hard_declined_pm is not None and inv.hard_declined_pm == (pm_id or ""):
        prev: dict[str, Any] = {"attempt_count": inv.attempt_count}
        inv.attempt_count += 1
        inv.last_attempt_at = t
        _failed(ns, inv, t, prev, automatic=True, events_auto=True, ran=False)
        return
    attempt(ns, inv, t, automatic=True)


def overdue(ns: Namespace, inv: Invoice, t: int) -> None:
    """A send_invoice invoice's due date passed unpaid: delinquent, subscription `past_due`."""
    inv.overdue = True
    _delinquent(ns, inv.customer, True, t, True)
    sub = _sub_of(ns, inv)
    if sub is not None and sub.status in ("active", "trialing"):
        old = sub.status
        sub.status = "past_due"
        _sub_updated(ns, sub, old, t, True)


def next_due(ns: Namespace, sub: Subscription) -> int | None:
    """The earliest collection step among the subscription's open invoices (pruning done)."""
    best: int | None = None
    keep: list[str] = []
    for inv_id in sub.collect_ids:
        t = due_at(ns.invoices[inv_id])
        if t is None:
            continue
        keep.append(inv_id)
        if best is None or t < best:
            best = t
    if len(keep) != len(sub.collect_ids):
        sub.collect_ids[:] = keep
    return best


def process_subscription(ns: Namespace, sub: Subscription, t: int) -> None:
    """Run the collection steps of the subscription's invoices due at or before `t`."""
    for inv_id in list(sub.collect_ids):
        inv = ns.invoices[inv_id]
        when = due_at(inv)
        if when is not None and when <= t:
            run_due(ns, inv, when)


# --- outcomes ----------------------------------------------------------------------------


def mark_paid(
    ns: Namespace, inv: Invoice, now: int, *, automatic: bool, out_of_band: bool = False
) -> None:
    """open -> paid (`invoice.paid`, `invoice.payment_succeeded`)."""
    inv.status = "paid"
    inv.paid_at = now
    inv.amount_paid = inv.amount_due
    inv.paid_out_of_band = out_of_band
    inv.next_payment_attempt = None
    if not out_of_band:
        inv.attempted = True
    frozen = inv.frozen_copy()  # one snapshot for both events (same state)
    emit(ns, "invoice.paid", frozen, created=now, automatic=automatic)
    if not out_of_band:
        emit(ns, "invoice.payment_succeeded", frozen, created=now, automatic=automatic)
    settled(ns, inv, now, automatic=automatic)


def settled(ns: Namespace, inv: Invoice, now: int, *, automatic: bool) -> None:
    """An invoice was paid, or marked uncollectible by request: delinquency cleared (Stripe:
    "paying or marking uncollectible any customer invoice regardless of whether it is the latest
    invoice for a subscription will always set this field to false"), the subscription restored
    when this was its latest (or last open) invoice."""
    _delinquent(ns, inv.customer, False, now, automatic)
    sub = _sub_of(ns, inv)
    if sub is not None and sub.pending_update is not None and sub.pending_update.invoice == inv.id:
        pending_updates.apply(ns, sub.id, now, automatic=automatic)
    if sub is None or sub.status not in RESTORABLE:
        return
    if inv.id != sub.latest_invoice and any(
        ns.invoices[i].status == "open" for i in sub.invoice_ids
    ):
        return
    old = sub.status
    sub.status = "trialing" if sub.trial_end and sub.trial_end > now else "active"
    _sub_updated(ns, sub, old, now, automatic)


def void(ns: Namespace, inv: Invoice, now: int, *, automatic: bool = False) -> None:
    """open -> void."""
    inv.status = "void"
    inv.voided_at = now
    inv.auto_advance = False
    inv.next_payment_attempt = None
    credits.invoice_voided(ns, inv, now)  # applied billing credits go back to their grants
    emit(ns, "invoice.voided", inv, created=now, automatic=automatic)


def mark_uncollectible(ns: Namespace, inv: Invoice, now: int, *, automatic: bool = False) -> None:
    """open -> uncollectible (no more retries)."""
    inv.status = "uncollectible"
    inv.marked_uncollectible_at = now
    inv.auto_advance = False
    inv.next_payment_attempt = None
    emit(ns, "invoice.marked_uncollectible", inv, created=now, automatic=automatic)
