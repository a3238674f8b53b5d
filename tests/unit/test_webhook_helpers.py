"""stripe_mock_billing.webhooks: sign_payload / make_event / event_payload, checked with the
official SDK's verifier, and the loopback rule of webhook URLs."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.domain.webhook_endpoints import is_loopback, url_problem
from stripe_mock_billing.webhooks import event_payload, make_event, new_secret, sign_payload

SECRET = "whsec_test_secret"


def test_sign_payload_with_a_fixed_timestamp_verifies() -> None:
    header = sign_payload('{"id": "evt_1"}', SECRET, timestamp=1717200000)
    assert header.startswith("t=1717200000,v1=")
    assert len(header.split("v1=")[1]) == 64
    stripe.WebhookSignature.verify_header('{"id": "evt_1"}', header, SECRET, tolerance=None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header('{"id": "evt_2"}', header, SECRET, tolerance=None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header('{"id": "evt_1"}', header, "whsec_x", tolerance=None)


def test_bytes_and_str_payloads_sign_alike() -> None:
    assert sign_payload(b"{}", SECRET, 5) == sign_payload("{}", SECRET, 5)


def test_default_timestamp_is_now_within_tolerance() -> None:
    body = event_payload(make_event("customer.created", {"id": "cus_1", "object": "customer"}))
    event = stripe.Webhook.construct_event(body.decode(), sign_payload(body, SECRET), SECRET)
    assert event.type == "customer.created"
    assert event.data.object.id == "cus_1"
    assert event.api_version == "2025-02-24.acacia"
    assert event.pending_webhooks == 1
    assert event.request.id is None


def test_make_event_fields() -> None:
    ev = make_event(
        "customer.updated",
        {"id": "cus_1"},
        api_version="2025-03-31.basil",
        previous_attributes={"name": "a"},
        created=1717200000,
        event_id="evt_fixed",
        request_id="req_1",
        idempotency_key="k",
    )
    assert ev["id"] == "evt_fixed" and ev["object"] == "event"
    assert ev["api_version"] == "2025-03-31.basil"
    assert ev["created"] == 1717200000
    assert ev["data"] == {"object": {"id": "cus_1"}, "previous_attributes": {"name": "a"}}
    assert ev["request"] == {"id": "req_1", "idempotency_key": "k"}
    assert make_event("x.y", {})["id"].startswith("evt_")


def test_new_secret() -> None:
    a, b = new_secret(), new_secret()
    assert a.startswith("whsec_") and len(a) == 38 and a != b


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.255.255.255", True),
        ("126.255.255.255", False),
        ("128.0.0.1", False),
        ("127.0.0.256", False),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_url_problem_allow_list() -> None:
    assert url_problem("http://hooks.internal/x", ["hooks.internal"]) is None
    assert url_problem("http://HOOKS.internal/x", ["hooks.internal"]) is None
    assert url_problem("http://other.internal/x", ["hooks.internal"]) is not None
    assert url_problem("https://127.0.0.1:443/x", []) is None
    assert url_problem("http://127.0.0.1:65536/x", []) == "Invalid URL: http://127.0.0.1:65536/x"
    assert url_problem("mailto:a@b.c", []) == "Invalid URL: mailto:a@b.c"
