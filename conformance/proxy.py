"""A tiny recording HTTP proxy between an SDK and the target (emulator or real Stripe).

SDK-neutral: the SDK's base URL points at the proxy, which forwards each request unchanged to the
target and records the exchange (method, path, query, status, both header sets, request and
response body) before answering. The driver validates every recorded response body against the
OpenAPI schema and checks headers such as `Request-Id` and `Idempotent-Replayed`.

Against real Stripe, `POST /v2/billing/meter_event_stream` goes to `meter-events.stripe.com`
(Stripe's separate host); against anything else, everything goes to the one target.
LIMITATIONS: HTTP/1.1 only, whole bodies in memory, no streaming responses (none are used).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
}
METER_EVENTS_PATH = "/v2/billing/meter_event_stream"
STRIPE_API_HOST = "api.stripe.com"
STRIPE_METER_EVENTS_HOST = "meter-events.stripe.com"


@dataclass
class Exchange:
    """One recorded HTTP request/response pair."""

    method: str
    path: str
    query: str
    status: int
    req_headers: dict[str, str]
    resp_headers: dict[str, str]
    req_body: str
    resp_text: str
    elapsed_ms: float
    body: Any = None  # parsed JSON response (None when not JSON)
    json_ok: bool = False
    notes: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        low = name.lower()
        return next((v for k, v in self.resp_headers.items() if k.lower() == low), None)

    def req_header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        low = name.lower()
        return next((v for k, v in self.req_headers.items() if k.lower() == low), None)

    @property
    def api_version(self) -> str | None:
        """The version the response was rendered with (response header, else request header)."""
        return self.header("Stripe-Version") or self.req_header("Stripe-Version")

    def query_params(self) -> list[tuple[str, str]]:
        """Decoded query string pairs."""
        return parse_qsl(self.query, keep_blank_values=True)

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary for the report (no bodies, no secrets)."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "api_version": self.api_version,
            "request_id": self.header("Request-Id"),
            "idempotency_key": self.req_header("Idempotency-Key"),
            "idempotent_replayed": self.header("Idempotent-Replayed"),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "notes": self.notes,
        }


class _Target:
    def __init__(self, base: str) -> None:
        parts = urlsplit(base.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")

    def connection(self, path: str) -> http.client.HTTPConnection:
        host = self.host
        if host == STRIPE_API_HOST and path.split("?", 1)[0] == METER_EVENTS_PATH:
            host = STRIPE_METER_EVENTS_HOST
        if self.scheme == "https":
            return http.client.HTTPSConnection(host, self.port, timeout=120)
        return http.client.HTTPConnection(host, self.port, timeout=120)

    def host_header(self, path: str) -> str:
        if self.host == STRIPE_API_HOST and path.split("?", 1)[0] == METER_EVENTS_PATH:
            return STRIPE_METER_EVENTS_HOST
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class RecordingProxy:
    """`with RecordingProxy(target) as proxy:` SDKs use `.url`; `.drain()` gives the exchanges."""

    def __init__(self, target_base: str) -> None:
        self.target = _Target(target_base)
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _forward(self) -> None:
                owner._handle(self)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def port(self) -> int:
        """The proxy's port."""
        return int(self._server.server_port)

    def drain(self) -> list[Exchange]:
        """Every exchange recorded since the last drain, in order."""
        with self._lock:
            out, self._exchanges = self._exchanges, []
        return out

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = self.target.host_header(h.path)
        headers["Accept-Encoding"] = "identity"
        started = time.monotonic()
        conn = self.target.connection(h.path)
        try:
            conn.request(h.command, self.target.prefix + h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            resp_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        except OSError as exc:
            status = 502
            data = json.dumps(
                {"error": {"type": "api_error", "message": f"conformance proxy: {exc}"}}
            ).encode()
            resp_headers = [("Content-Type", "application/json")]
        finally:
            conn.close()
        elapsed = (time.monotonic() - started) * 1000
        parts = urlsplit(h.path)
        text = data.decode("utf-8", errors="replace")
        ex = Exchange(
            method=h.command,
            path=parts.path,
            query=parts.query,
            status=status,
            req_headers=dict(headers),
            resp_headers=dict(resp_headers),
            req_body=body.decode("utf-8", errors="replace"),
            resp_text=text,
            elapsed_ms=elapsed,
        )
        with contextlib.suppress(ValueError):
            ex.body, ex.json_ok = json.loads(text), True
        with self._lock:
            self._exchanges.append(ex)
        h.send_response(status)
        for k, v in resp_headers:
            if k.lower() not in ("date", "server"):  # send_response adds its own
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def start(self) -> RecordingProxy:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="conformance-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
