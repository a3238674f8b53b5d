"""Benchmark: meter event ingest and summary latency over HTTP, against the real CLI server.

Run from the repo root: `python bench/bench_meters_http.py [--seconds 5] [--strict]`.
Starts `python -m stripe_mock_billing --port <free>` as a subprocess (exactly what the
`stripe-mock-billing` CLI runs), then measures with client *processes* using `http.client`
keep-alive connections (so the client's own GIL does not cap the figures):
  - v2 stream: 100 events per request, 2 clients (target >= 20,000 events/s);
  - v1 meter events: one event per request, 4 concurrent clients (target >= 3,000/s);
  - then fills the stream account up to 1M events (the rest on one customer) and times a
    summary query (`event_summaries`, 30 days by day) for that customer (<= 5 ms, median);
and then, unless `--no-storage`, runs bench_meter_storage.py (1M events: bytes/event and
query time at 1M). Prints every figure next to its target; `--strict` exits 1 on a miss.
Note: server and clients share this machine's cores, so figures are a lower bound for the
server alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _results import record

ROOT = Path(__file__).resolve().parents[1]
STREAM_TARGET = 20_000.0
V1_TARGET = 3_000.0
QUERY_TARGET_MS = 5.0
_missed: list[str] = []


def report(label: str, value: float, unit: str, target: float | None, higher: bool) -> None:
    verdict = ""
    ok = None
    if target is not None:
        ok = value >= target if higher else value <= target
        verdict = (
            f"(target {'>=' if higher else '<='} {target:,g} {unit}) {'OK' if ok else 'MISSED'}"
        )
        if not ok:
            _missed.append(label)
    print(f"  {label:<48} {value:>12,.1f} {unit:<9} {verdict}", flush=True)
    shown = None if target is None else f"{'>=' if higher else '<='} {target:,g} {unit}"
    record(label, value, unit, shown, ok)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Conn:
    """A keep-alive JSON/form client for one account."""

    def __init__(self, port: int, key: str) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port)
        self.key = key

    def call(
        self, method: str, path: str, *, form: dict[str, str] | None = None,
        body: Any = None, token: str | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        headers = {
            "Authorization": f"Bearer {token or self.key}",
            "Stripe-Version": "2025-03-31.basil",
        }
        data: bytes | None = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.http.request(method, path, body=data, headers=headers)
        resp = self.http.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None


def start_server(port: int) -> subprocess.Popen[bytes]:
    custom = os.environ.get("BENCH_SERVER_CMD")  # experiments: e.g. "python serve.py {port}"
    cmd = (
        custom.format(port=port).split()
        if custom
        else [sys.executable, "-m", "stripe_mock_billing", "--port", str(port)]
    )
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def setup_account(port: int, customers: int) -> tuple[str, list[str]]:
    key = "sk_test_bench" + uuid.uuid4().hex
    conn = Conn(port, key)
    form = {"display_name": "bench", "event_name": "bench", "default_aggregation[formula]": "sum"}
    status, _ = conn.call("POST", "/v1/billing/meters", form=form)
    if status != 200:
        raise SystemExit(f"meter create failed: {status}")
    ids = [conn.call("POST", "/v1/customers", form={})[1]["id"] for _ in range(customers)]
    return key, ids


def stream_worker(args: tuple[int, str, list[str], float, int, Any, int]) -> int:
    port, key, customers, seconds, worker, barrier, limit = args
    conn = Conn(port, key)
    _, session = conn.call("POST", "/v2/billing/meter_event_session", body={})
    token = session["authentication_token"]
    barrier.wait()
    sent, batch = 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and (not limit or sent < limit):
        events = [
            {
                "event_name": "bench",
                "identifier": f"s{worker}-{batch}-{i}",
                "payload": {"stripe_customer_id": customers[i % len(customers)], "value": "1"},
            }
            for i in range(100)
        ]
        status, _ = conn.call(
            "POST", "/v2/billing/meter_event_stream", body={"events": events}, token=token
        )
        if status != 200:
            raise SystemExit(f"stream failed: {status}")
        sent += 100
        batch += 1
    return sent


def v1_worker(args: tuple[int, str, list[str], float, int, Any, int]) -> int:
    port, key, customers, seconds, worker, barrier, _ = args
    conn = Conn(port, key)
    barrier.wait()
    sent = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        form = {
            "event_name": "bench",
            "identifier": f"v{worker}-{sent}",
            "payload[stripe_customer_id]": customers[sent % len(customers)],
            "payload[value]": "1",
        }
        status, _ = conn.call("POST", "/v1/billing/meter_events", form=form)
        if status != 200:
            raise SystemExit(f"v1 event failed: {status}")
        sent += 1
    return sent


def run_clients(
    worker: Any,
    clients: int,
    port: int,
    key: str,
    customers: list[str],
    seconds: float,
    *,
    limit: int = 0,
    first_worker: int = 0,
) -> tuple[int, float]:
    """(items sent, seconds) by `clients` worker processes started together."""
    ctx = mp.get_context("fork")
    barrier = ctx.Manager().Barrier(clients + 1)
    with ctx.Pool(clients) as pool:
        jobs = [
            (port, key, customers, seconds, first_worker + w, barrier, limit // clients)
            for w in range(clients)
        ]
        res = pool.map_async(worker, jobs)
        barrier.wait()
        start = time.perf_counter()
        counts = res.get()
        elapsed = time.perf_counter() - start
    return sum(counts), elapsed


def summary_latency(port: int, key: str, customer: str) -> float:
    conn = Conn(port, key)
    _, meters = conn.call("GET", "/v1/billing/meters")
    mid = meters["data"][0]["id"]
    now = int(time.time())
    end = now - now % 86400 + 86400
    query = urlencode({"customer": customer, "start_time": end - 30 * 86400, "end_time": end,
                       "value_grouping_window": "day", "limit": 100})  # fmt: skip
    samples = []
    for _ in range(101):
        start = time.perf_counter()
        status, body = conn.call("GET", f"/v1/billing/meters/{mid}/event_summaries?{query}")
        samples.append(time.perf_counter() - start)
        if status != 200 or len(body["data"]) != 30:
            raise SystemExit(f"summary failed: {status}")
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each ingest run")
    parser.add_argument("--no-storage", action="store_true", help="skip bench_meter_storage.py")
    parser.add_argument("--events", type=int, default=1_000_000, help="events before the query")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    port = free_port()
    proc = start_server(port)
    try:
        print(f"server: python -m stripe_mock_billing --port {port} (pid {proc.pid}); "
              f"{os.cpu_count()} CPUs shared with the clients")  # fmt: skip
        key, customers = setup_account(port, 50)
        sent, elapsed = run_clients(stream_worker, 2, port, key, customers, args.seconds)
        label = "v2 stream ingest (100 events/request, 2 clients)"
        report(label, sent / elapsed, "events/s", STREAM_TARGET, True)
        key1, customers1 = setup_account(port, 50)
        done, elapsed = run_clients(v1_worker, 4, port, key1, customers1, args.seconds)
        report("v1 meter events (4 concurrent clients)", done / elapsed, "req/s", V1_TARGET, True)
        # fill the stream account up to 1M events, the rest all on one customer, then query it
        busiest = customers[0]
        fill = max(0, args.events - sent)
        if fill:
            run_clients(stream_worker, 2, port, key, [busiest], 3600.0, limit=fill, first_worker=10)
        latency = summary_latency(port, key, busiest)
        label = f"summary query over {args.events:,} events (30 days by day)"
        report(label, latency, "ms (HTTP)", QUERY_TARGET_MS, False)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if not args.no_storage:
        print("storage (bench_meter_storage.py, in process):", flush=True)
        cmd = [sys.executable, str(ROOT / "bench" / "bench_meter_storage.py")]
        if subprocess.call(cmd + (["--strict"] if args.strict else [])) != 0:
            _missed.append("storage")
    print("all targets met" if not _missed else "targets missed: " + ", ".join(_missed))
    return 1 if args.strict and _missed else 0


if __name__ == "__main__":
    sys.exit(main())
