"""The /_mock control API over HTTP: auth, reset, journal, faults, settings, clock, snapshots."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing import journal
from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import ACACIA, err_of, make_client


@pytest.fixture
def mock(server: ThreadedServer, api_key: str) -> StripeMock:
    """The control handle of the test's account, over HTTP (as in external mode)."""
    return StripeMock.connect(server.url, api_key)


def _raw(server: ThreadedServer, method: str, path: str, key: str | None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kw.pop("headers", {}))
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)


def _control_error(exc: pytest.ExceptionInfo[ControlError]) -> dict[str, Any]:
    return exc.value.error


# --- auth and isolation ----------------------------------------------------------------------


def test_control_without_key_is_401_like_the_api(server: ThreadedServer) -> None:
    resp = _raw(server, "GET", "/_mock/journal", None)
    assert resp.status_code == 401
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert "code" not in err
    assert err["message"].startswith("You did not provide an API key.")
    assert resp.headers["Request-Id"].startswith("req_")


def test_control_with_publishable_key_is_403(server: ThreadedServer) -> None:
    resp = _raw(server, "POST", "/_mock/reset", "pk_test_123")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "secret_key_required"


def test_control_routes_are_not_under_v1(server: ThreadedServer, api_key: str) -> None:
    resp = _raw(server, "GET", "/v1/_mock/journal", api_key)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/_mock/journal)."
    )


def test_each_key_controls_only_its_own_account(
    server: ThreadedServer, client: stripe.StripeClient, mock: StripeMock
) -> None:
    other = StripeMock.connect(server.url)
    other.fail_next("api_error", path="/v1/customers")
    client.v1.customers.create({"name": "mine"})  # not affected by the other account's fault
    assert [e.status for e in mock.journal()] == [200]
    assert other.journal() == []
    assert len(other.faults()) == 1


