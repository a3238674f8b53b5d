"""Calling the emulator's WSGI app in-process: one request in, (status, headers, body) out.

Shared by the in-process mode (`inprocess.py`, `inprocess_httpx.py`) and the `StripeMock`
handle's control calls; an unexpected exception inside the app is re-raised into the caller as
`EmulatorCrash` after the SDK got its 500.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit

if TYPE_CHECKING:
    from flask import Flask

    from .store import Store


ERRORS_KEY = "stripe_mock_billing.errors"


class EmulatorCrash(BaseException):
    """An unexpected exception inside the emulator, re-raised into the test (after the 500)."""


def wsgi_environ(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> dict[str, Any]:
    """A WSGI environ for one request (PEP 3333), built directly: werkzeug's EnvironBuilder
    costs ~80 us per request, a tenth of an in-process SDK call."""
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    data = body or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        # PATH_INFO is the percent-decoded path, bytes carried as latin-1 (PEP 3333)
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "RAW_URI": (parts.path or "/") + ("?" + parts.query if parts.query else ""),
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": parts.netloc,
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue  # computed from the body
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        value = str(value)
        environ[key] = f"{environ[key]},{value}" if key in environ and key != "HTTP_HOST" else value
    return environ


def call_wsgi(
    app: Flask, method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run one request through `app` in this thread: (status, headers, body)."""
    started: list[Any] = []

    def start_response(
        status: str, resp_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        started[:] = [status, resp_headers]
        return lambda chunk: None

    app_iter = app(wsgi_environ(method, url, headers, body), start_response)
    try:
        data = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    status, resp_headers = started
    return int(status.split(" ", 1)[0]), list(resp_headers), data


class AppCaller:
    """Calls one app in-process and re-raises its unexpected exceptions (EmulatorCrash)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.raised: set[int] = set()
        self._lock = threading.Lock()

    @property
    def propagate(self) -> bool:
        """Whether unexpected exceptions are re-raised into the caller."""
        store: Store = self.app.extensions["stripe_mock_billing.store"]
        return store.settings.propagate_exceptions

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        errors: list[BaseException] = self.app.extensions[ERRORS_KEY]
        before = len(errors)
        result = call_wsgi(self.app, method, url, headers, body)
        if len(errors) > before and self.propagate:
            with self._lock:
                fresh = [e for e in errors[before:] if id(e) not in self.raised]
                self.raised.update(id(e) for e in fresh)
            if fresh:
                raise EmulatorCrash(
                    f"stripe-mock-billing raised {type(fresh[0]).__name__} on "
                    f"{method.upper()} {urlsplit(url).path} (the SDK got a 500 api_error)"
                ) from fresh[0]
        return result
