"""Garbage-collector pauses of the CLI server under a mixed load (issue 16).

    python bench/bench_gc.py [--seconds 60] [--port PORT]

Starts the CLI server (`python -m stripe_mock_billing`) in a subprocess with
`STRIPE_MOCK_BILLING_GC_LOG` set, which makes the server append each collection's generation and
pause to a file (a `gc.callbacks` hook, installed only when that variable is set), and the
collections its idle-time scheme runs (`idle` lines). One client (keep-alive `http.client`)
then drives a mixed load for the given time (60 s by default): customer creates, retrieves and
lists, v1 meter events, invalid requests (404s and 400s), every fiftieth round a subscription,
and every two-hundredth a test clock with a subscription, advanced by a month. Printed and
recorded: the collections per generation, the longest and the p99 pause, the pauses' share of
wall time, the requests' p50 / p99, and the server's RSS before and after the load. Then the
account is reset (`POST /_mock/reset`), the client waits for the server's idle collection, and
the RSS and the objects the collector tracks after it are printed: what a reset gives back.

`--port PORT` drives an already running server instead (no pause figures, nothing recorded): for
probing a server started by hand (e.g. with `gc.set_debug(gc.DEBUG_SAVEALL)`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _floor import start_cli, stop  # noqa: E402
from _results import record  # noqa: E402

KEY = "sk_test_bench_gc"
PAUSE_TARGET = 10.0  # ms
MONTH = 31 * 86400
JAN1 = 1767225600  # 2026-01-01 UTC


def row(label: str, value: float, unit: str, target: float | None = None) -> None:
    ok = None if target is None else value <= target
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"  {label:<52} {value:12.3f} {unit}{mark}")
    record(label, value, unit, target=None if target is None else f"<= {target:g} {unit}", ok=ok)


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self.times: list[float] = []

    def call(
        self, method: str, path: str, params: dict[str, str] | None = None, status: int = 200
    ) -> dict:
        body = urlencode(params) if params else None
        t = time.perf_counter()
        self.conn.request(method, path, body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        self.times.append(time.perf_counter() - t)
        if resp.status != status:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def rss_mib(pid: int) -> float:
    """The resident set size of process `pid` (Linux /proc), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def setup(client: Client) -> str:
    """A metered price for the load's subscriptions."""
    meter = client.call(
        "POST",
        "/v1/billing/meters",
        {"display_name": "bench", "event_name": "bench_gc", "default_aggregation[formula]": "sum"},
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
    return str(price["id"])


def subscribe(client: Client, customer: str, price: str) -> None:
    client.call(
        "POST",
        f"/v1/customers/{customer}",
        {"invoice_settings[default_payment_method]": "pm_card_visa"},
    )
    client.call("POST", "/v1/subscriptions", {"customer": customer, "items[0][price]": price})


def load(client: Client, price: str, seconds: float) -> int:
    """The mixed load for `seconds`; returns the rounds run."""
    deadline = time.perf_counter() + seconds
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
        if rounds % 10 == 0:
            client.call("GET", "/v1/customers?limit=10")
            client.call("GET", f"/v1/customers/cus_missing{rounds}", status=404)
            client.call("POST", "/v1/customers", {"nonsense": "1"}, status=400)
        if rounds % 50 == 0:
            subscribe(client, cust["id"], price)
        if rounds % 200 == 0:
            clock = client.call("POST", "/v1/test_helpers/test_clocks", {"frozen_time": str(JAN1)})
            owner = client.call("POST", "/v1/customers", {"test_clock": clock["id"]})
            subscribe(client, owner["id"], price)
            client.call(
                "POST",
                f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
                {"frozen_time": str(JAN1 + MONTH)},
            )
        rounds += 1
    return rounds


def parse_log(lines: list[str]) -> tuple[dict[int, list[float]], list[float], list[str]]:
    """Wall-clock pauses per generation and CPU times of the automatic collections; the
    idle-collection lines."""
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    cpu: list[float] = []
    idle = []
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "idle":
            idle.append(line)
        elif len(parts) == 3:
            pauses[int(parts[0])].append(float(parts[1]))
            cpu.append(float(parts[2]))
    return pauses, cpu, idle


def probe(port: int, seconds: float) -> None:
    client = Client(port)
    client.call("POST", "/_mock/reset")
    price = setup(client)
    rounds = load(client, price, seconds)
    print(f"{rounds} rounds, {len(client.times)} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (default 60)")
    parser.add_argument("--port", type=int, default=None, help="drive a running server")
    args = parser.parse_args()
    if args.port is not None:
        probe(args.port, args.seconds)
        return
    log = Path(tempfile.mkdtemp()) / "gc.log"
    proc, url = start_cli(env={"STRIPE_MOCK_BILLING_GC_LOG": str(log)})
    client = Client(int(url.rsplit(":", 1)[1]))
    try:
        price = setup(client)
        rss_start = rss_mib(proc.pid)
        setup_lines = len(log.read_text().splitlines()) if log.exists() else 0
        client.times.clear()
        start = time.perf_counter()
        cpu_start = _cpu(proc.pid)
        rounds = load(client, price, args.seconds)
        wall = time.perf_counter() - start
        cpu = _cpu(proc.pid) - cpu_start
        lines = log.read_text().splitlines()[setup_lines:]
        rss_end = rss_mib(proc.pid)
        # a reset, then the idle collection that follows it
        mark = len(log.read_text().splitlines())
        client.call("POST", "/_mock/reset")
        after_reset = _wait_idle(log, mark, timeout=30)
        rss_reset = rss_mib(proc.pid)
        start_line = (log.read_text().splitlines() or [""])[0]
    finally:
        stop(proc)
    pauses, cpu_pauses, idle = parse_log(lines)
    every = [ms for values in pauses.values() for ms in values]
    n = len(client.times)
    print(
        f"mixed load, {args.seconds:g} s, {rounds} rounds, {n} requests ({n / wall:.0f}/s), "
        f"one client, server CPU {cpu:.1f} s:"
    )
    for gen in (0, 1, 2):
        row(f"gen {gen} collections", len(pauses[gen]), "")
    row(
        f"longest GC pause ({args.seconds:g} s mixed load)",
        max(every, default=0.0),
        "ms",
        PAUSE_TARGET,
    )
    row("p99 GC pause", pct(every, 0.99), "ms")
    row("longest GC pause, CPU time of the collecting thread", max(cpu_pauses, default=0.0), "ms")
    row("longest gen 2 pause", max(pauses[2], default=0.0), "ms")
    row("idle-time full collections during the load", len(idle), "")
    row("GC share of wall time", sum(every) / 1000 / wall * 100, "%")
    row("requests p50", pct(client.times, 0.50) * 1000, "ms")
    row("requests p99", pct(client.times, 0.99) * 1000, "ms")
    row("requests max", max(client.times) * 1000, "ms")
    row("server RSS before the load", rss_start, "MiB")
    row(f"server RSS after {args.seconds:g} s of load", rss_end, "MiB")
    row("server RSS after a reset and its idle collection", rss_reset, "MiB")
    if start_line.startswith("frozen"):
        row("objects tracked at start (frozen)", int(start_line.split()[1]), "")
    if after_reset is None:
        print("  no idle collection logged after the reset")
    else:
        _, ms, collected, frozen = after_reset.split()
        row("objects tracked after the load, a reset and an idle collection", int(frozen), "")
        row("  cyclic garbage that idle collection reclaimed (objects)", int(collected), "")
        row("  that idle collection's pause", float(ms), "ms")


def _cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_idle(log: Path, mark: int, timeout: float) -> str | None:
    """The first idle-collection line logged after line `mark`, waiting up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines()[mark:]:
            if line.startswith("idle"):
                return line
        time.sleep(0.1)
    return None


if __name__ == "__main__":
    main()
