"""The CLI server's collector scheme (stripe_mock_billing/gc_tuning.py), seen through its log:
the start-up heap is frozen, young collections run under load, and a full collection follows
once the server is idle. Pause lengths, and what a reset gives back, are a benchmark's business
(bench/bench_gc.py), not a test's."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import validated

URL_LINE = re.compile(r"listening on (http://[\d.]+:\d+)")
KEY = "sk_test_cli_gc"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The CLI server with `STRIPE_MOCK_BILLING_GC_LOG` set; its URL and the log's path."""
    log = tmp_path / "gc.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_MOCK_BILLING_")}
    env["STRIPE_MOCK_BILLING_GC_LOG"] = str(log)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    m = URL_LINE.search(proc.stdout.readline())
    try:
        assert m, "no URL line"
        yield m.group(1), log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def wait_for(log: Path, pattern: str, timeout: float = 30.0) -> list[str]:
    """The log's lines matching `pattern`, once there is one (fails after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln for ln in log.read_text().splitlines() if re.fullmatch(pattern, ln)]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_frozen_start_up_young_collections_under_load_a_full_one_when_idle(
    server: tuple[str, Path],
) -> None:
    url, log = server
    first = log.read_text().splitlines()[0]
    assert re.fullmatch(r"frozen \d+", first) and int(first.split()[1]) > 1000
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {KEY}"
        product = validated(s.post(f"{url}/v1/products", data={"name": "p"})).json()["id"]
        data = {"collection_method": "send_invoice", "days_until_due": "30"}
        for i in range(20):
            price = s.post(
                f"{url}/v1/prices",
                data={
                    "product": product,
                    "currency": "usd",
                    "unit_amount": "100",
                    "recurring[interval]": "month",
                },
            )
            data[f"items[{i}][price]"] = validated(price).json()["id"]
        # subscriptions of 20 items keep many objects each: a few young collections (one per
        # 10,000 allocations), enough for a full one once idle
        for _ in range(300):
            # load for the collector, not validated (the test reads the collector's log)
            data["customer"] = s.post(f"{url}/v1/customers").json()["id"]
            # load for the collector, not validated (the test reads the collector's log)
            s.post(f"{url}/v1/subscriptions", data=data).raise_for_status()
    assert wait_for(log, r"[012] \d+\.\d+ \d+\.\d+"), log.read_text()
    # then the server is idle: one full collection, which leaves the survivors frozen
    idle = wait_for(log, r"idle \d+\.\d+ \d+ \d+")
    assert idle and int(idle[0].split()[3]) > 1000, log.read_text()
