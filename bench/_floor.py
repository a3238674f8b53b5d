"""The do-nothing floor server of the side-by-side benches, and the helpers that start servers.

    python bench/_floor.py [--port 0]

The floor is what any server on this machine pays before doing any work: a WSGI app served by
the CLI's own event-loop server (`stripe_mock_billing.loop_server.LoopServer`) that reads and
discards the request body and answers fixed bytes, without parsing the body, checking the key
or storing anything. Its answers are ones the Stripe SDK parses for the calls the benches make:

- `POST /v1/billing/meter_events...`: a `billing.meter_event` object;
- anything else (`POST /v1/customers`, `GET /v1/customers/{id}`, ...): a `customer` object.

Both have the fields and about the size of the emulator's answers, so the bytes written and
parsed are comparable. bench_cpu.py, bench_concurrency.py and bench_sdk.py start it with
`start_floor()`; `start_cli()` starts the CLI server (`python -m stripe_mock_billing`) the same
way, and `stop()` ends either with SIGTERM. Both run the `stripe_mock_billing` of this tree, or
of the tree named by the environment variable `BENCH_SERVER_TREE` (e.g. a `git archive` of an
earlier commit, to measure a "before" with today's bench scripts).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the tree whose `stripe_mock_billing` the servers run (default: this one); e.g. a `git archive`
# of an earlier commit, to measure a "before" beside the working tree's "after"
SERVER_TREE = Path(os.environ.get("BENCH_SERVER_TREE") or ROOT).resolve()

CUSTOMER = (
    b'{"id": "cus_Floor0000000000", "object": "customer", "address": null, "balance": 0, '
    b'"created": 1767225600, "currency": null, "default_source": null, "delinquent": false, '
    b'"description": null, "discount": null, "email": "a@b.c", '
    b'"invoice_prefix": "F100D000", "invoice_settings": {"custom_fields": null, '
    b'"default_payment_method": null, "footer": null, "rendering_options": null}, '
    b'"livemode": false, "metadata": {}, "name": "floor", "next_invoice_sequence": 1, '
    b'"phone": null, "preferred_locales": [], "shipping": null, "tax_exempt": "none", '
    b'"test_clock": null}'
)
METER_EVENT = (
    b'{"object": "billing.meter_event", "created": 1767225600, "event_name": "bench", '
    b'"identifier": "floor-0000-0000-0000-000000000000", "livemode": false, '
    b'"payload": {"stripe_customer_id": "cus_Floor0000000000", "value": "1"}, '
    b'"timestamp": 1767225600}'
)


def app(environ: dict, start_response: object) -> list[bytes]:
    """Read and drop the body; answer a fixed customer or meter event object."""
    environ["wsgi.input"].read()
    body = METER_EVENT if environ["PATH_INFO"].startswith("/v1/billing/meter_events") else CUSTOMER
    start_response(  # type: ignore[operator]
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Request-Id", "req_floor"),
        ],
    )
    return [body]


def serve(host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the floor app until SIGTERM; print its URL first (like the CLI)."""
    from stripe_mock_billing.loop_server import LoopServer

    server = LoopServer(app, host, port)  # type: ignore[arg-type]
    print(f"floor listening on http://{host}:{server.address()[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    signal.signal(signal.SIGINT, lambda *_: server.shutdown())
    server.serve_forever()


def start(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start a server subprocess that prints its URL on its first line: (process, URL).

    The caller's `STRIPE_MOCK_BILLING_*` variables are not passed on; `env` adds variables."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STRIPE_MOCK_BILLING_")},
        **(env or {}),
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_TREE), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=SERVER_TREE
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"http://[^\s]+:\d+", line)
    if not m:
        proc.kill()
        raise SystemExit(f"{' '.join(cmd)}: no URL on its first line ({line!r})")
    return proc, m.group(0)


def start_cli(*extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """The CLI server (`python -m stripe_mock_billing --port 0 ...`): (process, URL)."""
    return start([sys.executable, "-m", "stripe_mock_billing", "--port", "0", *extra], env)


def start_floor() -> tuple[subprocess.Popen[str], str]:
    """The floor server in a subprocess: (process, URL)."""
    return start([sys.executable, str(Path(__file__).resolve())])


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then wait (kill after 30 s)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
