"""Benchmark: advance one test clock 12 months across 1,000 metered subscriptions.

Setup (not timed): one clock, 1,000 customers on it, each with one subscription on a legacy
metered price, created through the API (Flask test client, in process). Usage is loaded
DIRECTLY into the per-item usage store (billing.usage.ItemUsage), bypassing the HTTP endpoint:
100 records per subscription per month for 12 months = 1,200,000 records.
Timed: one `POST /v1/test_helpers/test_clocks/{id}/advance` by 12 months (12,000 period
rollovers, cycle invoices with metered lines, finalizations, payments and their events).
Strict clock limits are off (the default), so one advance may cover 12 months; the account's
periods-per-advance cap (10,000 by default) is raised to fit through `POST /_mock/settings`.

Run: python bench/bench_clock_advance.py [--subs N] [--months M] [--per-month R]
Target: <= 3 s for the default sizes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import record

from stripe_mock_billing.app import create_app
from stripe_mock_billing.billing.periods import add_interval
from stripe_mock_billing.billing.usage import ItemUsage
from stripe_mock_billing.config import Settings

JAN1 = 1_767_225_600  # 2026-01-01T00:00:00Z
KEY = "sk_test_bench"
HEADERS = {"Authorization": f"Bearer {KEY}", "Stripe-Version": "2025-02-24.acacia"}


def main() -> None:
    """Set up, load usage, time the advance, print the numbers."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--subs", type=int, default=1000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--per-month", type=int, default=100)
    args = ap.parse_args()

    app = create_app(Settings(port=0))
    http = app.test_client()

    def post(path: str, data: dict[str, object]) -> dict[str, object]:
        resp = http.post(path, data=data, headers=HEADERS)
        if resp.status_code != 200:
            raise SystemExit(f"{path}: {resp.status_code} {resp.get_data(as_text=True)}")
        body: dict[str, object] = resp.get_json()
        return body

    t0 = time.perf_counter()
    clk = post("/v1/test_helpers/test_clocks", {"frozen_time": JAN1})
    price = post(
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": "7",
            "recurring[interval]": "month",
            "recurring[usage_type]": "metered",
            "recurring[aggregate_usage]": "sum",
            "product_data[name]": "API calls",
        },
    )
    items: list[str] = []
    for _ in range(args.subs):
        cust = post("/v1/customers", {"test_clock": clk["id"]})
        sub = post("/v1/subscriptions", {"customer": cust["id"], "items[0][price]": price["id"]})
        items.append(sub["items"]["data"][0]["id"])  # type: ignore[index]
    setup = time.perf_counter() - t0
    # one advance crosses subs x months periods: above the account's default cap of 10,000
    # (docs/reference/limits.md), so the bench raises it through the control API
    post("/_mock/settings", {"max_advance_periods": str(args.subs * (args.months + 1))})

    ns = app.extensions["stripe_mock_billing.store"].namespace(KEY)
    rng = random.Random(7)
    t0 = time.perf_counter()
    records = 0
    for si in items:
        usage = ns.usage.get(si)
        if usage is None:
            usage = ItemUsage()
            ns.usage[si] = usage
        for m in range(args.months):
            start = add_interval(JAN1, "month", 1, m)
            span = add_interval(JAN1, "month", 1, m + 1) - start
            for ts in sorted(rng.randrange(start, start + span) for _ in range(args.per_month)):
                usage.record(ts, rng.randint(1, 20))
                records += 1
    load = time.perf_counter() - t0

    target = add_interval(JAN1, "month", 1, args.months) + 2 * 3600
    t0, c0 = time.perf_counter(), time.process_time()
    resp = http.post(
        f"/v1/test_helpers/test_clocks/{clk['id']}/advance",
        data={"frozen_time": target},
        headers=HEADERS,
    )
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if resp.status_code != 200 or resp.get_json()["status"] != "ready":
        raise SystemExit(f"advance failed: {resp.status_code} {resp.get_data(as_text=True)}")

    invoices = len(ns.invoices)
    paid = sum(inv.status == "paid" for inv in ns.invoices.values())
    print(f"setup: {args.subs} subscriptions via the API in {setup:.2f}s")
    print(
        f"usage: {records:,} records loaded DIRECTLY into the usage store "
        f"(billing.usage.ItemUsage, not via HTTP) in {load:.2f}s"
    )
    print(
        f"advance: 1 clock, {args.months} months, {args.subs} subscriptions -> "
        f"{invoices:,} invoices ({paid:,} paid), {len(ns.events):,} events in {elapsed:.3f}s "
        f"wall, {cpu:.3f}s CPU (target <= 3 s: {'OK' if elapsed <= 3 else 'SLOW'}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    record(f"setup: {args.subs:,} subscriptions on one clock via the API", setup, "s")
    record(
        f"usage: {records:,} records loaded directly into the usage store (not via HTTP)", load, "s"
    )
    advance = (
        f"advance: 1 clock by {args.months} months, {args.subs:,} metered subscriptions, "
        f"{records:,} usage records -> {invoices:,} invoices, {len(ns.events):,} events"
    )
    record(f"{advance}: wall time", elapsed, "s", "<= 3 s", elapsed <= 3)
    record(f"{advance}: CPU time", cpu, "s")


if __name__ == "__main__":
    main()
