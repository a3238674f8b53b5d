"""Benchmark of the test-time modes: per-test set-up cost and the cost of one SDK call.

    python bench/bench_modes.py [--quick]

1. Per-test set-up in in-process mode (target <= 5 ms), measured two ways:
   a. the fixture's steps directly (new key, handle, mock_stripe start/stop, StripeClient,
      account reset), many times;
   b. real pytest: N tests using `stripe_client` minus N tests using nothing, divided by N.
2. One SDK call (`customers.create` and `customers.retrieve`) in-process through `responses`,
   in-process through the httpx transport, and over loopback HTTP to a ThreadedServer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import record  # noqa: E402

from stripe_mock_billing.app import create_app  # noqa: E402
from stripe_mock_billing.config import Settings  # noqa: E402
from stripe_mock_billing.handle import StripeMock, make_stripe_client, new_api_key  # noqa: E402
from stripe_mock_billing.inprocess import INPROCESS_URL, httpx_client, mock_stripe  # noqa: E402
from stripe_mock_billing.server import ThreadedServer  # noqa: E402

SETUP_TARGET_MS = 5.0


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Milliseconds per call of `fn`, `n` times (after 20 warm-up calls)."""
    for _ in range(20):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def show(
    label: str,
    samples: list[float],
    target: str = "",
    *,
    what: str = "",
    limit: str | None = None,
    met: bool | None = None,
) -> None:
    """One result line: median and p95 in ms; both recorded (as `what: label`), the median held
    to `limit` with the verdict `met`."""
    med = statistics.median(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    print(f"  {label:<46} median {med:7.3f} ms   p95 {p95:7.3f} ms   {target}")
    name = f"{what}: {label}" if what else label
    record(f"{name}, median", med, "ms", limit, met)
    record(f"{name}, p95", p95, "ms")


def fixture_steps(app: object) -> None:
    """What `stripe_mock` + `stripe_client` do around one in-process test."""
    handle = StripeMock(url=INPROCESS_URL, api_key=new_api_key(), mode="inprocess", app=app)  # type: ignore[arg-type]
    mock = mock_stripe(app).start()  # type: ignore[arg-type]
    handle.client()
    mock.stop()
    app.extensions["stripe_mock_billing.store"].reset(handle.api_key)  # type: ignore[attr-defined]


PYTEST_FILE = """
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_with_client(i, stripe_client):
    pass

@pytest.mark.parametrize("i", range({n}))
def test_without(i):
    pass
"""
CONFTEST = """
import json, time
import pytest

TIMES = {{}}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t = time.perf_counter()
    yield
    TIMES[item.name] = (time.perf_counter() - t) * 1000

def pytest_sessionfinish(session):
    with open({out!r}, "w") as f:
        json.dump(TIMES, f)
"""


def pytest_per_test(n: int) -> tuple[float, float]:
    """Median ms per test (set-up + call + teardown) with `stripe_client`, and without."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.json"
        (Path(tmp) / "test_bench.py").write_text(PYTEST_FILE.format(n=n))
        (Path(tmp) / "conftest.py").write_text(CONFTEST.format(out=str(out)))
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py"],
            capture_output=True,
            cwd=tmp,
            check=True,
        )
        times = json.loads(out.read_text())
    with_client = [v for k, v in times.items() if k.startswith("test_with_client[")][1:]
    without = [v for k, v in times.items() if k.startswith("test_without[")]
    return statistics.median(with_client), statistics.median(without)


def main() -> None:
    """Run and print every measurement next to its target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    n = 200 if args.quick else 1000

    print("Per-test set-up, in-process mode (target <= 5 ms)")
    app = create_app(Settings(propagate_exceptions=True))
    steps = timed(lambda: fixture_steps(app), n)
    met = statistics.median(steps) <= SETUP_TARGET_MS
    ok = "OK" if met else "MISSED"
    show(
        "fixture steps (handle+mock+client+reset)",
        steps,
        f"target <= 5 ms: {ok}",
        what=f"per-test set-up, in-process mode ({n:,} samples)",
        limit="<= 5 ms",
        met=met,
    )
    with_client, without = pytest_per_test(100 if args.quick else 300)
    overhead = with_client - without
    ok = "OK" if overhead <= SETUP_TARGET_MS else "MISSED"
    print(
        f"  {'pytest: stripe_client test minus empty test':<46} median {overhead:7.3f} ms"
        f"   ({with_client:.3f} vs {without:.3f} ms per test)   target <= 5 ms: {ok}"
    )
    tests = 100 if args.quick else 300
    record(
        f"per-test set-up, in-process mode: real pytest, {tests} tests using stripe_client "
        f"minus {tests} empty tests, median",
        overhead,
        "ms",
        "<= 5 ms",
        overhead <= SETUP_TARGET_MS,
    )

    print("\nOne SDK call (median of many; lower is better)")
    results: dict[str, float] = {}
    with mock_stripe(app):
        client = make_stripe_client(INPROCESS_URL, new_api_key())
        cus = client.v1.customers.create({"name": "bench"})
        s = timed(lambda: client.v1.customers.create({"name": "bench"}), n)
        show("in-process (responses)   customers.create", s, what=f"one SDK call ({n:,} samples)")
        results["inprocess"] = statistics.median(s)
        s = timed(lambda: client.v1.customers.retrieve(cus.id), n)
        show("in-process (responses)   customers.retrieve", s, what=f"one SDK call ({n:,} samples)")
    hx = make_stripe_client(
        INPROCESS_URL, new_api_key(), http_client=httpx_client(app, allow_sync_methods=True)
    )
    s = timed(lambda: hx.v1.customers.create({"name": "bench"}), n)
    show("in-process (httpx transport) customers.create", s, what=f"one SDK call ({n:,} samples)")
    with ThreadedServer(app=create_app(Settings())) as srv:
        remote = make_stripe_client(srv.url, new_api_key())
        cus = remote.v1.customers.create({"name": "bench"})
        s = timed(lambda: remote.v1.customers.create({"name": "bench"}), n)
        show("loopback HTTP (server)   customers.create", s, what=f"one SDK call ({n:,} samples)")
        results["server"] = statistics.median(s)
        s = timed(lambda: remote.v1.customers.retrieve(cus.id), n)
        show("loopback HTTP (server)   customers.retrieve", s, what=f"one SDK call ({n:,} samples)")
    ratio = results["server"] / results["inprocess"]
    verdict = "OK" if ratio > 1 else "MISSED"
    print(f"\n  loopback / in-process (create): {ratio:.2f}x   target > 1x (no socket): {verdict}")
    record(
        "one SDK call: loopback HTTP / in-process (customers.create)", ratio, "x", "> 1x", ratio > 1
    )


if __name__ == "__main__":
    main()
