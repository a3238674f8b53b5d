"""Helpers for the webhook delivery tests: loopback receivers (verifying, misbehaving)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import stripe

from stripe_mock_billing.webhook_receiver import WebhookReceiver


@contextlib.contextmanager
def receiver() -> Iterator[WebhookReceiver]:
    """A verifying loopback receiver (secret set by `endpoint`)."""
    rcv = WebhookReceiver()
    rcv.url = rcv.serve()
    try:
        yield rcv
    finally:
        rcv.close()


def endpoint(
    client: stripe.StripeClient, rcv: WebhookReceiver, events: list[str] | None = None, **kw: Any
) -> Any:
    """Register `rcv` as an endpoint (its secret goes to the receiver)."""
    ep = client.v1.webhook_endpoints.create(
        {"url": rcv.url, "enabled_events": events or ["*"], **kw}  # type: ignore[typeddict-item]
    )
    rcv.secret = ep.secret
    return ep


@contextlib.contextmanager
def raw_server(behave: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback TCP server that runs `behave(conn)` for each connection; its URL."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=_run, args=(behave, conn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{lsock.getsockname()[1]}/hook"
    finally:
        stop.set()
        lsock.close()
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()


def _run(behave: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        behave(conn)


def read_request(conn: socket.socket) -> bytes:
    """Read one request's head (enough for these receivers)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf
