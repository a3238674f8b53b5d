"""Benchmark: the foundation's overheads (CLI startup, SDK round trips, server time per request).

Run from the repo root: `/work/venv/bin/python bench/bench_foundation.py [--strict] [--profile]`.

  1. startup-to-healthy: spawn `python -m stripe_mock_billing --port <free>` (what the
     `stripe-mock-billing` console script runs) and poll `/healthz` until it answers; the time
     from spawn to the first 200, median of several runs (target < 300 ms), in two settings,
     alternating: the package's bytecode compiled, as `pip install` leaves it (in a temporary
     `PYTHONPYCACHEPREFIX`, written by a first, untimed start), and the package compiled from
     source at every start, as in a checkout run with `PYTHONDONTWRITEBYTECODE=1` (the same
     cache without the package's files: the standard library and dependencies stay compiled);
  2. sequential keep-alive round trips per second through the SDK: one `stripe.StripeClient`
     retrieving one customer in a loop against that CLI server, compared with the same SDK
     loop against a trivial WSGI app returning the same bytes, served by the same kind of
     server in its own process (no target: context);
  3. server-side time added per request: the Flask app called directly as a WSGI callable
     (no sockets, no HTTP parsing) for `GET /v1/customers/<id>` and for an idempotent-key
     `POST /v1/customers`, minus the same call on an empty WSGI app (target < 0.1 ms for the
     retrieve). With `--profile`, cProfile's top functions of the retrieve path are printed.

Prints every figure next to its target; `--strict` exits 1 when a target is missed.
Figures depend on this machine; nothing is faked or cached between iterations.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
import stripe
from flask import Flask, Response
from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import record  # noqa: E402

from stripe_mock_billing.app import create_app  # noqa: E402
from stripe_mock_billing.cli_server import make_cli_server  # noqa: E402
from stripe_mock_billing.config import Settings  # noqa: E402

STARTUP_TARGET_MS = 300.0
SERVER_TIME_TARGET_MS = 0.1
_missed: list[str] = []


def report(label: str, value: float, unit: str, target: float | None = None) -> None:
    """One line: figure, unit, and `(target < x) OK/MISSED` for lower-is-better targets."""
    verdict = ""
    ok = None
    if target is not None:
        ok = value < target
        verdict = f"(target < {target:g} {unit}) {'OK' if ok else 'MISSED'}"
        if not ok:
            _missed.append(label)
    print(f"  {label:<58} {value:>10,.3f} {unit:<5} {verdict}", flush=True)
    record(label, value, unit, None if target is None else f"< {target:g} {unit}", ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- 1. startup ---------------------------------------------------------------------------------


def start_cli(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str, float]:
    """Spawn the CLI; return it, its URL and the ms from spawn until /healthz answered."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    session = requests.Session()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    while True:
        try:
            if session.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the CLI server exited during startup")
        if time.perf_counter() - t0 > 30:
            proc.kill()
            raise SystemExit("the CLI server did not become healthy within 30 s")
        time.sleep(0.002)
    return proc, url, (time.perf_counter() - t0) * 1000


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def _children_cpu_ms() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1000


def _bytecode_envs(cache: Path) -> dict[str, dict[str, str]]:
    """Child environments: bytecode of everything cached, and of all but the package."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_MOCK_BILLING_")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    compiled, deps = cache / "all", cache / "deps"
    proc, _, _ = start_cli({**base, "PYTHONPYCACHEPREFIX": str(compiled)})  # writes the cache
    stop(proc)
    shutil.copytree(compiled, deps)
    package = deps / str(ROOT / "stripe_mock_billing").lstrip(os.sep)
    if not package.is_dir():
        raise SystemExit(f"no bytecode of the package at {package}")
    shutil.rmtree(package)
    return {
        "bytecode compiled (as pip installs it)": {
            **base,
            "PYTHONPYCACHEPREFIX": str(compiled),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        "package from source (no bytecode cache)": {
            **base,
            "PYTHONPYCACHEPREFIX": str(deps),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
    }


def bench_startup(runs: int) -> None:
    cache = Path(tempfile.mkdtemp(prefix="bench-foundation-pyc-"))
    try:
        envs = _bytecode_envs(cache)
        times: dict[str, list[float]] = {name: [] for name in envs}
        cpu: dict[str, list[float]] = {name: [] for name in envs}
        for _ in range(runs):
            for name, env in envs.items():
                before = _children_cpu_ms()
                proc, _, ms = start_cli(env)
                stop(proc)
                times[name].append(ms)
                cpu[name].append(_children_cpu_ms() - before)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"startup-to-healthy ({runs} runs each; load average {load:.1f}, {os.cpu_count()} CPUs)")
    for name in envs:
        print(f"  {name}: {', '.join(f'{t:.0f}' for t in times[name])} ms")
        report(
            f"CLI spawn -> /healthz 200, median, {name}",
            statistics.median(times[name]),
            "ms",
            STARTUP_TARGET_MS,
        )
        report(f"CLI spawn -> /healthz 200, best, {name}", min(times[name]), "ms")
        report(
            f"  server process CPU time (start, /healthz, stop), median, {name}",
            statistics.median(cpu[name]),
            "ms",
        )


# --- 2. SDK round trips -----------------------------------------------------------------------


def trivial_app_for(body: bytes) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that answers every request with the fixed `body` (JSON)."""
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        start_response("200 OK", headers)
        return [body]

    return app


trivial_app = trivial_app_for(b'{"id":"cus_x","object":"customer"}')


def serve_trivial(port: int, body: bytes) -> None:
    """`--serve-trivial`: the trivial app on the CLI's kind of server, in its own process."""
    server = make_cli_server(trivial_app_for(body), "127.0.0.1", port)  # type: ignore[arg-type]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


