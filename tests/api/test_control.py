"""The /_mock control API over HTTP: auth, reset, journal, faults, settings, clock, snapshots."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from stripe_mock_billing.wire import journal
from tests.api.conftest import control_error, raw_http

# --- auth and isolation ----------------------------------------------------------------------


def test_control_without_key_is_401_like_the_api(server: ThreadedServer) -> None:
    resp = raw_http(server, "GET", "/_mock/journal", None)
    assert resp.status_code == 401
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert "code" not in err
    assert err["message"].startswith("You did not provide an API key.")
    assert resp.headers["Request-Id"].startswith("req_")


def test_control_with_publishable_key_is_403(server: ThreadedServer) -> None:
    resp = raw_http(server, "POST", "/_mock/reset", "pk_test_123")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "secret_key_required"


def test_control_routes_are_not_under_v1(server: ThreadedServer, api_key: str) -> None:
    resp = raw_http(server, "GET", "/v1/_mock/journal", api_key)
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


def test_journal_query_errors(server: ThreadedServer, api_key: str) -> None:
    resp = raw_http(server, "GET", "/_mock/journal?since=abc", api_key)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert (err["code"], err["param"], err["message"]) == (
        "parameter_invalid_integer",
        "since",
        "Invalid integer: abc",
    )
    resp = raw_http(server, "GET", "/_mock/journal?verb=POST", api_key)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "Received unknown parameter: verb"


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
    err = control_error(exc)
    assert (err.get("code"), err["param"], err["message"]) == (code, param, message)
    assert mock.settings["summary_lag"] == 0


def test_bad_api_version_setting(mock: StripeMock) -> None:
    with pytest.raises(ControlError) as exc:
        mock.update_settings(api_version="yesterday")
    assert exc.value.status == 400
    assert control_error(exc)["message"].startswith("Invalid Stripe API version")


def test_malformed_control_json_is_400(server: ThreadedServer, api_key: str) -> None:
    resp = raw_http(
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
