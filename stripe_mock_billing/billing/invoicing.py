"""Invoice building and the invoice state machine (draft -> open -> paid / void / uncollectible).

Lines: licensed items bill in advance (`quantity x price` for their period); metered items bill
in arrears the usage of `[from, to)` under their price (`usage_quantity` dispatches to the
meter event store for prices with `recurring.meter`, else to the legacy usage store). A draft's
metered lines are recomputed from the stores whenever it is rendered and at finalization, so late
usage lands on it; finalization freezes them. Payment: after finalization an invoice of 0 is
paid at once; otherwise collection (charges, retries, due dates, dunning) is dunning.py's, and
payment methods and charge outcomes are payments.py's.
LIMITATIONS: no taxes, discounts, customer balance or credit notes; a decimal meter total bills
`quantity` truncated with the amount of the exact total for per-unit prices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .. import ids
from ..domain.events import emit
from ..domain.invoices import Invoice, InvoiceLine
from . import credits, dunning
from .dunning import mark_paid, mark_uncollectible, void
from .periods import add_interval
from .rating import rate, round_minor_units
from .state import state

if TYPE_CHECKING:
    from ..domain.invoiceitems import InvoiceItem
    from ..domain.prices import Price
    from ..domain.subscriptions import Subscription, SubscriptionItem
    from ..store import Namespace

MAX_GRACE = 72 * 3600
__all__ = ["mark_paid", "mark_uncollectible", "void"]


def grace(ns: Namespace) -> int:
    """The account's finalization grace in seconds, clamped to Stripe's 0..72 h."""
    return min(max(int(ns.settings.finalization_grace), 0), MAX_GRACE)


# --- quantities and lines ---------------------------------------------------------------------


def usage_quantity(
    ns: Namespace, customer: str, item_id: str, price: Price, start: int, end: int
) -> int | float:
    """Usage of an item under `price` over `[start, end)` (meter or legacy usage records)."""
    if end <= start or price.recurring is None:
        return 0
    meter = price.recurring.meter
    if meter is not None:
        try:
            from .meter_billing import meter_quantity
        except ImportError:  # the meters module is not there yet
            return 0
        return meter_quantity(ns, meter, customer, start, end)
    usage = ns.usage.get(item_id)
    if usage is None:
        return 0
    q: int = usage.quantity(price.recurring.aggregate_usage or "sum", start, end)
    return q


def _money(amount: Decimal | int, currency: str) -> str:
    value = Decimal(amount) / 100
    text = f"{value:,.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize()}"
    return f"${text}" if currency == "usd" else f"{text} {currency.upper()}"


def describe(ns: Namespace, price: Price, quantity: int) -> str:
    """Line description, e.g. `3 × Seats (at $10.00 / month)` (format unverified)."""
    prod = ns.products.get(price.product)
    name = prod.name if prod is not None else price.product
    unit = price.rating.unit_amount_decimal
    if price.rating.billing_scheme == "per_unit" and unit is not None and price.recurring:
        money = _money(unit, price.currency)
        return f"{quantity} × {name} (at {money} / {price.recurring.interval})"
    return f"{quantity} × {name}"


def fast_rate(price: Price, quantity: int) -> int:
    """`rating.rate`, with an exact integer shortcut for plain per-unit prices."""
    r = price.rating
    unit = r.unit_amount_decimal
    if (
        r.billing_scheme == "per_unit"
        and r.transform_quantity is None
        and unit is not None
        and unit == unit.to_integral_value()
    ):
        return int(unit) * max(quantity, 0)
    return rate(r, quantity)


def amount_for(price: Price, quantity: int | float) -> tuple[int, int, str | None]:
    """(amount, integer quantity, quantity_decimal) for a usage total; negatives bill 0."""
    if quantity <= 0:
        return fast_rate(price, 0), 0, None
    if isinstance(quantity, float) and not quantity.is_integer():
        whole = int(quantity)
        unit = price.rating.unit_amount_decimal
        exact = Decimal(repr(quantity))
        plain = price.rating.billing_scheme == "per_unit" and not price.rating.transform_quantity
        if plain and unit is not None:
            return round_minor_units(exact * unit), whole, format(exact, "f")
        return rate(price.rating, whole), whole, format(exact, "f")
    return fast_rate(price, int(quantity)), int(quantity), None


def metered_line(
    ns: Namespace, sub: Subscription, item: SubscriptionItem, price_id: str, start: int, end: int
) -> InvoiceLine:
    """A metered line billing the item's usage of `[start, end)` under `price_id`."""
    price = ns.prices[price_id]
    q = usage_quantity(ns, sub.customer, item.id, price, start, end)
    amount, qty, qdec = amount_for(price, q)
    return InvoiceLine(
        id=ids.new_id("line_item"),
        invoice=None,
        kind="subscription",
        amount=amount,
        currency=price.currency,
        description=describe(ns, price, qty),
        period_start=start,
        period_end=end,
        price=price_id,
        quantity=qty,
        quantity_decimal=qdec,
        subscription=sub.id,
        subscription_item=item.id,
        metered=True,
    )


