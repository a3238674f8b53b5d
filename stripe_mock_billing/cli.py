"""`stripe-mock-billing`: run the emulator server in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from . import __version__
from .app import create_app
from .cli_server import make_cli_server
from .config import DEFAULT_API_VERSION, Settings
from .domain import versions
from .errors import StripeError


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
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--threaded",
        action="store_true",
        help="a thread per connection (true concurrency, slower) instead of the event loop",
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
    app = create_app(settings)
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
    host, port = server.address()
    print(f"stripe-mock-billing {__version__} listening on http://{host}:{port}", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    print("stripe-mock-billing stopped", file=sys.stderr, flush=True)
    return 0
