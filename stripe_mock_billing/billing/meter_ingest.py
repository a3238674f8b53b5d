"""Meter event ingestion shared by v1 `meter_events`, v2 `meter_events` and the v2 stream.

Emulates meters.md §3-5: the synchronous checks (timestamp window: at most 35 days in the past
and 5 minutes in the future), the checks Stripe runs asynchronously (inactive meter, customer
mapping key, value key, whole-number value, customer exists) and the asynchronous error
reports, which Stripe delivers as thin events `v1.billing.meter.error_report_triggered` /
`v1.billing.meter.no_meter_found`: one report per request and meter, with `error_types`
grouped by code and up to 10 `sample_errors` each.

"Now" for an event (its default `timestamp` and the reference of the 35-day / 5-minute window)
is its customer's test clock time when the customer is on a test clock (`clock.customer_now`),
else the account's wall clock. `received_at` (for the 24 h identifier and cancel windows and the
summary lag) is always the account's wall clock: test clocks do not move those windows.

Choices (unverified against Stripe; README "Billing Meters"):
- values are whole-number strings (`-?[0-9]+`, int64), negatives allowed; anything else is
  `meter_event_invalid_value`;
- a `count` meter ignores the value key (it may be absent or not a number);
- an event that fails an asynchronous check is not stored and does not reserve its identifier;
- error messages of the asynchronous codes other than `meter_event_no_customer_defined` are ours.
LIMITATIONS: no concurrency 409 (requests of one account are serialized by the namespace lock);
no dimension-count checks.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import clock, ids
from ..domain.events import publish_thin
from ..domain.meters import Meter
from ..store import Namespace
from . import usage_watch
from .meter_billing import event_store

MAX_PAST = 35 * 86400
MAX_FUTURE = 5 * 60
INT64_MAX = 2**63 - 1
_WHOLE = re.compile(r"-?[0-9]{1,19}")
# ns.extensions key holding the error reports (thin events) of the account
REPORTS = "meter_error_reports"
MAX_SAMPLES = 10


@dataclass(slots=True)
class EventError:
    """One rejected event: Stripe's error-report `code`, message and the event's identifier."""

    code: str
    message: str
    identifier: str


def new_identifier() -> str:
    """An identifier for an event sent without one (Stripe generates a UUID-like string)."""
    return ids.uuid4_str()


def too_old_message(now: int) -> str:
    """Stripe's message for a timestamp more than 35 days in the past (meters.md §3)."""
    return (
        "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater "
        f"than or equal to {max(now - MAX_PAST, 0)}."
    )


def too_new_message(now: int) -> str:
    """Our mirror of that message for more than 5 minutes ahead (wording unverified)."""
    return (
        "The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp "
        f"less than or equal to {now + MAX_FUTURE}."
    )


def timestamp_problem(timestamp: int, now: int) -> tuple[str, str] | None:
    """(async code, message) when `timestamp` is outside [now - 35 days, now + 5 minutes];
    never before 1970 (a test clock within 35 days of the epoch admitted negative timestamps)."""
    if timestamp < now - MAX_PAST or timestamp < 0:
        return "timestamp_too_far_in_past", too_old_message(now)
    if timestamp > now + MAX_FUTURE:
        return "timestamp_in_future", too_new_message(now)
    return None


def event_now(ns: Namespace, meter: Meter | None, payload: dict[str, str]) -> int:
    """Now for an event: its customer's test clock time, else the account's wall clock."""
    if meter is None or not ns.test_clocks:
        return clock.wall_now(ns)
    return clock.customer_now(ns, payload.get(meter.customer_key))


def parse_value(raw: str) -> int | None:
    """The int of a whole-number string within int64, else None."""
    if not _WHOLE.fullmatch(raw):
        return None
    value = int(raw)
    return value if -INT64_MAX <= value <= INT64_MAX else None


