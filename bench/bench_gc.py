"""Garbage-collector pauses of the CLI server under a mixed load (issue 16).

    python bench/bench_gc.py [--seconds 20]

Starts the CLI server (`python -m stripe_mock_billing`) in a subprocess with
`STRIPE_MOCK_BILLING_GC_LOG` set, which makes the server append each collection's generation and
pause to a file (a `gc.callbacks` hook, installed only when that variable is set). One client
(keep-alive `http.client`) then drives a mixed load for the given time: customer creates and
retrieves, v1 meter events, and every fiftieth round a subscription. Printed and recorded: the
collections per generation, the longest pause, the pauses' share of wall time, and the p50 / p99
of the requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import record  # noqa: E402

KEY = "sk_test_bench_gc"
PAUSE_TARGET = 10.0  # ms


def row(label: str, value: float, unit: str, target: float | None = None) -> None:
    ok = None if target is None else value <= target
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"  {label:<48} {value:10.3f} {unit}{mark}")
    record(label, value, unit, target=None if target is None else f"<= {target:g} {unit}", ok=ok)


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self.times: list[float] = []

    def call(self, method: str, path: str, params: dict[str, str] | None = None) -> dict:
        body = urlencode(params) if params else None
        t = time.perf_counter()
        self.conn.request(method, path, body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        self.times.append(time.perf_counter() - t)
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration (default 20)")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "gc.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_MOCK_BILLING_")}
    env["STRIPE_MOCK_BILLING_GC_LOG"] = str(log)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    m = re.search(r"http://[^:]+:(\d+)", proc.stdout.readline())
    assert m, "no URL line"
    client = Client(int(m.group(1)))
    try:
        meter = client.call(
            "POST",
            "/v1/billing/meters",
            {
                "display_name": "bench",
                "event_name": "bench_gc",
                "default_aggregation[formula]": "sum",
            },
        )
        product = client.call("POST", "/v1/products", {"name": "bench"})
        price = client.call(
            "POST",
            "/v1/prices",
            {
                "product": product["id"],
                "currency": "usd",
                "unit_amount": "5",
                "recurring[interval]": "month",
                "recurring[usage_type]": "metered",
                "recurring[meter]": meter["id"],
            },
        )
        setup_lines = len(log.read_text().splitlines()) if log.exists() else 0
        client.times.clear()
        start = time.perf_counter()
        deadline = start + args.seconds
        rounds = 0
        while time.perf_counter() < deadline:
            cust = client.call("POST", "/v1/customers", {"name": f"c{rounds}", "email": "a@b.c"})
            client.call("GET", f"/v1/customers/{cust['id']}")
            for _ in range(2):
                client.call(
                    "POST",
                    "/v1/billing/meter_events",
                    {
                        "event_name": "bench_gc",
                        "payload[stripe_customer_id]": cust["id"],
                        "payload[value]": "3",
                    },
                )
            if rounds % 50 == 0:
                client.call(
                    "POST",
                    f"/v1/customers/{cust['id']}",
                    {"invoice_settings[default_payment_method]": "pm_card_visa"},
                )
                client.call(
                    "POST",
                    "/v1/subscriptions",
                    {"customer": cust["id"], "items[0][price]": price["id"]},
                )
            rounds += 1
        wall = time.perf_counter() - start
        lines = log.read_text().splitlines()[setup_lines:]  # not the collections at exit
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for line in lines:
        gen, ms = line.split()
        pauses[int(gen)].append(float(ms))
    every = [ms for values in pauses.values() for ms in values]
    n = len(client.times)
    print(f"mixed load, {args.seconds:g} s, {n} requests ({n / wall:.0f}/s), one client:")
    for gen in (0, 1, 2):
        row(f"gen {gen} collections", len(pauses[gen]), "")
    row(
        f"longest GC pause ({args.seconds:g} s mixed load)",
        max(every, default=0.0),
        "ms",
        PAUSE_TARGET,
    )
    row("longest gen 2 pause", max(pauses[2], default=0.0), "ms")
    row("GC share of wall time", sum(every) / 1000 / wall * 100, "%")
    row("requests p50", pct(client.times, 0.50) * 1000, "ms")
    row("requests p99", pct(client.times, 0.99) * 1000, "ms")
    row("requests max", max(client.times) * 1000, "ms")


if __name__ == "__main__":
    main()
