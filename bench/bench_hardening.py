"""Benchmark (issue 14): what the hardening bounds cost, on the CLI's event-loop server.

1. One account advances a test clock 24 months, one month per advance, over 1,000 monthly
   subscriptions (1,000 customers on the clock), while another account sends sequential
   requests (`GET /v1/customers?limit=1`) on its own connection. Printed: each advance's time,
   the other account's latency percentiles (target: p99 < 50 ms, i.e. the advance does not
   stall it), the server's resident memory before and after.
2. Hostile bodies, each answered 4xx: 16 MiB of nested brackets (target < 100 ms), 16 MiB of
   `a=1&` pairs, 16 MiB of nested JSON on v2.

The server runs in a subprocess (`python -m stripe_mock_billing --port 0`); setup is not timed.
Run: python bench/bench_hardening.py [--subs N] [--months M]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import record

JAN1 = 1_767_225_600  # 2026-01-01T00:00:00Z
MIB = 1024 * 1024


def row(label: str, value: float, unit: str, target: float | None = None) -> None:
    ok = None if target is None else value <= target
    verdict = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"  {label:<58} {value:10.2f} {unit}{verdict}")
    record(label, value, unit, target=None if target is None else f"<= {target:g} {unit}", ok=ok)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def month(n: int) -> int:
    """2026-01-01 plus `n` months (first of the month, UTC)."""
    y, m = divmod(n, 12)
    return int(time.mktime((2026 + y, 1 + m, 1, 0, 0, 0, 0, 0, 0))) - time.timezone


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subs", type=int, default=1000)
    ap.add_argument("--months", type=int, default=24)
    args = ap.parse_args()

    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)  # type: ignore[union-attr]
    try:
        one_account_advances(url, proc.pid, args.subs, args.months)
        hostile_bodies(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def one_account_advances(url: str, pid: int, subs: int, months: int) -> None:
    a = requests.Session()
    a.headers["Authorization"] = "Bearer sk_test_bench_a_" + uuid.uuid4().hex

    def post(path: str, data: dict[str, object]) -> dict[str, object]:
        r = a.post(url + path, data=data, timeout=600)
        r.raise_for_status()
        return dict(r.json())

    clock = post("/v1/test_helpers/test_clocks", {"frozen_time": JAN1})
    price = post(
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": 1000,
            "recurring[interval]": "month",
            "product_data[name]": "bench",
        },
    )
    for _ in range(subs):
        cus = post("/v1/customers", {"test_clock": clock["id"]})
        post("/v1/subscriptions", {"customer": cus["id"], "items[0][price]": price["id"]})
    rss_before = rss_mib(pid)

    b = requests.Session()
    b.headers["Authorization"] = "Bearer sk_test_bench_b_" + uuid.uuid4().hex
    b.get(url + "/v1/customers?limit=1", timeout=30)
    latencies: list[float] = []
    done = threading.Event()

    def other_account() -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            b.get(url + "/v1/customers?limit=1", timeout=30).raise_for_status()
            latencies.append(time.perf_counter() - t0)

    other = threading.Thread(target=other_account)
    other.start()
    advances: list[float] = []
    for n in range(1, months + 1):
        t0 = time.perf_counter()
        post(f"/v1/test_helpers/test_clocks/{clock['id']}/advance", {"frozen_time": month(n)})
        advances.append(time.perf_counter() - t0)
    done.set()
    other.join()

    print(f"one account: {months} monthly advances over {subs} subscriptions")
    row(f"advance (one month, {subs} subscriptions), median", statistics.median(advances), "s")
    row(f"advance (one month, {subs} subscriptions), slowest", max(advances), "s")
    row(f"all {months} advances", sum(advances), "s")
    row("server memory growth over the advances", rss_mib(pid) - rss_before, "MiB")
    ms = sorted(x * 1000 for x in latencies)
    print(f"other account meanwhile: {len(ms)} sequential requests")
    row("other account, p50", ms[len(ms) // 2], "ms")
    row("other account, p99", ms[min(len(ms) - 1, int(len(ms) * 0.99))], "ms", 50)
    row("other account, slowest", ms[-1], "ms")


def hostile_bodies(url: str) -> None:
    key = "sk_test_bench_c_" + uuid.uuid4().hex
    form = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
    size = 16 * MIB - 64
    bodies = [
        (
            "16 MiB of nested brackets (metadata[][]...)",
            "/v1/customers",
            b"metadata" + b"[]" * ((size - 10) // 2) + b"=1",
            form,
            100,
        ),
        ("16 MiB of a=1& pairs", "/v1/customers", b"a=1&" * (size // 4), form, None),
        (
            "16 MiB of nested JSON on v2",
            "/v2/billing/meter_events",
            b"[" * (size // 2) + b"]" * (size // 2),
            {
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Stripe-Version": "2025-03-31.preview",
            },
            None,
        ),
    ]
    print("hostile bodies (each answered 4xx):")
    with requests.Session() as s:
        for label, path, body, headers, target in bodies:
            s.post(url + "/healthz", timeout=30)  # a warm connection
            t0 = time.perf_counter()
            r = s.post(url + path, data=body, headers=headers, timeout=60)
            elapsed = (time.perf_counter() - t0) * 1000
            assert 400 <= r.status_code < 500, (label, r.status_code, r.text[:200])
            row(f"{label}: {r.status_code}", elapsed, "ms", target)


if __name__ == "__main__":
    main()
