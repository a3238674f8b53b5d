"""Webhook endpoints (`/v1/webhook_endpoints`) through each SDK, and a real signed delivery to a
loopback receiver (EMULATOR-ONLY: real Stripe delivers only to public HTTPS URLs)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..harness import T, scenario
from .common import customer


def _receiver(received: list[tuple[bytes, str]]) -> ThreadingHTTPServer:
    """A loopback receiver of this scenario run (SDKs run their scenarios in parallel)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((body, self.headers.get("Stripe-Signature") or ""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@scenario(
    "webhooks.endpoints",
    "webhook endpoint CRUD, the secret only on create, unknown event types refused, a signed "
    "delivery that stripe.Webhook.construct_event accepts",
    area="webhooks",
    emulator_only=True,
)
def webhooks_endpoints(t: T) -> None:
    import stripe

    received: list[tuple[bytes, str]] = []
    server = _receiver(received)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        ep = t.call(
            "webhook_endpoints.create",
            params={"url": url, "enabled_events": ["customer.created"], "description": "c"},
        )
        t.check(ep["id"].startswith("we_"), "webhook endpoint id prefix")
        t.check(str(ep.get("secret", "")).startswith("whsec_"), "secret in the create response")
        got = t.call("webhook_endpoints.retrieve", ep["id"])
        t.check(got.get("secret") is None, "no secret on retrieve")
        t.eq(got["enabled_events"], ["customer.created"], "enabled_events")
        upd = t.call("webhook_endpoints.update", ep["id"], params={"disabled": True})
        t.eq(upd["status"], "disabled", "disabled")
        t.call("webhook_endpoints.update", ep["id"], params={"disabled": False})
        listed = t.call("webhook_endpoints.list", paging="auto")
        t.eq([e["id"] for e in listed], [ep["id"]], "list")
        t.fails(
            "webhook_endpoints.create",
            params={"url": url, "enabled_events": ["customer.exploded"]},
            status=400,
            param="enabled_events",
        )
        received.clear()
        cus = customer(t)
        t.eq(len(received), 1, "one delivery before the call answered")
        body, sig = received[0]
        event = stripe.Webhook.construct_event(body.decode(), sig, ep["secret"])
        t.eq(event["type"], "customer.created", "delivered type")
        t.eq(event["data"]["object"]["id"], cus["id"], "delivered object")
        t.call("webhook_endpoints.delete", ep["id"])
    finally:
        server.shutdown()
        server.server_close()
