"""Requests/s and latency under 8 concurrent connections (wrk), side by side (issue 16).

    python bench/bench_concurrency.py [--connections 8] [--duration 10] [--events 1000000]
                                      [--servers default,threaded,floor]
                                      [--against URL [--against-key KEY]] [--identifiers]

Measures each server with wrk (`/usr/bin/wrk`, Debian package `wrk`): 2 threads, 8 keep-alive
connections, `--latency`, 10 s per run, posting form bodies to

- `POST /v1/billing/meter_events` (`event_name`, `payload[stripe_customer_id]`,
  `payload[value]=1`, the same body each time: no `identifier`, so the server makes one, as
  Stripe does; `--identifiers` sends a unique one per request instead, which costs wrk a Lua
  call per request);
- `POST /v1/customers` (`name`, `email`),

against: the CLI's default server (`python -m stripe_mock_billing --port 0`: one event loop),
the CLI with `--threaded` (a thread per connection), the do-nothing floor server
(bench/_floor.py: fixed answers on the same event loop), and `--against URL` (any other server,
e.g. a stripe-mock, sent `--against-key`). Each server gets a meter (`event_name` "bench") and a
customer first, created through its API. Then, on the default server only, it loads
`--events` (default 1,000,000) events for a second customer through the public v2 stream
(`POST /v2/billing/meter_event_session`, then `POST /v2/billing/meter_event_stream` with 100
events per request from 2 client processes), prints how long that took, checks the count
with a meter summary, and measures meter events for that customer again.

Prints requests/s, p50 and p99 per server and endpoint (and the ratio of requests/s to the
floor's); targets for the default server on meter events, with and without the 1M events:
>= 8,000 requests/s, p99 <= 5 ms. The machine has 2 cores: wrk competes with the server for
them, so every figure is a lower bound of what the server alone would do; the load average at
start is printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _floor import start_cli, start_floor, stop
from _results import record

KEY = "sk_test_bench_concurrency"
RATE_TARGET = 8_000.0  # requests/s, default server, meter events
P99_TARGET = 5.0  # ms
EVENTS = "/v1/billing/meter_events"
CUSTOMERS = "/v1/customers"
STRIPE_VERSION = "2025-03-31.basil"


def lua_script(path: str, key: str, body: str, identifiers: bool) -> str:
    """A wrk script posting `body` (form-encoded) to `path`; unique identifiers if asked."""
    lines = [
        'wrk.method = "POST"',
        f"wrk.path = {json.dumps(path)}",
        f"wrk.body = {json.dumps(body)}",
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
        f'wrk.headers["Authorization"] = {json.dumps("Bearer " + key)}',
    ]
    if identifiers:
        run = uuid.uuid4().hex[:12]
        lines += [
            "local threads = 0",
            "function setup(thread)",
            "  threads = threads + 1",
            '  thread:set("tid", threads)',
            "end",
            "local n = 0",
            "function request()",
            "  n = n + 1",
            f'  local b = wrk.body .. "&identifier={run}-" .. tid .. "-" .. n',
            "  return wrk.format(nil, nil, nil, b)",
            "end",
        ]
    return "\n".join(lines) + "\n"


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, path: str, key: str, body: str, args: argparse.Namespace) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 (ms), non-2xx answers and socket errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(path, key, body, args.identifiers and path == EVENTS))
    try:
        cmd = [
            args.wrk, "-t", str(args.threads), "-c", str(args.connections),
            "-d", f"{args.duration:g}s", "--latency", "-s", script.name, url.rstrip("/") + path,
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    finally:
        os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M))
    if not rate or "50" not in lat or "99" not in lat:
        raise RuntimeError(f"could not read wrk's output:\n{out}")

    def latency(p: str) -> float:
        m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", lat[p])
        assert m
        return to_ms(*m.groups())

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rate": float(rate.group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": float(sum(int(x) for x in errors.groups())) if errors else 0.0,
    }


class Api:
    """A keep-alive form/JSON client of one server and account."""

    def __init__(self, url: str, key: str) -> None:
        parts = urlsplit(url)
        self.http = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        self.key = key

    def call(
        self, method: str, path: str, form: dict[str, Any] | None = None, *,
        body: bytes | None = None, token: str | None = None,
    ) -> Any:  # fmt: skip
        headers = {"Authorization": f"Bearer {token or self.key}", "Stripe-Version": STRIPE_VERSION}
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            headers["Content-Type"] = "application/json"
        self.http.request(method, path, body=body, headers=headers)
        resp = self.http.getresponse()
        raw = resp.read()
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path} answered {resp.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None


def event_form(customer: str) -> dict[str, str]:
    return {"event_name": "bench", "payload[stripe_customer_id]": customer, "payload[value]": "1"}


def prepare(url: str, key: str) -> str:
    """A meter for `bench` events and a customer: the customer's id."""
    api = Api(url, key)
    meter = {"display_name": "bench", "event_name": "bench", "default_aggregation[formula]": "sum"}
    api.call("POST", "/v1/billing/meters", meter)
    return str(api.call("POST", CUSTOMERS, {"name": "bench"})["id"])


