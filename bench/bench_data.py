"""Benchmark of `--data PATH` (optional persistence): the per-request cost of periodic saving.

    python bench/bench_data.py [--quick]

The CLI server (default event loop) runs as a subprocess, once without `--data` and once with
`--data` (interval 1 s), in alternating rounds. Each round sends a write load (`POST
/v1/customers`, one keep-alive connection, so each save exports an ever larger account: several
thousand customers and their events by the end of a round) and then a read load (`GET` of those
customers), and takes the mean time per request (so the pauses of the saves count). The cost
is the median over the rounds of the ratio with / without (target: under 5 %). Also printed:
the size of the file at the end of a round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _floor import start_cli, stop  # noqa: E402
from _results import record  # noqa: E402

TARGET = 5.0  # percent
KEY = "sk_test_bench_data"


def run_round(n: int, data: Path | None) -> tuple[float, float, int]:
    """Mean ms per POST and per GET (the pauses of the saves included); the file's size."""
    args = ["--data", str(data), "--data-interval", "1"] if data is not None else []
    proc, url = start_cli(*args)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {KEY}"
    try:
        posts, ids = [], []
        for i in range(n):
            t = time.perf_counter()
            r = s.post(url + "/v1/customers", data={"name": f"c{i}", "metadata[n]": str(i)})
            posts.append(time.perf_counter() - t)
            ids.append(r.json()["id"])
        gets = []
        for cid in ids:
            t = time.perf_counter()
            s.get(url + "/v1/customers/" + cid).raise_for_status()
            gets.append(time.perf_counter() - t)
    finally:
        stop(proc)
    size = data.stat().st_size if data is not None else 0
    return statistics.fmean(posts) * 1000, statistics.fmean(gets) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args()
    rounds, n = (3, 1500) if args.quick else (5, 4000)
    ratios_post, ratios_get, base_post, base_get = [], [], [], []
    size = 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            data = Path(tmp) / f"round{r}.json"
            off = run_round(n, None)
            on = run_round(n, data)
            size = on[2]
            saves_ok = json.loads(data.read_bytes())["format_version"]
            assert saves_ok
            ratios_post.append(on[0] / off[0])
            ratios_get.append(on[1] / off[1])
            base_post.append(off[0])
            base_get.append(off[1])
            print(
                f"  round {r + 1}: POST {off[0]:.3f} -> {on[0]:.3f} ms, "
                f"GET {off[1]:.3f} -> {on[1]:.3f} ms"
            )
    post_cost = (statistics.median(ratios_post) - 1) * 100
    get_cost = (statistics.median(ratios_get) - 1) * 100
    label = f"{n:,} customers per round, {rounds} rounds, interval 1 s"
    print(f"POST /v1/customers without --data: {statistics.median(base_post):.3f} ms")
    print(f"GET /v1/customers/:id without --data: {statistics.median(base_get):.3f} ms")
    print(f"per-request cost of --data, POST ({label}): {post_cost:+.1f} % (target < {TARGET} %)")
    print(f"per-request cost of --data, GET: {get_cost:+.1f} % (target < {TARGET} %)")
    print(f"data file at the end of a round: {size / 1e6:.1f} MB")
    record(
        f"POST /v1/customers, mean, without --data ({n:,} per round)",
        statistics.median(base_post),
        "ms",
    )
    record("GET /v1/customers/:id, mean, without --data", statistics.median(base_get), "ms")
    record(
        f"--data per-request cost, POST ({label})",
        post_cost,
        "%",
        target=f"< {TARGET:g} %",
        ok=post_cost < TARGET,
    )
    record(
        "--data per-request cost, GET",
        get_cost,
        "%",
        target=f"< {TARGET:g} %",
        ok=get_cost < TARGET,
    )
    record("--data file size at the end of a round", size / 1e6, "MB")


if __name__ == "__main__":
    main()