def check_and_store(
    ns: Namespace,
    meter: Meter,
    payload: dict[str, str],
    identifier: str,
    timestamp: int,
    received_at: int,
) -> EventError | None:
    """Run Stripe's asynchronous checks and store the event; the error instead if one fails.

    Raises `meter_usage.DuplicateIdentifier` (nothing stored) for a reused identifier.
    """
    if meter.status != "active":
        return EventError(
            "archived_meter",
            f"Meter {meter.id} is inactive and does not accept new events.",
            identifier,
        )
    cid = payload.get(meter.customer_key)
    if cid is None:
        return EventError(
            "meter_event_no_customer_defined",
            f"Customer mapping key {meter.customer_key} not found in payload.",
            identifier,
        )
    value = 1
    if meter.formula != "count":
        raw = payload.get(meter.value_key)
        if raw is None:
            return EventError(
                "meter_event_value_not_found",
                f"Value settings key {meter.value_key} not found in payload.",
                identifier,
            )
        parsed = parse_value(raw)
        if parsed is None:
            return EventError(
                "meter_event_invalid_value",
                f"Value {raw!r} for key {meter.value_key} is not a whole number.",
                identifier,
            )
        value = parsed
    cust = ns.customers.get(cid)
    if cust is None or cust.deleted:
        return EventError(
            "meter_event_customer_not_found", f"No customer found with id {cid}.", identifier
        )
    event_store(ns).add(
        meter.id, cid, timestamp, value, identifier, received_at, meter.event_time_window
    )
    usage_watch.meter_usage(ns, meter, cid)  # alerts and billing thresholds
    return None


# --- RFC 3339 (v2) ---------------------------------------------------------------------------


def rfc3339(t: int | float) -> str:
    """Unix seconds as `2024-06-01T12:00:00.000Z`."""
    whole = int(t)
    millis = round((t - whole) * 1000) if isinstance(t, float) else 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def parse_rfc3339(text: str) -> int | None:
    """Unix seconds of an RFC 3339 timestamp with an offset or `Z`; None if malformed."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None or "T" not in text.upper():
        return None
    return calendar.timegm(dt.utctimetuple())


# --- asynchronous error reports (thin events) ------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ErrorReport:
    """A thin event reporting invalid meter events (meters.md §5)."""

    id: str
    type: str
    created: int
    meter: str | None
    errors: list[EventError] = field(default_factory=list)

    def related_object(self) -> dict[str, Any] | None:
        """`related_object` of the thin event: the meter, or None for `no_meter_found`."""
        if self.meter is None:
            return None
        return {
            "id": self.meter,
            "type": "billing.meter",
            "url": f"/v1/billing/meters/{self.meter}",
        }

    def data(self) -> dict[str, Any]:
        """The event's `data` (what `GET /v2/core/events/{id}` adds to the thin payload)."""
        by_code: dict[str, list[EventError]] = {}
        for err in self.errors:
            by_code.setdefault(err.code, []).append(err)
        n = len(self.errors)
        return {
            "developer_message_summary": f"There {'is' if n == 1 else 'are'} {n} invalid "
            f"event{'' if n == 1 else 's'}",
            "reason": {
                "error_count": n,
                "error_types": [
                    {
                        "code": code,
                        "error_count": len(errs),
                        "sample_errors": [
                            {"error_message": e.message, "request": {"identifier": e.identifier}}
                            for e in errs[:MAX_SAMPLES]
                        ],
                    }
                    for code, errs in by_code.items()
                ],
            },
            "validation_start": rfc3339(self.created),
            "validation_end": rfc3339(self.created + 10),
        }

    def render(self, ctx: Any = None) -> dict[str, Any]:
        """The full v2 thin event."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "v2.core.event",
            "type": self.type,
            "livemode": False,
            "created": rfc3339(self.created),
            "context": None,
            "reason": None,
            "data": self.data(),
        }
        related = self.related_object()
        if related is not None:
            body["related_object"] = related
        return body


def report(ns: Namespace, found: list[tuple[Meter | None, EventError]]) -> list[ErrorReport]:
    """Record the asynchronous errors of one request: one report per meter (or no meter)."""
    if not found:
        return []
    now = clock.wall_now(ns)
    grouped: dict[str | None, list[EventError]] = {}
    for meter, err in found:
        grouped.setdefault(meter.id if meter is not None else None, []).append(err)
    reports = [
        ErrorReport(
            id=ids.new_id("event"),
            type="v1.billing.meter.error_report_triggered"
            if mid is not None
            else "v1.billing.meter.no_meter_found",
            created=now,
            meter=mid,
            errors=errs,
        )
        for mid, errs in grouped.items()
    ]
    ns.extensions.setdefault(REPORTS, []).extend(reports)
    for rep in reports:
        publish_thin(ns, rep)
    return reports


def store_thin(ns: Namespace, event: Any) -> None:
    """Keep another thin event (a destination ping) with the error reports, for
    `GET /v2/core/events`, and hand it to delivery."""
    ns.extensions.setdefault(REPORTS, []).append(event)
    publish_thin(ns, event)


def error_reports(ns: Namespace) -> list[ErrorReport]:
    """The account's meter error reports, oldest first."""
    return list(ns.extensions.get(REPORTS) or ())