def _load_worker(job: tuple[str, str, str, int, int]) -> int:
    """Send `count` events for `customer` through the v2 stream, 100 per request."""
    url, key, customer, worker, count = job
    api = Api(url, key)
    token = api.call("POST", "/v2/billing/meter_event_session", body=b"{}")["authentication_token"]
    event = (
        '{"event_name": "bench", "identifier": "load-%d-%d", '
        '"payload": {"stripe_customer_id": "' + customer + '", "value": "1"}}'
    )
    sent = 0
    while sent < count:
        size = min(100, count - sent)
        events = ",".join(event % (worker, sent + i) for i in range(size))
        body = ('{"events": [' + events + "]}").encode()
        api.call("POST", "/v2/billing/meter_event_stream", body=body, token=token)
        sent += size
    return sent


def load_events(url: str, key: str, customer: str, total: int, clients: int = 2) -> float:
    """Load `total` events for `customer` through the v2 stream: seconds taken."""
    ctx = mp.get_context("fork")
    share = [total // clients + (1 if w < total % clients else 0) for w in range(clients)]
    with ctx.Pool(clients) as pool:
        start = time.perf_counter()
        sent = sum(
            pool.map(_load_worker, [(url, key, customer, w, share[w]) for w in range(clients)])
        )
        elapsed = time.perf_counter() - start
    assert sent == total
    return elapsed


def summary_total(url: str, key: str, customer: str) -> tuple[float, float]:
    """(sum of the customer's `bench` events over the last 30 days, query ms)."""
    api = Api(url, key)
    meter = next(
        m for m in api.call("GET", "/v1/billing/meters")["data"] if m["event_name"] == "bench"
    )
    now = int(time.time())
    end = now - now % 86400 + 86400
    query = urlencode({"customer": customer, "start_time": end - 30 * 86400, "end_time": end,
                       "value_grouping_window": "day", "limit": 100})  # fmt: skip
    start = time.perf_counter()
    data = api.call("GET", f"/v1/billing/meters/{meter['id']}/event_summaries?{query}")["data"]
    ms = (time.perf_counter() - start) * 1000
    return sum(float(s["aggregated_value"]) for s in data), ms


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per run (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--events", type=int, default=1_000_000,
        help="events stored for a customer before the second meter event run "
        "(default 1000000; 0: skip)",
    )  # fmt: skip
    parser.add_argument(
        "--servers", default="default,threaded,floor",
        help="which of default,threaded,floor to run (default: all three)",
    )  # fmt: skip
    parser.add_argument(
        "--against", metavar="URL", help="another server to measure (e.g. a stripe-mock)"
    )
    parser.add_argument(
        "--against-key", default="sk_test_123", help="the key sent to it (default sk_test_123)"
    )
    parser.add_argument(
        "--identifiers", action="store_true", help="a unique identifier per meter event"
    )
    parser.add_argument(
        "--wrk", default=shutil.which("wrk") or "/usr/bin/wrk", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if not os.access(args.wrk, os.X_OK):
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(servers) - {"default", "threaded", "floor"}
    if unknown:
        parser.error(f"unknown server(s): {', '.join(sorted(unknown))}")
    if args.against:
        servers.append("against")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs, shared by wrk and the server)")  # fmt: skip
    print(
        f"wrk: {args.threads} threads, {args.connections} connections, {args.duration:g} s "
        f"per run; meter events {'with' if args.identifiers else 'without'} identifiers"
    )
    conns = args.connections
    results: dict[tuple[str, str], dict[str, float]] = {}
    missed: list[str] = []

    def show(server: str, what: str, r: dict[str, float]) -> None:
        floor = results.get(("floor", what.split(" (")[0]))
        vs = f"{r['rate'] / floor['rate']:.2f}x floor" if floor and server != "floor" else ""
        print(
            f"  {server:<9} {what:<50} {r['rate']:>9,.0f} {r['p50']:>8.2f} {r['p99']:>8.2f}  {vs}"
        )
        if r["non2xx"] or r["socket_errors"]:
            print(
                f"    ({r['non2xx']:.0f} non-2xx answers, {r['socket_errors']:.0f} socket errors)"
            )

    def rec(server: str, what: str, r: dict[str, float]) -> None:
        label = f"{server} server, {what}, {conns} connections"
        if server == "against":
            label = f"{args.against}, {what}, {conns} connections"
        targeted = server == "default" and what.startswith("meter events")
        clean = not (r["non2xx"] or r["socket_errors"])  # errors make a run count for nothing
        ok_rate = clean and r["rate"] >= RATE_TARGET if targeted else None
        ok_p99 = clean and r["p99"] <= P99_TARGET if targeted else None
        record(f"{label}: requests/s", r["rate"], "req/s",
               f">= {RATE_TARGET:,.0f} req/s" if targeted else None, ok_rate)  # fmt: skip
        record(f"{label}: p50", r["p50"], "ms")
        record(
            f"{label}: p99", r["p99"], "ms", f"<= {P99_TARGET:g} ms" if targeted else None, ok_p99
        )
        if r["non2xx"] or r["socket_errors"]:
            record(
                f"{label}: non-2xx answers and socket errors", r["non2xx"] + r["socket_errors"], ""
            )
        if ok_rate is False or ok_p99 is False:
            missed.append(f"{server} {what}")

    print(f"  {'server':<9} {'endpoint':<50} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    order = sorted(servers, key=lambda s: s != "floor")  # the floor first: the others' ratios
    for server in order:
        if server == "against":
            proc, url, key = None, args.against, args.against_key
        elif server == "floor":
            (proc, url), key = start_floor(), KEY
        else:
            (proc, url), key = start_cli(*(["--threaded"] if server == "threaded" else [])), KEY
        try:
            customer = prepare(url, key)
            runs = [
                ("meter events", EVENTS, event_form(customer)),
                ("customers", CUSTOMERS, {"name": "bench", "email": "a@b.c"}),
            ]
            for what, path, form in runs:
                r = run_wrk(url, path, key, urlencode(form), args)
                results[(server, what)] = r
                show(server, f"{what} (POST {path})", r)
                rec(server, what, r)
            if server == "default" and args.events:
                big = Api(url, key).call("POST", CUSTOMERS, {"name": "big"})["id"]
                seconds = load_events(url, key, big, args.events)
                total, query_ms = summary_total(url, key, big)
                print(f"  loaded {args.events:,} events for one customer through the v2 stream in "
                      f"{seconds:.1f} s ({args.events / seconds:,.0f} events/s); the summary says "
                      f"{total:,.0f} (first query {query_ms:.0f} ms)")  # fmt: skip
                if total != args.events:
                    raise RuntimeError(
                        f"the summary counts {total:,.0f} events, not {args.events:,}"
                    )
                loading = f"loading {args.events:,} events for one customer"
                record(f"{loading} (v2 stream, 100 per request, 2 clients)", seconds, "s")
                record(
                    f"loading {args.events:,} events for one customer: rate",
                    args.events / seconds,
                    "events/s",
                )
                form = {
                    "event_name": "bench",
                    "payload[stripe_customer_id]": big,
                    "payload[value]": "1",
                }
                what = f"meter events, {args.events:,} stored for the customer"
                r = run_wrk(url, EVENTS, key, urlencode(event_form(big)), args)
                show(server, what, r)
                rec(server, what, r)
        finally:
            if proc is not None:
                stop(proc)
    print("targets met" if not missed else "targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
