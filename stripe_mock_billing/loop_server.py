"""The CLI's default HTTP server: one asyncio event loop that runs the WSGI app inline.

Why: the emulator's requests are short and CPU-bound, and its state lives in one process, so
threads only add GIL hand-offs. Measured with bench/bench_meters_http.py on the 2-core dev
machine (4 client processes posting v1 meter events): cheroot with 8 threads served ~1,500
requests/s at ~600 us of server CPU per request, this loop ~4,200-4,800 requests/s at ~200 us
(the HTTP layer itself costs ~25 us: httptools, a C parser, plus uvloop when installed).
Per request the loop does as little as it can in Python: the environ is a copy of a dict built
once with the request's own entries set, header names map to environ keys through a cache, the
answer's header lines are joined in one C call, an answer nothing waits before is written at
once (the pending queue is for pipelined and held-back answers), the app's `wsgi_app` is called
without `Flask.__call__`'s frame, and only POSTs whose path may be long are tested against the
long-request pattern. The app's own share is kept small by `wire/dispatch.Dispatcher`
(the /v1 and /v2 routes bypass Flask's per-request machinery): bench/bench_cpu.py measures
both against a do-nothing app on this same loop.

Behaviour: HTTP/1.1 keep-alive and pipelining (answers in order), chunked request bodies,
`Expect: 100-continue` (curl sends it for bodies over 1 KiB), HEAD, `Connection: close`;
malformed requests get a 400 and the connection is closed; bodies over 32 MiB a 413, headers
over 64 KiB a 431. Slow clients cannot hold the server (limits.py): a request's headers must
arrive within `HEADER_TIMEOUT`, its body within `BODY_TIMEOUT`, an idle keep-alive connection
is closed after `IDLE_TIMEOUT` (408 and close for the first two), and past `MAX_CONNECTIONS`
open connections a new one is answered 503 and closed. `shutdown()` (SIGTERM) stops accepting,
lets the requests in flight finish and their answers go out (at most `DRAIN_TIMEOUT`), then
stops.
Requests run one at a time, in arrival order. An injected latency fault (control API) does not
block the loop: the request executes at once and its response is held back for the latency
(see faults.py).
Requests whose work grows with the account (a test clock advance, a snapshot import) run on
one worker thread instead, and so does every later request of the same API key while one is
there (they queue behind it, in order): a long advance of one account does not stall the others.
LIMITATIONS: no true concurrency, so a second request with the same Idempotency-Key can never
arrive while the first is running (no 409 `idempotency_key_in_use`): use `--threaded` (cheroot,
one thread per connection) or `ThreadedServer` for tests of concurrent requests. Two long
requests of different accounts wait for each other on the one worker. No TLS.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from flask import Flask

from . import limits
from .control_webhooks import run_job
from .delivery import JOBS_KEY
from .loop_connection import Connection
from .wire.faults import DEFER_KEY

log = logging.getLogger("stripe_mock_billing")

# POSTs whose work grows with the account's size: run on the worker thread, off the loop
_LONG_POST = re.compile(r"/v1/test_helpers/test_clocks/[^/]+/advance/?|/_mock/snapshot/?")


# raw header name -> its environ key ("" for headers the environ does not carry); bounded
_ENVIRON_KEYS: dict[bytes, str] = {}


def _environ_key(raw_name: bytes) -> str:
    key = raw_name.decode("latin-1").upper().replace("-", "_")
    if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
        key = ""
    elif key != "CONTENT_TYPE":
        key = "HTTP_" + key
    if len(_ENVIRON_KEYS) < 1024:
        _ENVIRON_KEYS[raw_name] = key
    return key


class LoopServer:
    """`LoopServer(app, host, port)`: bind now, `serve_forever()`, `shutdown()` from any thread."""

    def __init__(
        self,
        app: Flask,
        host: str,
        port: int,
        *,
        header_timeout: float = limits.HEADER_TIMEOUT,
        body_timeout: float = limits.BODY_TIMEOUT,
        idle_timeout: float = limits.IDLE_TIMEOUT,
        max_connections: int = limits.MAX_CONNECTIONS,
        drain_timeout: float = limits.DRAIN_TIMEOUT,
    ) -> None:
        self.app = app
        self._flask = isinstance(app, Flask)
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        self.drain_timeout = drain_timeout
        self.connections: set[Connection] = set()
        self._draining = False
        try:
            import uvloop

            self.loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:
            self.loop = asyncio.new_event_loop()
        self._server = self.loop.run_until_complete(
            self.loop.create_server(lambda: Connection(self), host, port, backlog=512)
        )
        sock = self._server.sockets[0].getsockname()
        self.host, self.port = str(sock[0]), int(sock[1])
        # the environ entries every request shares (`environ` copies them)
        self._base_environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "",
            "CONTENT_LENGTH": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": None,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        # long requests, and the requests of their API key queued behind them (see the module doc)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stripe-mock-long")
        self._busy: dict[str, int] = {}  # Authorization header -> requests on the worker
        # synchronous webhook deliveries (a receiver may take up to its timeout to answer)
        self._hooks = ThreadPoolExecutor(max_workers=32, thread_name_prefix="stripe-mock-hooks")

    def address(self) -> tuple[str, int]:
        """The bound host and port."""
        return self.host, self.port

    def admit(self, conn: Connection) -> bool:
        """Count a new connection in, unless the server is full or stopping."""
        if self._draining or len(self.connections) >= self.max_connections:
            return False
        self.connections.add(conn)
        return True

    def forget(self, conn: Connection) -> None:
        """A connection closed."""
        self.connections.discard(conn)

    def _sweep(self) -> None:
        """Close the connections whose slow-client deadline passed (every 1/4 s)."""
        now = self.loop.time()
        for conn in list(self.connections):
            if conn.expired(now):
                self.connections.discard(conn)
        step = min(0.25, self.header_timeout / 4, self.body_timeout / 4, self.idle_timeout / 4)
        self.loop.call_later(step, self._sweep)

    def _drain(self, started: float) -> None:
        """Stop once no request is in flight (or after `drain_timeout`), answers written."""
        busy = any(conn.pending for conn in self.connections) or bool(self._busy)
        if busy and self.loop.time() - started < self.drain_timeout:
            self.loop.call_later(0.02, self._drain, started)
            return
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        self.loop.call_later(0.05, self.loop.stop)  # let the closes flush

    def _begin_drain(self) -> None:
        self._draining = True
        self._server.close()  # no new connections
        self._drain(self.loop.time())

    def serve_forever(self) -> None:
        """Run the loop until `shutdown()`."""
        self.loop.call_soon(self._sweep)
        try:
            self.loop.run_forever()
        finally:
            self._server.close()
            self.loop.run_until_complete(self._server.wait_closed())
            self.loop.close()
            self._worker.shutdown(wait=False)
            self._hooks.shutdown(wait=False)

    def shutdown(self) -> None:
        """Stop serving (thread-safe): requests in flight finish and are answered first."""
        self.loop.call_soon_threadsafe(self._begin_drain)

    def run_off_loop(
        self, jobs: list[Callable[[], None]], delay: float, fn: Callable[..., None], *args: Any
    ) -> None:
        """Run `jobs` in a worker thread, then `fn(*args)` on the loop (after `delay`)."""

        def done(_: Any) -> None:
            self.loop.call_later(delay, fn, *args)

        def work() -> None:
            for job in jobs:
                run_job(job)

        self.loop.run_in_executor(self._hooks, work).add_done_callback(done)

    def goes_off_loop(self, env: dict[str, Any]) -> bool:
        """Whether a request runs on the worker: a long one, or one of a key that has one
        there (so an account's requests keep their order and never block the loop on its lock)."""
        if self._busy:
            auth = env.get("HTTP_AUTHORIZATION")
            if auth is not None and auth in self._busy:
                return True
        if env["REQUEST_METHOD"] != "POST":
            return False
        where = env["PATH_INFO"]
        # a substring test first: the pattern is tried only on paths that may match it
        return ("/advance" in where or "/snapshot" in where) and bool(_LONG_POST.fullmatch(where))

    def call_off_loop(
        self,
        env: dict[str, Any],
        head: bool,
        keep_alive: bool,
        fn: Callable[[list[Any], dict[str, Any], bytes, float], None],
        slot: list[Any],
    ) -> None:
        """Run the app on the worker thread, then `fn(slot, env, answer, delay)` on the loop."""
        auth = env.get("HTTP_AUTHORIZATION") or ""
        self._busy[auth] = self._busy.get(auth, 0) + 1
        future = self.loop.run_in_executor(
            self._worker, lambda: self.call(env, head=head, keep_alive=keep_alive)
        )

        def done(fut: asyncio.Future[tuple[bytes, float]]) -> None:
            left = self._busy.pop(auth) - 1
            if left:
                self._busy[auth] = left
            answer, delay = fut.result()  # `call` renders every failure itself
            fn(slot, env, answer, delay)

        future.add_done_callback(done)

    def loop_call_later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """Schedule `fn(*args)` after `delay` seconds on the loop."""
        self.loop.call_later(delay, fn, *args)

    def environ(
        self, method: str, url: bytes, headers: list[tuple[bytes, bytes]], body: bytes, peer: str
    ) -> dict[str, Any]:
        """A PEP 3333 environ for one request."""
        path, _, query = url.partition(b"?")
        text = path.decode("latin-1")
        env = self._base_environ.copy()
        env["REQUEST_METHOD"] = method
        env["PATH_INFO"] = unquote(text, encoding="latin-1") if "%" in text else text
        env["QUERY_STRING"] = query.decode("latin-1")
        env["REMOTE_ADDR"] = peer
        env["CONTENT_LENGTH"] = str(len(body)) if body else ""
        env["wsgi.input"] = io.BytesIO(body)
        env[DEFER_KEY] = []
        env[JOBS_KEY] = []
        keys = _ENVIRON_KEYS
        for raw_name, raw_value in headers:
            key = keys.get(raw_name)
            if key is None:
                key = _environ_key(raw_name)
            if not key:
                continue  # Content-Length (from the body) and Transfer-Encoding
            value = raw_value.decode("latin-1")
            if key in env and key != "CONTENT_TYPE":
                env[key] = f"{env[key]},{value}"
            else:
                env[key] = value
        return env

    def call(self, env: dict[str, Any], *, head: bool, keep_alive: bool) -> tuple[bytes, float]:
        """Run the app; the raw HTTP answer and how long to hold it back."""
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = (status, headers)
            return _ignore

        try:
            app = self.app
            # a Flask app: what `Flask.__call__` does, without its frame (middleware wraps
            # `wsgi_app`, looked up on every request)
            result: Iterable[bytes] = (
                app.wsgi_app(env, start_response) if self._flask else app(env, start_response)
            )
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, headers = started
        except Exception:  # the app renders its own errors; this is a server-level failure
            log.exception("WSGI app failed")
            status, headers, body = "500 Internal Server Error", [], b""
        # the header lines at once; the names are looked at only when the block may hold a
        # Content-Length or Connection header (each line follows a line break: no header name
        # that merely contains those words matches)
        lines = "\r\n".join(map(": ".join, headers)) + "\r\n" if headers else ""
        low = "\n" + lines.lower()
        has_length = "\ncontent-length:" in low
        if "\nconnection:" in low:  # the server decides the connection (keep-alive or close)
            lines = "".join([f"{n}: {v}\r\n" for n, v in headers if n.lower() != "connection"])
        head_text = f"HTTP/1.1 {status}\r\n{lines}"
        if not has_length:
            head_text += f"Content-Length: {len(body)}\r\n"
        if not keep_alive:
            head_text += "Connection: close\r\n"
        head_bytes = (head_text + "\r\n").encode("latin-1")
        deferred = env[DEFER_KEY]
        delay = float(sum(deferred)) if deferred else 0.0
        return (head_bytes if head else head_bytes + body), delay


def _ignore(data: bytes) -> None:
    """The `write` callable of start_response: the app returns its body instead."""
