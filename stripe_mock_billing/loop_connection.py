"""One client connection of the CLI's event-loop server (loop_server.py, whose docstring has the
behaviour): httptools parses the requests, they run in order through the server, and the answers
are written in request order (an answer nothing waits before at once; pipelined and held-back
ones through the pending queue). Slow-client deadlines are set here and enforced by the
server's sweep; bodies over `MAX_BODY` get a 413, headers over `limits.MAX_HEADER_BYTES` a 431.

The server is reached through `Server` (what `loop_server.LoopServer` provides), so this module
does not import it back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

import httptools

from . import limits
from .delivery import JOBS_KEY

MAX_BODY = 32 * 1024 * 1024
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TOO_LARGE = (
    b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Server(Protocol):
    """What a connection uses of its server (loop_server.LoopServer)."""

    loop: asyncio.AbstractEventLoop
    header_timeout: float
    body_timeout: float
    idle_timeout: float

    def admit(self, conn: Connection) -> bool: ...
    def forget(self, conn: Connection) -> None: ...
    def environ(
        self, method: str, url: bytes, headers: list[tuple[bytes, bytes]], body: bytes, peer: str
    ) -> dict[str, Any]: ...
    def goes_off_loop(self, env: dict[str, Any]) -> bool: ...
    def call_off_loop(
        self,
        env: dict[str, Any],
        head: bool,
        keep_alive: bool,
        fn: Callable[[list[Any], dict[str, Any], bytes, float], None],
        slot: list[Any],
    ) -> None: ...
    def call(self, env: dict[str, Any], *, head: bool, keep_alive: bool) -> tuple[bytes, float]: ...
    def run_off_loop(
        self, jobs: list[Callable[[], None]], delay: float, fn: Callable[..., None], *args: Any
    ) -> None: ...
    def loop_call_later(self, delay: float, fn: Callable[..., None], *args: Any) -> None: ...


class Connection(asyncio.Protocol):
    """One client connection: parse requests, run them in order, write the answers."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.head_size = 0
        # answers not yet written, in request order: [bytes | None (held back), keep_alive]
        self.pending: deque[list[Any]] = deque()
        # slow-client deadline (loop time) and the answer sent when it passes; None: none
        self.deadline: float | None = None
        self.on_deadline = _TIMEOUT
        self.expect: bytes | None = None  # the request's Expect header, if it has one

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its interface
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        if not self.server.admit(self):
            self._abort(_BUSY)
            return
        self._expect(self.server.header_timeout, _TIMEOUT)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.forget(self)

    def _expect(self, seconds: float | None, answer: bytes = _TIMEOUT) -> None:
        """The next step must happen within `seconds` (None: no deadline)."""
        self.deadline = None if seconds is None else self.server.loop.time() + seconds
        self.on_deadline = answer

    def expired(self, now: float) -> bool:
        """Close the connection if its deadline passed (the server's sweep calls this)."""
        if self.deadline is None or now < self.deadline or self.pending:
            return False
        self._abort(self.on_deadline)
        return True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception:  # malformed HTTP (or a body over MAX_BODY, already answered 413)
            self._abort(_BAD_REQUEST)

    def _abort(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    # --- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []
        self.size = 0
        self.head_size = 0
        self.expect = None
        if not self.pending:  # `_expect(header_timeout)`, inline (every request runs this)
            server = self.server
            self.deadline = server.loop.time() + server.header_timeout
            self.on_deadline = _TIMEOUT

    def _grow_head(self, n: int) -> None:
        self.head_size += n
        if self.head_size > limits.MAX_HEADER_BYTES:
            self._abort(_HEADERS_TOO_LARGE)
            raise ValueError("request headers too large")

    def on_url(self, url: bytes) -> None:
        self._grow_head(len(url))
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        size = self.head_size = self.head_size + len(name) + len(value) + 4
        if size > limits.MAX_HEADER_BYTES:
            self._grow_head(0)
        self.headers.append((name, value))
        if len(name) == 6 and name.lower() == b"expect":
            self.expect = value

    def on_headers_complete(self) -> None:
        server = self.server
        self.deadline = server.loop.time() + server.body_timeout  # `_expect`, inline
        self.on_deadline = _TIMEOUT
        if self.expect is not None and self.transport is not None:  # an Expect header came
            for name, value in self.headers:
                if (
                    len(name) == 6
                    and name.lower() == b"expect"
                    and value.lower() == b"100-continue"
                ):
                    self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_BODY:
            self._abort(_TOO_LARGE)
            raise ValueError("request body too large")
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode("latin-1")
        keep = bool(self.parser.should_keep_alive())
        server = self.server
        env = server.environ(method, self.url, self.headers, b"".join(self.body), self.peer)
        self.deadline = None  # running: no deadline until its answer is written
        head = method == "HEAD"
        if server.goes_off_loop(env):
            slot: list[Any] = [None, keep]
            self.pending.append(slot)
            server.call_off_loop(env, head, keep, self._answered, slot)
            return
        answer, delay = server.call(env, head=head, keep_alive=keep)
        if self.pending or delay > 0 or env[JOBS_KEY]:
            slot = [None, keep]
            self.pending.append(slot)
            self._answered(slot, env, answer, delay)
            return
        # nothing before it waits and nothing holds it back: written now (what `_flush` does)
        if self._write(answer, keep):
            self.deadline = server.loop.time() + server.idle_timeout  # idle: closed silently
            self.on_deadline = b""

    def _answered(self, slot: list[Any], env: dict[str, Any], answer: bytes, delay: float) -> None:
        jobs = env[JOBS_KEY]
        if jobs:
            # synchronous webhook deliveries: off the loop (a receiver may call the API back),
            # the response held back until they are done
            self.server.run_off_loop(jobs, delay, self._release, slot, answer)
        elif delay > 0:
            self.server.loop_call_later(delay, self._release, slot, answer)
        else:
            slot[0] = answer
            self._flush()

    # --- writing ------------------------------------------------------------------------

    def _release(self, slot: list[Any], answer: bytes) -> None:
        slot[0] = answer
        self._flush()

    def _write(self, answer: bytes, keep: bool) -> bool:
        """Write one answer (and close after it unless kept alive); False once closed."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(answer)
        if not keep:
            transport.close()
            return False
        return True

    def _flush(self) -> None:
        while self.pending and self.pending[0][0] is not None:
            answer, keep = self.pending.popleft()
            if not self._write(answer, keep):
                return
        if not self.pending:
            self._expect(self.server.idle_timeout, b"")  # an idle keep-alive: closed silently
