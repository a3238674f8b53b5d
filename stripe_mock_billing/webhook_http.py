"""The outgoing HTTP POST of a webhook delivery: a small HTTP/1.1 client on raw sockets.

Why not urllib / http.client: a delivery must end within its timeout whatever the receiver does
(answer slowly, drip bytes, close mid-answer, send garbage), must never follow a redirect (a 3xx
is a failure at Stripe), and must be cheap enough for thousands of deliveries a second. The
client sends one request, reads the status line and headers against one deadline, and keeps the
connection for the next delivery to the same host only when the answer had a small
`Content-Length` body that was read whole.

Outcome: `(status, error)`: the HTTP status (None when there was none) and a short error text
for connection errors, timeouts and malformed answers (None when an answer was parsed).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from urllib.parse import urlsplit

from . import clock

MAX_HEAD = 64 * 1024
MAX_KEPT_BODY = 64 * 1024
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

_local = threading.local()


class _Failure(Exception):
    """A delivery that got no parsable answer."""


def _pool() -> dict[tuple[str, str, int], socket.socket]:
    pool: dict[tuple[str, str, int], socket.socket] | None = getattr(_local, "pool", None)
    if pool is None:
        pool = {}
        _local.pool = pool
    return pool


def _connect(scheme: str, host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=max(timeout, 0.001))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if scheme == "https":
        ctx = ssl.create_default_context()
        return ctx.wrap_socket(sock, server_hostname=host)
    return sock


def _remaining(deadline: float) -> float:
    left = deadline - clock.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _read_answer(sock: socket.socket, deadline: float) -> tuple[int, bool]:
    """Status code and whether the connection may be reused."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(65536)
            if not chunk:
                raise _Failure(
                    "connection closed before a response" if not buf else "truncated response"
                )
            buf += chunk
            if len(buf) > MAX_HEAD:
                raise _Failure("malformed response: headers too large")
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status_line = lines[0].split(None, 2)
        if (
            len(status_line) < 2
            or not status_line[0].startswith(b"HTTP/1.")
            or not status_line[1].isdigit()
            or len(status_line[1]) != 3
        ):
            raise _Failure("malformed response: bad status line")
        status = int(status_line[1])
        if 100 <= status < 200:  # an interim answer: the real one follows
            buf = rest
            continue
        break
    length: int | None = None
    keep = status_line[0] == b"HTTP/1.1"
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise _Failure("malformed response: bad header line")
        low = name.strip().lower()
        if low == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise _Failure("malformed response: bad Content-Length") from None
        elif (
            low == b"connection" and value.strip().lower() == b"close"
        ) or low == b"transfer-encoding":
            keep = False
    if length is None or length > MAX_KEPT_BODY or length < 0:
        return status, False
    while len(rest) < length:
        try:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(65536)
        except (TimeoutError, OSError):
            return status, False  # the status was received: the body does not matter
        if not chunk:
            return status, False
        rest += chunk
    return status, keep and len(rest) == length


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """POST `body` to `url`; `(status, error)` within `timeout` seconds, never raising."""
    parts = urlsplit(url)
    scheme = parts.scheme
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return None, f"invalid URL: {url}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    request = "\r\n".join(lines).encode("latin-1") + body
    deadline = clock.monotonic() + timeout
    key = (scheme, host, port)
    pool = _pool()
    sock = pool.pop(key, None)
    reused = sock is not None
    for _ in range(2):
        sent = False
        try:
            if sock is None:
                reused = False
                sock = _connect(scheme, host, port, _remaining(deadline))
            sock.settimeout(_remaining(deadline))
            sock.sendall(request)
            sent = True
            status, keep = _read_answer(sock, deadline)
        except TimeoutError:
            _close(sock)
            return None, f"timed out after {timeout:g} s"
        except _Failure as exc:
            _close(sock)
            if reused and str(exc) == "connection closed before a response":
                sock = None  # a kept connection the receiver had closed: try a fresh one
                continue
            return None, str(exc)
        except ssl.SSLError as exc:
            _close(sock)
            return None, f"TLS error: {exc.reason or exc}"
        except OSError as exc:
            _close(sock)
            if reused and (not sent or isinstance(exc, ConnectionResetError)):
                sock = None
                continue
            return None, f"connection error: {exc.strerror or exc.__class__.__name__}"
        if keep:
            old = pool.pop(key, None)
            _close(old)
            pool[key] = sock
        else:
            _close(sock)
        return status, None
    return None, "connection error: connection closed"


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
