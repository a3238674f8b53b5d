"""Legacy usage records: report usage per subscription item and list per-period summaries.

Emulated (shared/spec/usage-records-legacy.md §0, §3 to §6), up to `2025-02-24.acacia` only:
- `POST /v1/subscription_items/{subscription_item}/usage_records`: `quantity`, `timestamp`
  (int or `now`, default `now` = the customer's test clock time or the account's wall time),
  `action` (`increment` adds to the bucket at that exact timestamp, `set` overwrites it). Usage
  is stored column-wise per item in `ns.usage[item.id]` (billing/usage.py `ItemUsage`); the
  billing engine reads it back when it bills a period.
- `GET /v1/subscription_items/{subscription_item}/usage_record_summaries`: one summary per
  billing period, newest first, current (open) period first with `invoice: null`.
- From `2025-03-31.basil` on both answer 404 "Unrecognized request URL", as unknown routes do.

Emulator choices where Stripe's behaviour is unverified (also listed in README.md):
- basil-or-later -> 404 unrecognized URL (no public capture of the live answer).
- unknown item -> 404 `resource_missing` with param `subscription_item` (the path parameter's name,
  which Stripe also uses as `param` for the meter-backed error).
- licensed (non-metered) item -> the same "not on the legacy metered billing system" 400 as a
  meter-backed item (the observed template), param `subscription_item`.
- canceled / incomplete_expired subscription -> 400 "Cannot create a usage record for '<si>'
  because the subscription item is no longer active." (text from one public report of a live
  error; param `subscription_item` is our choice).
- negative quantity -> 400 `Invalid quantity: must be greater than or equal to 0`.
- timestamps up to `FUTURE_TOLERANCE_SECONDS` (5 min) after "now" are accepted (clock drift);
  later ones -> 400 "... must not be in the future."; at or after the period end -> 400 "... must
  be before the subscription's current period end time." (both texts unverified).
- clock-drift grace (`GRACE_SECONDS`, 5 min, Stripe says "a few minutes"): during the first 5
  minutes of a period, usage stamped in the last 5 minutes of the previous period is accepted for
  `aggregate_usage=sum` only. It keeps its own timestamp (so it lands on the previous period's
  invoice) while that invoice is still a draft, else it is stored at the current period start.
- the response's `quantity` is the value sent and `timestamp` the resolved timestamp (not the
  period start a grace record was moved to); every call gets a new `mbur_` id. Neither object
  has expandable fields (the official schema lists none), and `expand[]` is checked before the
  usage is stored.
- summaries: periods `[start, end)` (a record at `end` belongs to the next period), laid out from
  the subscription's current anchor back to the period holding the item's creation or first usage;
  `total_usage` follows the price's `aggregate_usage`; ids `sis_...` are derived from (item,
  period start), so they are stable across calls and pagination works.
LIMITATIONS: usage records themselves are not retrievable (Stripe has no such endpoint either);
periods before a `billing_cycle_anchor=now` reset are laid out with the new anchor.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import engine
from ..billing.periods import period_containing
from ..billing.usage import ItemUsage
from ..domain import versions
from ..domain.prices import Price
from ..domain.subscriptions import Subscription, SubscriptionItem, get_item
from ..domain.usage_records import UsageRecord, UsageRecordSummary
from ..errors import InvalidRequest, UnrecognizedURL
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Enum, Int, Timestamp
from ..wire.render import check_expand, render_list, render_one

usage_records = Blueprint("usage_records", __name__)

GRACE_SECONDS = 300
"""Clock-drift grace around a period start (unverified: Stripe only says "a few minutes")."""
FUTURE_TOLERANCE_SECONDS = 300
"""How far after "now" a timestamp may be (unverified; integrations add up to +5 minutes)."""

CREATE = {
    "quantity": Int(required=True, nullable=False, min=0),
    "timestamp": Timestamp(nullable=False),
    "action": Enum(values=("increment", "set"), nullable=False),
}
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})

PERIOD_START_ERROR = (
    "Cannot create the usage record with this timestamp because timestamps must be after the "
    "subscription's last invoice period (or current period start time)."
)
PERIOD_END_ERROR = (  # (unverified)
    "Cannot create the usage record with this timestamp because timestamps must be before the "
    "subscription's current period end time."
)
FUTURE_ERROR = (  # (unverified)
    "Cannot create the usage record with this timestamp because timestamps must not be in the "
    "future."
)


def _gate() -> None:
    """Usage records exist only up to acacia; later versions see an unknown route (unverified)."""
    if not versions.has_usage_records(p.api_version()):
        raise UnrecognizedURL(p.method(), p.path())


def _legacy_price(ns: Namespace, item: SubscriptionItem, verb: str, hint: str) -> Price:
    """The item's price if it is a legacy metered one (metered, no meter), else Stripe's 400."""
    price = ns.prices[item.price]
    rec = price.recurring
    if rec is None or rec.usage_type != "metered" or rec.meter is not None:
        raise InvalidRequest(
            f"Cannot {verb} for `{item.id}` because it is not on the legacy metered billing "
            f"system. Call {hint} instead.",
            param="subscription_item",
        )
    return price


def _aggregate(price: Price) -> str:
    rec = price.recurring
    return (rec.aggregate_usage if rec is not None else None) or "sum"


def item_start(sub: Subscription, item: SubscriptionItem) -> int:
    """When the item started billing: the subscription's (backdated) start for its first items."""
    return sub.start_date if item.created <= sub.created else item.created