def sdk_loop(url: str, key: str, cid: str, seconds: float) -> float:
    """Retrieves per second, one StripeClient, sequential, keep-alive."""
    client = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
    for _ in range(50):  # warm up: connection, imports, caches
        client.v1.customers.retrieve(cid)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        client.v1.customers.retrieve(cid)
        n += 1
    return n / (time.perf_counter() - t0)


def bench_sdk(seconds: float) -> None:
    print("sequential SDK round trips (StripeClient.v1.customers.retrieve, keep-alive)")
    proc, url, _ = start_cli()
    try:
        key = "sk_test_bench_" + uuid.uuid4().hex
        client = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
        cid = client.v1.customers.create({"name": "bench"}).id
        body = requests.get(
            f"{url}/v1/customers/{cid}", headers={"Authorization": f"Bearer {key}"}, timeout=5
        ).content
        emulator = sdk_loop(url, key, cid, seconds)
    finally:
        stop(proc)
    # the same response bytes from a trivial app in its own process on the same kind of server,
    # so the SDK's own parsing and the HTTP stack cancel out
    port = free_port()
    trivial = subprocess.Popen(
        [sys.executable, __file__, "--serve-trivial", str(port)],
        env={**os.environ, "BENCH_TRIVIAL_BODY": body.hex()},
    )
    try:
        t_url = f"http://127.0.0.1:{port}"
        for _ in range(3000):
            try:
                requests.get(t_url, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.005)
        baseline = sdk_loop(t_url, key, cid, seconds)
    finally:
        trivial.terminate()
        trivial.wait(10)
    report("SDK -> emulator (CLI server), round trips/s", emulator, "/s")
    report("SDK -> trivial app, same body (same server), round trips/s", baseline, "/s")
    added = (1 / emulator - 1 / baseline) * 1000
    report("  => emulator time per round trip beyond trivial app", added, "ms")


# --- 3. server time per request ------------------------------------------------------------------


def wsgi_timer(app: Any, make_environ: Callable[[], dict[str, Any]], n: int) -> float:
    """Mean CPU microseconds of `app(environ, start_response)` (incl. iterating the body), best
    of 5 rounds: CPU time (`process_time`) and the best round keep other processes on a busy
    machine out of the figure, as `timeit` does."""

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    rounds = []
    for _ in range(5):
        environs = [make_environ() for _ in range(n)]  # built outside the timed loop
        t0 = time.process_time()
        for env in environs:
            out = app(env, start_response)
            for _chunk in out:
                pass
            close = getattr(out, "close", None)
            if close is not None:
                close()
        rounds.append((time.process_time() - t0) / n * 1e6)
    return min(rounds)


def bench_server_time(n: int, profile: bool) -> None:
    app = create_app(Settings(port=0))
    key = "sk_test_bench_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    client = app.test_client()
    created = client.post("/v1/customers", data={"name": "bench"}, headers=auth)
    cid = created.get_json()["id"]

    def get_env() -> dict[str, Any]:
        return EnvironBuilder(
            path=f"/v1/customers/{cid}",
            headers={**auth, "Stripe-Version": "2026-10-28.endive"},
        ).get_environ()

    counter = iter(range(10**9))

    def post_env() -> dict[str, Any]:
        return EnvironBuilder(
            method="POST",
            path=f"/v1/customers/{cid}",
            data="metadata[k]=v&name=bench",
            content_type="application/x-www-form-urlencoded",
            headers={**auth, "Idempotency-Key": f"k{next(counter)}"},
        ).get_environ()

    bare = Flask("bare")
    body = created.get_data()

    @bare.get("/v1/customers/<cid>")
    def bare_retrieve(cid: str) -> Response:
        return Response(body, content_type="application/json")

    empty = wsgi_timer(trivial_app, get_env, n)
    flask_floor = wsgi_timer(bare, get_env, n)
    retrieve = wsgi_timer(app, get_env, n)
    update = wsgi_timer(app, post_env, n // 2)
    print(f"server CPU time per request (WSGI call, no sockets; {n} calls, best of 5 rounds)")
    report("empty WSGI app", empty / 1000, "ms")
    report("bare Flask app, one route returning the same bytes", flask_floor / 1000, "ms")
    report("GET /v1/customers/<id>", retrieve / 1000, "ms")
    report(
        "  => added by the emulator (retrieve)",
        (retrieve - empty) / 1000,
        "ms",
        SERVER_TIME_TARGET_MS,
    )
    report("  => of which Flask itself (bare Flask - empty)", (flask_floor - empty) / 1000, "ms")
    report(
        "  => the emulator's own code (retrieve - bare Flask)",
        (retrieve - flask_floor) / 1000,
        "ms",
    )
    report("POST /v1/customers/<id> with Idempotency-Key", update / 1000, "ms")
    report("  => added by the emulator (update + idempotency)", (update - empty) / 1000, "ms")
    if profile:
        envs = [get_env() for _ in range(n)]
        prof = cProfile.Profile()
        prof.enable()
        for env in envs:
            for _chunk in app(env, lambda *a: None):
                pass
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per SDK loop")
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=4000, help="WSGI calls per round")
    parser.add_argument("--profile", action="store_true", help="cProfile the retrieve path")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--serve-trivial", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_trivial is not None:
        serve_trivial(args.serve_trivial, bytes.fromhex(os.environ["BENCH_TRIVIAL_BODY"]))
        return 0
    bench_startup(args.startup_runs)
    bench_sdk(args.seconds)
    bench_server_time(args.calls, args.profile)
    if _missed:
        print("MISSED: " + ", ".join(_missed))
    return 1 if (args.strict and _missed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
