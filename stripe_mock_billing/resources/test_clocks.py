"""Test clocks: `/v1/test_helpers/test_clocks` create, retrieve, list, delete, advance.

A clock is a frozen "now" for its customers and everything hanging off them. `advance` applies
every effect up to the new `frozen_time` before it answers, in time order across the clock's
subscriptions (period rollovers, cycle invoices, finalization after the grace, payments,
cancellations), and answers `status: ready` with the new time; events are stamped with the
simulated time at which each effect happened. With the account setting `async_clock_advance`
the answer is `status: advancing` (still showing the old `frozen_time`, as Stripe's example
does) and the clock turns `ready` on the next retrieve. Stripe's caps (3 customers per clock,
3 subscriptions per customer, at most two intervals of the shortest subscription per advance,
two years without subscriptions) apply only with `strict_clock_limits`; without them an advance
still crosses at most `max_advance_periods` (10,000) billing periods, summed over the clock's
subscriptions, so one request's work is bounded. An advance is all or nothing: a rejected or
failed one leaves the clock, its objects and events as they were (billing/clock_tx.py).
Deleting a clock deletes its customers, which cancels their subscriptions.
`customer` on create (newer API versions) attaches an existing customer for good: its
subscriptions and pending invoice items follow the clock from then on (accepted on every version).
LIMITATIONS: `deletes_after` is reported (created + 30 days) but clocks are never auto-deleted;
no `internal_failure`; texts of the advance errors are unverified guesses.
"""

from __future__ import annotations

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import clock_tx, engine
from ..billing.lifecycle import LIVE
from ..billing.periods import period_index
from ..domain.customers import get_customer
from ..domain.events import emit
from ..domain.test_clocks import TestClock, get_clock
from ..errors import InvalidRequest, invalid_value
from ..shapes import deleted_stub
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Str, Timestamp
from ..wire.render import json_response, render_list, render_one

test_clocks = Blueprint("test_clocks", __name__)


CREATE = {
    "frozen_time": Timestamp(required=True, nullable=False, allow_now=False),
    "name": Str(max_length=300),
    "customer": Str(),
}
ADVANCE = {"frozen_time": Timestamp(required=True, nullable=False, allow_now=False)}


def _settle(ns: Namespace, clk: TestClock) -> None:
    """An `advancing` clock (async mode) turns ready when it is looked at again."""
    if clk.status == "advancing":
        clk.status = "ready"
        clk.shown_time = None
        emit(ns, "test_helpers.test_clock.ready", clk, created=clk.frozen_time, automatic=True)


@test_clocks.post("/v1/test_helpers/test_clocks")
def create_test_clock() -> Response:
    """Create a clock frozen at `frozen_time`."""
    ns = p.ns()
    prm = p.params(CREATE)
    cust = None
    if prm.get("customer") is not None:
        cust = get_customer(ns, prm["customer"], param="customer", in_path=False)
        if cust.test_clock is not None:
            # (unverified text) "Once attached, customers can't be removed from a test clock"
            raise invalid_value(
                "customer", f"The customer {cust.id} is already attached to a test clock."
            )
        if prm["frozen_time"] < cust.created:
            # (unverified text) a clock before the customer existed would date its objects
            # (cancellations, invoices) before their own creation
            raise invalid_value(
                "frozen_time",
                f"The frozen_time must not be before the creation of customer {cust.id} "
                f"({cust.created}) to attach it to the test clock.",
            )
    clk = TestClock(
        id=ids.new_id("test_helpers.test_clock"),
        created=clock.wall_now(ns),
        frozen_time=prm["frozen_time"],
        name=prm.get("name"),
    )
    ns.test_clocks[clk.id] = clk
    emit(ns, "test_helpers.test_clock.created", clk, created=clk.frozen_time)
    if cust is not None:
        engine.attach_customer(ns, clk.id, cust)
    return render_one(clk, p.ctx(), prm.get("expand"))


@test_clocks.get("/v1/test_helpers/test_clocks/<cid>")
def retrieve_test_clock(cid: str) -> Response:
    """Retrieve a clock (an async advance completes here)."""
    ns = p.ns()
    prm = p.params({})
    clk = get_clock(ns, cid)
    _settle(ns, clk)
    return render_one(clk, p.ctx(), prm.get("expand"))


