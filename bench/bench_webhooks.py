"""Benchmark: webhook delivery costs.

Run from the repo root: `.venv/bin/python bench/bench_webhooks.py [sync|background|timeouts]`
(no argument: all three; `--strict` exits 1 when a target is missed).

  sync        synchronous delivery's cost per event per endpoint on loopback: `POST
              /v1/customers` (one `customer.created` event) called on the app as a WSGI
              callable, median over many calls, with 0, 1 and 5 endpoints pointing at a fast
              receiver in another process; (t_k - t_0) / k (target <= 1 ms);
  background  deliveries per second in background mode: 10 endpoints at the fast receiver,
              2,000 customers created as fast as the app allows, from the first call until the
              queue is empty and every attempt recorded (target >= 2,000 deliveries/s);
  timeouts    `POST /v1/customers` p50 (WSGI) in background mode while 100 endpoints all
              point at a receiver that accepts and never answers (10 s timeout), compared with
              the same 100 endpoints answering at once (target: <= 10 % slower), and the
              p50 of another account meanwhile.

The receivers run in a subprocess (asyncio, keep-alive), so they do not share the GIL.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import record  # noqa: E402

from stripe_mock_billing.app import create_app  # noqa: E402
from stripe_mock_billing.config import Settings  # noqa: E402
from stripe_mock_billing.control_webhooks import dispatcher  # noqa: E402
from stripe_mock_billing.wsgi_call import call_wsgi  # noqa: E402

_missed: list[str] = []

RECEIVER = textwrap.dedent(
    """
    import asyncio, sys
    HANG = sys.argv[1] == "hang"
    OK = b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"

    class P(asyncio.Protocol):
        def connection_made(self, t):
            self.t, self.buf = t, b""
        def data_received(self, data):
            if HANG:
                return
            self.buf += data
            while True:
                head_end = self.buf.find(b"\\r\\n\\r\\n")
                if head_end < 0:
                    return
                head = self.buf[:head_end].lower()
                i = head.find(b"content-length:")
                n = int(head[i + 15:].split(b"\\r\\n")[0]) if i >= 0 else 0
                if len(self.buf) < head_end + 4 + n:
                    return
                self.buf = self.buf[head_end + 4 + n:]
                self.t.write(OK)

    async def main():
        try:
            import uvloop
            uvloop.install()
        except ImportError:
            pass
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(P, "127.0.0.1", 0, backlog=1024)
        print(srv.sockets[0].getsockname()[1], flush=True)
        await srv.serve_forever()

    asyncio.run(main())
    """
)


def row(label: str, value: float, unit: str, target: str | None = None, ok: bool | None = None):  # type: ignore[no-untyped-def]
    """Print and record one figure."""
    verdict = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"  {label:<62} {value:10.3f} {unit:<14} {target or ''}{verdict}")
    record(label, value, unit, target, ok)
    if ok is False:
        _missed.append(label)


class Receiver:
    """A receiver subprocess (`fast` answers 200 at once, `hang` never answers)."""

    def __init__(self, kind: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RECEIVER, kind], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/hook"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _call(app: Any, key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    data = None
    if body is not None:
        if path.startswith("/_mock"):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        else:
            from urllib.parse import urlencode

            data = urlencode(body, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    status, _, raw = call_wsgi(app, method, "http://bench.invalid" + path, headers, data)
    if status >= 400:
        raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
    return json.loads(raw) if raw else None


def _endpoints(app: Any, key: str, url: str, n: int) -> None:
    for _ in range(n):
        _call(app, key, "POST", "/v1/webhook_endpoints", {"url": url, "enabled_events[]": "*"})


def _p50_create(app: Any, key: str, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        _call(app, key, "POST", "/v1/customers", {"name": "bench"})
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_sync() -> None:
    print("synchronous delivery, WSGI POST /v1/customers (1 event), fast loopback receiver")
    rcv = Receiver("fast")
    try:
        app = create_app(Settings(port=0))
        medians = {}
        for k in (0, 1, 5):
            key = "sk_test_" + uuid.uuid4().hex
            _endpoints(app, key, rcv.url, k)
            _p50_create(app, key, 200)  # warm up (connections, caches)
            medians[k] = _p50_create(app, key, 1000)
            row(f"p50 POST /v1/customers, {k} endpoint(s)", medians[k], "ms")
        for k in (1, 5):
            per = (medians[k] - medians[0]) / k
            row(
                f"added per event per endpoint ({k} endpoint(s))",
                per,
                "ms",
                "<= 1 ms",
                per <= 1.0,
            )
    finally:
        rcv.close()


def bench_background() -> None:
    print("background delivery throughput: 10 endpoints, 2,000 events, fast receiver")
    rcv = Receiver("fast")
    try:
        app = create_app(Settings(port=0))
        key = "sk_test_" + uuid.uuid4().hex
        _call(app, key, "POST", "/_mock/settings", {"webhook_delivery": "background"})
        _endpoints(app, key, rcv.url, 10)
        store = app.extensions["stripe_mock_billing.store"]
        ns = store.namespace(key)
        n_events = 2000
        t0 = time.perf_counter()
        for _ in range(n_events):
            _call(app, key, "POST", "/v1/customers", {})
        t_api = time.perf_counter() - t0
        if not dispatcher(app).wait_idle(ns, 120):
            raise RuntimeError("deliveries did not finish")
        elapsed = time.perf_counter() - t0
        # every endpoint answered 2xx for every event: pending_webhooks all back to 0
        ok = n_events * 10 - sum(ev.pending_webhooks for ev in ns.events.values())
        if ok != n_events * 10:
            raise RuntimeError(f"{ok} of {n_events * 10} deliveries succeeded")
        row("API calls alone (2,000 creates, deliveries running)", t_api, "s")
        rate = ok / elapsed
        row(
            "deliveries per second (20,000 deliveries)",
            rate,
            "deliveries/s",
            ">= 2,000",
            rate >= 2000,
        )
    finally:
        rcv.close()


def bench_timeouts() -> None:
    print("background mode: 100 endpoints that all time out vs 100 that answer at once")
    from stripe_mock_billing.resources import webhook_endpoints as we

    we.MAX_ENDPOINTS = 100  # Stripe caps an account at 16 endpoints: lifted for the benchmark
    fast, hang = Receiver("fast"), Receiver("hang")
    try:
        app = create_app(Settings(port=0))
        baseline = "sk_test_" + uuid.uuid4().hex
        _p50_create(app, baseline, 200)
        row("p50 POST /v1/customers, no endpoints", _p50_create(app, baseline, 1000), "ms")
        results = {}
        # timing out first: its workers only wait, so the answering run that follows is not
        # slowed by them (the answering run's own deliveries keep running after it)
        for name, url in (("timing out", hang.url), ("answering", fast.url)):
            key = "sk_test_" + uuid.uuid4().hex
            _call(app, key, "POST", "/_mock/settings", {"webhook_delivery": "background"})
            _endpoints(app, key, url, 100)
            _p50_create(app, key, 100)  # warm up
            results[name] = _p50_create(app, key, 1000)
            row(f"p50 POST /v1/customers, 100 endpoints {name}", results[name], "ms")
            if name == "timing out":
                other = "sk_test_" + uuid.uuid4().hex
                _p50_create(app, other, 200)
                row(
                    "p50 POST /v1/customers of another account meanwhile",
                    _p50_create(app, other, 1000),
                    "ms",
                )
        slower = (results["timing out"] / results["answering"] - 1) * 100
        row("slowdown from timing-out receivers", slower, "%", "<= 10 %", slower <= 10)
    finally:
        fast.close()
        hang.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", nargs="?", choices=("sync", "background", "timeouts"))
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    for name, fn in (
        ("sync", bench_sync),
        ("background", bench_background),
        ("timeouts", bench_timeouts),
    ):
        if args.which in (None, name):
            fn()
    if _missed:
        print("MISSED: " + "; ".join(_missed))
    return 1 if args.strict and _missed else 0


if __name__ == "__main__":
    sys.exit(main())
