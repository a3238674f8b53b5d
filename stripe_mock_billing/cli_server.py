"""The CLI's HTTP server: cheroot (threaded, pure Python, one process), werkzeug as fallback.

Why cheroot: werkzeug's development server (server.py, still used by the test fixtures) parses
HTTP slowly; measured with bench/bench_meters_http.py on a 2-core machine it serves about half
the v1 meter events per second that cheroot serves with the same Flask app. cheroot keeps the
one-process, threaded model (every thread sees one Store), supports HTTP/1.1 keep-alive and
binds port 0. `--verbose` keeps werkzeug, which logs every request.
LIMITATIONS: no TLS (plain http on loopback, as the SDKs allow).
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask

from .server import make_wsgi_server

# worker threads: requests of one account are serialized by its lock anyway; more threads
# only add GIL contention, fewer would starve concurrent keep-alive clients
THREADS = 8


class CliServer(Protocol):
    """What the CLI needs from a server."""

    def address(self) -> tuple[str, int]: ...

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...


class _Cheroot:
    def __init__(self, app: Flask, host: str, port: int) -> None:
        from cheroot import wsgi

        self._server = wsgi.Server(
            (host, port), app, numthreads=THREADS, request_queue_size=128, timeout=60
        )
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


def make_cli_server(app: Flask, host: str, port: int, *, verbose: bool = False) -> CliServer:
    """cheroot normally; werkzeug (which logs each request) with `--verbose`."""
    if verbose:
        return _Werkzeug(app, host, port)
    return _Cheroot(app, host, port)
