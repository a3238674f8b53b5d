"""Serving the app over HTTP: a threaded werkzeug server, usable as a context manager.

`ThreadedServer(port=0)` starts on a free loopback port in a background thread (as moto's
ThreadedMotoServer and pytest-httpserver do); `.url` is its base URL. The CLI runs the same
server in the foreground. State stays in one process, so every thread sees one Store.
"""

from __future__ import annotations

import threading
from types import TracebackType

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .config import Settings


class _QuietHandler(WSGIRequestHandler):
    """Request handler with HTTP/1.1 keep-alive and no per-request log line."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def make_wsgi_server(app: Flask, host: str, port: int, *, quiet: bool = True) -> BaseWSGIServer:
    """A threaded werkzeug server for `app`."""
    handler = _QuietHandler if quiet else WSGIRequestHandler
    if not quiet:
        handler.protocol_version = "HTTP/1.1"
    return make_server(host, port, app, threaded=True, request_handler=handler)


class ThreadedServer:
    """The emulator on a background thread: `with ThreadedServer() as srv: srv.url`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app: Flask | None = None,
    ) -> None:
        self.app = app or create_app(settings or Settings.from_env(host=host, port=port))
        self._server = make_wsgi_server(self.app, host, port)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        host = self._server.server_address[0]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.port}"

    def start(self) -> ThreadedServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stripe-mock-billing", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
