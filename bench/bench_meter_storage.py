"""Benchmark: memory and query speed of the meter event store (billing/meter_usage.py).

Run from the repo root: `python bench/bench_meter_storage.py [--events N] [--strict]`.
Inserts N events (default 1,000,000, with identifiers, one raw `sum` meter, 30 days of
timestamps in random order) twice: spread over 1,000 customers, then all on one customer.
Prints RSS delta per event (target <= 150 bytes, identifier index included), insert time,
first-summary time (includes the lazy sort) and median query times (target <= 5 ms).
`--strict` exits 1 when a target is missed.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import record

BYTES_TARGET = 150.0
QUERY_TARGET_MS = 5.0
DAY0 = 1_700_006_400  # a UTC midnight
SPAN = 30 * 86400
METER = "mtr_bench"
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


def run(title: str, events: int, customers: int, seed: int) -> None:
    from stripe_mock_billing.billing.meter_usage import MeterEventStore

    global _run
    print(f"{title}: {events:,} events over {customers:,} customer(s)")
    _run = f"{events:,} events over {customers:,} customer(s)"
    rng = random.Random(seed)
    names = [f"cus_bench{n:06d}" for n in range(customers)]
    stamps = array("q", (DAY0 + rng.randrange(SPAN) for _ in range(events)))
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
    busiest = names[max(counts, key=counts.__getitem__)]
    start = time.perf_counter()
    store.summaries(METER, busiest, "sum", DAY0, DAY0 + SPAN, "day")
    report(
        f"first summary incl. lazy sort ({max(counts.values()):,} events)",
        (time.perf_counter() - start) * 1000,
        "ms",
        None,
    )
    start = time.perf_counter()
    for name in names:
        store.aggregate(METER, name, "sum", DAY0, DAY0 + SPAN)
    report("sorting every customer", (time.perf_counter() - start) * 1000, "ms", None)
    report(
        "RSS delta incl. sorted views + prefix sums",
        (rss_bytes() - before) / events,
        "bytes/evt",
        BYTES_TARGET,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    total = time.perf_counter()
    run("spread", args.events, args.customers, seed=1)
    run("single customer", args.events, 1, seed=2)
    print(
        f"total bench time {time.perf_counter() - total:.1f} s; "
        f"{'targets missed: ' + ', '.join(_missed) if _missed else 'all targets met'}"
    )
    return 1 if args.strict and _missed else 0


if __name__ == "__main__":
    sys.exit(main())