def test_reset_forgets_objects_settings_and_journal(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    client.v1.customers.create({"name": "gone"})
    mock.update_settings(rate_limit=100)
    mock.reset()
    assert client.v1.customers.list().data == []
    assert mock.settings["rate_limit"] == 0
    assert [e.path for e in mock.journal()] == ["/v1/customers"]  # only the list above


# --- journal ---------------------------------------------------------------------------------


def test_journal_records_request_and_response(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    cus = client.v1.customers.create(
        {"name": "Ada", "metadata": {"k": "v"}}, {"idempotency_key": "idem-1"}
    )
    client.v1.customers.retrieve(cus.id)
    post, get = mock.journal()
    assert (post.method, post.path, post.status) == ("POST", "/v1/customers", 200)
    assert post.params == {"name": "Ada", "metadata": {"k": "v"}}
    assert post.idempotency_key == "idem-1"
    assert post.response["id"] == cus.id
    assert post.request_id == cus.last_response.request_id
    assert post.api_version == "2026-10-28.endive"
    assert post.fault is None and post.replayed is False
    assert post.time <= time.time() + 1
    assert (get.method, get.path, get.idempotency_key) == ("GET", f"/v1/customers/{cus.id}", None)
    assert get.seq == post.seq + 1


def test_journal_filters_by_method_glob_path_and_since(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    a = client.v1.customers.create({"name": "a"})
    client.v1.customers.create({"name": "b"})
    client.v1.customers.update(a.id, {"name": "a2"})
    client.v1.products.create({"name": "p"})
    assert [e.params.get("name") for e in mock.journal("POST", "/v1/customers")] == ["a", "b"]
    assert [e.path for e in mock.journal(path="/v1/customers/*")] == [f"/v1/customers/{a.id}"]
    assert len(mock.journal(method="post")) == 4
    first = mock.journal()[0]
    assert len(mock.journal(since=first.seq)) == 3


def test_journal_records_errors_and_replays(client: stripe.StripeClient, mock: StripeMock) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve("cus_missing")
    client.v1.customers.create({"name": "x"}, {"idempotency_key": "same"})
    client.v1.customers.create({"name": "x"}, {"idempotency_key": "same"})
    missing, first, replay = mock.journal()
    assert missing.status == 404
    assert missing.response["error"]["code"] == "resource_missing"
    assert (first.replayed, replay.replayed) == (False, True)
    assert replay.response == first.response


def test_journal_is_bounded(
    client: stripe.StripeClient, mock: StripeMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "MAX_ENTRIES", 5)
    for i in range(8):
        client.v1.customers.create({"name": str(i)})
    assert [e.params["name"] for e in mock.journal()] == ["3", "4", "5", "6", "7"]


def test_journal_drops_big_bodies_but_keeps_the_entry(
    client: stripe.StripeClient, mock: StripeMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "MAX_BODY", 10)
    client.v1.customers.create({"name": "big"})
    (entry,) = mock.journal()
    assert entry.response is None and entry.response_truncated is True
    assert entry.params == {"name": "big"}


def test_clear_journal(client: stripe.StripeClient, mock: StripeMock) -> None:
    client.v1.customers.create({})
    mock.clear_journal()
    assert mock.journal() == []


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
    assert (e["type"], e["code"]) == ("invalid_request_error", "rate_limit")
    assert e["message"].startswith("Request rate limit exceeded.")
    assert exc.value.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
    assert "Stripe-Should-Retry" not in exc.value.headers
    assert len(mock.journal()) == 1  # a 429 without Stripe-Should-Retry is not retried


def test_lock_timeout_fault_is_retried_by_the_sdk(mock: StripeMock) -> None:
    mock.fail_next("lock_timeout", path="/v1/customers", method="POST")
    with pytest.raises(stripe.RateLimitError) as exc:
        mock.client().v1.customers.create({})
    assert exc.value.http_status == 429
    assert err_of(exc)["code"] == "lock_timeout"
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
    assert e["code"] == "idempotency_key_in_use"
    assert "using this Idempotent Key" in e["message"] and "busy" in e["message"]


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
    resp = _raw(server, "DELETE", f"/_mock/faults/{a['id']}", api_key)
    assert resp.json() == {"id": a["id"], "object": "_mock.fault", "deleted": True}
    assert [f["kind"] for f in mock.faults()] == ["api_error"]
    mock.clear_faults()
    assert mock.faults() == []


def test_delete_unknown_fault_is_404(server: ThreadedServer, api_key: str) -> None:
    resp = _raw(server, "DELETE", "/_mock/faults/mockfault_nope", api_key)
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
    err = _control_error(exc)
    assert (err["type"], err.get("code"), err["param"], err["message"]) == (
        "invalid_request_error",
        code,
        param,
        message,
    )
    assert mock.faults() == []


# --- settings and clock ----------------------------------------------------------------------


def test_settings_get_and_update(mock: StripeMock) -> None:
    before = mock.settings
    assert before["rate_limit"] == 0 and before["strict_clock_limits"] is False
    after = mock.update_settings(rate_limit=25, strict_clock_limits=True, summary_lag="30")
    assert (after["rate_limit"], after["strict_clock_limits"], after["summary_lag"]) == (
        25,
        True,
        30,
    )
    assert mock.settings == after


@pytest.mark.parametrize(
    ("changes", "code", "param", "message"),
    [
        ({"nope": 1}, "parameter_unknown", "nope", "Received unknown parameter: nope"),
        ({"rate_limit": "ten"}, "parameter_invalid_integer", "rate_limit", "Invalid integer: ten"),
        ({"rate_limit": True}, "parameter_invalid_integer", "rate_limit", "Invalid integer: True"),
        (
            {"rate_limit": -1},
            None,
            "rate_limit",
            "Invalid rate_limit: must be between 0 and 1000000000.",
        ),
        ({"async_clock_advance": "yes"}, None, "async_clock_advance", "Invalid boolean: yes"),
    ],
)
def test_bad_settings_are_400_and_change_nothing(
    mock: StripeMock, changes: dict[str, Any], code: str | None, param: str, message: str
) -> None:
    with pytest.raises(ControlError) as exc:
        mock.update_settings(summary_lag=5, **changes)
    assert exc.value.status == 400
    err = _control_error(exc)
    assert (err.get("code"), err["param"], err["message"]) == (code, param, message)
    assert mock.settings["summary_lag"] == 0


def test_bad_api_version_setting(mock: StripeMock) -> None:
    with pytest.raises(ControlError) as exc:
        mock.update_settings(api_version="yesterday")
    assert exc.value.status == 400
    assert _control_error(exc)["message"].startswith("Invalid Stripe API version")


def test_malformed_control_json_is_400(server: ThreadedServer, api_key: str) -> None:
    resp = _raw(
        server,
        "POST",
        "/_mock/settings",
        api_key,
        data=b"{nope",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "Invalid JSON: the request body could not be parsed."


def test_clock_offset_moves_the_accounts_wall_clock(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    mock.set_clock_offset(-86400)
    prod = client.v1.products.create({"name": "drift"})
    assert abs(prod.created - (time.time() - 86400)) < 5
    assert abs(mock.now() - prod.created) < 5
    assert mock.advance_wall_clock(3600) == -86400 + 3600


# --- snapshots -------------------------------------------------------------------------------


def _seed(client: stripe.StripeClient) -> dict[str, Any]:
    cus = client.v1.customers.create({"name": "Seed", "metadata": {"0": "zero"}})
    prod = client.v1.products.create({"name": "Tokens"})
    metered = client.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "unit_amount_decimal": "0.05",
            "recurring": {"interval": "month", "usage_type": "metered"},
            "lookup_key": "tokens",
        }
    )
    tiered = client.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 2}],
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": metered.id}, {"price": tiered.id}]}
    )
    return {
        "customer": cus.id,
        "product": prod.id,
        "prices": [metered.id, tiered.id],
        "sub": sub.id,
    }


