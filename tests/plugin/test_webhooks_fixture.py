"""The `stripe_webhooks` fixture and the `stripe_webhook_fault` marker, run with pytester in
in-process, server and external modes."""

from __future__ import annotations

import textwrap

import pytest

from stripe_mock_billing.server import ThreadedServer
from tests.plugin.journal_check import check_journals

WEBHOOK_TESTS = """
    import pytest
    import stripe

    def test_receives_verified_events(stripe_client, stripe_webhooks):
        cus = stripe_client.v1.customers.create({"name": "Ada"})
        ev = stripe_webhooks.wait_for("customer.created")
        assert isinstance(ev, stripe.Event)
        assert ev.data.object.id == cus.id
        assert stripe_webhooks.endpoint.secret.startswith("whsec_")
        assert stripe_webhooks.types() == ["customer.created"]

    def test_events_filter_and_clear(stripe_client, stripe_webhooks):
        cus = stripe_client.v1.customers.create({})
        stripe_client.v1.customers.update(cus.id, {"name": "x"})
        assert [e.type for e in stripe_webhooks.events("customer.updated")] == ["customer.updated"]
        stripe_webhooks.clear()
        assert stripe_webhooks.events() == []

    def test_wait_for_returns_at_once_in_synchronous_mode(stripe_webhooks):
        with pytest.raises(AssertionError, match="no invoice.paid webhook"):
            stripe_webhooks.wait_for("invoice.paid", timeout=30)

    @pytest.mark.stripe_mock(webhook_delivery="background")
    def test_wait_for_waits_in_background_mode(stripe_client, stripe_webhooks):
        stripe_client.v1.customers.create({})
        assert stripe_webhooks.wait_for("customer.created", timeout=10).type == "customer.created"

    @pytest.mark.stripe_webhook_fault("duplicate", type="customer.created")
    def test_fault_marker(stripe_client, stripe_webhooks):
        stripe_client.v1.customers.create({})
        assert stripe_webhooks.types() == ["customer.created", "customer.created"]

    def test_retries_visible_in_attempts(stripe_mock, stripe_client, stripe_webhooks):
        stripe_webhooks.respond_with(500)
        stripe_client.v1.customers.create({})
        (a,) = stripe_mock.webhook_attempts()
        assert a["status"] == 500
        again = stripe_mock.resend_webhook(a["event"], a["endpoint"])
        assert again["status"] == 200
        assert stripe_webhooks.types() == ["customer.created"]
"""
N_TESTS = 6


@pytest.fixture
def webhook_tests(pytester: pytest.Pytester) -> pytest.Pytester:
    check_journals(pytester)
    pytester.makepyfile(test_hooks=textwrap.dedent(WEBHOOK_TESTS))
    return pytester


def test_inprocess(webhook_tests: pytest.Pytester) -> None:
    result = webhook_tests.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_TESTS)


def test_server_mode(webhook_tests: pytest.Pytester) -> None:
    result = webhook_tests.runpytest("--stripe-mock-mode=server", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_TESTS)


def test_external_mode(webhook_tests: pytest.Pytester, server: ThreadedServer) -> None:
    result = webhook_tests.runpytest(f"--stripe-mock-url={server.url}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_TESTS)


def test_bad_signature_fails_the_test(pytester: pytest.Pytester) -> None:
    check_journals(pytester)
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_wrong_secret(stripe_client, stripe_webhooks):
                stripe_webhooks.secret = "whsec_not_it"
                stripe_client.v1.customers.create({})
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*deliveries failed signature verification*"])


FLASK_APP_TEST = """
    import stripe
    from flask import Flask, request

    SECRET = {}
    seen = []

    app = Flask(__name__)

    @app.post("/webhooks")
    def webhooks():
        event = stripe.Webhook.construct_event(
            request.get_data(as_text=True), request.headers["Stripe-Signature"], SECRET["whsec"]
        )
        seen.append(event.type)
        return "", 200

    def test_my_flask_app_in_process(stripe_mock, stripe_client):
        url = stripe_mock.mount_webhook_app(app)
        ep = stripe_client.v1.webhook_endpoints.create(
            {"url": url, "enabled_events": ["customer.created"]}
        )
        SECRET["whsec"] = ep.secret
        stripe_client.v1.customers.create({})
        assert seen == ["customer.created"]
        (attempt,) = stripe_mock.webhook_attempts()
        assert attempt["status"] == 200 and attempt["url"] == url
"""


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_mount_webhook_app(pytester: pytest.Pytester, mode: str) -> None:
    check_journals(pytester)
    pytester.makepyfile(test_flask_hook=textwrap.dedent(FLASK_APP_TEST))
    result = pytester.runpytest(f"--stripe-mock-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
