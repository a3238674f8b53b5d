"""A webhook receiver for tests: verifies every delivery with the official SDK and keeps it.

The pytest fixture `stripe_webhooks` builds one per test and registers it as a webhook endpoint
of the test's account (in-process mode: a WSGI-style callable the emulator calls directly;
other modes: a loopback HTTP server on 127.0.0.1, port 0, in a thread). Deliveries whose
signature does not verify are answered 400 and kept in `.errors` (the fixture fails the test).

- `events(type=None)`: verified events in arrival order (`stripe.Event`; thin notifications
  as the SDK's `EventNotification` / `ThinEvent`).
- `wait_for(type, timeout=10.0, count=1)`: the `count`-th event of `type`, waiting for it
  (polling) when deliveries are in the background.
- `clear()`; `respond_with(status, times=1, delay=0.0)`: program the next answers (e.g. 500s,
  or a delay longer than the emulator's timeout) to test retries.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import clock


class WebhookReceiver:
    """Collects deliveries verified with `secret` (set once the endpoint exists)."""

    def __init__(self, secret: str | None = None, *, synchronous: Callable[[], bool] | None = None):
        self.secret = secret
        self.raw: list[tuple[bytes, dict[str, str]]] = []
        self._events: list[Any] = []
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._answers: deque[tuple[int, float]] = deque()
        self._synchronous = synchronous or (lambda: False)
        self._server: ThreadingHTTPServer | None = None
        self.endpoint: Any = None  # the webhook_endpoint the fixture registered
        self.url: str | None = None
        self._thread: threading.Thread | None = None

    # --- receiving ----------------------------------------------------------------------

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        """One delivery: verify, keep, answer (200 unless programmed otherwise)."""
        sig = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), "")
        with self._cond:
            status, delay = self._answers.popleft() if self._answers else (200, 0.0)
        if delay:
            clock.sleep(delay)
        try:
            event = self._verify(body, sig)
        except Exception as exc:
            with self._cond:
                self.errors.append(f"{exc.__class__.__name__}: {exc}")
                self._cond.notify_all()
            return 400
        with self._cond:
            self.raw.append((body, dict(headers)))
            if 200 <= status < 300:
                self._events.append(event)
            self._cond.notify_all()
        return status

    def _verify(self, body: bytes, sig: str) -> Any:
        import stripe

        if self.secret is None:
            raise ValueError("no signing secret yet")
        obj = json.loads(body).get("object")
        if obj != "v2.core.event":
            return stripe.Webhook.construct_event(body.decode("utf-8"), sig, self.secret)
        client = stripe.StripeClient("sk_test_receiver")
        # stripe-python 13+: parse_event_notification; 11.x-12.x: parse_thin_event
        name = "parse_event_notification"
        parse = getattr(client, name, None) or getattr(client, "parse_thin_event", None)
        if parse is None:
            raise ValueError("this stripe-python cannot parse thin events")
        return parse(body.decode("utf-8"), sig, self.secret)

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The receiver as a WSGI app (what the emulator calls in-process)."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        status = self.handle(body, headers)
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", [("Content-Length", "0")])
        return [b""]

    def respond_with(self, status: int, times: int = 1, delay: float = 0.0) -> None:
        """Answer the next `times` deliveries with `status` after `delay` seconds."""
        with self._cond:
            self._answers.extend([(status, delay)] * times)

    # --- reading ------------------------------------------------------------------------

    def events(self, type: str | None = None) -> list[Any]:
        """Verified events received with a 2xx answer, in arrival order."""
        with self._cond:
            return [e for e in self._events if type is None or e.type == type]

    def types(self) -> list[str]:
        """The types of `events()`, in arrival order."""
        return [e.type for e in self.events()]

    def wait_for(self, type: str, timeout: float = 10.0, count: int = 1) -> Any:
        """The `count`-th event of `type`; in synchronous mode it is there already or never."""
        deadline = clock.monotonic() + (0.0 if self._synchronous() else timeout)
        with self._cond:
            while True:
                found = [e for e in self._events if e.type == type]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - clock.monotonic()
                if left <= 0:
                    seen = [e.type for e in self._events]
                    raise AssertionError(
                        f"no {type} webhook (#{count}) received within {timeout:g} s; got {seen}"
                    )
                self._cond.wait(min(left, 0.05))

    def clear(self) -> None:
        """Forget what was received."""
        with self._cond:
            self._events.clear()
            self.raw.clear()

    # --- serving over HTTP --------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", path: str = "/webhooks") -> str:
        """Start a loopback HTTP server; its URL."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.handle(body, dict(self.headers.items()))
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer((host, 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://{host}:{server.server_port}{path}"

    def close(self) -> None:
        """Stop the HTTP server, if any."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
