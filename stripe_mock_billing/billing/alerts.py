"""Usage alerts at work: evaluating `billing.alert`s as meter usage arrives.

Emulates billing-alerts.md §3: the value is the meter's formula over all of the customer's
accepted events (its lifetime, usage sent before the alert existed included); an active alert
fires `billing.alert.triggered` when the value reaches `gte`, once per customer for life
(`one_time`): later usage, cancellations that lower the value, deactivate / activate never make
it fire again for that customer. Inactive and archived alerts never fire.

Cost per meter event (`usage_arrived`, called once per stored event): one dict lookup when the
meter has no active alert; else the customer's next trigger value (cached per meter and
customer, rebuilt only after an alert changes or fires) against the lifetime aggregate (two
binary searches in the meter store), so 1,000 alerts do not make ingest scan them.
Evaluated when usage is stored (v1, v2, stream), after a cancellation, and for a test clock's
customers when the clock advances.
Choices (unverified): alerts work for customers on test clocks (Stripe's docs say alerts do not
support test clocks; here they are evaluated like any other customer); creating or activating an
alert does not evaluate it: the next usage (or clock advance) does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from .. import clock
from ..domain.alerts import Alert, AlertTriggered
from ..domain.events import emit
from .meter_billing import event_store

if TYPE_CHECKING:
    from ..domain.meters import Formula, Meter
    from ..store import Namespace

INDEX = "_mock_alert_index"  # a cache: `_mock` keys are not exported by snapshots
# moved by every alert change and firing; state (checkpoints restore it), so a rolled-back
# advance or an import is seen by the cache
GENERATION = "alerts_generation"
NONE_LEFT = 2**63
LIFETIME = (-(2**62), 2**62)


@dataclass(slots=True)
class _Index:
    """Active alert ids by meter (unfiltered, and by filtered customer) and the next trigger
    value per (meter, customer). Ids, not objects: a rollback may put copies in the table."""

    table: object
    size: int
    generation: int
    by_meter: dict[str, tuple[list[str], dict[str, list[str]]]] = field(default_factory=dict)
    next_gte: dict[tuple[str, str], int] = field(default_factory=dict)


def changed(ns: Namespace) -> None:
    """An alert was created, changed status or fired: rebuild the index on next use."""
    ns.extensions[GENERATION] = int(ns.extensions.get(GENERATION, 0)) + 1


def _index(ns: Namespace) -> _Index:
    idx = ns.extensions.get(INDEX)
    gen = int(ns.extensions.get(GENERATION, 0))
    if (
        isinstance(idx, _Index)
        and idx.table is ns.alerts
        and idx.size == len(ns.alerts)
        and idx.generation == gen
    ):
        return idx
    idx = _Index(table=ns.alerts, size=len(ns.alerts), generation=gen)
    for alert in ns.alerts.values():
        if alert.status != "active":
            continue
        unfiltered, filtered = idx.by_meter.setdefault(alert.meter, ([], {}))
        if alert.customer is None:
            unfiltered.append(alert.id)
        else:
            filtered.setdefault(alert.customer, []).append(alert.id)
    ns.extensions[INDEX] = idx
    return idx


def _applicable(ns: Namespace, idx: _Index, meter_id: str, customer: str) -> list[Alert]:
    entry = idx.by_meter.get(meter_id)
    if entry is None:
        return []
    return [ns.alerts[a] for a in (*entry[0], *entry[1].get(customer, ()))]


def _next_gte(ns: Namespace, idx: _Index, meter_id: str, customer: str) -> int:
    key = (meter_id, customer)
    nxt = idx.next_gte.get(key)
    if nxt is None:
        alerts = _applicable(ns, idx, meter_id, customer)
        pending = [a.gte for a in alerts if customer not in a.fired]
        nxt = idx.next_gte[key] = min(pending, default=NONE_LEFT)
    return nxt


def lifetime_value(ns: Namespace, meter: Meter, customer: str) -> int | float:
    """The meter's formula over all of the customer's accepted events."""
    formula = cast("Formula", meter.formula)
    return event_store(ns).aggregate(meter.id, customer, formula, *LIFETIME)


def usage_arrived(ns: Namespace, meter: Meter, customer: str) -> None:
    """Usage of `customer` on `meter` changed: fire the alerts it reaches."""
    if not ns.alerts:
        return  # an account without alerts (every meter event checks): no index to look at
    idx = _index(ns)
    if meter.id not in idx.by_meter:
        return
    nxt = _next_gte(ns, idx, meter.id, customer)
    if nxt == NONE_LEFT:
        return
    value = lifetime_value(ns, meter, customer)
    if value < nxt:
        return
    now = clock.customer_now(ns, customer)
    hit = [
        a
        for a in _applicable(ns, idx, meter.id, customer)
        if customer not in a.fired and value >= a.gte
    ]
    hit.sort(key=lambda a: a.gte)
    for alert in hit:
        alert.fired[customer] = int(value)
        trig = AlertTriggered(alert=alert, customer=customer, value=int(value), created=now)
        emit(ns, "billing.alert.triggered", trig, created=now, automatic=True)
    changed(ns)


def clock_advanced(ns: Namespace, customers: list[str]) -> None:
    """A test clock moved: evaluate its customers' alerts."""
    idx = _index(ns)
    for mid in list(idx.by_meter):
        meter = ns.meters.get(mid)
        if meter is None:
            continue
        for cid in customers:
            usage_arrived(ns, meter, cid)


def fired(ns: Namespace, customer: str | None = None) -> list[tuple[str, str, int]]:
    """(alert id, customer, value) of every firing, optionally for one customer."""
    return [
        (a.id, cid, value)
        for a in ns.alerts.values()
        for cid, value in a.fired.items()
        if customer is None or cid == customer
    ]
