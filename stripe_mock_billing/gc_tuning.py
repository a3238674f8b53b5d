"""The CLI server's garbage collection (issue 16): short pauses, full collections when idle.

CPython's cycle collector stops the process while it scans a generation, and its oldest
generation ends up holding everything that lived a while: in this server, the whole store (every
customer, meter event, invoice is a tracked object). Under a steady load the full collections of
a growing store took longer each time (bench/bench_gc.py). Nothing in the store needs the cycle
collector, though: its objects form no reference cycles, so reference counting frees them the
moment an account is reset or evicted. What requests leave behind in cycles is little (a
closure of werkzeug's URL matcher per routed request, a connection's objects when it closes).

So the CLI server (`install`):

1. freezes the heap start-up built (modules, the app, its schemas; `gc.freeze()`), so that no
   collection scans it again;
2. collects the youngest generation every `YOUNG_THRESHOLD` allocations and, after every
   automatic collection, freezes the survivors too: each object is scanned once, while young,
   and no automatic collection ever scans more than the young generation, however large the
   store grows;
3. runs a full collection (unfreeze, collect, freeze) on a daemon thread once the process has
   been idle for `IDLE_SECONDS` (under `IDLE_CPU` of one core), if the young collections since
   the last one could have frozen a quarter of the heap (`IDLE_GROWTH`): it reclaims the cycles
   that were still in use when a young collection froze them (a request's own cycles, caught
   mid-request). Under a load without idle moments they wait, and their memory with them.

The pytest plugin, in-process mode and `ThreadedServer` leave the collector alone: their process
is the user's test process, and so are its collector settings.

`STRIPE_MOCK_BILLING_GC_LOG=PATH` appends a line per collection to PATH: `GEN MS CPU_MS` for
an automatic one (its pause, wall-clock, and the collecting thread's CPU time), `idle MS
COLLECTED FROZEN` for an idle-time full one, and `frozen N` once at start (bench/bench_gc.py
reads it).
"""

from __future__ import annotations

import gc
import threading
import time
from typing import IO, Any

# allocations between young collections (CPython's default is 700): fewer collections, each
# one scanning at most this many objects
YOUNG_THRESHOLD = 10_000
IDLE_SECONDS = 1.0
IDLE_CPU = 0.02  # fraction of one core over IDLE_SECONDS below which the process is idle
# an idle full collection waits until the young collections since the last one could have
# frozen this fraction of the heap it left (YOUNG_THRESHOLD allocations each, at most): its
# cost, a scan of the whole heap, stays in proportion to the work since (CPython's own rule
# for its full collections is the same, with 25%)
IDLE_GROWTH = 0.25


class Collector:
    """The collector scheme of one CLI server process (module docstring)."""

    def __init__(self, log: IO[str] | None = None) -> None:
        self.log = log
        self.pending = 0  # automatic collections since the last full one
        self.heap = 0  # objects frozen after the last full collection
        self.full_collections = 0
        self._in_full = False
        self._started = 0.0
        self._started_cpu = 0.0

    def install(self) -> None:
        """Freeze the start-up heap, hook the collections, start the idle watcher."""
        # no collection first: start-up's little cyclic garbage goes at the first idle one
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, 10, 10)
        gc.callbacks.append(self._callback)
        gc.enable()  # the CLI turns it off during start-up
        # self.heap stays 0: the first idle moment after a young collection runs a full one,
        # which also takes start-up's garbage and measures the heap
        if self.log is not None:
            self.log.write(f"frozen {gc.get_freeze_count()}\n")
        threading.Thread(target=self._watch, name="stripe-mock-billing-gc", daemon=True).start()

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if self._in_full:
            return
        if phase == "start":
            self._started = time.perf_counter()
            self._started_cpu = time.thread_time()
            return
        gc.freeze()  # the survivors join the frozen heap: no later collection scans them
        self.pending += 1
        if self.log is not None:
            ms = (time.perf_counter() - self._started) * 1000
            cpu_ms = (time.thread_time() - self._started_cpu) * 1000
            self.log.write(f"{info['generation']} {ms:.3f} {cpu_ms:.3f}\n")

    def collect_now(self) -> int:
        """A full collection of the whole heap, frozen part included; refreezes the survivors."""
        self._in_full = True
        try:
            started = time.perf_counter()
            gc.unfreeze()
            collected = gc.collect()
            gc.freeze()
            ms = (time.perf_counter() - started) * 1000
        finally:
            self._in_full = False
        self.pending = 0
        self.heap = gc.get_freeze_count()  # a walk of the frozen list: idle time too
        self.full_collections += 1
        if self.log is not None:
            self.log.write(f"idle {ms:.3f} {collected} {self.heap}\n")
        return collected

    def due(self) -> bool:
        """Whether enough young collections ran since the last full one (IDLE_GROWTH)."""
        return self.pending * YOUNG_THRESHOLD >= IDLE_GROWTH * self.heap

    def _watch(self) -> None:
        cpu = time.process_time()
        while True:
            time.sleep(IDLE_SECONDS)
            now = time.process_time()
            idle = now - cpu < IDLE_CPU * IDLE_SECONDS
            cpu = now
            if idle and self.pending and self.due():
                self.collect_now()
                cpu = time.process_time()


def install(log_path: str | None = None) -> Collector:
    """Apply the scheme to this process (the CLI server's, after start-up)."""
    log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115 - process lifetime
    collector = Collector(log)
    collector.install()
    return collector
