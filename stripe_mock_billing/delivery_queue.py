"""Background webhook delivery of one account: a time-ordered heap and the account's own worker
threads (started on demand, at most WORKERS_PER_ACCOUNT, exiting when idle), so a receiver that
hangs only ever occupies its own account's workers.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from . import clock
from .delivery_records import Delivery

WORKERS_PER_ACCOUNT = 8
IDLE_EXIT = 2.0  # seconds a background worker waits for work before it exits

log = logging.getLogger("stripe_mock_billing")


class AccountQueue:
    """Background deliveries of one account: a time-ordered heap and the account's workers."""

    def __init__(self, run: Callable[[AccountQueue, Delivery], None], api_key: str) -> None:
        self.run = run
        self.api_key = api_key
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, Delivery]] = []
        self.seq = itertools.count()
        self.workers = 0
        self.idle = 0
        self.busy = 0
        self.held: dict[str, Delivery] = {}  # reordered deliveries, by target id

    def push(self, delivery: Delivery, delay: float = 0.0) -> None:
        with self.cond:
            heapq.heappush(self.heap, (clock.monotonic() + delay, next(self.seq), delivery))
            if self.idle > 0:
                self.cond.notify()
            elif self.workers < WORKERS_PER_ACCOUNT:
                self.workers += 1
                threading.Thread(
                    target=self._work, name=f"webhooks-{self.api_key[-6:]}", daemon=True
                ).start()

    def pending(self) -> int:
        with self.cond:
            return len(self.heap) + self.busy + len(self.held)

    def _work(self) -> None:
        while True:
            with self.cond:
                delivery = None
                while delivery is None:
                    now = clock.monotonic()
                    if self.heap and self.heap[0][0] <= now:
                        delivery = heapq.heappop(self.heap)[2]
                        break
                    wait = self.heap[0][0] - now if self.heap else IDLE_EXIT
                    self.idle += 1
                    notified = self.cond.wait(wait)
                    self.idle -= 1
                    if not notified and not self.heap:
                        self.workers -= 1
                        return
                self.busy += 1
            try:
                self.run(self, delivery)
            except Exception:  # never let a worker die on a bug: record nothing, go on
                log.exception("webhook delivery failed")
            finally:
                with self.cond:
                    self.busy -= 1
                    self.cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = clock.monotonic() + timeout
        with self.cond:
            while self.heap or self.busy or self.held:
                left = deadline - clock.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True
