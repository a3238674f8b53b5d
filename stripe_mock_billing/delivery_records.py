"""Webhook delivery records: targets, deliveries, the attempt log and delivery faults.

Kept per account in `Namespace.extensions` under `_mock` keys (control-API bookkeeping, not
exported by snapshots). The attempt log keeps the newest MAX_ATTEMPTS_KEPT attempts, each with
its delivery (the exact bytes sent), so a failed delivery can be resent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from . import clock, ids
from .domain.events import Event
from .store import Namespace

# ns.extensions keys (control-API bookkeeping: `_mock` keys are not exported by snapshots)
ATTEMPTS = "_mock_webhook_attempts"
FAULTS = "_mock_webhook_faults"
MAX_ATTEMPTS_KEPT = 10_000
FAULT_KINDS = ("duplicate", "reorder", "delay", "fail", "drop")


@dataclass(slots=True, kw_only=True)
class Target:
    """Where a delivery goes: a webhook endpoint or the forwarding URL."""

    id: str
    url: str
    secret: str
    version: str | None = None
    counts: bool = True  # counts toward `pending_webhooks` (endpoints, not forwarding)


@dataclass(slots=True, kw_only=True)
class Delivery:
    """One event for one target, with the exact bytes to send."""

    ns: Namespace
    event: Event
    target: Target
    body: bytes
    attempts: int = 0
    done: bool = False
    faults: list[str] = field(default_factory=list)  # faults already applied to it


@dataclass(slots=True, kw_only=True)
class Attempt:
    """One POST (or a fault's stand-in for one), as the control API shows it."""

    id: str
    event: str
    type: str
    endpoint: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    succeeded: bool
    duration_ms: float
    signature: str | None
    created: int
    fault: str | None = None
    manual: bool = False

    def to_json(self) -> dict[str, Any]:
        """The control API's `_mock.webhook_attempt`."""
        return {"object": "_mock.webhook_attempt", **{k: getattr(self, k) for k in _FIELDS}}


_FIELDS = (
    "id",
    "event",
    "type",
    "endpoint",
    "url",
    "attempt",
    "status",
    "error",
    "succeeded",
    "duration_ms",
    "signature",
    "created",
    "fault",
    "manual",
)


@dataclass(slots=True, kw_only=True)
class FaultRule:
    """The next `times` deliveries (of `type` / to `endpoint` when given) get `kind`."""

    id: str
    kind: str
    times: int
    type: str | None = None
    endpoint: str | None = None
    delay_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        """The control API's `_mock.webhook_fault`."""
        return {
            "id": self.id,
            "object": "_mock.webhook_fault",
            "kind": self.kind,
            "times": self.times,
            "type": self.type,
            "endpoint": self.endpoint,
            "delay_ms": self.delay_ms,
        }


def record(d: Delivery, attempt: Attempt) -> None:
    """Keep an attempt (with its delivery, for resends) in the account's bounded log."""
    log: list[tuple[Attempt, Delivery]] = d.ns.extensions.setdefault(ATTEMPTS, [])
    log.append((attempt, d))
    if len(log) > MAX_ATTEMPTS_KEPT:
        del log[: len(log) - MAX_ATTEMPTS_KEPT]


def record_fault(d: Delivery, kind: str) -> None:
    """An attempt a fault stood in for (`fail`: a failed attempt; `drop`: never sent)."""
    d.attempts += 1
    record(
        d,
        Attempt(
            id="whatt_" + ids.random_tail(24),
            event=d.event.id,
            type=d.event.type,
            endpoint=d.target.id,
            url=d.target.url,
            attempt=d.attempts,
            status=None,
            error="dropped by an injected fault" if kind == "drop" else "injected failure",
            succeeded=False,
            duration_ms=0.0,
            signature=None,
            created=clock.real_time(),
            fault=kind,
        ),
    )


def attempt_log(ns: Namespace) -> list[tuple[Attempt, Delivery]]:
    """The account's (attempt, delivery) log, oldest first."""
    log: list[tuple[Attempt, Delivery]] = ns.extensions.get(ATTEMPTS, [])
    return list(log)


def list_attempts(ns: Namespace, event: str | None, endpoint: str | None) -> list[Attempt]:
    """The account's attempts, oldest first, filtered by event and endpoint."""
    return [
        a
        for a, _ in attempt_log(ns)
        if (event is None or a.event == event) and (endpoint is None or a.endpoint == endpoint)
    ]


def take_fault(lock: threading.Lock, d: Delivery) -> tuple[str | None, FaultRule | None]:
    """The fault the next matching rule gives this delivery (and count it down)."""
    rules: list[FaultRule] | None = d.ns.extensions.get(FAULTS)
    if not rules:
        return None, None
    with lock:
        for rule in rules:
            if rule.type is not None and rule.type != d.event.type:
                continue
            if rule.endpoint is not None and rule.endpoint != d.target.id:
                continue
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule.kind, rule
    return None, None


def add_fault(lock: threading.Lock, ns: Namespace, rule: FaultRule) -> None:
    """Arm a delivery fault."""
    with lock:
        ns.extensions.setdefault(FAULTS, []).append(rule)


def faults(ns: Namespace) -> list[FaultRule]:
    """Armed delivery faults, oldest first."""
    return list(ns.extensions.get(FAULTS, []))


def clear_faults(lock: threading.Lock, ns: Namespace) -> int:
    """Disarm every delivery fault; how many there were."""
    with lock:
        rules = ns.extensions.pop(FAULTS, [])
    return len(rules)