def licensed_line(
    ns: Namespace,
    sub: Subscription,
    item: SubscriptionItem,
    start: int,
    end: int,
    *,
    trial: bool = False,
    quantity: int | None = None,
    stub: bool = False,
) -> InvoiceLine:
    """A licensed line billing the item in advance for `[start, end)` (0 during a trial).
    `stub`: `[start, end)` is a stub period ending at the billing cycle anchor `end`, billed
    for its share of the anchor's whole period (see `stub_amount`)."""
    price = ns.prices[item.price]
    qty = 0 if price.metered else (item.quantity if quantity is None else quantity) or 0
    amount = 0 if trial or price.metered else fast_rate(price, qty)
    if stub and amount:
        amount = stub_amount(sub, amount, start, end)
    prod = ns.products.get(price.product)
    desc = (
        f"Trial period for {prod.name if prod else price.product}"
        if trial
        else describe(ns, price, qty)
    )
    return InvoiceLine(
        id=ids.new_id("line_item"),
        invoice=None,
        kind="subscription",
        amount=amount,
        currency=price.currency,
        description=desc,
        period_start=start,
        period_end=end,
        price=price.id,
        quantity=qty,
        subscription=sub.id,
        subscription_item=item.id,
    )


def stub_amount(sub: Subscription, full: int, start: int, end: int) -> int:
    """A stub period `[start, end)` up to the anchor `end` (a `billing_cycle_anchor` in the
    future, at creation or after a trial): `full` x its share of the anchor's whole period
    `[end - 1 interval, end)` in seconds, half up (Stripe's default `create_prorations`), or 0
    for a subscription created with `proration_behavior=none` ("the initial period up to the
    first full invoice date for free"). A stub covering a whole period (a backdated start one
    interval before the anchor) is billed in full."""
    if sub.free_stub:
        return 0
    whole = add_interval(end, sub.interval, sub.interval_count, -1)
    if start <= whole:
        return full
    return round_minor_units(Decimal(full) * (end - start) / (end - whole))


def refresh_line(ns: Namespace, inv: Invoice, line: InvoiceLine) -> None:
    """Recompute a metered line's quantity and amount from the usage stores."""
    if not line.metered or line.price is None or line.subscription_item is None:
        return
    price = ns.prices[line.price]
    end = line.usage_end if line.usage_end is not None else line.period_end
    q = usage_quantity(ns, inv.customer, line.subscription_item, price, line.period_start, end)
    line.amount, line.quantity, line.quantity_decimal = amount_for(price, q)
    line.description = describe(ns, price, line.quantity)


def refresh_draft(ns: Namespace, inv: Invoice) -> None:
    """Metered lines of a draft follow late usage until finalization."""
    if inv.status != "draft":
        return
    for line in inv.lines:
        refresh_line(ns, inv, line)
    credits.project(ns, inv)  # the billing credits it would use


def add_invoiceitem(ns: Namespace, ii: InvoiceItem, inv: Invoice | None, now: int) -> None:
    """A pending item waits for the next invoice; one for a draft goes on it at once."""
    if inv is not None:
        ii.invoice = inv.id
        inv.lines.append(ii.as_line(inv.id))
    else:
        state(ns).pending_items.setdefault(ii.customer, []).append(ii.id)
    emit(ns, "invoiceitem.created", ii, created=now)


