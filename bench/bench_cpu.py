"""Server CPU time per request of the CLI server, against a do-nothing floor server (issue 16).

    python bench/bench_cpu.py [-n 2000] [--against URL --against-pid PID [--against-key KEY]]

Starts the CLI server (`python -m stripe_mock_billing`) and the floor server (bench/_floor.py:
fixed answers, served by the same `loop_server.LoopServer`) in subprocesses, sends n sequential
keep-alive `http.client` requests per endpoint, and reads the server process's CPU time before
and after: the scheduler's run time of each of its threads (/proc/<pid>/task/*/schedstat, in
nanoseconds), or utime + stime (/proc/<pid>/stat, 10 ms ticks: +-10 us per request over 2,000
requests) where schedstat is missing. CPU ms per request
for POST /v1/customers, POST /v1/billing/meter_events and GET /v1/customers/{id}, beside the
floor's. `--against URL --against-pid PID` measures another server running on this machine
the same way (e.g. a stripe-mock: its URL, and the pid of its process; `--against-key` is the
secret key sent to it). Target: <= 0.12 ms per request for each endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _floor import start_cli, start_floor, stop  # noqa: E402
from _results import record  # noqa: E402

KEY = "sk_test_bench_cpu"
TARGET = 0.12  # ms
TICK = os.sysconf("SC_CLK_TCK")
Request = tuple[str, str, dict[str, str] | None]


def cpu_seconds(pid: int) -> float:
    """CPU time of the process so far: the sum of its threads' run times (ns), else ticks."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except FileNotFoundError:  # a thread that ended: its time is no longer counted
                continue
    except FileNotFoundError:
        total = 0
    if total:
        return total / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Target:
    """One server: its pid, a keep-alive connection, the customers it created."""

    def __init__(self, name: str, pid: int, url: str, key: str = KEY) -> None:
        parts = urlsplit(url)
        self.name, self.pid, self.key = name, pid, key
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        self.ids: list[str] = []

    def call(self, method: str, path: str, params: dict[str, str] | None) -> bytes:
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self.conn.request(method, path, body=urlencode(params) if params else None, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status >= 400:
            raise RuntimeError(
                f"{self.name}: {method} {path} answered {resp.status}: {raw[:300]!r}"
            )
        return raw

    def prepare(self) -> None:
        """A meter for the events, and 100 customers (their ids from the answers); warm-up."""
        form = {
            "display_name": "b",
            "event_name": "bench_cpu",
            "default_aggregation[formula]": "sum",
        }
        self.call("POST", "/v1/billing/meters", form)
        for i in range(200):
            raw = self.call("POST", "/v1/customers", {"name": f"w{i}", "email": "a@b.c"})
            if i < 100:
                self.ids.append(json.loads(raw)["id"])

    def measure(self, n: int, requests: Callable[[Target, int], Request]) -> float:
        """CPU ms per request of the server process over n requests."""
        before = cpu_seconds(self.pid)
        for i in range(n):
            self.call(*requests(self, i))
        return (cpu_seconds(self.pid) - before) / n * 1000


def create(t: Target, i: int) -> Request:
    return "POST", "/v1/customers", {"name": f"c{i}", "email": "a@b.c"}


def event(t: Target, i: int) -> Request:
    params = {
        "event_name": "bench_cpu",
        "payload[stripe_customer_id]": t.ids[i % len(t.ids)],
        "payload[value]": "1",
    }
    return "POST", "/v1/billing/meter_events", params


def retrieve(t: Target, i: int) -> Request:
    return "GET", f"/v1/customers/{t.ids[i % len(t.ids)]}", None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=2000, help="requests per endpoint (default 2000)")
    parser.add_argument(
        "--against", metavar="URL", help="another server to measure (e.g. a stripe-mock)"
    )
    parser.add_argument(
        "--against-pid", type=int, metavar="PID", help="its process id (required with --against)"
    )
    parser.add_argument(
        "--against-key", default="sk_test_123", help="the key sent to it (default sk_test_123)"
    )
    args = parser.parse_args()
    if bool(args.against) != bool(args.against_pid):
        parser.error("--against and --against-pid go together")
    n = args.n
    emu, emu_url = start_cli()
    floor, floor_url = start_floor()
    try:
        targets = [Target("emulator", emu.pid, emu_url), Target("floor", floor.pid, floor_url)]
        if args.against:
            targets.append(Target("against", args.against_pid, args.against, args.against_key))
        for t in targets:
            t.prepare()
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.against:
            print(f"against: {args.against} (pid {args.against_pid})")
        print(f"server CPU per request, {n} sequential keep-alive requests each:")
        for label, gen in (
            ("POST /v1/customers", create),
            ("POST /v1/billing/meter_events", event),
            ("GET /v1/customers/{id}", retrieve),
        ):
            ms = {t.name: t.measure(n, gen) for t in targets}
            ok = ms["emulator"] <= TARGET
            shown = "  ".join(f"{name} {value:.4f} ms" for name, value in ms.items())
            print(f"  {label:<32} {shown}  {'OK' if ok else 'MISSED'}")
            record(
                f"{label}: server CPU per request", ms["emulator"], "ms", f"<= {TARGET:g} ms", ok
            )
            record(f"{label}: floor server (same loop), CPU per request", ms["floor"], "ms")
            if "against" in ms:
                record(f"{label}: against {args.against}, CPU per request", ms["against"], "ms")
    finally:
        stop(emu)
        stop(floor)


if __name__ == "__main__":
    main()
