"""In-process mode: the stripe SDK talks to the emulator's WSGI app without a socket.

`mock_stripe()` (a context manager and a decorator, like moto's `mock_aws`) routes HTTP
requests for Stripe's hosts (`api.stripe.com`, `meter-events.stripe.com`, `files.stripe.com`,
`connect.stripe.com`) and for `INPROCESS_URL` (`http://stripe-mock-billing.invalid`) to one
app, through the `responses` library for the SDK's sync `RequestsClient` and through patched
httpx transports for its async `HTTPXClient` (`await client.v1.customers.create_async(...)`).
Other URLs pass through untouched. The app, its Store and the request pipeline are the same as
in server mode; only the transport differs.

Unexpected emulator exceptions are rendered as Stripe's 500 `api_error` and journaled first;
then, when `Settings.propagate_exceptions` is on (the default here), they are re-raised into the
calling test as `EmulatorCrash` (a BaseException, so neither the SDK's nor the app's `except
Exception` handlers and retries swallow it), chained to the original exception.

The httpx transports and patching live in inprocess_httpx.py (re-exported here). `responses`
and `httpx` are optional dependencies (extra `inprocess`), imported when used.

LIMITATIONS: clients other than requests and httpx (urllib, pycurl, aiohttp) are not
intercepted. If the test itself activates `responses`, pass its mock as
`mock_stripe(requests_mock=rsps)` so that the emulator's routes are added to it (two
`responses` mocks do not stack). Latency faults block the caller's thread (the async transport
runs the app in a worker thread, so the event loop keeps running).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings
    from .store import Store

from .wsgi_call import ERRORS_KEY, AppCaller, EmulatorCrash, call_wsgi, wsgi_environ

__all__ = [
    "ERRORS_KEY",
    "AppCaller",
    "EmulatorCrash",
    "call_wsgi",
    "mock_stripe",
    "url_pattern",
    "wsgi_environ",
]

INPROCESS_URL = "http://stripe-mock-billing.invalid"
STRIPE_HOSTS = (
    "api.stripe.com",
    "meter-events.stripe.com",
    "files.stripe.com",
    "connect.stripe.com",
)
METHODS = ("GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS")
F = TypeVar("F", bound=Callable[..., Any])


def url_pattern(urls: Iterable[str], stripe_hosts: bool = True) -> re.Pattern[str]:
    """A regex matching request URLs under any of `urls` (and Stripe's hosts)."""
    alts = [re.escape(u.rstrip("/")) for u in urls]
    if stripe_hosts:
        alts.append(r"https?://(?:" + "|".join(re.escape(h) for h in STRIPE_HOSTS) + r")(?::\d+)?")
    return re.compile(r"^(?:" + "|".join(alts) + r")(?=[/?#]|$)")


_HTTPX_NAMES = ("InProcessTransport", "AsyncInProcessTransport", "httpx_client")


def __getattr__(name: str) -> Any:
    """The httpx transports live in inprocess_httpx.py (imported when first used)."""
    if name in _HTTPX_NAMES:
        from . import inprocess_httpx

        return getattr(inprocess_httpx, name)
    raise AttributeError(name)


class mock_stripe:
    """Route the stripe SDK's HTTP traffic to an in-process emulator app.

    `with mock_stripe() as m: StripeClient("sk_test_x").v1.customers.create()` or
    `@mock_stripe()` on a test (sync or async; a fresh app per call when none is given).
    `m.url` is `INPROCESS_URL`; Stripe's own hosts are intercepted too unless
    `stripe_hosts=False`."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        settings: Settings | None = None,
        urls: Iterable[str] = (),
        stripe_hosts: bool = True,
        requests_mock: Any = None,
        patch_httpx: bool = True,
    ) -> None:
        self._given_app = app
        self._settings = settings
        self.urls = (INPROCESS_URL, *urls)
        self.url = INPROCESS_URL
        self.pattern = url_pattern(self.urls, stripe_hosts)
        self._stripe_hosts = stripe_hosts
        self._requests_mock = requests_mock
        self._patch_httpx = patch_httpx
        self._own_mock: Any = None
        self._routes: list[tuple[Any, Any]] = []
        self._httpx_patched = False
        self.app: Flask | None = app
        self.caller: AppCaller | None = None

    @property
    def store(self) -> Store:
        """The app's Store (all accounts)."""
        if self.app is None:
            raise RuntimeError("mock_stripe is not active")
        store: Store = self.app.extensions["stripe_mock_billing.store"]
        return store

    def _make_app(self) -> Flask:
        from .app import create_app
        from .config import Settings

        settings = self._settings or Settings.from_env(propagate_exceptions=True)
        return create_app(settings)

    def _callback(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        if self.caller is None:
            raise RuntimeError("mock_stripe is not active")
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)
        status, headers, data = self.caller(
            request.method, request.url, dict(request.headers), body
        )
        return status, dict(headers), data

    def install(self, rsps: Any) -> None:
        """Add the emulator's routes to a `responses.RequestsMock`."""
        for method in METHODS:
            route = rsps.add_callback(
                method, self.pattern, callback=self._callback, content_type=None
            )
            self._routes.append((rsps, route))

    def start(self) -> mock_stripe:
        """Start intercepting."""
        if self.caller is not None:
            raise RuntimeError("mock_stripe is already active")
        self.app = self._given_app or self._make_app()
        self.caller = AppCaller(self.app)
        if self._requests_mock is not None:
            self.install(self._requests_mock)
        else:
            import responses

            self._own_mock = responses.RequestsMock(assert_all_requests_are_fired=False)
            self._own_mock.add_passthru(re.compile(".*"))
            self.install(self._own_mock)
            self._own_mock.start()
        if self._patch_httpx:
            from .inprocess_httpx import activate

            self._httpx_patched = activate(self)
        return self

    def stop(self) -> None:
        """Stop intercepting (the app and its state stay available as `.app`)."""
        if self._httpx_patched:
            from .inprocess_httpx import deactivate

            deactivate(self)
            self._httpx_patched = False
        for rsps, route in self._routes:  # routes added to a caller's mock leave with us
            if rsps is not self._own_mock:
                rsps.remove(route)
        self._routes.clear()
        if self._own_mock is not None:
            self._own_mock.stop()
            self._own_mock.reset()
            self._own_mock = None
        self.caller = None  # `.app` stays, for inspection after the block

    def __enter__(self) -> mock_stripe:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, api_key: str | None = None, **kwargs: Any) -> Any:
        """A `stripe.StripeClient` for `api_key` (fresh account if None) with every base address
        at the emulator and `max_network_retries=0` unless given."""
        from .handle import make_stripe_client, new_api_key

        return make_stripe_client(self.url, api_key or new_api_key(), **kwargs)

    def handle(self, api_key: str | None = None) -> Any:
        """A control-API handle (`StripeMock`) for one account of this app."""
        from .handle import StripeMock, new_api_key

        if self.app is None:
            raise RuntimeError("mock_stripe is not active")
        return StripeMock(
            url=self.url, api_key=api_key or new_api_key(), mode="inprocess", app=self.app
        )

    def __call__(self, func: F) -> F:
        """Decorate a sync or async function: a fresh emulator for each call."""
        make = functools.partial(
            mock_stripe,
            self._given_app,
            settings=self._settings,
            urls=self.urls[1:],
            stripe_hosts=self._stripe_hosts,
            requests_mock=self._requests_mock,
            patch_httpx=self._patch_httpx,
        )
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with make():
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with make():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
