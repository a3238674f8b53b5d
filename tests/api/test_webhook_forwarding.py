"""Forwarding like `stripe listen --forward-to`: every account's (or one key's) events to one
URL without an endpoint, signed with the printed (or given) secret; the CLI flags and env."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
import stripe

from stripe_mock_billing.config import Settings
from stripe_mock_billing.server import ThreadedServer
from tests.api.test_server_cli import start, stop
from tests.api.webhook_helpers import receiver
from tests.conftest import make_client

SECRET = "whsec_forwarding_test_secret"


def _client(url: str, violations: list[str], key: str | None = None) -> stripe.StripeClient:
    return make_client(url, key or "sk_test_" + uuid.uuid4().hex, violations)


def test_every_account_is_forwarded(schema_violations: list[str]) -> None:
    with receiver() as rcv:
        rcv.secret = SECRET
        settings = Settings(port=0, forward_to=rcv.url, webhook_secret=SECRET)
        with ThreadedServer(settings) as srv:
            a, b = _client(srv.url, schema_violations), _client(srv.url, schema_violations)
            ca = a.v1.customers.create({})
            cb = b.v1.customers.create({})
            assert [e.data.object.id for e in rcv.events()] == [ca.id, cb.id]
            # forwarding is not an endpoint: it does not count in pending_webhooks
            assert a.v1.events.list().data[0].pending_webhooks == 0
            assert a.v1.webhook_endpoints.list().data == []
        assert rcv.errors == []


def test_forward_key_and_events_filter(schema_violations: list[str]) -> None:
    key = "sk_test_" + uuid.uuid4().hex
    with receiver() as rcv:
        rcv.secret = SECRET
        settings = Settings(
            port=0,
            forward_to=rcv.url,
            webhook_secret=SECRET,
            forward_key=key,
            forward_events=["customer.updated"],
        )
        with ThreadedServer(settings) as srv:
            mine = _client(srv.url, schema_violations, key)
            other = _client(srv.url, schema_violations)
            cus = mine.v1.customers.create({})
            mine.v1.customers.update(cus.id, {"name": "x"})
            oc = other.v1.customers.create({})
            other.v1.customers.update(oc.id, {"name": "y"})
            assert rcv.types() == ["customer.updated"]
            assert rcv.events()[0].data.object.id == cus.id


def test_cli_prints_the_secret_and_forwards(schema_violations: list[str]) -> None:
    with receiver() as rcv:
        proc, url = start(["--port", "0", "--forward-to", rcv.url])
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith(f"Ready! Forwarding webhooks to {rcv.url}. ")
            rcv.secret = line.rsplit(" ", 1)[1].strip()
            assert rcv.secret.startswith("whsec_")
            cus = _client(url, schema_violations).v1.customers.create({})
            assert rcv.wait_for("customer.created").data.object.id == cus.id
        finally:
            stop(proc, signal.SIGTERM)


def test_cli_env_vars_and_fixed_secret(schema_violations: list[str]) -> None:
    with receiver() as rcv:
        rcv.secret = SECRET
        env = {
            "STRIPE_MOCK_BILLING_FORWARD_TO": rcv.url,
            "STRIPE_MOCK_BILLING_WEBHOOK_SECRET": SECRET,
            "STRIPE_MOCK_BILLING_FORWARD_EVENTS": "customer.created",
        }
        proc, url = start(["--port", "0"], env=env)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip().endswith(SECRET)
            client = _client(url, schema_violations)
            cus = client.v1.customers.create({})
            client.v1.customers.delete(cus.id)
            assert rcv.types() == ["customer.created"]
        finally:
            stop(proc, signal.SIGTERM)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--forward-to", "https://example.com/hook"], "--forward-to: Invalid URL"),
        (["--forward-to", "not a url"], "--forward-to: Invalid URL: not a url"),
        (
            ["--forward-to", "http://127.0.0.1:9/x", "--forward-events", "invoice.nope"],
            "--forward-events: unknown event type invoice.nope",
        ),
        (["--forward-to", "http://127.0.0.1:9/x", "--webhook-secret", "abc"], "whsec_"),
        (["--forward-key", "pk_test_x"], "--forward-key must be a secret test key"),
    ],
)
def test_cli_rejects_bad_webhook_options(args: list[str], message: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
    )
    assert out.returncode == 2
    assert message in out.stderr


def test_allow_list_admits_a_named_host(schema_violations: list[str]) -> None:
    settings = Settings(port=0, webhook_allow=["hooks.internal"])
    with ThreadedServer(settings) as srv:
        client = _client(srv.url, schema_violations)
        ep = client.v1.webhook_endpoints.create(
            {"url": "http://hooks.internal:8080/x", "enabled_events": ["*"]}
        )
        assert ep.url == "http://hooks.internal:8080/x"
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.webhook_endpoints.create(
                {"url": "http://other.internal/x", "enabled_events": ["*"]}
            )
        assert exc.value.http_status == 400
