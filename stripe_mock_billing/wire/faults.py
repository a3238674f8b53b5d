"""Fault injection of the control API (`/_mock/faults`): make the next N matching requests fail.

A rule matches a method (or `*`) and a path (exact, or a glob where `*` also spans `/`) and
fires for the next `times` matching requests of the account, oldest rule first, one rule per
request. Kinds, with Stripe's statuses, bodies and headers (wire-format.md §5.2, §7, §11):

- `rate_limit`: 429 `rate_limit` + `Stripe-Rate-Limited-Reason` (errors.RateLimited); no
  `Stripe-Should-Retry` by default, so stripe-python does not retry it (a 429 is retried only
  when the header says so).
- `lock_timeout`: 429 `lock_timeout` with `Stripe-Should-Retry: true` (SDKs retry lock timeouts).
  Stripe's SDKs retry lock timeouts but not real rate limits ("retrying would just cause even
  more requests": stripe/stripe-dotnet#1886, stripe/stripe-go#935); stripe-python decides from
  the header, so the header carries that difference here.
- `api_error`: 500 (or 502/503/504) `api_error` with `Stripe-Should-Retry: true`.
- `idempotency_key_in_use`: 409 `idempotency_key_in_use` (SDKs retry a 409).
- `latency`: waits `latency_ms`, then the request executes normally. Under the CLI's event-loop
  server (loop_server.py) the request executes at once and its response is held back instead,
  so other connections are not blocked.

An error fault answers before idempotency and before the endpoint runs: nothing changes and the
idempotency key is not stored, so the SDK's retry with the same key executes for real. (Real
Stripe may store a 500 under the key; the emulator models the failure as happening in front of
the API, the case retries are for.) `should_retry` overrides the header per rule.

LIMITATIONS: no dropped connections or timeouts (use `latency` with a client timeout).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import (
    ApiError,
    IdempotencyKeyInUse,
    LockTimeout,
    RateLimited,
    StripeError,
    invalid_value,
    missing_param,
    unknown_params,
)
from ..ids import random_tail
from ..limits import parse_int
from ..store import Namespace
from .journal import path_matches

# environ key of a server that can hold a response back instead of sleeping (loop_server.py)
DEFER_KEY = "stripe_mock_billing.defer_response"

KINDS = ("rate_limit", "lock_timeout", "api_error", "idempotency_key_in_use", "latency")
RATE_LIMIT_REASONS = (
    "global-rate",
    "endpoint-rate",
    "global-concurrency",
    "endpoint-concurrency",
    "resource-specific",
)
API_ERROR_STATUSES = (500, 502, 503, 504)
MAX_TIMES = 100_000
MAX_LATENCY_MS = 60_000
MAX_RULES = 1000
_LOCK = threading.Lock()


@dataclass(slots=True, kw_only=True)
class Fault:
    """One injection rule of an account."""

    id: str
    kind: str
    method: str = "*"
    path: str = "*"
    remaining: int = 1
    latency_ms: int = 0
    status: int = 500
    reason: str = "global-rate"
    should_retry: bool | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        return self.remaining > 0 and self.method in ("*", method) and path_matches(self.path, path)

    def error(self, idempotency_key: str = "") -> StripeError:
        """The error this rule answers with (not for `latency`)."""
        err: StripeError
        if self.kind == "rate_limit":
            err = RateLimited(self.reason)
        elif self.kind == "lock_timeout":
            err = LockTimeout()
            err.should_retry = True
        elif self.kind == "idempotency_key_in_use":
            err = IdempotencyKeyInUse(idempotency_key)
        else:
            err = ApiError()
            err.status = self.status
            err.should_retry = True
        if self.should_retry is not None:
            err.should_retry = self.should_retry
        err.store_idempotent = False
        return err

    def to_json(self) -> dict[str, Any]:
        """Wire shape (`object: "_mock.fault"`)."""
        return {
            "id": self.id,
            "object": "_mock.fault",
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "remaining": self.remaining,
            "fired": self.fired,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "reason": self.reason,
            "should_retry": self.should_retry,
        }


def _int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name, default)
    if isinstance(value, str):
        parsed = parse_int(value.strip())
        value = parsed if parsed is not None else value[:100]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_value(name, f"Invalid integer: {value}", "parameter_invalid_integer")
    if not lo <= value <= hi:
        raise invalid_value(name, f"Invalid {name}: must be between {lo} and {hi}.")
    return value


def _choice(body: dict[str, Any], name: str, default: Any, allowed: tuple[Any, ...]) -> Any:
    value = body.get(name, default)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise invalid_value(name, f"Invalid {name}: must be one of {shown}")
    return value


def parse_rule(body: dict[str, Any]) -> Fault:
    """A rule from a control-API body, or Stripe-style 400s (nothing is stored on error)."""
    known = {"kind", "method", "path", "times", "latency_ms", "status", "reason", "should_retry"}
    unknown = sorted(k for k in body if k not in known)
    if unknown:
        raise unknown_params(unknown)
    if "kind" not in body:
        raise missing_param("kind")
    kind = _choice(body, "kind", None, KINDS)
    method = body.get("method", "*")
    if not isinstance(method, str) or not method.strip():
        raise invalid_value("method", "Invalid method: must be an HTTP method or *")
    path = body.get("path", "*")
    if not isinstance(path, str) or not path or not (path.startswith("/") or path[0] in "*?["):
        raise invalid_value("path", "Invalid path: must start with / (globs * ? [] allowed)")
    should_retry = body.get("should_retry")
    if isinstance(should_retry, str) and should_retry in ("true", "false"):
        should_retry = should_retry == "true"
    if should_retry is not None and not isinstance(should_retry, bool):
        raise invalid_value("should_retry", f"Invalid boolean: {should_retry}")
    return Fault(
        id="mockfault_" + random_tail(14),
        kind=kind,
        method=method.strip().upper(),
        path=path,
        remaining=_int(body, "times", 1, 1, MAX_TIMES),
        latency_ms=_int(body, "latency_ms", 1000 if kind == "latency" else 0, 0, MAX_LATENCY_MS),
        status=_choice(body, "status", 500, API_ERROR_STATUSES),
        reason=_choice(body, "reason", "global-rate", RATE_LIMIT_REASONS),
        should_retry=should_retry,
    )


def add(space: Namespace, rule: Fault) -> None:
    """Arm a rule on the account."""
    with _LOCK:
        if len(space.faults) >= MAX_RULES:
            raise invalid_value("kind", f"Too many fault rules: at most {MAX_RULES} per account.")
        space.faults.append(rule)


def active(space: Namespace) -> list[Fault]:
    """Rules that have not fired all their times yet, oldest first."""
    with _LOCK:
        return [f for f in space.faults if f.remaining > 0]


def remove(space: Namespace, fault_id: str | None = None) -> int:
    """Disarm one rule (or all); the number removed."""
    with _LOCK:
        before = len(space.faults)
        space.faults[:] = [f for f in space.faults if fault_id is not None and f.id != fault_id]
        return before - len(space.faults)


def take(space: Namespace, method: str, path: str) -> Fault | None:
    """Consume one firing of the first matching rule."""
    with _LOCK:
        rule: Fault
        for rule in space.faults:
            if rule.matches(method, path):
                rule.remaining -= 1
                rule.fired += 1
                if rule.remaining <= 0:
                    space.faults.remove(rule)
                return rule
    return None


def inject(s: Any, space: Namespace | None) -> None:
    """Pipeline hook (before idempotency and the endpoint): apply a matching rule, if any.

    `s` is the request's `state.State` (method, path, environ; `fault` is set here)."""
    if space is None or not space.faults:
        return
    rule = take(space, s.method, s.path)
    if rule is None:
        return
    s.fault = rule.kind
    if rule.kind == "latency":
        deferred = s.environ.get(DEFER_KEY)
        if deferred is not None:  # the event-loop server holds the response back instead
            deferred.append(rule.latency_ms / 1000)
        else:
            clock.sleep(rule.latency_ms / 1000)
        return
    raise rule.error(s.environ.get("HTTP_IDEMPOTENCY_KEY") or "")
