"""httpx side of the in-process mode: transports that call the app, and the httpx patching.

`InProcessTransport` / `AsyncInProcessTransport` are httpx transports (`httpx.Client(transport=
...)`) that run requests through the emulator's WSGI app; `httpx_client(app)` is a
`stripe.HTTPXClient` built on them. While a `mock_stripe()` is active, httpx's own transports
are patched so that requests to the intercepted URLs (any httpx client, e.g. the SDK's default
async `HTTPXClient`) are served in-process; other URLs go to the network as usual. Nested
`mock_stripe()` blocks route to the innermost one that matches.

LIMITATIONS: the async transport runs the app in a worker thread (anyio), so the event loop keeps
running during latency faults; requests of one account are still serialized by its lock.
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .wsgi_call import AppCaller

if TYPE_CHECKING:
    from flask import Flask


class InProcessTransport:
    """An httpx sync transport (`httpx.Client(transport=...)`) that calls the app in-process."""

    def __init__(self, app: Flask | AppCaller) -> None:
        self.caller = app if isinstance(app, AppCaller) else AppCaller(app)

    def handle_request(self, request: Any) -> Any:
        """Serve one httpx request."""
        import httpx

        body = request.read()
        status, headers, data = self.caller(
            request.method, str(request.url), dict(request.headers), body
        )
        return httpx.Response(status, headers=headers, content=data, request=request)

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> InProcessTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class AsyncInProcessTransport:
    """An httpx async transport (`httpx.AsyncClient(transport=...)`) calling the app in-process.

    The WSGI call runs in a worker thread so that the event loop keeps running (latency faults,
    timeouts, `asyncio.gather` of many calls)."""

    def __init__(self, app: Flask | AppCaller) -> None:
        self.caller = app if isinstance(app, AppCaller) else AppCaller(app)

    async def handle_async_request(self, request: Any) -> Any:
        """Serve one httpx request."""
        import httpx

        body = await request.aread()
        call = functools.partial(
            self.caller, request.method, str(request.url), dict(request.headers), body
        )
        status, headers, data = await _to_thread(call)
        return httpx.Response(status, headers=headers, content=data, request=request)

    async def aclose(self) -> None:
        """Nothing to close."""

    async def __aenter__(self) -> AsyncInProcessTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _to_thread(call: Callable[[], Any]) -> Any:
    try:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(call)
    except ImportError:  # pragma: no cover - anyio comes with httpx
        return await asyncio.to_thread(call)


def httpx_client(app: Flask, *, allow_sync_methods: bool = False) -> Any:
    """A `stripe.HTTPXClient` whose httpx clients call `app` in-process (no socket, no patching).

    Relies on stripe-python 11-16's HTTPXClient keeping its clients in `_client_async` and
    `_client`; checked by tests/api/test_inprocess.py."""
    import httpx
    import stripe

    caller = AppCaller(app)
    client = stripe.HTTPXClient(verify_ssl_certs=False, allow_sync_methods=allow_sync_methods)
    client._client_async = httpx.AsyncClient(transport=AsyncInProcessTransport(caller))  # type: ignore[arg-type]
    if allow_sync_methods:
        client._client = httpx.Client(transport=InProcessTransport(caller))  # type: ignore[arg-type]
    return client


class _Routed(Protocol):
    """What routing needs of an active `inprocess.mock_stripe`: its URL pattern and caller."""

    pattern: re.Pattern[str]
    caller: AppCaller | None


_PATCH_LOCK = threading.Lock()
_ACTIVE: list[_Routed] = []
_ORIGINALS: dict[str, Any] = {}


def _route(url: str) -> _Routed | None:
    for mock in reversed(_ACTIVE):
        if mock.pattern.match(url):
            return mock
    return None


def _patch_httpx() -> None:
    import httpx

    original_sync = httpx.HTTPTransport.handle_request
    original_async = httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self: Any, request: Any) -> Any:
        mock = _route(str(request.url))
        if mock is None or mock.caller is None:
            return original_sync(self, request)
        return InProcessTransport(mock.caller).handle_request(request)

    async def handle_async_request(self: Any, request: Any) -> Any:
        mock = _route(str(request.url))
        if mock is None or mock.caller is None:
            return await original_async(self, request)
        return await AsyncInProcessTransport(mock.caller).handle_async_request(request)

    _ORIGINALS["sync"], _ORIGINALS["async"] = original_sync, original_async
    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def _unpatch_httpx() -> None:
    import httpx

    httpx.HTTPTransport.handle_request = _ORIGINALS.pop("sync")  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = _ORIGINALS.pop("async")  # type: ignore[method-assign]


def _httpx_available() -> bool:
    try:
        import httpx  # noqa: F401
    except ImportError:
        return False
    return True


def activate(mock: _Routed) -> bool:
    """Route httpx requests matching `mock.pattern` to it; False when httpx is missing."""
    if not _httpx_available():
        return False
    with _PATCH_LOCK:
        if not _ACTIVE:
            _patch_httpx()
        _ACTIVE.append(mock)
    return True


def deactivate(mock: _Routed) -> None:
    """Stop routing to `mock`; httpx is restored when no mock is left."""
    with _PATCH_LOCK:
        if mock in _ACTIVE:
            _ACTIVE.remove(mock)
        if not _ACTIVE and _ORIGINALS:
            _unpatch_httpx()