@test_clocks.get("/v1/test_helpers/test_clocks")
def list_test_clocks() -> Response:
    """List clocks, newest first."""
    ns = p.ns()
    prm = p.params(LIST_PARAMS)
    for clk in ns.test_clocks.values():
        _settle(ns, clk)
    objs = list(reversed(ns.test_clocks.values()))
    return render_list(objs, prm, p.ctx(), url="/v1/test_helpers/test_clocks", noun="billingclock")


@test_clocks.delete("/v1/test_helpers/test_clocks/<cid>")
def delete_test_clock(cid: str) -> Response:
    """Delete a clock with its customers (their subscriptions are canceled)."""
    ns = p.ns()
    p.params({})
    clk = get_clock(ns, cid)
    body = engine.snapshot(ns, clk)
    for cust_id in engine.state(ns).clock_customers.get(cid, []):
        cust = ns.customers.get(cust_id)
        if cust is not None and not cust.deleted:
            engine.customer_deleted(ns, cust)
            cust.deleted = True
    del ns.test_clocks[cid]
    emit(ns, "test_helpers.test_clock.deleted", body, created=clk.frozen_time)
    return json_response(deleted_stub(cid, "test_helpers.test_clock"))


def periods_crossed(ns: Namespace, clock_id: str, target: int, cap: int) -> int:
    """How many period boundaries an advance to `target` crosses, summed over the
    clock's live subscriptions (constant work per subscription; stops counting past `cap`)."""
    total = 0
    for sub in engine.clock_subscriptions(ns, clock_id):
        end = sub.current_period_end
        if sub.status not in LIVE or end > target:
            continue
        total += 1 + period_index(end, sub.interval, sub.interval_count, target)
        if total > cap:
            break
    return total


def _check_advance(ns: Namespace, clk: TestClock, target: int) -> None:
    if clk.status == "advancing":
        # (unverified text)
        raise InvalidRequest(
            f"The test clock {clk.id} is currently advancing. Wait until its status is `ready` "
            "before advancing it again."
        )
    if target <= clk.frozen_time:
        # (unverified text) rule: "Must be after the test clock's current frozen time"
        raise invalid_value(
            "frozen_time",
            "The frozen_time must be after the current frozen_time of the test clock.",
        )
    if ns.settings.strict_clock_limits and target > engine.clock_limit(ns, clk.id, clk.frozen_time):
        # (unverified text) rule from the OpenAPI description of `frozen_time`
        raise invalid_value(
            "frozen_time",
            "Cannot advance the test clock more than two intervals of the shortest subscription "
            "on it (two years when it has no subscriptions).",
        )
    cap = ns.settings.max_advance_periods
    crossed = periods_crossed(ns, clk.id, target, cap)
    if crossed > cap:
        # Stripe's shape for an advance too far (its own bound is two intervals); this bound
        # keeps one request's work finite (docs/reference/limits.md)
        raise invalid_value(
            "frozen_time",
            f"Cannot advance the test clock that far: it would cross more than {cap} billing "
            "periods of its subscriptions in one advance. Advance it in smaller steps (account "
            "setting `max_advance_periods`).",
        )


@test_clocks.post("/v1/test_helpers/test_clocks/<cid>/advance")
def advance_test_clock(cid: str) -> Response:
    """Advance a clock, applying every billing effect up to the new time before answering."""
    ns = p.ns()
    clk = get_clock(ns, cid)
    prm = p.params(ADVANCE)
    target = prm["frozen_time"]
    _check_advance(ns, clk, target)
    old = clk.frozen_time
    # an advance that fails half-way changes nothing (saving costs what the clock holds)
    customers = list(engine.state(ns).clock_customers.get(clk.id, []))
    subs = [s.id for s in engine.clock_subscriptions(ns, clk.id)]
    saved = clock_tx.save(ns, clk.id, customers, subs)
    try:
        clk.status, clk.shown_time = "advancing", old
        clk.frozen_time = target
        emit(ns, "test_helpers.test_clock.advancing", clk, created=old)
        engine.advance_clock(ns, clk.id, target)
    except Exception:
        clock_tx.undo(ns, saved)
        clk.status, clk.shown_time, clk.frozen_time = "ready", None, old
        raise
    if not ns.settings.async_clock_advance:
        _settle(ns, clk)
    return render_one(clk, p.ctx(), prm.get("expand"))


def sync_before_request() -> None:
    """Before-request hook: roll wall-clock subscriptions whose next action is due."""
    s = p.state()
    space = s.ns
    if space is not None and s.locked is not None:
        engine.sync(space, clock.wall_now(space))