def previous_period_start(sub: Subscription, period_start: int) -> int:
    """Start of the period that ends at `period_start` (clipped to the subscription's start)."""
    start, _ = period_containing(
        sub.billing_cycle_anchor, sub.interval, sub.interval_count, period_start - 1
    )
    return max(start, sub.start_date)


def _resolve_timestamp(
    ns: Namespace,
    sub: Subscription,
    item: SubscriptionItem,
    price: Price,
    timestamp: int,
    now: int,
) -> int:
    """Check `timestamp` against the current period (§4); return where the usage is stored."""
    start, end = sub.current_period_start, sub.current_period_end
    if timestamp >= end:
        raise InvalidRequest(PERIOD_END_ERROR, param="timestamp")
    if timestamp > now + FUTURE_TOLERANCE_SECONDS:
        raise InvalidRequest(FUTURE_ERROR, param="timestamp")
    if timestamp >= start:
        return timestamp
    in_grace = (
        _aggregate(price) == "sum"
        and start <= now < start + GRACE_SECONDS
        and timestamp >= start - GRACE_SECONDS
        and sub.start_date < start  # there is a previous period ...
        and item_start(sub, item) < start  # ... and the item was on it
    )
    if not in_grace:
        raise InvalidRequest(PERIOD_START_ERROR, param="timestamp")
    inv = engine.period_invoice(ns, sub, previous_period_start(sub, start), start)
    if inv is not None and inv.status == "draft":
        return timestamp  # billed on the previous period's draft invoice
    return start  # previous invoice already finalized: counted in the current period


@usage_records.post("/v1/subscription_items/<iid>/usage_records")
def create_usage_record(iid: str) -> Response:
    """Report usage for a legacy metered subscription item."""
    _gate()
    ns = p.ns()
    item = get_item(ns, iid, param="subscription_item")
    prm = p.params(CREATE)
    check_expand("usage_record", prm.get("expand") or [])  # before anything is written
    sub = ns.subscriptions[item.subscription]
    price = _legacy_price(ns, item, "create a usage record", "/v1/billing/meter_events")
    engine.sync_subscription(ns, sub)
    if item.deleted or sub.status in ENDED_STATUSES:
        raise InvalidRequest(
            f"Cannot create a usage record for '{item.id}' because the subscription item is no "
            "longer active.",
            param="subscription_item",
        )
    action = prm.get("action") or "increment"
    if action == "set" and (sub.amount_gte is not None or item.usage_gte is not None):
        raise InvalidRequest(  # (unverified text)
            "Only `action=increment` usage records are allowed on subscriptions with billing "
            "thresholds.",
            param="action",
        )
    now = clock.customer_now(ns, sub.customer)
    ts = prm.get("timestamp")
    timestamp = now if ts is None or ts == "now" else int(ts)
    stored_at = _resolve_timestamp(ns, sub, item, price, timestamp, now)
    usage = ns.usage.get(item.id)
    if usage is None:
        usage = ns.usage[item.id] = ItemUsage()
    usage.record(stored_at, prm["quantity"], action)
    engine.usage_recorded(ns, sub, item)
    record = UsageRecord(
        id=ids.new_id("usage_record"),
        subscription_item=item.id,
        quantity=prm["quantity"],
        timestamp=timestamp,
    )
    return render_one(record, p.ctx(), prm.get("expand"))


def summary_id(item_id: str, period_start: int) -> str:
    """A `sis_` id that is the same for the same (item, period) on every call."""
    digest = hashlib.blake2b(f"{item_id}:{period_start}".encode(), digest_size=24).digest()
    return "sis_" + "".join(ids.ALPHABET[b % 62] for b in digest)


def item_periods(ns: Namespace, sub: Subscription, item: SubscriptionItem) -> list[tuple[int, int]]:
    """The item's billing periods, newest (current) first, back to its creation or first usage."""
    usage: ItemUsage | None = ns.usage.get(item.id)
    first = item_start(sub, item)
    first_usage = usage.first_timestamp() if usage is not None else None
    if first_usage is not None:
        first = min(first, first_usage)
    first = max(first, sub.start_date)
    out = [(sub.current_period_start, sub.current_period_end)]
    end = sub.current_period_start
    while end > first:
        start = previous_period_start(sub, end)
        if start >= end:
            break
        out.append((start, end))
        end = start
    return out


@usage_records.get("/v1/subscription_items/<iid>/usage_record_summaries")
def list_usage_record_summaries(iid: str) -> Response:
    """Per-period usage totals of a legacy metered item, newest first."""
    _gate()
    ns = p.ns()
    item = get_item(ns, iid, param="subscription_item")
    prm = p.params(LIST_PARAMS)
    sub = ns.subscriptions[item.subscription]
    price = _legacy_price(
        ns, item, "list usage record summaries", "/v1/billing/meters/:id/event_summaries"
    )
    engine.sync_subscription(ns, sub)
    mode = _aggregate(price)
    is_open = sub.status not in ENDED_STATUSES
    usage = ns.usage.get(item.id)
    summaries = []
    for k, (start, end) in enumerate(item_periods(ns, sub, item)):
        invoice = None
        if not (is_open and k == 0):  # the current period has no invoice yet
            inv = engine.period_invoice(ns, sub, start, end)
            invoice = inv.id if inv is not None else None
        total = usage.quantity(mode, start, end) if usage is not None else 0
        summaries.append(
            UsageRecordSummary(
                id=summary_id(item.id, start),
                subscription_item=item.id,
                start=start,
                end=end,
                total_usage=total,
                invoice=invoice,
            )
        )
    return render_list(
        summaries,
        prm,
        p.ctx(),
        url=f"/v1/subscription_items/{iid}/usage_record_summaries",
        noun="usage record summary",
    )
