"""Benchmark: memory and query speed of the meter event store (billing/meter_usage.py).

Run from the repo root: `python bench/bench_meter_storage.py [--events N] [--strict]`.
Inserts N events (default 1,000,000, with identifiers, one raw `sum` meter, timestamps in
random order) three times: over 30 days spread over 1,000 customers, over 30 days on one
customer, and within one hour on one customer (a busy hour). Prints RSS delta per event
(target <= 150 bytes, identifier index included), insert time, the cold first summary after
the bulk load, then the first query right after each kind of write (an in-order event, an
out-of-order event, a cancel; over several rounds the median (target <= 5 ms), the worst, and
the worst in CPU time (target <= 5 ms; unlike the wall time, not inflated when the machine's
other load preempts the process), each round's query one of: sum by day, count by hour, `last`
and sum over a range whose bounds fall inside hours), and median query times of repeated
queries (target <= 5 ms). `--strict` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import record

BYTES_TARGET = 150.0
QUERY_TARGET_MS = 5.0
DAY0 = 1_700_006_400  # a UTC midnight
SPAN = 30 * 86400
METER = "mtr_bench"
ROUNDS = 21
_missed: list[str] = []
_run = ""  # which run the figures belong to (recorded with them, not printed)


def rss_bytes() -> int:
    """Resident set size from /proc/self/statm, after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def report(label: str, value: float, unit: str, target: float | None) -> None:
    verdict = ""
    if target is not None:
        verdict = f"(target <= {target:g} {unit}) {'OK' if value <= target else 'MISSED'}"
        if value > target:
            _missed.append(label)
    print(f"  {label:<52} {value:>10.3f} {unit:<10} {verdict}")
    record(
        f"{label}; {_run}",
        value,
        unit,
        None if target is None else f"<= {target:g} {unit}",
        None if target is None else value <= target,
    )


def median_ms(query: Callable[[], object], repeat: int = 201) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        query()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def run(title: str, events: int, customers: int, seed: int, span: int = SPAN) -> None:
    from stripe_mock_billing.billing.meter_usage import MeterEventStore

    global _run
    print(f"{title}: {events:,} events over {customers:,} customer(s)")
    _run = f"{events:,} events over {customers:,} customer(s)"
    if span != SPAN:
        _run += f", all in {span:,} s"
    rng = random.Random(seed)
    names = [f"cus_bench{n:06d}" for n in range(customers)]
    stamps = array("q", (DAY0 + rng.randrange(span) for _ in range(events)))
    owners = array("I", (rng.randrange(customers) for _ in range(events)))
    values = array("q", (rng.randrange(1, 100) for _ in range(events)))

    before = rss_bytes()
    store = MeterEventStore()
    start = time.perf_counter()
    for n in range(events):
        received = DAY0 + SPAN + n // 1000
        store.add(METER, names[owners[n]], stamps[n], values[n], f"evt_{seed}_{n:09d}", received)
    insert_s = time.perf_counter() - start
    after_insert = rss_bytes()
    report(
        "RSS delta after insert (incl. identifier index)",
        (after_insert - before) / events,
        "bytes/evt",
        BYTES_TARGET,
    )
    report("insert time", insert_s, "s", None)
    report("insert time per event", insert_s / events * 1e6, "us", None)

    counts: dict[int, int] = {}
    for owner in owners:
        counts[owner] = counts.get(owner, 0) + 1
    busiest_n = max(counts, key=counts.__getitem__)
    busiest = names[busiest_n]
    start = time.perf_counter()
    store.summaries(METER, busiest, "sum", DAY0, DAY0 + SPAN, "day")
    report(
        f"cold first summary after bulk load ({max(counts.values()):,} events)",
        (time.perf_counter() - start) * 1000,
        "ms",
        QUERY_TARGET_MS,
    )
    start = time.perf_counter()
    for name in names:
        store.aggregate(METER, name, "sum", DAY0, DAY0 + SPAN)
    report("first query of every customer", (time.perf_counter() - start) * 1000, "ms", None)
    report(
        "RSS delta after the first queries (incl. query structures)",
        (rss_bytes() - before) / events,
        "bytes/evt",
        BYTES_TARGET,
    )
    mine = array("I", (n for n in range(events) if owners[n] == busiest_n))
    first_queries_after_writes(
        span, store, busiest, mine, array("q", map(stamps.__getitem__, mine)), seed, events
    )

    queries: list[tuple[str, Callable[[], object]]] = [
        (
            "aggregate sum, 30 days",
            lambda: store.aggregate(METER, busiest, "sum", DAY0, DAY0 + SPAN),
        ),
        (
            "aggregate last, 30 days",
            lambda: store.aggregate(METER, busiest, "last", DAY0, DAY0 + SPAN),
        ),
        (
            "summaries sum, 30 days by day (30 windows)",
            lambda: store.summaries(METER, busiest, "sum", DAY0, DAY0 + SPAN, "day"),
        ),
        (
            "summaries count, 30 days by hour (720 windows)",
            lambda: store.summaries(METER, busiest, "count", DAY0, DAY0 + SPAN, "hour"),
        ),
    ]
    for label, query in queries:
        report(f"median {label}", median_ms(query), "ms", QUERY_TARGET_MS)


