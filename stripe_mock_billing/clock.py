"""The only module that reads the wall clock.

"Now" for an object is its customer's test clock `frozen_time` when the customer is on a clock,
else the account's wall clock: real time plus the account's `clock_offset` (to simulate drift
between the app and Stripe). In in-process mode a test that freezes time (freezegun,
time-machine) moves the emulator's wall clock with it, because `time.time` is read at call time;
test clocks stay independent of it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Namespace


def real_time() -> int:
    """Real Unix time in whole seconds."""
    return int(time.time())


def real_time_float() -> float:
    """Real Unix time with sub-second precision (rate limiting, idempotency expiry)."""
    return time.time()


def monotonic() -> float:
    """A monotonic clock for measuring durations."""
    return time.monotonic()


def wall_now(ns: Namespace) -> int:
    """The account's wall-clock time: real time plus its drift offset."""
    return int(time.time()) + ns.settings.clock_offset


def customer_now(ns: Namespace, customer_id: str | None) -> int:
    """Now for a customer: its test clock's frozen time, else the account's wall clock."""
    if customer_id:
        cust = ns.customers.get(customer_id)
        if cust is not None and cust.test_clock:
            clk = ns.test_clocks.get(cust.test_clock)
            if clk is not None:
                return clk.frozen_time
    return wall_now(ns)


def sleep(seconds: float) -> None:
    """Block for `seconds` (fault-injected latency)."""
    time.sleep(seconds)
