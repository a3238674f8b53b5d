"""What watches meter usage as it arrives: usage alerts and billing thresholds.

`meter_usage` runs once per stored meter event (v1, v2, the stream) and after each cancellation
(meter event adjustment): the customer's alerts on that meter (alerts.py) and the billing
thresholds of its subscriptions that bill that meter (thresholds.py: `amount_gte`,
`usage_gte`). Its cost does not grow with the period's events: the alert check is a cached
comparison, a threshold check reads each metered item's un-invoiced usage with binary searches
in the meter store. `clock_advanced` runs after a test clock advance: expiries of billing
credits, thresholds of the clock's subscriptions (usage stamped ahead of the old clock time now
counts), and alerts of its customers.
LIMITATIONS: wall-clock subscriptions are not re-evaluated as real time passes (only when usage
arrives); a cancellation never takes back a threshold invoice already issued.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import clock
from . import alerts, credits, thresholds
from .state import state

if TYPE_CHECKING:
    from ..domain.meters import Meter
    from ..domain.subscriptions import Subscription
    from ..store import Namespace


def _watched(ns: Namespace, sub: Subscription, meter_id: str | None) -> bool:
    """Whether `sub` has a threshold and (when given) an item billing `meter_id`."""
    items = sub.items(ns)
    if sub.amount_gte is None and all(it.usage_gte is None for it in items):
        return False
    if meter_id is None:
        return True
    for it in items:
        rec = ns.prices[it.price].recurring
        if rec is not None and rec.meter == meter_id:
            return True
    return False


def meter_usage(ns: Namespace, meter: Meter, customer: str) -> None:
    """A customer's usage on `meter` changed: alerts, then billing thresholds."""
    alerts.usage_arrived(ns, meter, customer)
    sub_ids = state(ns).customer_subs.get(customer)
    if not sub_ids:
        return
    now = -1
    for sid in sub_ids:
        sub = ns.subscriptions[sid]
        if sub.status in ("active", "past_due") and _watched(ns, sub, meter.id):
            if now < 0:
                now = clock.customer_now(ns, customer)
            thresholds.evaluate(ns, sub, now)


def clock_advanced(
    ns: Namespace, customers: list[str], subs: list[Subscription], until: int
) -> None:
    """After a test clock advance to `until`."""
    credits.clock_advanced(ns, customers, until)
    for sub in subs:
        if sub.status in ("active", "past_due") and _watched(ns, sub, None):
            thresholds.evaluate(ns, sub, until)
    alerts.clock_advanced(ns, customers)