def first_queries_after_writes(
    span: int,
    store: Any,
    customer: str,
    rows: array[int],
    stamps: array[int],
    seed: int,
    events: int,
) -> None:
    """Time the first query right after a write, for each kind of write (worst of ROUNDS)."""
    rng = random.Random(seed + 1)
    received = DAY0 + SPAN + events // 1000
    newest = max(stamps)
    cancellable = rng.sample(rows, min(len(rows), ROUNDS))
    queries: list[Callable[[], object]] = [
        lambda: store.summaries(METER, customer, "sum", DAY0, DAY0 + SPAN, "day"),
        lambda: store.summaries(METER, customer, "count", DAY0, DAY0 + SPAN, "hour"),
        lambda: store.aggregate(METER, customer, "last", DAY0 + 1234, DAY0 + span - 777),
        lambda: store.aggregate(METER, customer, "sum", DAY0 + 1234, DAY0 + span - 777),
    ]
    extra = iter(range(10**9))

    def in_order() -> None:
        nonlocal newest
        newest += 1
        store.add(METER, customer, newest, 5, f"new_{seed}_{next(extra)}", received)

    def out_of_order() -> None:
        stamp = rng.randrange(DAY0, newest)
        store.add(METER, customer, stamp, 5, f"new_{seed}_{next(extra)}", received)

    def cancel() -> None:
        store.cancel(f"evt_{seed}_{cancellable.pop():09d}", received)

    writes = [("an in-order event", in_order), ("an out-of-order event", out_of_order)]
    if len(cancellable) == ROUNDS:
        writes.append(("a cancel", cancel))
    for label, write in writes:
        walls, cpus = [], []
        for n in range(ROUNDS):
            gc.collect()  # a pending collection of the bench's own lists is not the query's
            write()
            start, cpu = time.perf_counter(), time.process_time()
            queries[n % len(queries)]()
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - start) * 1000)
        report(
            f"first query after {label}, median of {ROUNDS}",
            statistics.median(walls),
            "ms",
            QUERY_TARGET_MS,
        )
        report(f"first query after {label}, worst of {ROUNDS}", max(walls), "ms", None)
        report(
            f"first query after {label}, worst of {ROUNDS}, CPU time",
            max(cpus),
            "ms",
            QUERY_TARGET_MS,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    total = time.perf_counter()
    run("spread", args.events, args.customers, seed=1)
    run("single customer", args.events, 1, seed=2)
    run("single customer, all in one hour", args.events, 1, seed=3, span=3600)
    print(
        f"total bench time {time.perf_counter() - total:.1f} s; "
        f"{'targets missed: ' + ', '.join(_missed) if _missed else 'all targets met'}"
    )
    return 1 if args.strict and _missed else 0


if __name__ == "__main__":
    sys.exit(main())
