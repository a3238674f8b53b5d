"""Benchmark: legacy usage-record ingest over HTTP and in the ItemUsage store (billing/usage.py).

Run from the repo root: `python bench/bench_usage_ingest.py [--http N] [--records N]
[--server subprocess|thread]`. Prints:

1. HTTP ingest: N `POST /v1/subscription_items/{si}/usage_records` calls made one after another
   with the official SDK (stripe.StripeClient, `Stripe-Version: 2025-02-24.acacia`, one
   keep-alive connection) against an emulator started for the run (a subprocess by default, so
   client and server do not share a GIL; `--server thread` runs it in this process). Prints
   records/s and checks that the summary total equals what was sent. For comparison, the same
   posts over one raw http.client keep-alive connection (the SDK's own per-call overhead is
   then excluded).
2. Direct ingest into one ItemUsage: `--records` records (default 1,000,000) in time order
   (one record per distinct second, every 50th a `set`), then the same count in random order.
3. Period close over that history: the first `quantity()` of the last month for each
   aggregate_usage mode (includes the lazy merge / prefix-sum rebuild), then the median of
   repeated queries, and the cost after a late `set` inside the current period.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stripe
from _results import record

from stripe_mock_billing.billing.usage import MODES, ItemUsage

ACACIA = "2025-02-24.acacia"
MONTH = 30 * 86_400
T0 = 1_700_006_400  # a UTC midnight


@contextmanager
def emulator(mode: str) -> Iterator[str]:
    """Base URL of an emulator running for the duration of the block."""
    if mode == "thread":
        from stripe_mock_billing.config import Settings
        from stripe_mock_billing.server import ThreadedServer

        with ThreadedServer(Settings(port=0)) as srv:
            yield srv.url
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_http(n: int, server_mode: str) -> tuple[float, float]:
    """Sequential usage-record posts per second: through the SDK, and raw http.client."""
    with emulator(server_mode) as url:
        client = stripe.StripeClient(
            "sk_test_bench_usage",
            base_addresses={"api": url},
            max_network_retries=0,
            stripe_version=ACACIA,
        )
        price = client.v1.prices.create(
            {
                "currency": "usd",
                "unit_amount": 1,
                "product_data": {"name": "bench"},
                "recurring": {"interval": "month", "usage_type": "metered"},  # type: ignore[typeddict-item]
            }
        )
        cust = client.v1.customers.create({})
        sub = client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": price.id}]})
        path = f"/v1/subscription_items/{sub['items'].data[0].id}/usage_records"
        for _ in range(20):  # warm-up (connection, code paths)
            client.raw_request("post", path, quantity=1)
        start = time.perf_counter()
        for _ in range(n):
            client.raw_request("post", path, quantity=1)
        elapsed = time.perf_counter() - start
        raw_rate = _raw_http_rate(url, path, n)
        resp = client.raw_request("get", path.replace("usage_records", "usage_record_summaries"))
        total = client.deserialize(resp, api_mode="V1").data[0].total_usage
        if total != 2 * n + 20:
            raise RuntimeError(f"summary total {total} != {2 * n + 20} records sent")
    return n / elapsed, raw_rate


def _raw_http_rate(url: str, path: str, n: int) -> float:
    """The same posts over one keep-alive http.client connection (no SDK overhead)."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    headers = {
        "Authorization": "Bearer sk_test_bench_usage",
        "Stripe-Version": ACACIA,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    start = time.perf_counter()
    for _ in range(n):
        conn.request("POST", path, body=b"quantity=1", headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"raw post answered {resp.status}")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ingest(n: int, shuffled: bool) -> tuple[ItemUsage, float]:
    """An ItemUsage with `n` records over 12 months, and the ingest rate (records/s)."""
    rng = random.Random(7)
    span = 12 * MONTH
    stamps = [T0 + (i * span) // n for i in range(n)]  # distinct seconds up to ~31M records
    if shuffled:
        rng.shuffle(stamps)
    actions = ["set" if i % 50 == 0 else "increment" for i in range(n)]
    qty = [rng.randrange(0, 100) for _ in range(n)]
    usage = ItemUsage()
    record = usage.record
    start = time.perf_counter()
    for t, q, a in zip(stamps, qty, actions, strict=True):
        record(t, q, a)
    return usage, n / (time.perf_counter() - start)


def report_queries(usage: ItemUsage, history: str) -> None:
    """Period-close query times over the last month of history."""
    end = T0 + 12 * MONTH
    start = end - MONTH
    first = timed(lambda: usage.quantity("sum", start, end))
    print(f"    first period-close query (incl. lazy merge/rebuild): {first * 1e3:9.3f} ms")
    record(f"{history}: first period-close query (incl. lazy merge/rebuild)", first * 1e3, "ms")
    for mode in MODES:
        first_mode = timed(lambda m=mode: usage.quantity(m, start, end))  # type: ignore[misc]
        runs = [timed(lambda m=mode: usage.quantity(m, start, end)) for _ in range(50)]  # type: ignore[misc]
        print(
            f"    {mode:<19} first {first_mode * 1e3:8.3f} ms   median "
            f"{statistics.median(runs) * 1e6:8.1f} us"
        )
        record(f"{history}: period-close query {mode}, first", first_mode * 1e3, "ms")
        record(f"{history}: period-close query {mode}, median", statistics.median(runs) * 1e6, "us")
    usage.record(start + MONTH // 2, 5, "set")  # a late correction inside the open period
    after = timed(lambda: usage.quantity("sum", start, end))
    after_max = timed(lambda: usage.quantity("max", start, end))
    print(
        f"    after a mid-period set: sum {after * 1e3:8.3f} ms, max {after_max * 1e3:8.3f} ms "
        "(rebuild from the written index only)"
    )
    record(f"{history}: period-close query sum after a mid-period set", after * 1e3, "ms")
    record(f"{history}: period-close query max after a mid-period set", after_max * 1e3, "ms")


def main() -> int:
    """Run the three measurements and print them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--http", type=int, default=3000, help="usage records posted over HTTP")
    ap.add_argument("--records", type=int, default=1_000_000, help="records for the direct ingest")
    ap.add_argument("--server", choices=("subprocess", "thread"), default="subprocess")
    args = ap.parse_args()

    if args.http > 0:
        rate, raw_rate = bench_http(args.http, args.server)
        print(
            f"HTTP ingest (SDK, sequential, keep-alive, {args.server} server): "
            f"{rate:,.0f} records/s"
        )
        print(f"HTTP ingest (raw http.client, same connection reuse): {raw_rate:,.0f} records/s")
        sent = f"{args.http:,} usage records over HTTP, sequential, keep-alive"
        record(f"{sent}, official SDK ({args.server} server)", rate, "records/s")
        record(f"{sent}, raw http.client (no SDK)", raw_rate, "records/s")
    for shuffled in (False, True):
        usage, rate = ingest(args.records, shuffled)
        order = "random order" if shuffled else "time order"
        print(
            f"ItemUsage direct ingest, {args.records:,} records in {order}: {rate:,.0f} records/s "
            f"({usage.count():,} distinct timestamps)"
        )
        history = f"ItemUsage, {args.records:,} records in {order}"
        record(f"{history}: direct ingest", rate, "records/s")
        report_queries(usage, history)
    return 0


if __name__ == "__main__":
    sys.exit(main())
