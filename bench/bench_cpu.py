"""Server CPU time per request of the CLI server, against a do-nothing floor server (issue 16).

    python bench/bench_cpu.py [-n 2000]

Starts the CLI server (`python -m stripe_mock_billing`) and a floor server (a one-route WSGI app
answering a fixed body, served by the same `loop_server.LoopServer`) in subprocesses, sends n
sequential keep-alive `http.client` requests per endpoint, and reads the server process's CPU
time (utime + stime in /proc/<pid>/stat) before and after: CPU ms per request for POST
/v1/customers, POST /v1/billing/meter_events and GET /v1/customers/{id}, beside the floor's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import record  # noqa: E402

KEY = "sk_test_bench_cpu"
TARGET = 0.12  # ms
TICK = os.sysconf("SC_CLK_TCK")


def floor_server() -> None:
    """Serve a trivial WSGI app with the CLI's event-loop server; print its URL."""
    from stripe_mock_billing.loop_server import LoopServer

    body = b'{"id": "cus_floor", "object": "customer"}'

    def app(environ: dict, start_response: object) -> list[bytes]:
        environ["wsgi.input"].read()
        start_response(  # type: ignore[operator]
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    server = LoopServer(app, "127.0.0.1", 0)  # type: ignore[arg-type]
    print(f"listening on http://127.0.0.1:{server.address()[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    server.serve_forever()


def start(cmd: list[str]) -> tuple[subprocess.Popen[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_MOCK_BILLING_")}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    m = re.search(r"http://[^:]+:(\d+)", proc.stdout.readline())
    assert m, "no URL line"
    return proc, int(m.group(1))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def measure(pid: int, conn: http.client.HTTPConnection, n: int, requests: object) -> float:
    """CPU ms per request of the server process over n requests."""
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    before = cpu_seconds(pid)
    for i in range(n):
        method, path, params = requests(i)  # type: ignore[operator]
        conn.request(method, path, body=urlencode(params) if params else None, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status < 400, (path, resp.status)
    return (cpu_seconds(pid) - before) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per endpoint (default 2000)")
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        floor_server()
        return
    n = args.n
    emu, emu_port = start([sys.executable, "-m", "stripe_mock_billing", "--port", "0"])
    floor, floor_port = start([sys.executable, str(Path(__file__).resolve()), "--floor-server"])
    try:
        e = http.client.HTTPConnection("127.0.0.1", emu_port)
        f = http.client.HTTPConnection("127.0.0.1", floor_port)
        e.request(
            "POST",
            "/v1/billing/meters",
            urlencode(
                {
                    "display_name": "b",
                    "event_name": "bench_cpu",
                    "default_aggregation[formula]": "sum",
                }
            ),
            {"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        e.getresponse().read()
        ids: list[str] = []

        def create(i: int) -> tuple[str, str, dict[str, str]]:
            return "POST", "/v1/customers", {"name": f"c{i}", "email": "a@b.c"}

        def event(i: int) -> tuple[str, str, dict[str, str]]:
            return (
                "POST",
                "/v1/billing/meter_events",
                {
                    "event_name": "bench_cpu",
                    "payload[stripe_customer_id]": ids[i % len(ids)],
                    "payload[value]": "1",
                },
            )

        def retrieve(i: int) -> tuple[str, str, None]:
            return "GET", f"/v1/customers/{ids[i % len(ids)]}", None

        measure(emu.pid, e, 200, create)  # warm-up
        e.request("GET", "/v1/customers?limit=100", headers={"Authorization": f"Bearer {KEY}"})
        ids = [c["id"] for c in json.loads(e.getresponse().read())["data"]]
        print(f"server CPU per request, {n} sequential keep-alive requests each:")
        for label, gen in (
            ("POST /v1/customers", create),
            ("POST /v1/billing/meter_events", event),
            ("GET /v1/customers/{id}", retrieve),
        ):
            emu_ms = measure(emu.pid, e, n, gen)
            floor_ms = measure(floor.pid, f, n, gen)
            ok = emu_ms <= TARGET
            print(
                f"  {label:<32} emulator {emu_ms:.4f} ms  floor {floor_ms:.4f} ms  "
                f"{'OK' if ok else 'MISSED'}"
            )
            record(f"{label}: server CPU per request", emu_ms, "ms", f"<= {TARGET:g} ms", ok)
            record(f"{label}: floor server (same loop), CPU per request", floor_ms, "ms")
    finally:
        for proc in (emu, floor):
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)


if __name__ == "__main__":
    main()