# --- invoices ---------------------------------------------------------------------------------


def new_invoice(
    ns: Namespace, sub: Subscription, *, created: int, reason: str, start: int, end: int
) -> Invoice:
    """A draft invoice for a subscription (not stored yet)."""
    return Invoice(
        id=ids.new_id("invoice"),
        customer=sub.customer,
        subscription=sub.id,
        created=created,
        currency=sub.currency,
        billing_reason=reason,
        period_start=start,
        period_end=end,
        collection_method=sub.collection_method,
        days_until_due=sub.days_until_due,
        test_clock=sub.test_clock,
    )


def pull_pending_items(ns: Namespace, inv: Invoice, pending: list[str]) -> None:
    """Move the customer's pending invoice items (of no or this subscription) onto `inv`."""
    keep: list[str] = []
    for ii_id in pending:
        ii = ns.invoiceitems.get(ii_id)
        if ii is None or ii.deleted or ii.invoice is not None:
            continue
        if ii.subscription not in (None, inv.subscription):
            keep.append(ii_id)
            continue
        ii.invoice = inv.id
        inv.lines.insert(0, ii.as_line(inv.id))
    pending[:] = keep


def store(ns: Namespace, inv: Invoice, sub: Subscription | None, *, automatic: bool) -> None:
    """Store a new invoice, index it on its subscription and emit `invoice.created`."""
    for line in inv.lines:
        line.invoice = inv.id
    ns.invoices[inv.id] = inv
    if sub is not None:
        sub.invoice_ids.append(inv.id)
        sub.latest_invoice = inv.id
    emit(ns, "invoice.created", inv, created=inv.created, automatic=automatic)


def schedule_finalization(ns: Namespace, inv: Invoice, sub: Subscription) -> None:
    """An auto-advancing draft finalizes `grace` seconds after its creation."""
    inv.finalizes_at = inv.created + grace(ns)
    sub.draft_ids.append(inv.id)


def _number(ns: Namespace, inv: Invoice) -> str:
    cust = ns.customers.get(inv.customer)
    if cust is None:
        return f"{ids.random_tail(8).upper()}-0001"
    seq = cust.next_invoice_sequence
    cust.next_invoice_sequence += 1
    return f"{cust.invoice_prefix}-{seq:04d}"


def finalize(
    ns: Namespace, inv: Invoice, now: int, *, automatic: bool, collect: bool = True
) -> None:
    """draft -> open (number, frozen lines, `invoice.finalized`), then collect payment (unless
    `collect=False`: the caller charges it, e.g. `pay` on a draft)."""
    refresh_draft(ns, inv)
    credits.apply(ns, inv, now)  # billing credits pay for the qualifying lines
    inv.status = "open"
    inv.number = _number(ns, inv)
    inv.finalized_at = now
    inv.finalizes_at = None
    if inv.collection_method == "send_invoice" and inv.due_date is None:
        inv.due_date = now + (inv.days_until_due if inv.days_until_due is not None else 30) * 86400
    _drop_draft(ns, inv)
    emit(ns, "invoice.finalized", inv, created=now, automatic=automatic)
    if inv.amount_due == 0:
        mark_paid(ns, inv, now, automatic=automatic)
    else:
        dunning.collect(ns, inv, now, automatic=automatic, charge=collect)


def _drop_draft(ns: Namespace, inv: Invoice) -> None:
    sub = ns.subscriptions.get(inv.subscription) if inv.subscription else None
    if sub is not None and inv.id in sub.draft_ids:
        sub.draft_ids.remove(inv.id)


def stop_auto_advance(ns: Namespace, sub: Subscription) -> None:
    """Cancellation: the subscription's pending drafts stop finalizing automatically."""
    for inv_id in sub.draft_ids:
        inv = ns.invoices[inv_id]
        inv.auto_advance = False
        inv.finalizes_at = None
    sub.draft_ids.clear()
