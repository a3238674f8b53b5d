"""`stripe-mock-billing`: run the emulator server in the foreground."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from . import __version__
from .config import DEFAULT_API_VERSION, Settings

# The app, its server and persistence are imported by `main`, with the collector off until
# start-up is done (gc_tuning.py): `--help` and `--version` need none of them, and `--data`'s
# persistence is imported only with `--data` (start-up time: bench/bench_foundation.py).


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments (env vars STRIPE_MOCK_BILLING_HOST/_PORT give the defaults)."""
    parser = argparse.ArgumentParser(
        prog="stripe-mock-billing",
        description="A stateful, offline emulator of Stripe's usage-based billing API.",
    )
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 12111)")
    parser.add_argument(
        "--api-version",
        default=None,
        help=f"default Stripe-Version when a request sends none (default {DEFAULT_API_VERSION})",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="requests per second per account before 429s (default 0 = off; test mode: 25)",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("STRIPE_MOCK_BILLING_DATA") or None,
        metavar="PATH",
        help="keep every account in PATH across restarts (loaded at start, saved after writes "
        "and on a clean stop; env STRIPE_MOCK_BILLING_DATA)",
    )
    parser.add_argument(
        "--data-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --data, save at most this often after writes (default 1; 0 = only on a "
        "clean stop; env STRIPE_MOCK_BILLING_DATA_INTERVAL)",
    )
    hooks = parser.add_argument_group("webhooks (docs/webhooks.md)")
    hooks.add_argument(
        "--forward-to",
        default=None,
        metavar="URL",
        help="deliver every account's events to URL, like `stripe listen --forward-to` "
        "(env STRIPE_MOCK_BILLING_FORWARD_TO)",
    )
    hooks.add_argument(
        "--forward-events",
        default=None,
        metavar="TYPE[,TYPE]",
        help="only these event types (default *; env STRIPE_MOCK_BILLING_FORWARD_EVENTS)",
    )
    hooks.add_argument(
        "--forward-key",
        default=None,
        metavar="sk_test_...",
        help="only this account's events (env STRIPE_MOCK_BILLING_FORWARD_KEY)",
    )
    hooks.add_argument(
        "--webhook-secret",
        default=None,
        metavar="whsec_...",
        help="the forwarding signing secret (default: a new one, printed at start; env "
        "STRIPE_MOCK_BILLING_WEBHOOK_SECRET)",
    )
    hooks.add_argument(
        "--webhook-allow",
        default=None,
        metavar="HOST[,HOST]",
        help="hosts besides loopback that webhooks may be delivered to (env "
        "STRIPE_MOCK_BILLING_WEBHOOK_ALLOW)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--threaded",
        action="store_true",
        help="a thread per connection (true concurrency, slower) instead of the event loop",
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _webhook_options(args: argparse.Namespace, settings: Settings) -> str | None:
    """Apply the webhook flags over the env settings; a message when one is invalid."""
    from .domain.event_types import SNAPSHOT_TYPES
    from .domain.webhook_endpoints import url_problem

    if args.forward_to is not None:
        settings.forward_to = args.forward_to
    if args.forward_events is not None:
        settings.forward_events = _csv(args.forward_events)
    if args.forward_key is not None:
        settings.forward_key = args.forward_key
    if args.webhook_secret is not None:
        settings.webhook_secret = args.webhook_secret
    if args.webhook_allow is not None:
        settings.webhook_allow = _csv(args.webhook_allow)
    if settings.forward_to:
        problem = url_problem(settings.forward_to, settings.webhook_allow)
        if problem:
            return f"--forward-to: {problem}"
    unknown = [t for t in settings.forward_events if t != "*" and t not in SNAPSHOT_TYPES]
    if unknown:
        return f"--forward-events: unknown event type {unknown[0]}"
    if settings.forward_key is not None and not settings.forward_key.startswith("sk_test_"):
        return "--forward-key must be a secret test key (sk_test_...)"
    if settings.webhook_secret is not None and not settings.webhook_secret.startswith("whsec_"):
        return "--webhook-secret must start with whsec_"
    return None


def _data_interval(parser: argparse.ArgumentParser, value: float | None) -> float | None:
    """--data-interval, else STRIPE_MOCK_BILLING_DATA_INTERVAL, else None (persistence's
    default, 1 second)."""
    if value is None:
        env = os.environ.get("STRIPE_MOCK_BILLING_DATA_INTERVAL") or None
        if env is None:
            return None
        try:
            value = float(env)
        except ValueError:
            parser.error(f"STRIPE_MOCK_BILLING_DATA_INTERVAL must be a number, not {env!r}")
    if not (0 <= value <= 86400):  # NaN too
        parser.error("--data-interval must be 0 (only on a clean stop) to 86400 seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM."""
    # start-up allocates what it keeps: no collection until gc_tuning.install freezes it all
    gc.disable()
    try:
        return _run(argv)
    finally:
        gc.enable()


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # --help, --version: exit here, before the app's imports
    from . import gc_tuning
    from .app import create_app
    from .cli_server import make_cli_server
    from .control_webhooks import dispatcher
    from .domain import versions
    from .errors import StripeError

    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            api_version=args.api_version,
            rate_limit=args.rate_limit,
        )
    except ValueError:
        parser.error(
            "STRIPE_MOCK_BILLING_PORT and STRIPE_MOCK_BILLING_RATE_LIMIT must be integers, not "
            f"{os.environ.get('STRIPE_MOCK_BILLING_PORT')!r} / "
            f"{os.environ.get('STRIPE_MOCK_BILLING_RATE_LIMIT')!r}"
        )
    if settings.account_defaults.rate_limit < 0:
        parser.error("--rate-limit must be 0 (off) or a positive number of requests per second")
    try:
        versions.validate(settings.api_version)
    except StripeError as err:
        parser.error(err.message)
    problem = _webhook_options(args, settings)
    if problem:
        parser.error(problem)
    interval = _data_interval(parser, args.data_interval)
    app = create_app(settings)
    saver = None
    if args.data:
        from . import persistence

        store = app.extensions["stripe_mock_billing.store"]
        try:
            restored = persistence.load(store, Path(args.data))
        except persistence.DataFileError as err:
            parser.error(str(err))
        if restored:
            print(
                f"stripe-mock-billing: restored {len(restored)} accounts from {args.data}",
                file=sys.stderr,
            )
        if interval is None:
            saver = persistence.Saver(store, Path(args.data))
        else:
            saver = persistence.Saver(store, Path(args.data), interval)
        saver.prime(restored)
    try:
        server = make_cli_server(
            app, settings.host, settings.port, verbose=args.verbose, threaded=args.threaded
        )
    except OSError as err:
        print(
            f"stripe-mock-billing: cannot listen on {settings.host}:{settings.port}: {err}",
            file=sys.stderr,
        )
        return 1
    # start-up is done: freeze its heap, collect young objects only, full collections when idle
    gc_tuning.install(os.environ.get("STRIPE_MOCK_BILLING_GC_LOG") or None)
    host, port = server.address()
    print(f"stripe-mock-billing {__version__} listening on http://{host}:{port}", flush=True)
    if settings.forward_to:
        secret = dispatcher(app).forward_secret
        print(
            f"Ready! Forwarding webhooks to {settings.forward_to}. "
            f"Your webhook signing secret is {secret}",
            flush=True,
        )

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if saver is not None:
        saver.start()
    server.serve_forever()
    if saver is not None:
        saver.stop()
        saved = saver.save(force=True)
        print(f"stripe-mock-billing: saved {saved} accounts to {args.data}", file=sys.stderr)
    print("stripe-mock-billing stopped", file=sys.stderr, flush=True)
    return 0
