"""Sequential stripe-python round trips against us, beside the do-nothing floor (issue 16).

    python bench/bench_sdk.py [-n 2000] [--rounds 5] [--warmup 200]
                              [--against URL [--against-key KEY]]

Times sequential calls through the Stripe SDK (stripe-python, as the test extra pins it:
16.1.0) with a `stripe.StripeClient(api_key, base_addresses={"api": url})` (its `v1`
namespace) and the HTTP client a user gets by default (no `http_client` argument:
`RequestsClient`, a keep-alive `requests.Session`, whenever `requests` is importable, which it
is as a dependency of stripe; the script prints the one it got). Three calls:
`customers.create`, `billing.meter_events.create` and `customers.retrieve`, n (default 2,000)
of each per server after a warm-up, against the CLI's default server (`python -m
stripe_mock_billing --port 0`), the do-nothing floor server (bench/_floor.py: fixed answers on
the same event loop) and `--against URL` (any other server, e.g. a stripe-mock, sent
`--against-key`). The calls go in alternating rounds (default 5 rounds of n/5: each round runs
every call against every server in turn, the order of the servers reversed every other
round), so drift of the machine hits all servers alike.

Prints the p50 and p99 of each call per server and the ratio of p50s ours / floor. Target:
ratio <= 1.15 for each call (the issue's proxy for ">= 1.0x stripe-mock": the client's own cost
is the same on both sides, so the ratio shows our share of the round trip).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stripe
from _floor import start_cli, start_floor, stop
from _results import record

KEY = "sk_test_bench_sdk"
TARGET = 1.15  # p50 ours / floor


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Server:
    """One server, its SDK client and the ids the calls use."""

    def __init__(self, name: str, url: str, key: str) -> None:
        self.name, self.url = name, url
        self.client = stripe.StripeClient(key, base_addresses={"api": url})
        self.customer = ""
        self.samples: dict[str, list[float]] = {}

    def prepare(self) -> None:
        """A meter for the events (the floor and others may refuse it), and a customer."""
        try:
            self.client.v1.billing.meters.create(
                {
                    "display_name": "bench",
                    "event_name": "bench_sdk",
                    "default_aggregation": {"formula": "sum"},
                }
            )
        except stripe.StripeError as exc:
            print(f"  ({self.name}: meter not created: {exc})")
        self.customer = self.client.v1.customers.create({"name": "bench"}).id

    def calls(self) -> dict[str, Callable[[int], Any]]:
        c = self.client.v1
        return {
            "customers.create": lambda i: c.customers.create({"name": f"c{i}", "email": "a@b.c"}),
            "billing.meter_events.create": lambda i: c.billing.meter_events.create(
                {
                    "event_name": "bench_sdk",
                    "payload": {"stripe_customer_id": self.customer, "value": "1"},
                }
            ),
            "customers.retrieve": lambda i: c.customers.retrieve(self.customer),
        }

    def run(self, call: str, count: int, *, keep: bool = True) -> None:
        fn = self.calls()[call]
        out = self.samples.setdefault(call, [])
        clock = time.perf_counter
        for i in range(count):
            start = clock()
            fn(i)
            if keep:
                out.append(clock() - start)


def http_client_name(client: stripe.StripeClient) -> str:
    inner = getattr(getattr(client, "_requestor", None), "_client", None)
    return type(inner).__name__ if inner is not None else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=2000, help="calls of each kind per server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up calls of each kind")
    parser.add_argument("--against", metavar="URL", help="another server (e.g. a stripe-mock)")
    parser.add_argument(
        "--against-key", default="sk_test_123", help="the key sent to it (default sk_test_123)"
    )
    args = parser.parse_args()
    per_round = max(1, args.n // args.rounds)
    emu, emu_url = start_cli()
    floor, floor_url = start_floor()
    try:
        servers = [Server("ours", emu_url, KEY), Server("floor", floor_url, KEY)]
        if args.against:
            servers.append(Server("against", args.against, args.against_key))
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"stripe-python {stripe.VERSION}, default HTTP client "
            f"{http_client_name(servers[0].client)}; {args.rounds} rounds of {per_round} "
            f"sequential calls of each kind per server, after {args.warmup} warm-up calls"
        )
        calls = list(servers[0].calls())
        for s in servers:
            s.prepare()
            for call in calls:
                s.run(call, args.warmup, keep=False)
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for call in calls:
                for s in order:
                    s.run(call, per_round)
        head = "".join(f"{s.name + ' p50':>13}{s.name + ' p99':>13}" for s in servers)
        print(f"  {'call (ms)':<30}{head}{'p50 ours/floor':>16}")
        for call in calls:
            p50 = {s.name: statistics.median(s.samples[call]) * 1000 for s in servers}
            p99 = {s.name: percentile(s.samples[call], 0.99) * 1000 for s in servers}
            ratio = p50["ours"] / p50["floor"]
            ok = ratio <= TARGET
            cells = "".join(f"{p50[s.name]:>13.3f}{p99[s.name]:>13.3f}" for s in servers)
            print(f"  {call:<30}{cells}{ratio:>12.2f} {'OK' if ok else 'MISSED'}")
            for s in servers:
                who = {"ours": "ours", "floor": "floor server"}.get(s.name, args.against)
                record(f"SDK {call}, sequential: {who} p50", p50[s.name], "ms")
                record(f"SDK {call}, sequential: {who} p99", p99[s.name], "ms")
            record(f"SDK {call}, sequential: p50 ours / floor", ratio, "x", f"<= {TARGET:g}x", ok)
            if args.against:
                record(
                    f"SDK {call}, sequential: p50 ours / {args.against}",
                    p50["ours"] / p50["against"],
                    "x",
                )
    finally:
        stop(emu)
        stop(floor)


if __name__ == "__main__":
    main()
