"""Benchmark: what billing credits, usage alerts and meter billing thresholds cost.

1. Meter event ingest with and without watchers. Two accounts with the same setup (one meter,
   100 wall-clock customers each subscribed to a price of that meter); the watched account also
   has 1,000 active alerts (990 filtered on its customers, 10 for all customers, none reached)
   and `billing_thresholds[amount_gte]` on every subscription (never reached). The same
   `POST /v1/billing/meter_events` requests (round robin over the customers) go to both accounts
   in alternating rounds of 100 events through the Flask test client (in process); the rows
   give each account's median time per event and the overhead of the watched one, the median
   of the rounds' ratios (target <= 15 %).
2. Finalizing 1,000 invoices with 3 grants each. One test clock, 1,000 customers each with a
   meter-priced subscription, 3 grants (priorities 10 / 50 / 90, 500 each) and 1,000 of usage,
   advanced to the period end (1,000 cycle drafts); timed: the advance past the finalization
   grace, which finalizes the 1,000 drafts (credits applied: 2 debits each, paid at 0). The
   same advance without grants is timed too (charged at 1,000 each instead).

Run: python bench/bench_credits_alerts.py [--events N] [--invoices N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import record

from stripe_mock_billing.app import create_app
from stripe_mock_billing.billing import engine
from stripe_mock_billing.config import Settings

JAN1 = 1_767_225_600  # 2026-01-01T00:00:00Z
FEB1 = 1_769_904_000  # 2026-02-01T00:00:00Z
HOUR = 3_600
INGEST_TARGET = 15.0  # percent
FINALIZE_TARGET = 1.0  # seconds


class Api:
    """Form-encoded calls to one account of an in-process app."""

    def __init__(self, app: Any, key: str) -> None:
        self.http = app.test_client()
        self.headers = {"Authorization": f"Bearer {key}"}

    def post(self, path: str, data: dict[str, object]) -> dict[str, Any]:
        resp = self.http.post(path, data=data, headers=self.headers)
        if resp.status_code != 200:
            raise SystemExit(f"{path}: {resp.status_code} {resp.get_data(as_text=True)}")
        body: dict[str, Any] = resp.get_json()
        return body


def row(label: str, value: float, unit: str, target: str | None = None, ok: bool | None = None):  # type: ignore[no-untyped-def]
    verdict = "" if ok is None else ("OK" if ok else "MISSED")
    print(f"  {label:<78} {value:>10.3f} {unit:<6} {target or ''} {verdict}", flush=True)
    record(label, value, unit, target, ok)


def meter_setup(api: Api, customers: int, clock: str | None = None) -> tuple[str, list[str]]:
    """A meter, its price, and `customers` subscribed customers; (meter id, customer ids)."""
    meter = api.post(
        "/v1/billing/meters",
        {"display_name": "calls", "event_name": "calls", "default_aggregation[formula]": "sum"},
    )
    price = api.post(
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": "10",
            "recurring[interval]": "month",
            "recurring[usage_type]": "metered",
            "recurring[meter]": meter["id"],
            "product_data[name]": "Calls",
        },
    )
    cids = []
    for _ in range(customers):
        cust = api.post("/v1/customers", {"test_clock": clock} if clock else {})
        api.post("/v1/subscriptions", {"customer": cust["id"], "items[0][price]": price["id"]})
        cids.append(cust["id"])
    return meter["id"], cids


def watch(api: Api, app: Any, key: str, meter: str, cids: list[str], alerts: int) -> None:
    """`alerts` active alerts (10 for all customers, the rest filtered) and amount_gte on
    every subscription, none of them reached by the benchmark's usage."""
    for i in range(10):
        api.post(
            "/v1/billing/alerts",
            {
                "alert_type": "usage_threshold",
                "title": f"all {i}",
                "usage_threshold[gte]": 10**9 + i,
                "usage_threshold[meter]": meter,
                "usage_threshold[recurrence]": "one_time",
            },
        )
    for i in range(alerts - 10):
        api.post(
            "/v1/billing/alerts",
            {
                "alert_type": "usage_threshold",
                "title": f"a{i}",
                "usage_threshold[gte]": 10**9 + i,
                "usage_threshold[meter]": meter,
                "usage_threshold[recurrence]": "one_time",
                "usage_threshold[filters][0][type]": "customer",
                "usage_threshold[filters][0][customer]": cids[i % len(cids)],
            },
        )
    ns = app.extensions["stripe_mock_billing.store"].namespace(key)
    for sub in list(ns.subscriptions.values()):
        api.post(f"/v1/subscriptions/{sub.id}", {"billing_thresholds[amount_gte]": 10**12})


