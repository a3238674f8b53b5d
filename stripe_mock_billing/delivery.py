"""Webhook delivery: which events go where, signing, the attempt log, retries, faults.

An edge module because it does network I/O (webhook_http.py) and runs threads: the billing
engine and the domain only append events to the account's outbox (domain/events.py `emit`);
the app drains it after each request's write, while the request still holds the account's lock,
and renders each event at every target's API version into the exact bytes to send. Sending
happens after the lock is released, so a receiver may call the API back.

Modes (account setting `webhook_delivery`):
- `synchronous` (default): every delivery of the request's events, in creation order, before
  the response is sent; one attempt each (no automatic retry: deterministic); failures are
  recorded and can be resent (`resend`).
- `background`: deliveries go to the account's queue, served by the account's own worker
  threads (so a hanging receiver never slows another account); failed attempts (non-2xx,
  connection error, timeout, malformed answer) are retried after `webhook_retry_schedule[i]`
  seconds; `pending_webhooks` counts down as endpoints answer 2xx.

Targets: the account's enabled webhook endpoints whose `enabled_events` select the event, and
the CLI's forwarding target (`--forward-to`, like `stripe listen`). Every attempt is recorded
(`Attempt`) and readable through the control API. Faults (control API) alter the next
deliveries: duplicate, reorder, delay, fail, drop.
LIMITATIONS: no automatic disabling of failing endpoints; https deliveries verify certificates
with the system store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import clock, ids
from .config import Settings
from .delivery_records import (
    FAULT_KINDS,
    Attempt,
    Delivery,
    FaultRule,
    Target,
    add_fault,
    attempt_log,
    clear_faults,
    faults,
    list_attempts,
    record,
    record_fault,
    take_fault,
)
from .domain.event_destinations import PING, thin_destinations_for
from .domain.event_types import matches
from .domain.events import OUTBOX, THIN_OUTBOX, Event
from .domain.webhook_endpoints import endpoints_for
from .store import Namespace, Store

if TYPE_CHECKING:
    from .delivery_queue import AccountQueue

# The sending side (delivery_queue, webhook_http, webhooks, wsgi_call) is imported on first use:
# most servers never deliver a webhook, and every server starts (bench/bench_foundation.py).

__all__ = ["FAULT_KINDS", "JOBS_KEY", "Dispatcher", "FaultRule"]

# Stripe's test-mode retries: "3 times over a few hours"; community reports ~1 min, 1 h, 4 h
# (unverified), webhook-delivery-and-dunning.md §1
STRIPE_RETRY_SCHEDULE = [60, 3600, 14400]
DELIVERY_MODES = ("synchronous", "background")
REORDER_HOLD = 1.0  # background: a held (reordered) delivery goes out at most this late
FORWARD_ID = "forward"
# WSGI environ key: a server that can hold a response back without blocking (loop_server.py)
# sets a list here; synchronous deliveries are appended to it as jobs to run off its loop
JOBS_KEY = "stripe_mock_billing.webhook_jobs"

# a WSGI app called in-process instead of an HTTP POST to its URL (the `stripe_webhooks` fixture
# in inprocess mode, `StripeMock.mount_webhook_app`): no socket, the same request otherwise
LocalReceiver = Callable[..., Any]


try:  # C, ~20x faster than the standard encoder's indented mode
    from orjson import OPT_INDENT_2
    from orjson import dumps as _orjson_dumps
except ImportError:  # pragma: no cover (a base dependency, absent only on exotic platforms)
    _orjson_dumps = None


def pretty_json(body: Any) -> bytes:
    """A delivery's body: `json.dumps(body, indent=2)` as UTF-8 (non-ASCII escaped).

    The standard encoder's indented mode is pure Python and leaves a reference cycle behind at
    every call (its nested encoding functions), garbage for the cycle collector. orjson writes
    the same bytes for what events hold, except characters past ASCII (escaped here, so those
    bodies, and what orjson refuses, go to the standard encoder) and the form of some floats'
    exponents (`1e-05` / `0.00001`: the same JSON number)."""
    if _orjson_dumps is not None:
        try:
            out: bytes = _orjson_dumps(body, option=OPT_INDENT_2)
        except TypeError:
            pass
        else:
            if out.isascii() and b"\x7f" not in out:
                return bytes(memoryview(out))  # orjson's buffer is larger (wire/render.dumps)
    return json.dumps(body, indent=2).encode("utf-8")


def _thin_body(ev: Any) -> bytes:
    """A thin notification as delivered: the v2 event without `data` (fetched separately)."""
    return pretty_json({k: v for k, v in ev.render().items() if k != "data"})


class Dispatcher:
    """Delivery for every account of one Store (one per app)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.queues: dict[str, AccountQueue] = {}
        self.local_receivers: dict[str, LocalReceiver] = {}
        settings = store.settings
        self.forward_secret = settings.webhook_secret or (
            "whsec_" + ids.random_tail(32) if settings.forward_to else None
        )

    @property
    def settings(self) -> Settings:
        """The instance's settings."""
        return self.store.settings

    # --- collecting (request thread, account lock held) ----------------------------------

    def collect(self, ns: Namespace) -> list[Delivery]:
        """Drain the account's outboxes into deliveries with their bodies rendered now."""
        if not ns.webhook_endpoints and not ns.event_destinations and not self._forwarding(ns):
            # nothing to deliver to (the common case of an API test): drop the events unread
            for key in (OUTBOX, THIN_OUTBOX):
                box = ns.extensions.get(key)
                if box:
                    box.clear()
            return []
        out = self._collect_snapshot(ns)
        thin: list[Any] | None = ns.extensions.get(THIN_OUTBOX)
        if thin:
            events = list(thin)
            thin.clear()
            for ev in events:
                body = _thin_body(ev)
                if ev.type == PING:  # a ping goes to the pinged destination only
                    ed = ns.event_destinations.get(ev.destination)
                    found = [ed] if ed is not None and ed.status == "enabled" else []
                else:
                    found = thin_destinations_for(ns, ev.type)
                for ed in found:
                    target = Target(id=ed.id, url=ed.url, secret=ed.secret, counts=False)
                    out.append(Delivery(ns=ns, event=ev, target=target, body=body))
        return out

    def _collect_snapshot(self, ns: Namespace) -> list[Delivery]:
        outbox: list[Event] | None = ns.extensions.get(OUTBOX)
        if not outbox:
            return []
        events = list(outbox)
        outbox.clear()
        forward = self._forward_target(ns)
        out: list[Delivery] = []
        for ev in events:
            targets = [
                Target(id=ep.id, url=ep.url, secret=ep.secret, version=ep.api_version)
                for ep in endpoints_for(ns, ev.type)
            ]
            if forward is not None and self._forwards(ev.type):
                targets.append(forward)
            bodies: dict[str | None, bytes] = {}
            for t in targets:
                body = bodies.get(t.version)
                if body is None:
                    body = pretty_json(ev.payload(ns, t.version))
                    bodies[t.version] = body
                out.append(Delivery(ns=ns, event=ev, target=t, body=body))
        return out

    def _forwarding(self, ns: Namespace) -> bool:
        """Whether the account's events are forwarded (`--forward-to`)."""
        st = self.settings
        if not st.forward_to or self.forward_secret is None:
            return False
        return not st.forward_key or st.forward_key == ns.api_key

    def _forward_target(self, ns: Namespace) -> Target | None:
        if not self._forwarding(ns):
            return None
        st = self.settings
        return Target(id=FORWARD_ID, url=st.forward_to, secret=self.forward_secret, counts=False)

    def _forwards(self, type_: str) -> bool:
        wanted = self.settings.forward_events or ["*"]
        return matches(list(wanted), type_)

    def dispatch(self, deliveries: list[Delivery]) -> Callable[[], None] | None:
        """Background deliveries are queued now; synchronous ones are returned as one job to
        run after the lock is released and before the response is sent."""
        if not deliveries:
            return None
        ns = deliveries[0].ns
        if ns.settings.webhook_delivery == "background":
            q = self._queue(ns)
            for d in deliveries:
                self._first_background(q, d)
            return None
        return lambda: self.run_sync(deliveries)

    # --- synchronous --------------------------------------------------------------------

    def run_sync(self, deliveries: list[Delivery]) -> None:
        """Deliver in order, one attempt each; reordered ones after the next to their target."""
        held: dict[str, Delivery] = {}
        for d in deliveries:
            kind, rule = self._take_fault(d)
            if kind == "reorder":
                if d.target.id in held:
                    self._send(held.pop(d.target.id))
                held[d.target.id] = d
                continue
            if kind == "delay" and rule is not None:
                clock.sleep(rule.delay_ms / 1000)
            if kind in ("drop", "fail"):
                self._record_fault(d, kind)
                continue
            self._send(d)
            if kind == "duplicate":
                self._send(d, fault="duplicate")
            late = held.pop(d.target.id, None)
            if late is not None:
                self._send(late, fault="reorder")
        for late in held.values():
            self._send(late, fault="reorder")

    # --- background ---------------------------------------------------------------------

    def _queue(self, ns: Namespace) -> AccountQueue:
        with self.lock:
            q = self.queues.get(ns.api_key)
            if q is None:
                from .delivery_queue import AccountQueue

                q = AccountQueue(self.attempt_background, ns.api_key)
                self.queues[ns.api_key] = q
            return q

    def _first_background(self, q: AccountQueue, d: Delivery) -> None:
        kind, rule = self._take_fault(d)
        if kind == "drop":
            self._record_fault(d, "drop")
            return
        if kind:
            d.faults.append(kind)
        delay = rule.delay_ms / 1000 if kind == "delay" and rule is not None else 0.0
        q.push(d, delay)
        if kind == "duplicate":
            dup = Delivery(ns=d.ns, event=d.event, target=d.target, body=d.body, faults=["dup"])
            q.push(dup)

    def attempt_background(self, q: AccountQueue, d: Delivery) -> None:
        """One attempt of a queued delivery, then its retry or its release."""
        if not self._still_wanted(d):
            return
        if "reorder" in d.faults:
            d.faults.remove("reorder")
            with q.cond:
                q.held[d.target.id] = d
            threading.Timer(REORDER_HOLD, self._release_held, (q, d)).start()
            return
        if "fail" in d.faults:
            d.faults.remove("fail")
            self._record_fault(d, "fail")
            ok = False
        else:
            fault = "duplicate" if "dup" in d.faults else None
            ok = self._send(d, fault=fault)
            if fault:
                return
        with q.cond:
            late = q.held.pop(d.target.id, None)
        if late is not None:
            self._send(late, fault="reorder")
        if ok:
            return
        schedule = d.ns.settings.webhook_retry_schedule
        if d.attempts <= len(schedule):
            q.push(d, float(schedule[d.attempts - 1]))

    def _release_held(self, q: AccountQueue, d: Delivery) -> None:
        with q.cond:
            if q.held.get(d.target.id) is not d:
                return
            del q.held[d.target.id]
            q.busy += 1
        try:
            if not self._send(d, fault="reorder"):
                schedule = d.ns.settings.webhook_retry_schedule
                if d.attempts <= len(schedule):
                    q.push(d, float(schedule[d.attempts - 1]))
        finally:
            with q.cond:
                q.busy -= 1
                q.cond.notify_all()

    def _still_wanted(self, d: Delivery) -> bool:
        """A retry stops when the account was reset or the endpoint deleted or disabled."""
        if self.store.peek(d.ns.api_key) is not d.ns:
            return False
        if d.target.id == FORWARD_ID:
            return True
        ep = d.ns.webhook_endpoints.get(d.target.id) or d.ns.event_destinations.get(d.target.id)
        return ep is not None and ep.status == "enabled"

    def wait_idle(self, ns: Namespace, timeout: float) -> bool:
        """Wait until the account's background queue is empty (True) or `timeout` passes."""
        with self.lock:
            q = self.queues.get(ns.api_key)
        return True if q is None else q.wait_idle(timeout)

    # --- one attempt --------------------------------------------------------------------

    def _send(self, d: Delivery, *, fault: str | None = None, manual: bool = False) -> bool:
        """POST the delivery once, record the attempt; True on a 2xx."""
        from . import webhook_http
        from .webhooks import sign_payload
        from .wsgi_call import call_wsgi

        if fault != "duplicate":
            d.attempts += 1
        t = clock.real_time()  # wall time, even for events created on a test clock
        sig = sign_payload(d.body, d.target.secret, t)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": sig,
        }
        timeout = max(d.ns.settings.webhook_timeout_ms, 1) / 1000
        start = clock.monotonic()
        local = self.local_receivers.get(d.target.url)
        if local is not None:
            try:
                status: int | None = call_wsgi(local, "POST", d.target.url, headers, d.body)[0]
                error = None
            except Exception as exc:  # the receiver's bug is a failed delivery, not ours
                status, error = None, f"receiver raised {exc.__class__.__name__}: {exc}"
        else:
            status, error = webhook_http.post(d.target.url, d.body, headers, timeout)
        took = (clock.monotonic() - start) * 1000
        ok = status is not None and 200 <= status < 300
        if error is None and not ok:
            error = f"HTTP {status}"
        self._record(
            d,
            Attempt(
                id="whatt_" + ids.random_tail(24),
                event=d.event.id,
                type=d.event.type,
                endpoint=d.target.id,
                url=d.target.url,
                attempt=d.attempts,
                status=status,
                error=None if ok else error,
                succeeded=ok,
                duration_ms=round(took, 3),
                signature=sig,
                created=t,
                fault=fault,
                manual=manual,
            ),
        )
        if ok and not d.done:
            d.done = True
            if d.target.counts:
                with self.lock:
                    d.event.pending_webhooks = max(d.event.pending_webhooks - 1, 0)
        return ok

    def _record_fault(self, d: Delivery, kind: str) -> None:
        record_fault(d, kind)

    def _record(self, d: Delivery, attempt: Attempt) -> None:
        record(d, attempt)

    def _take_fault(self, d: Delivery) -> tuple[str | None, FaultRule | None]:
        return take_fault(self.lock, d)

    # --- control API --------------------------------------------------------------------

    def attempts(
        self, ns: Namespace, event: str | None = None, endpoint: str | None = None
    ) -> list[Attempt]:
        """The account's attempts, oldest first."""
        return list_attempts(ns, event, endpoint)

    def resend(self, ns: Namespace, event: str, endpoint: str) -> Attempt | None:
        """Send an event to an endpoint again now (any mode); None if it was never delivered
        there."""
        log = attempt_log(ns)
        found = next(
            (d for a, d in reversed(log) if a.event == event and a.endpoint == endpoint), None
        )
        if found is None:
            return None
        self._send(found, manual=True)
        return self.attempts(ns, event, endpoint)[-1]

    def add_fault(self, ns: Namespace, rule: FaultRule) -> None:
        """Arm a delivery fault."""
        add_fault(self.lock, ns, rule)

    def faults(self, ns: Namespace) -> list[FaultRule]:
        """Armed delivery faults."""
        return faults(ns)

    def clear_faults(self, ns: Namespace) -> int:
        """Disarm every delivery fault."""
        return clear_faults(self.lock, ns)