def test_snapshot_round_trip_into_another_account(
    server: ThreadedServer,
    acacia: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    client = acacia  # legacy metered prices (without a meter) need acacia
    ids = _seed(client)
    snap = mock.export_state()
    assert snap["format"] == "stripe-mock-billing/account-snapshot"
    other = StripeMock.connect(server.url)
    other.import_state(snap)
    twin = make_client(server.url, other.api_key, schema_violations, ACACIA)
    for service, oid in [
        ("customers", ids["customer"]),
        ("products", ids["product"]),
        ("subscriptions", ids["sub"]),
    ]:
        theirs = getattr(twin.v1, service).retrieve(oid)
        assert theirs.to_dict() == getattr(client.v1, service).retrieve(oid).to_dict()
    for pid in ids["prices"]:
        assert twin.v1.prices.retrieve(pid).to_dict() == client.v1.prices.retrieve(pid).to_dict()
    assert other.export_state()["state"] == snap["state"]
    # the imported account keeps working
    twin.v1.subscriptions.update(ids["sub"], {"metadata": {"after": "import"}})
    assert client.v1.subscriptions.retrieve(ids["sub"]).metadata.to_dict() == {}


def test_snapshot_keeps_meter_events(
    server: ThreadedServer,
    client: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    cus = client.v1.customers.create({})
    meter = client.v1.billing.meters.create(
        {
            "display_name": "Tokens",
            "event_name": "tokens",
            "default_aggregation": {"formula": "sum"},
        }
    )
    now = int(time.time())
    for i, value in enumerate(["5", "7", "2"]):
        client.v1.billing.meter_events.create(
            {
                "event_name": "tokens",
                "payload": {"stripe_customer_id": cus.id, "value": value},
                "timestamp": now - 60 + i,
                "identifier": f"ev-{i}",
            }
        )
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations)
    start = (now - 3600) // 60 * 60
    params = {"customer": cus.id, "start_time": start, "end_time": start + 7200}
    mine = client.v1.billing.meters.event_summaries.list(meter.id, params)
    theirs = twin.v1.billing.meters.event_summaries.list(meter.id, params)
    assert [s.aggregated_value for s in theirs.data] == [s.aggregated_value for s in mine.data]
    assert [s.aggregated_value for s in mine.data] == [14]
    # identifiers stay unique after import
    with pytest.raises(stripe.InvalidRequestError):
        twin.v1.billing.meter_events.create(
            {
                "event_name": "tokens",
                "payload": {"stripe_customer_id": cus.id, "value": "1"},
                "identifier": "ev-0",
            }
        )


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({"format": "nope"}, "Invalid snapshot: `format` must be"),
        (
            {"format": "stripe-mock-billing/account-snapshot", "format_version": 99, "state": {}},
            "Invalid snapshot: unsupported format_version 99.",
        ),
        (
            {
                "format": "stripe-mock-billing/account-snapshot",
                "format_version": 1,
                "state": {"lock": 1},
            },
            "Invalid snapshot: unknown state field(s) lock.",
        ),
        (
            {
                "format": "stripe-mock-billing/account-snapshot",
                "format_version": 1,
                "state": {
                    "customers": {
                        "$id": 1,
                        "$map": {"x": {"$id": 2, "$object": "os:system", "fields": {}}},
                    }
                },
            },
            "Invalid snapshot: customers: class os:system is outside stripe_mock_billing",
        ),
        (
            {
                "format": "stripe-mock-billing/account-snapshot",
                "format_version": 1,
                "state": {"customers": {"$ref": 7}},
            },
            "Invalid snapshot: customers: dangling $ref 7",
        ),
    ],
)
def test_bad_snapshot_is_400_and_changes_nothing(
    client: stripe.StripeClient, mock: StripeMock, snapshot: dict[str, Any], message: str
) -> None:
    cus = client.v1.customers.create({"name": "kept"})
    with pytest.raises(ControlError) as exc:
        mock.import_state(snapshot)
    assert exc.value.status == 400
    assert _control_error(exc)["message"].startswith(message)
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_snapshot_keeps_usage_records_clocks_and_invoices(
    server: ThreadedServer,
    acacia: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    t0 = 1767225600  # 2026-01-01
    clk = acacia.v1.test_helpers.test_clocks.create({"frozen_time": t0})
    cus = acacia.v1.customers.create({"test_clock": clk.id})
    prod = acacia.v1.products.create({"name": "legacy"})
    price = acacia.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "unit_amount": 3,
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
        }
    )
    sub = acacia.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    item = sub["items"].data[0].id
    for qty in (5, 6):
        acacia.raw_request(
            "post", f"/v1/subscription_items/{item}/usage_records", quantity=qty, timestamp=t0
        )
    acacia.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": t0 + 31 * 86400 + 7200})
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations, ACACIA)

    def view(c: stripe.StripeClient) -> Any:
        invoices = [i.to_dict() for i in c.v1.invoices.list({"customer": cus.id}).data]
        summaries = c.raw_request("get", f"/v1/subscription_items/{item}/usage_record_summaries")
        clock = c.v1.test_helpers.test_clocks.retrieve(clk.id).to_dict()
        return invoices, c.deserialize(summaries, api_mode="V1").to_dict(), clock

    assert view(twin) == view(acacia)
    assert [i["amount_due"] for i in view(twin)[0]] == [33, 0]
    # both accounts go on billing the same way
    for c in (acacia, twin):
        c.raw_request(
            "post",
            f"/v1/subscription_items/{item}/usage_records",
            quantity=10,
            timestamp=t0 + 31 * 86400 + 3600,
        )
        c.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": t0 + 60 * 86400})
    amounts = [
        [i.amount_due for i in c.v1.invoices.list({"customer": cus.id}).data]
        for c in (acacia, twin)
    ]
    assert amounts[0] == amounts[1] == [30, 33, 0]


def test_journal_query_errors(server: ThreadedServer, api_key: str) -> None:
    resp = _raw(server, "GET", "/_mock/journal?since=abc", api_key)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert (err["code"], err["param"], err["message"]) == (
        "parameter_invalid_integer",
        "since",
        "Invalid integer: abc",
    )
    resp = _raw(server, "GET", "/_mock/journal?verb=POST", api_key)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "Received unknown parameter: verb"


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