def ingest(events: int, rounds: int) -> None:
    app = create_app(Settings(port=0))
    plain, watched = Api(app, "sk_test_plain"), Api(app, "sk_test_watched")
    _, plain_cids = meter_setup(plain, 100)
    meter, watched_cids = meter_setup(watched, 100)
    watch(watched, app, "sk_test_watched", meter, watched_cids, 1000)
    per = events // rounds
    times: dict[str, list[float]] = {"plain": [], "watched": []}
    ratios: list[float] = []
    n = 0
    for r in range(rounds):
        order = [("plain", plain, plain_cids), ("watched", watched, watched_cids)]
        if r % 2:
            order.reverse()
        for name, api, cids in order:
            t0 = time.perf_counter()
            for i in range(per):
                api.post(
                    "/v1/billing/meter_events",
                    {
                        "event_name": "calls",
                        "payload[stripe_customer_id]": cids[(n + i) % len(cids)],
                        "payload[value]": "1",
                    },
                )
            times[name].append((time.perf_counter() - t0) / per)
        ratios.append(times["watched"][-1] / times["plain"][-1])
        n += per
    plain_us = statistics.median(times["plain"]) * 1e6
    watched_us = statistics.median(times["watched"]) * 1e6
    # the median of each round's ratio: both accounts of a round ran back to back, so a
    # change in the machine's load moves both
    overhead = (statistics.median(ratios) - 1) * 100
    print(f"ingest: {events:,} v1 meter events per account, {rounds} alternating rounds")
    row("v1 meter event ingest, 100 customers, no alerts or thresholds", plain_us, "us")
    row(
        "v1 meter event ingest, 100 customers, 1,000 active alerts + amount_gte on every sub",
        watched_us,
        "us",
    )
    row(
        "ingest overhead of 1,000 alerts and thresholds",
        overhead,
        "%",
        f"<= {INGEST_TARGET:g} %",
        overhead <= INGEST_TARGET,
    )


def finalize(invoices: int, grants: int) -> tuple[float, float]:
    """Seconds of the engine step finalizing `invoices` drafts (with `grants` grants each),
    and of the same advance through the API."""
    app = create_app(Settings(port=0))
    key = f"sk_test_fin_{grants}"
    api = Api(app, key)
    clk = api.post("/v1/test_helpers/test_clocks", {"frozen_time": JAN1})
    _, cids = meter_setup(api, invoices, clk["id"])
    for cid in cids:
        api.post(
            "/v1/customers/" + cid, {"invoice_settings[default_payment_method]": "pm_card_visa"}
        )
        for priority in (10, 50, 90)[:grants]:
            api.post(
                "/v1/billing/credit_grants",
                {
                    "customer": cid,
                    "amount[type]": "monetary",
                    "amount[monetary][currency]": "usd",
                    "amount[monetary][value]": "500",
                    "applicability_config[scope][price_type]": "metered",
                    "category": "paid",
                    "priority": str(priority),
                },
            )
        api.post(
            "/v1/billing/meter_events",
            {"event_name": "calls", "payload[stripe_customer_id]": cid, "payload[value]": "100"},
        )
    api.post(f"/v1/test_helpers/test_clocks/{clk['id']}/advance", {"frozen_time": FEB1})
    ns = app.extensions["stripe_mock_billing.store"].namespace(key)
    drafts = [i for i in ns.invoices.values() if i.status == "draft"]
    if len(drafts) != invoices:
        raise SystemExit(f"expected {invoices} drafts, found {len(drafts)}")
    # the engine step alone (what finalization costs), then the same through the API, whose
    # advance first saves what it may have to roll back (billing/clock_tx.py)
    with ns.lock:
        saved = engine.checkpoint(ns)
        t0 = time.perf_counter()
        engine.advance_clock(ns, clk["id"], FEB1 + 2 * HOUR)
        elapsed = time.perf_counter() - t0
        engine.restore(ns, saved)
    t0 = time.perf_counter()
    api.post(f"/v1/test_helpers/test_clocks/{clk['id']}/advance", {"frozen_time": FEB1 + 2 * HOUR})
    through_api = time.perf_counter() - t0
    drafts = [ns.invoices[i.id] for i in drafts]
    due = {i.amount_due for i in drafts}
    want = {0} if grants >= 2 else {1000 - 500 * grants}
    if any(i.status != "paid" for i in drafts) or due != want:
        raise SystemExit(f"unexpected outcome: amounts due {due}")
    return elapsed, through_api


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--invoices", type=int, default=1000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    ingest(args.events, args.rounds)
    with_grants, with_api = finalize(args.invoices, 3)
    without, without_api = finalize(args.invoices, 0)
    print(f"finalize: {args.invoices:,} cycle drafts in one clock advance")
    n = f"{args.invoices:,}"
    row(
        f"finalize {n} invoices with 3 grants each (2 debits each, paid at 0): engine step",
        with_grants,
        "s",
        f"<= {FINALIZE_TARGET:g} s",
        with_grants <= FINALIZE_TARGET,
    )
    row(f"finalize {n} invoices without grants (charged): engine step", without, "s")
    row("the same advance with 3 grants each, through the API (incl. rollback save)", with_api, "s")
    row("the same advance without grants, through the API (incl. rollback save)", without_api, "s")


if __name__ == "__main__":
    main()
