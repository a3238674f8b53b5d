"""EMULATOR-ONLY scenarios: they use the emulator's `/_mock` controls (per-account settings,
fault injection) and are skipped against any other target, real Stripe included."""

from __future__ import annotations

import uuid

from ..harness import T, scenario
from .billing import clock_start
from .common import DAY, clock, customer
from .meters import HOUR, event, new_meter, summary


@scenario(
    "emulator.async_clock_advance",
    "advance answers `advancing` (as Stripe does) and turns `ready` when polled",
    area="emulator",
    emulator_only=True,
)
def emulator_async_advance(t: T) -> None:
    t.mock("POST", "/_mock/settings", {"async_clock_advance": True})
    t0 = clock_start(t)
    clk = clock(t, t0)
    started = t.call("test_clocks.advance", clk["id"], params={"frozen_time": t0 + DAY})
    t.eq(started["status"], "advancing", "advance answers status advancing")
    t.eq(started["frozen_time"], t0, "frozen_time still shows the old time while advancing")
    t.eq(
        started["status_details"],
        {"advancing": {"target_frozen_time": t0 + DAY}},
        "status_details.advancing.target_frozen_time",
    )
    t.fails(
        "test_clocks.advance",
        clk["id"],
        params={"frozen_time": t0 + 2 * DAY},
        status=400,
        type="invalid_request_error",
    )
    polled = t.call("test_clocks.retrieve", clk["id"])
    t.eq([polled["status"], polled["frozen_time"]], ["ready", t0 + DAY], "ready when polled")
    ready = t.advance_clock(clk["id"], t0 + 2 * DAY)
    t.eq([ready["status"], ready["frozen_time"]], ["ready", t0 + 2 * DAY], "ready after polling")


@scenario(
    "emulator.faults",
    "injected 500 / 429 / 409 reach the SDK as APIError / RateLimitError / 409 errors",
    area="emulator",
    emulator_only=True,
)
def emulator_fault(t: T) -> None:
    t.mock(
        "POST",
        "/_mock/faults",
        {"kind": "api_error", "method": "GET", "path": "/v1/customers", "times": 1},
    )
    t.fails("customers.list", status=500, cls="APIError", type="api_error")
    t.eq(t.header("Stripe-Should-Retry"), "true", "Stripe-Should-Retry: true on a 500")
    t.check((t.header("Request-Id") or "").startswith("req_"), "Request-Id on errors too")
    t.call("customers.list", params={"limit": 1})
    t.mock(
        "POST",
        "/_mock/faults",
        {"kind": "rate_limit", "method": "POST", "path": "/v1/customers", "times": 1},
    )
    t.fails("customers.create", params={}, status=429, cls="RateLimitError", code="rate_limit")
    t.check(bool(t.header("Stripe-Rate-Limited-Reason")), "Stripe-Rate-Limited-Reason header")
    t.mock(
        "POST",
        "/_mock/faults",
        {"kind": "idempotency_key_in_use", "method": "POST", "path": "/v1/customers", "times": 1},
    )
    key = f"conformance-{uuid.uuid4()}"
    t.fails(
        "customers.create",
        params={},
        idempotency_key=key,
        status=409,
        code="idempotency_key_in_use",
        message="There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{key}. Please try again later.",
    )
    created = t.call("customers.create", params={}, idempotency_key=key)
    t.check(created["id"].startswith("cus_"), "the same key executes once the fault is gone")


@scenario(
    "emulator.summary_lag",
    "summary_lag delays meter events in summaries (Stripe aggregates asynchronously)",
    area="emulator",
    emulator_only=True,
)
def emulator_summary_lag(t: T) -> None:
    meter = new_meter(t)
    cus = customer(t)["id"]
    now = t.wall_now()
    base = now - now % HOUR - HOUR
    t.mock("POST", "/_mock/settings", {"summary_lag": 3600})
    event(t, meter, cus, 5, base + 60, f"lag-{uuid.uuid4().hex}")
    lagging = summary(t, meter["id"], cus, base, base + HOUR)
    t.eq(lagging[0]["aggregated_value"], 0, "not visible yet")
    t.mock("POST", "/_mock/settings", {"summary_lag": 0})
    caught_up = summary(t, meter["id"], cus, base, base + HOUR)
    t.eq(caught_up[0]["aggregated_value"], 5, "visible once the lag is gone")
