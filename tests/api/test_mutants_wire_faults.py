"""The fault rules of the control API (`/_mock/faults`, wire/faults.py), pinned where the mutation
review of the module found them untested: a rule's defaults and wire shape, the limits of
`times`, `latency_ms` and the number of rules (both sides), string values of form-encoded
bodies, the validation of `method` and `path`, the `fired` counter, a spent rule being gone,
and the latency handed to the server (slept, or held back by the event-loop server). Every
value is the one docs/reference/control-api.md documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from stripe_mock_billing import clock
from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from stripe_mock_billing.wire.faults import DEFER_KEY
from tests.api.conftest import control_error, raw_http
from tests.conftest import assert_journal_valid, err_of, validated

IN_USE = (
    "There is currently another in-progress request using this Idempotent Key (that probably "
    "means you submitted twice, and the other request is still going through): {}. Please try "
    "again later."
)


@pytest.fixture(autouse=True)
def _responses_match_the_schema(mock: StripeMock) -> Iterator[None]:
    """Every API response of the test's account, faults included, checked against the schema
    from its journal."""
    yield
    assert_journal_valid(mock)


def _arm(mock: StripeMock, body: dict[str, Any]) -> dict[str, Any]:
    """POST /_mock/faults with exactly `body` (the handle's helpers always send every field)."""
    return dict(mock._control("POST", "/_mock/faults", body))


def _refused(mock: StripeMock, body: dict[str, Any]) -> dict[str, Any]:
    """The 400 error of a rule the control API refuses; nothing is armed."""
    with pytest.raises(ControlError) as exc:
        mock._control("POST", "/_mock/faults", body)
    assert exc.value.status == 400
    assert mock.faults() == []
    return control_error(exc)


def _is_field_error(err: dict[str, Any], param: str, message: str) -> None:
    """A 400 `invalid_request_error` without a code, naming `param` with `message`."""
    assert (err["type"], err.get("code"), err["param"], err["message"]) == (
        "invalid_request_error",
        None,
        param,
        message,
    )


# --- a rule's defaults and wire shape ----------------------------------------------------------


def test_a_bare_rule_fails_the_next_request_of_any_method_and_path_once(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """Only `kind` given: method `*`, path `*`, `times` 1 (control-api.md)."""
    rule = _arm(mock, {"kind": "api_error"})
    assert rule["id"].startswith("mockfault_") and len(rule["id"]) == 24
    assert rule == {
        "id": rule["id"],
        "object": "_mock.fault",
        "kind": "api_error",
        "method": "*",
        "path": "*",
        "remaining": 1,
        "fired": 0,
        "latency_ms": 0,
        "status": 500,
        "reason": "global-rate",
        "should_retry": None,
    }
    assert mock.faults() == [rule]
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.list()  # a GET of another path than any written in the rule
    assert exc.value.http_status == 500
    assert client.v1.customers.list().data == []  # once only
    assert mock.faults() == []


def test_a_latency_rule_waits_1000_ms_unless_told(mock: StripeMock) -> None:
    assert _arm(mock, {"kind": "latency"})["latency_ms"] == 1000
    assert _arm(mock, {"kind": "latency", "latency_ms": 250})["latency_ms"] == 250
    assert _arm(mock, {"kind": "rate_limit"})["latency_ms"] == 0
    assert [f["latency_ms"] for f in mock.faults()] == [1000, 250, 0]


def test_a_rule_keeps_its_path(client: stripe.StripeClient, mock: StripeMock) -> None:
    rule = _arm(mock, {"kind": "api_error", "path": "/v1/prices"})
    assert rule["path"] == "/v1/prices"
    assert client.v1.customers.list().data == []  # another path: not matched
    assert [(f["id"], f["path"], f["remaining"]) for f in mock.faults()] == [
        (rule["id"], "/v1/prices", 1)
    ]
    with pytest.raises(stripe.APIError):
        client.v1.prices.list()


def test_fired_counts_the_requests_a_rule_failed(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    rule = mock.fail_next("api_error", path="/v1/customers", times=3)
    for fired in (1, 2):
        with pytest.raises(stripe.APIError):
            client.v1.customers.list()
        assert [(f["id"], f["remaining"], f["fired"]) for f in mock.faults()] == [
            (rule["id"], 3 - fired, fired)
        ]


def test_a_spent_rule_is_gone(
    client: stripe.StripeClient, mock: StripeMock, server: ThreadedServer, api_key: str
) -> None:
    """Once it has failed its `times` requests a rule is disarmed: not listed, not deletable,
    not counted by DELETE /_mock/faults."""
    rule = mock.fail_next("api_error", path="/v1/customers")
    with pytest.raises(stripe.APIError):
        client.v1.customers.list()
    assert mock.faults() == []
    resp = raw_http(server, "DELETE", f"/_mock/faults/{rule['id']}", api_key)
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert (err["type"], err["code"], err["param"], err["message"]) == (
        "invalid_request_error",
        "resource_missing",
        "id",
        f"No such fault: '{rule['id']}'",
    )
    resp = raw_http(server, "DELETE", "/_mock/faults", api_key)
    assert resp.json() == {"object": "_mock.faults", "deleted": 0}


def test_deleting_an_unknown_rule_is_404_while_others_are_armed(
    mock: StripeMock, server: ThreadedServer, api_key: str
) -> None:
    mock.fail_next("api_error", path="/v1/prices")
    mock.fail_next("rate_limit", path="/v1/products")
    resp = raw_http(server, "DELETE", "/_mock/faults/mockfault_nope", api_key)
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert (err["type"], err["code"], err["param"], err["message"]) == (
        "invalid_request_error",
        "resource_missing",
        "id",
        "No such fault: 'mockfault_nope'",
    )
    assert len(mock.faults()) == 2
    resp = raw_http(server, "DELETE", "/_mock/faults", api_key)
    assert resp.json() == {"object": "_mock.faults", "deleted": 2}


# --- limits, both sides ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "shown_as", "top", "message"),
    [
        (
            "api_error",
            "times",
            "remaining",
            100_000,
            "Invalid times: must be between 1 and 100000.",
        ),
        (
            "latency",
            "latency_ms",
            "latency_ms",
            60_000,
            "Invalid latency_ms: must be between 0 and 60000.",
        ),
    ],
)
def test_a_rule_field_is_read_up_to_its_limit_and_refused_past_it(
    mock: StripeMock, kind: str, field: str, shown_as: str, top: int, message: str
) -> None:
    assert _arm(mock, {"kind": kind, field: top})[shown_as] == top
    mock.clear_faults()
    err = _refused(mock, {"kind": kind, field: top + 1})
    _is_field_error(err, field, message)


def test_an_account_holds_at_most_1000_rules(mock: StripeMock) -> None:
    for _ in range(1000):
        _arm(mock, {"kind": "api_error", "path": "/v1/prices"})
    with pytest.raises(ControlError) as exc:
        _arm(mock, {"kind": "api_error", "path": "/v1/prices"})
    assert exc.value.status == 400
    err = control_error(exc)
    _is_field_error(err, "kind", "Too many fault rules: at most 1000 per account.")
    assert len(mock.faults()) == 1000


def test_a_bad_integer_is_quoted_up_to_100_characters(mock: StripeMock) -> None:
    err = _refused(mock, {"kind": "api_error", "times": "x" * 150})
    assert (err["type"], err.get("code"), err["param"], err["message"]) == (
        "invalid_request_error",
        "parameter_invalid_integer",
        "times",
        "Invalid integer: " + "x" * 100,
    )


# --- form-encoded bodies: numbers and booleans as strings --------------------------------------


def test_a_form_encoded_rule_reads_times_and_should_retry(
    client: stripe.StripeClient, mock: StripeMock, server: ThreadedServer, api_key: str
) -> None:
    """`curl -d kind=api_error -d times=2 -d should_retry=false`: the strings are read as the
    number 2 and the boolean false."""
    form = {"kind": "api_error", "path": "/v1/customers", "times": "2", "should_retry": "false"}
    resp = raw_http(server, "POST", "/_mock/faults", api_key, data=form)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["remaining"], resp.json()["should_retry"]) == (2, False)
    for _ in range(2):
        with pytest.raises(stripe.APIError) as exc:
            client.v1.customers.list()
        assert exc.value.http_status == 500
        assert exc.value.headers["Stripe-Should-Retry"] == "false"
    assert client.v1.customers.list().data == []


def test_a_form_encoded_should_retry_true_marks_a_rate_limit_retryable(
    client: stripe.StripeClient, mock: StripeMock, server: ThreadedServer, api_key: str
) -> None:
    """A `rate_limit` has no `Stripe-Should-Retry` of its own; `should_retry=true` adds it."""
    form = {"kind": "rate_limit", "path": "/v1/customers", "should_retry": "true"}
    resp = raw_http(server, "POST", "/_mock/faults", api_key, data=form)
    assert resp.status_code == 200, resp.text
    assert resp.json()["should_retry"] is True
    with pytest.raises(stripe.RateLimitError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 429
    assert exc.value.headers["Stripe-Should-Retry"] == "true"


# --- validation of method and path -------------------------------------------------------------


@pytest.mark.parametrize("method", ["", "  ", 5])
def test_a_method_must_be_a_non_empty_string(mock: StripeMock, method: Any) -> None:
    err = _refused(mock, {"kind": "api_error", "method": method})
    _is_field_error(err, "method", "Invalid method: must be an HTTP method or *")


@pytest.mark.parametrize("path", ["", 5, "X/v1/customers"])
def test_a_path_must_start_with_a_slash_or_a_glob(mock: StripeMock, path: Any) -> None:
    err = _refused(mock, {"kind": "api_error", "path": path})
    _is_field_error(err, "path", "Invalid path: must start with / (globs * ? [] allowed)")


# --- idempotency_key_in_use without a key ------------------------------------------------------


def test_idempotency_key_in_use_on_a_request_without_a_key_quotes_an_empty_key(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """The SDK sends no Idempotency-Key on a GET: the message quotes an empty key."""
    mock.fail_next("idempotency_key_in_use", path="/v1/customers", method="GET")
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 409
    e = err_of(exc)
    assert (e["type"], e["code"], e.get("param"), e["message"]) == (
        "invalid_request_error",
        "idempotency_key_in_use",
        None,
        IN_USE.format(""),
    )


# --- latency: slept by the app, or held back by the event-loop server --------------------------


def test_latency_sleeps_latency_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the threaded and in-process servers the request waits `latency_ms` (read by a
    stand-in for the wait: 250 ms is 0.25 s exactly), then executes."""
    slept: list[float] = []
    monkeypatch.setattr(clock, "sleep", slept.append)
    app = create_app(Settings()).test_client()
    auth = {"Authorization": "Bearer sk_test_latency_sleep"}
    armed = app.post("/_mock/faults", json={"kind": "latency", "latency_ms": 250}, headers=auth)
    assert armed.status_code == 200, armed.get_data(as_text=True)
    resp = validated(app.post("/v1/customers", data={"name": "slow"}, headers=auth))
    assert resp.status_code == 200 and resp.get_json()["name"] == "slow"
    assert slept == [0.25]


def test_latency_is_handed_to_a_server_that_holds_responses_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The event-loop server (loop_server.py) puts a list under DEFER_KEY in the environ: the
    request executes at once and the delay, in seconds, is appended for the server to hold the
    response back; nothing sleeps in the app."""
    slept: list[float] = []
    monkeypatch.setattr(clock, "sleep", slept.append)
    app = create_app(Settings()).test_client()
    auth = {"Authorization": "Bearer sk_test_latency_defer"}
    armed = app.post("/_mock/faults", json={"kind": "latency", "latency_ms": 250}, headers=auth)
    assert armed.status_code == 200, armed.get_data(as_text=True)
    held: list[float] = []
    resp = app.post(
        "/v1/customers", data={"name": "held"}, headers=auth, environ_base={DEFER_KEY: held}
    )
    assert validated(resp).status_code == 200 and resp.get_json()["name"] == "held"
    assert (held, slept) == ([0.25], [])
