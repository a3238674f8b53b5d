"""The CLI's HTTP servers, all in one process (every request sees one Store).

- default: loop_server.LoopServer, one asyncio loop running the app inline (fastest: ~4,500 v1
  meter events/s on 2 cores; see its docstring for the measurements and the trade-off).
- `--threaded`: cheroot, a thread per connection, for tests of truly concurrent requests (409
  `idempotency_key_in_use`); about a third of the loop's throughput, because of GIL hand-offs.
  A client that sends its request slowly holds a thread while it does, so there are
  `THREADED_WORKERS` (64) of them, a socket read waits at most `THREADED_TIMEOUT` (10 s) and
  headers are capped at 64 KiB (limits.py): 20 slow sockets leave the health check answering.
  (werkzeug's development server, which server.py's ThreadedServer uses, is slower still.)
- `--verbose`: werkzeug, which logs every request.
LIMITATIONS: no TLS (plain http on loopback, as the SDKs allow).
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask

from . import limits

# worker threads: idle ones cost nothing, and a slow client occupies one until its read times
# out (8 were taken down by 8 incomplete requests)
THREADS = limits.THREADED_WORKERS


class CliServer(Protocol):
    """What the CLI needs from a server."""

    def address(self) -> tuple[str, int]: ...

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...


class _Cheroot:
    def __init__(self, app: Flask, host: str, port: int) -> None:
        from cheroot import wsgi

        self._server = wsgi.Server(
            (host, port),
            app,
            numthreads=THREADS,
            request_queue_size=128,
            timeout=limits.THREADED_TIMEOUT,
            accepted_queue_size=limits.MAX_CONNECTIONS,
        )
        self._server.max_request_header_size = limits.MAX_HEADER_BYTES
        self._server.max_request_body_size = 2 * limits.MAX_BODY_BYTES
        self._server.prepare()  # binds now, so a port-0 address is known before serving

    def address(self) -> tuple[str, int]:
        host, port = self._server.bind_addr[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        self._server.serve()

    def shutdown(self) -> None:
        self._server.stop()


class _Werkzeug:
    def __init__(self, app: Flask, host: str, port: int) -> None:
        from .server import make_wsgi_server  # only with --verbose

        self._server = make_wsgi_server(app, host, port, quiet=False)

    def address(self) -> tuple[str, int]:
        return str(self._server.server_address[0]), int(self._server.server_port)

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def shutdown(self) -> None:
        self._server.shutdown()


def make_cli_server(
    app: Flask, host: str, port: int, *, verbose: bool = False, threaded: bool = False
) -> CliServer:
    """The event loop normally; cheroot with `--threaded`; werkzeug (logs each request) with
    `--verbose`."""
    if verbose:
        return _Werkzeug(app, host, port)
    if threaded:
        return _Cheroot(app, host, port)
    from .loop_server import LoopServer

    return LoopServer(app, host, port)
