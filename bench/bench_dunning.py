"""Benchmark: advance one test clock through a full retry schedule of 1,000 failing renewals.

Setup (not timed): one clock, 1,000 customers on it, each with a 50.00/month subscription paid
at creation with `pm_card_visa`, then `pm_card_chargeCustomerFail` as the customer's default
payment method; all through the API (Flask test client, in process).
Timed: one `POST /v1/test_helpers/test_clocks/{id}/advance` from the start to just after the
last retry of the default schedule (renewal, first attempt one hour later, retries 3, 5 and 7
days after the previous attempt, then the subscriptions are canceled): per subscription a
renewal, a draft finalized and 4 failed attempts with their events.

Run: python bench/bench_dunning.py [--subs N]
Target: <= 2 s for the default size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import record

from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings

JAN1 = 1_767_225_600  # 2026-01-01T00:00:00Z
FEB1 = 1_769_904_000  # 2026-02-01T00:00:00Z
DAY, HOUR = 86_400, 3_600
KEY = "sk_test_bench_dunning"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def main() -> None:
    """Set up, time the advance, check the outcome, print the numbers."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--subs", type=int, default=1000)
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
            "unit_amount": "5000",
            "recurring[interval]": "month",
            "product_data[name]": "Pro",
        },
    )
    for _ in range(args.subs):
        cust = post(
            "/v1/customers",
            {
                "test_clock": clk["id"],
                "invoice_settings[default_payment_method]": "pm_card_visa",
            },
        )
        post("/v1/subscriptions", {"customer": cust["id"], "items[0][price]": price["id"]})
        post(
            f"/v1/customers/{cust['id']}",
            {"invoice_settings[default_payment_method]": "pm_card_chargeCustomerFail"},
        )
    setup = time.perf_counter() - t0

    ns = app.extensions["stripe_mock_billing.store"].namespace(KEY)
    events_before = len(ns.events)
    last_retry = FEB1 + HOUR + (3 + 5 + 7) * DAY
    t0, c0 = time.perf_counter(), time.process_time()
    resp = http.post(
        f"/v1/test_helpers/test_clocks/{clk['id']}/advance",
        data={"frozen_time": last_retry + 1},
        headers=HEADERS,
    )
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if resp.status_code != 200 or resp.get_json()["status"] != "ready":
        raise SystemExit(f"advance failed: {resp.status_code} {resp.get_data(as_text=True)}")

    subs = list(ns.subscriptions.values())
    canceled = sum(s.status == "canceled" for s in subs)
    renewals = [ns.invoices[s.latest_invoice] for s in subs]
    attempts = sum(inv.attempt_count for inv in renewals)
    events = len(ns.events) - events_before
    if canceled != args.subs or attempts != 4 * args.subs:
        raise SystemExit(f"unexpected outcome: {canceled} canceled, {attempts} attempts")
    ok = elapsed <= 2
    print(f"setup: {args.subs} subscriptions via the API in {setup:.2f}s")
    print(
        f"advance: 1 clock through a full retry schedule, {args.subs} failing subscriptions -> "
        f"{attempts:,} failed attempts, {canceled:,} canceled, {events:,} events in "
        f"{elapsed:.3f}s wall, {cpu:.3f}s CPU (target <= 2 s: {'OK' if ok else 'SLOW'}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    record(f"setup: {args.subs:,} failing subscriptions on one clock via the API", setup, "s")
    label = (
        f"advance: 1 clock through renewal + 4 failed attempts (default [3, 5, 7] schedule), "
        f"{args.subs:,} subscriptions -> {attempts:,} attempts, {events:,} events"
    )
    record(f"{label}: wall time", elapsed, "s", "<= 2 s", ok)
    record(f"{label}: CPU time", cpu, "s")


if __name__ == "__main__":
    main()
