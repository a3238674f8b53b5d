"""The /_mock/faults control API: every fault kind with Stripe's shapes, through the SDK."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.conftest import control_error, raw_http
from tests.conftest import assert_journal_valid, err_of


@pytest.fixture(autouse=True)
def _responses_match_the_schema(mock: StripeMock) -> Any:
    """Every response of the test's account, faults included, checked against the schema from
    its journal (the tests use `StripeMock.client()`, the handle's own SDK client)."""
    yield
    assert_journal_valid(mock)


# --- faults ----------------------------------------------------------------------------------


def test_api_error_fault_does_not_execute(client: stripe.StripeClient, mock: StripeMock) -> None:
    mock.fail_next("api_error", path="/v1/customers", method="POST")
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.create({"name": "never"})
    assert exc.value.http_status == 500
    assert err_of(exc)["type"] == "api_error"
    assert exc.value.headers["Stripe-Should-Retry"] == "true"
    assert client.v1.customers.list().data == []
    assert mock.journal("POST")[0].fault == "api_error"
    assert mock.faults() == []


def test_sdk_retry_after_500_uses_the_same_idempotency_key(mock: StripeMock) -> None:
    mock.fail_next("api_error", path="/v1/customers", method="POST")
    sdk = mock.client(max_network_retries=2)
    cus = sdk.v1.customers.create({"name": "once"})
    posts = mock.journal("POST", "/v1/customers")
    assert [e.status for e in posts] == [500, 200]
    assert posts[0].idempotency_key and posts[0].idempotency_key == posts[1].idempotency_key
    assert [c.id for c in sdk.v1.customers.list().data] == [cus.id]


def test_rate_limit_fault_shape_and_no_sdk_retry(server: ThreadedServer, mock: StripeMock) -> None:
    mock.fail_next("rate_limit", path="/v1/customers", reason="endpoint-rate")
    sdk = mock.client(max_network_retries=2)
    with pytest.raises(stripe.RateLimitError) as exc:
        sdk.v1.customers.list()
    assert exc.value.http_status == 429
    e = err_of(exc)
    assert (e["type"], e["code"], e.get("param")) == ("invalid_request_error", "rate_limit", None)
    assert e["message"] == (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits."
    )
    assert exc.value.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
    assert "Stripe-Should-Retry" not in exc.value.headers
    assert len(mock.journal()) == 1  # a 429 without Stripe-Should-Retry is not retried


def test_lock_timeout_fault_is_retried_by_the_sdk(mock: StripeMock) -> None:
    mock.fail_next("lock_timeout", path="/v1/customers", method="POST")
    with pytest.raises(stripe.RateLimitError) as exc:
        mock.client().v1.customers.create({})
    assert exc.value.http_status == 429
    e = err_of(exc)
    assert (e["type"], e["code"], e.get("param")) == ("invalid_request_error", "lock_timeout", None)
    assert e["message"] == (
        "This object cannot be accessed right now because another API request or Stripe process "
        "is currently accessing it. If you see this error intermittently, retry the request. If "
        "you see this error frequently and are making multiple concurrent requests to a single "
        "object, make your requests serially or at a lower rate."
    )
    assert exc.value.headers["Stripe-Should-Retry"] == "true"
    mock.fail_next("lock_timeout", path="/v1/customers", method="POST")
    cus = mock.client(max_network_retries=1).v1.customers.create({})
    assert cus.id.startswith("cus_")


def test_idempotency_key_in_use_fault(mock: StripeMock) -> None:
    mock.fail_next("idempotency_key_in_use", path="/v1/products", method="POST")
    with pytest.raises(stripe.APIError) as exc:
        mock.client().v1.products.create({"name": "p"}, {"idempotency_key": "busy"})
    assert exc.value.http_status == 409
    e = err_of(exc)
    assert (e["type"], e["code"], e.get("param")) == (
        "invalid_request_error",
        "idempotency_key_in_use",
        None,
    )
    assert e["message"] == (
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        "busy. Please try again later."
    )


def test_api_error_status_and_should_retry_override(mock: StripeMock) -> None:
    mock.fail_next("api_error", path="/v1/customers", status=503, should_retry=False)
    sdk = mock.client(max_network_retries=2)
    with pytest.raises(stripe.APIError) as exc:
        sdk.v1.customers.list()
    assert exc.value.http_status == 503
    assert exc.value.headers["Stripe-Should-Retry"] == "false"
    assert len(mock.journal()) == 1


def test_fault_times_method_and_glob(client: stripe.StripeClient, mock: StripeMock) -> None:
    cus = client.v1.customers.create({})
    mock.fail_next("api_error", path="/v1/customers/*", method="POST", times=2)
    client.v1.customers.retrieve(cus.id)  # GET: not matched
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.customers.update(cus.id, {"name": "x"})
    assert client.v1.customers.update(cus.id, {"name": "y"}).name == "y"


def test_latency_fault_delays_then_executes(mock: StripeMock) -> None:
    mock.add_latency(200, path="/v1/customers", method="POST")
    sdk = mock.client()
    start = time.monotonic()
    cus = sdk.v1.customers.create({"name": "slow"})
    assert time.monotonic() - start >= 0.2
    assert sdk.v1.customers.retrieve(cus.id).name == "slow"
    assert mock.journal("POST")[0].fault == "latency"


def test_list_and_delete_faults(mock: StripeMock, server: ThreadedServer, api_key: str) -> None:
    a = mock.fail_next("rate_limit", times=3)
    mock.fail_next("api_error", path="/v1/prices")
    assert [(f["id"], f["remaining"]) for f in mock.faults()][:1] == [(a["id"], 3)]
    resp = raw_http(server, "DELETE", f"/_mock/faults/{a['id']}", api_key)
    assert resp.json() == {"id": a["id"], "object": "_mock.fault", "deleted": True}
    assert [f["kind"] for f in mock.faults()] == ["api_error"]
    mock.clear_faults()
    assert mock.faults() == []


def test_delete_unknown_fault_is_404(server: ThreadedServer, api_key: str) -> None:
    resp = raw_http(server, "DELETE", "/_mock/faults/mockfault_nope", api_key)
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert (err["code"], err["param"]) == ("resource_missing", "id")
    assert err["message"] == "No such fault: 'mockfault_nope'"


@pytest.mark.parametrize(
    ("body", "code", "param", "message"),
    [
        ({}, "parameter_missing", "kind", "Missing required param: kind."),
        (
            {"kind": "boom"},
            None,
            "kind",
            "Invalid kind: must be one of rate_limit, "
            "lock_timeout, api_error, idempotency_key_in_use, latency",
        ),
        (
            {"kind": "api_error", "nope": 1},
            "parameter_unknown",
            "nope",
            "Received unknown parameter: nope",
        ),
        (
            {"kind": "api_error", "times": 0},
            None,
            "times",
            "Invalid times: must be between 1 and 100000.",
        ),
        (
            {"kind": "api_error", "times": "x"},
            "parameter_invalid_integer",
            "times",
            "Invalid integer: x",
        ),
        (
            {"kind": "api_error", "status": 418},
            None,
            "status",
            "Invalid status: must be one of 500, 502, 503, 504",
        ),
        (
            {"kind": "api_error", "path": "v1/x"},
            None,
            "path",
            "Invalid path: must start with / (globs * ? [] allowed)",
        ),
        (
            {"kind": "api_error", "should_retry": "maybe"},
            None,
            "should_retry",
            "Invalid boolean: maybe",
        ),
    ],
)
def test_bad_fault_rules_are_400(
    mock: StripeMock, body: dict[str, Any], code: str | None, param: str, message: str
) -> None:
    with pytest.raises(ControlError) as exc:
        mock._control("POST", "/_mock/faults", body)
    assert exc.value.status == 400
    err = control_error(exc)
    assert (err["type"], err.get("code"), err["param"], err["message"]) == (
        "invalid_request_error",
        code,
        param,
        message,
    )
    assert mock.faults() == []


def test_fault_on_a_v2_path_uses_the_v2_envelope(mock: StripeMock) -> None:
    mock.fail_next("api_error", path="/v2/billing/meter_event_session")
    with pytest.raises(stripe.APIError) as exc:
        mock.client().v2.billing.meter_event_session.create()
    assert exc.value.http_status == 500
    assert err_of(exc) == {
        "type": "api_error",
        "code": "api_error",
        "message": "An unknown error occurred",
    }


def test_faults_and_journal_reach_the_session_token_stream(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    client.v1.billing.meters.create(
        {"display_name": "T", "event_name": "t", "default_aggregation": {"formula": "sum"}}
    )
    cus = client.v1.customers.create({})
    session = client.v2.billing.meter_event_session.create()
    mock.fail_next("rate_limit", path="/v2/billing/meter_event_stream")
    events = {
        "events": [{"event_name": "t", "payload": {"stripe_customer_id": cus.id, "value": "1"}}]
    }
    opts = {"api_key": session.authentication_token}
    with pytest.raises(stripe.RateLimitError):
        client.v2.billing.meter_event_stream.create(events, opts)  # type: ignore[arg-type]
    client.v2.billing.meter_event_stream.create(events, opts)  # type: ignore[arg-type]
    sent = mock.journal(path="/v2/billing/meter_event_stream")
    assert [(e.status, e.fault) for e in sent] == [(429, "rate_limit"), (200, None)]
    assert sent[1].params == events
