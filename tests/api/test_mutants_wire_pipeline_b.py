"""The request pipeline (stripe_mock_billing/wire/pipeline.py), pinned where the mutation review
of wire/ found it untested: the query string of a WSGI server that leaves it out, v1 bodies
refused by their content type whatever its parameters, the day a `Stripe-Version` may be dated
(UTC, today included), and the rate limit's window and its smallest value."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing import clock, persistence
from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.inprocess import INPROCESS_URL, httpx_client, mock_stripe
from stripe_mock_billing.resources import customers as customers_module
from stripe_mock_billing.server import ThreadedServer
from stripe_mock_billing.wsgi_call import wsgi_environ
from tests.api.conftest import raw_http
from tests.api.test_bad_input import assert_envelope, send
from tests.conftest import assert_journal_valid, err_of, validated, validated_raw

# --- a WSGI server may leave QUERY_STRING out ----------------------------------------------------


def _call(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda chunk: None

    body = b"".join(app(environ, start_response))
    return int(started[0].split(" ", 1)[0]), dict(started[1]), body


def test_a_request_without_a_query_string_in_its_environ_has_no_query_parameters() -> None:
    """PEP 3333: `QUERY_STRING` "may be empty or absent". A server that leaves it out (no `?` in
    the URL) sends a request with no query parameters: a list answers as for `?` with nothing."""
    app = create_app(Settings())
    env = wsgi_environ(
        "GET", "http://localhost/v1/customers", {"Authorization": "Bearer sk_test_no_qs"}, None
    )
    del env["QUERY_STRING"]
    env.pop("RAW_URI", None)
    status, headers, body = _call(app, env)
    validated_raw("GET", "/v1/customers", status, headers, body)
    assert status == 200, body[:300]
    got = json.loads(body)
    assert (got["object"], got["data"], got["has_more"]) == ("list", [], False)


# --- v1 refuses JSON and multipart bodies by their media type --------------------------------


@pytest.mark.parametrize(
    ("ctype", "media"),
    [
        ("multipart/form-data; boundary=b", "multipart/form-data"),
        ("multipart/form-data", "multipart/form-data"),
        ("application/json; charset=utf-8", "application/json"),
        ("Application/JSON", "application/json"),
    ],
)
def test_a_json_or_multipart_body_on_v1_is_refused_whatever_it_holds(
    server: ThreadedServer, api_key: str, client: stripe.StripeClient, ctype: str, media: str
) -> None:
    """wire-format.md: "JSON or multipart bodies on v1 are 400, any other content type is read as
    a form". The media type decides, before its parameters (`; charset=`, `; boundary=`) and
    whatever its case, even for a body that would read as a valid form."""
    r = send(server, api_key, "POST", "/v1/customers", b"name=x", ctype)
    err = assert_envelope(r)
    assert (r.status_code, err["type"], err.get("code"), err.get("param"), err["message"]) == (
        400,
        "invalid_request_error",
        None,
        None,
        "Invalid request: v1 endpoints take application/x-www-form-urlencoded bodies, not "
        f"{media}.",
    )
    assert client.v1.customers.list().data == []  # nothing was created


def test_a_delete_without_a_body_or_a_content_length_has_no_parameters(
    server: ThreadedServer, api_key: str, client: stripe.StripeClient
) -> None:
    """`curl -X DELETE https://api.stripe.com/v1/customers/cus_...` (Stripe's reference) sends
    no body and no `Content-Length`: the customer is deleted, no parameter is read."""
    cus = client.v1.customers.create({})
    host, port = server.url.rsplit("/", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(
            "DELETE", f"/v1/customers/{cus.id}", headers={"Authorization": f"Bearer {api_key}"}
        )
        resp = conn.getresponse()
        status, headers, body = resp.status, resp.headers, resp.read()
    finally:
        conn.close()
    validated_raw("DELETE", f"/v1/customers/{cus.id}", status, headers, body)
    assert status == 200, body[:300]
    assert json.loads(body) == {"id": cus.id, "object": "customer", "deleted": True}


# --- Stripe-Version: a date up to today, UTC -----------------------------------------------------

NEWEST = "2026-11-18.endive"  # the newest version the emulator knows (stripe_versions.py)


def _version_get(server: ThreadedServer, api_key: str, version: str) -> Any:
    r = requests.get(
        server.url + "/v1/customers",
        headers={"Authorization": f"Bearer {api_key}", "Stripe-Version": version},
        timeout=10,
    )
    return validated(r)


@pytest.mark.parametrize(
    ("now", "today", "tomorrow"),
    [
        (1798847999, "2027-01-01", "2027-01-02"),  # 2027-01-01T23:59:59Z
        (1798848000, "2027-01-02", "2027-01-03"),  # 2027-01-02T00:00:00Z
        (1801439999, "2027-01-31", "2027-02-01"),  # 2027-01-31T23:59:59Z
    ],
)
def test_a_newer_version_may_be_dated_today_in_utc_but_not_tomorrow(
    server: ThreadedServer,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    now: int,
    today: str,
    tomorrow: str,
) -> None:
    """wire-format.md: a well-formed version newer than the newest known "and not dated in the
    future" is served as the newest known one. Today (UTC) is not the future, up to its last
    second; tomorrow is, up to the first second of it."""
    monkeypatch.setattr(clock, "real_time", lambda: now)
    r = _version_get(server, api_key, today)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Stripe-Version"] == NEWEST
    assert r.headers["Stripe-Mock-Requested-Version"] == today
    r = _version_get(server, api_key, tomorrow)
    err = assert_envelope(r)
    assert (r.status_code, err["type"], err.get("code"), err.get("param"), err["message"]) == (
        400,
        "invalid_request_error",
        None,
        None,
        f"Invalid Stripe API version: {tomorrow}",
    )


# --- v2: a POST without a body has no parameters -----------------------------------------------


def _destination(name: str) -> Any:
    """The parameters of a thin-payload webhook event destination named `name`."""
    return {
        "name": name,
        "type": "webhook_endpoint",
        "event_payload": "thin",
        "enabled_events": ["v1.billing.meter.no_meter_found"],
        "webhook_endpoint": {"url": "http://127.0.0.1:9/thin"},
    }


def test_a_v2_post_without_a_body_is_an_empty_object(
    server: ThreadedServer, api_key: str, client: stripe.StripeClient
) -> None:
    """Stripe's reference shows `POST /v2/core/event_destinations/{id}/disable` as a curl call
    without `-d`: a v2 POST with no body (or only whitespace) takes no parameters, it is not
    malformed JSON."""
    ed = client.v2.core.event_destinations.create(_destination("no body"))
    for action, body, status in (("disable", b"", "disabled"), ("enable", b" \r\n", "enabled")):
        # not validated: the v2 event destination paths are no operation of the OpenAPI spec
        # at hand
        r = requests.post(
            f"{server.url}/v2/core/event_destinations/{ed.id}/{action}",
            data=body,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text[:300]
        assert (r.json()["id"], r.json()["status"]) == (ed.id, status)


# --- rate limit: N requests per second, N from 1 --------------------------------------------------

RATE_LIMITED = (
    "Request rate limit exceeded. Learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)


def _limited(call: Callable[[], object]) -> None:
    with pytest.raises(stripe.RateLimitError) as exc:
        call()
    e = err_of(exc)
    assert (exc.value.http_status, e["type"], e.get("code"), e.get("param"), e["message"]) == (
        429,
        "invalid_request_error",
        "rate_limit",
        None,
        RATE_LIMITED,
    )


def test_a_rate_limit_of_one_request_per_second_is_a_limit(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """`rate_limit` is requests per second, 0 = off (wire-format.md): 1 lets one through."""
    mock.update_settings(rate_limit=1)
    assert client.v1.customers.list().data == []
    _limited(lambda: client.v1.customers.list())


def test_a_request_one_second_later_is_in_the_next_second(
    client: stripe.StripeClient, mock: StripeMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 2 requests per second, the third inside the same second is a 429 (0.999 s after the
    first), and a request a full second after the first is counted without it."""
    start = clock.monotonic()
    at = [start]
    monkeypatch.setattr(clock, "monotonic", lambda: at[0])
    mock.update_settings(rate_limit=2)
    client.v1.customers.list()  # t = 0
    at[0] = start + 0.5
    client.v1.customers.list()
    at[0] = start + 0.999
    _limited(lambda: client.v1.customers.list())
    at[0] = start + 1.0  # the first request is a second old: one left in the window
    assert client.v1.customers.list().data == []
    at[0] = start + 1.25  # t = 0.5 and t = 1.0 are inside this second
    _limited(lambda: client.v1.customers.list())


# --- an Idempotency-Key with a line break -----------------------------------------------------


def _raw_post(server: ThreadedServer, head: bytes, body: bytes) -> tuple[int, Any, bytes]:
    """A POST written byte by byte (no client lets a header value hold a line break)."""
    host, port = server.url.rsplit("/", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/customers HTTP/1.1\r\nHost: %s\r\n%sContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n"
            b"\r\n%s" % (host.encode(), head, len(body), body)
        )
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, resp.headers, resp.read()


def test_an_idempotency_key_folded_over_two_lines_is_a_4xx_that_changes_nothing(
    server: ThreadedServer, api_key: str, client: stripe.StripeClient
) -> None:
    """A header value continued on the next line (obs-fold, here after a bare LF, which
    werkzeug's server keeps in the value) puts a line break into the key. wire-format.md: "Bad
    input of any kind ... is a 4xx and changes nothing". (Which 4xx, and its text, Stripe does
    not say: not pinned.)"""
    auth = b"Authorization: Bearer %s\r\n" % api_key.encode()
    status, headers, body = _raw_post(server, auth + b"Idempotency-Key: ab\n cd\r\n", b"name=x")
    validated_raw("POST", "/v1/customers", status, headers, body)
    assert 400 <= status < 500, (status, body[:300])
    assert headers["Content-Type"] == "application/json"
    err = json.loads(body)["error"]
    assert isinstance(err["type"], str) and err["message"]
    assert client.v1.customers.list().data == []


@pytest.mark.parametrize("key", ["ab\rcd", "ab\ncd"])
def test_an_idempotency_key_with_a_line_break_in_process_is_a_4xx_that_changes_nothing(
    key: str,
) -> None:
    """In-process, httpx hands the SDK's `idempotency_key` to the app as it is, CR or LF
    included. wire-format.md: bad input "is a 4xx and changes nothing" (which 4xx is not
    pinned, as above)."""
    with mock_stripe() as m:
        sdk = stripe.StripeClient(
            "sk_test_idem_line_break",
            base_addresses={"api": INPROCESS_URL},
            http_client=httpx_client(m.app, allow_sync_methods=True),
            max_network_retries=0,
        )
        with pytest.raises(stripe.StripeError) as exc:
            sdk.v1.customers.create({"name": "x"}, {"idempotency_key": key})
        assert exc.value.http_status is not None and 400 <= exc.value.http_status < 500
        assert sdk.v1.customers.list().data == []
        assert_journal_valid(m.handle("sk_test_idem_line_break"))


# --- --data: what the saver counts as a change --------------------------------------------------


def test_the_data_file_is_written_again_after_a_write_without_events_but_not_after_a_read(
    tmp_path: Path,
) -> None:
    """`--data` (persistence.py, docs/reference/cli.md) writes the file again when an account
    changed and not when nothing did. A meter event changes the account without raising any
    event (Stripe sends none for it), a second one too; a GET changes nothing; a meter event
    and a change of the account's settings are two changes."""
    app = create_app(Settings())
    web = app.test_client()
    key = "sk_test_data_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    cus = validated(web.post("/v1/customers", data={"name": "m"}, headers=auth)).get_json()
    meter = {"display_name": "calls", "event_name": "calls", "default_aggregation[formula]": "sum"}
    assert validated(web.post("/v1/billing/meters", data=meter, headers=auth)).status_code == 200
    # persistence.Saver writes the app's Store: it is the unit under test
    saver = persistence.Saver(app.extensions["stripe_mock_billing.store"], tmp_path / "d.json")
    assert saver.save() == 1
    for value in ("3", "4"):
        event = {
            "event_name": "calls",
            "payload[stripe_customer_id]": cus["id"],
            "payload[value]": value,
        }
        r = validated(web.post("/v1/billing/meter_events", data=event, headers=auth))
        assert r.status_code == 200, r.get_data(as_text=True)
        assert saver.save() == 1  # the meter event is a change
    assert validated(web.get("/v1/customers", headers=auth)).status_code == 200
    assert saver.save() is None  # a read is not
    # a meter event, then a settings change (control API, also a change): both are saved
    event = {"event_name": "calls", "payload[stripe_customer_id]": cus["id"], "payload[value]": "5"}
    assert (
        validated(web.post("/v1/billing/meter_events", data=event, headers=auth)).status_code == 200
    )
    # not validated: /_mock/* is the emulator's own API, no operation of Stripe's OpenAPI
    assert web.post("/_mock/settings", json={"summary_lag": 0}, headers=auth).status_code == 200
    assert saver.save() == 1


# --- v2 idempotency: the JSON object is what is compared ----------------------------------------


def test_a_v2_idempotent_replay_compares_the_json_object_not_its_text(
    server: ThreadedServer, api_key: str
) -> None:
    """wire-format.md: a replay of an `Idempotency-Key` with the same parameters gets the first
    answer; the same key with other parameters is 400 `idempotency_error`. On v2 the parameters
    are a JSON object: the order of its keys is no difference, another value is."""
    params = _destination("first")

    def post(body: dict[str, Any]) -> requests.Response:
        # not validated: the v2 event destination paths are no operation of the OpenAPI spec
        # at hand
        return requests.post(
            server.url + "/v2/core/event_destinations",
            data=json.dumps(body),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": "v2-key",
            },
            timeout=10,
        )

    first = post(params)
    assert first.status_code == 200, first.text[:300]
    again = post(dict(reversed(list(params.items()))))
    assert again.status_code == 200, again.text[:300]
    assert again.json()["id"] == first.json()["id"]
    other = post({**params, "name": "second"})
    assert (other.status_code, other.json()["error"]["type"]) == (400, "idempotency_error")


# --- werkzeug's own HTTP errors, in Stripe's envelope --------------------------------------------


def _raw(server: ThreadedServer, request: bytes) -> tuple[int, Any, bytes]:
    """One request written byte by byte on a fresh connection, its answer read whole."""
    host, port = server.url.rsplit("/", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, resp.headers, resp.read()


def _logged(headers: Any, err: dict[str, Any]) -> None:
    """Stripe's `request_log_url` points at this request's log: its Request-Id."""
    rid = headers["Request-Id"]
    assert rid.startswith("req_") and len(rid) > len("req_")
    assert err["request_log_url"] == f"https://dashboard.stripe.com/test/logs/{rid}"


def test_a_path_under_static_is_an_unrecognized_url(server: ThreadedServer, api_key: str) -> None:
    """Flask's `/static/<path>` route serves nothing here: any URL Stripe does not have is a 404
    `Unrecognized request URL (GET: <path>)` (wire-format.md)."""
    # not validated: a URL Stripe does not have is no operation of its OpenAPI
    r = raw_http(server, "GET", "/static/app.js", api_key)
    err = assert_envelope(r)
    assert (r.status_code, err["type"], err.get("code"), err.get("param"), err["message"]) == (
        404,
        "invalid_request_error",
        None,
        None,
        "Unrecognized request URL (GET: /static/app.js). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.",
    )
    _logged(r.headers, err)


def test_a_malformed_chunked_body_is_a_400_that_changes_nothing(
    server: ThreadedServer, api_key: str, client: stripe.StripeClient
) -> None:
    """A chunked body whose chunk size is not hexadecimal (werkzeug's server refuses it):
    wire-format.md, malformed bodies are a 4xx in Stripe's envelope and change nothing. (The
    text is werkzeug's, not pinned.)"""
    status, headers, body = _raw(
        server,
        b"POST /v1/customers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Connection: close\r\n\r\nzz\r\nname=x\r\n0\r\n\r\n" % api_key.encode(),
    )
    validated_raw("POST", "/v1/customers", status, headers, body)
    assert (status, headers["Content-Type"]) == (400, "application/json")
    err = json.loads(body)["error"]
    assert err["type"] == "invalid_request_error"
    assert isinstance(err["message"], str) and err["message"]
    _logged(headers, err)
    assert client.v1.customers.list().data == []


def test_a_body_over_16_mib_is_answered_as_this_request(
    server: ThreadedServer, api_key: str, mock: StripeMock
) -> None:
    """The 413 `request_too_large` (wire-format.md) is this request's answer: its log URL names
    its Request-Id. The body was refused unread: the journal shows no parameter."""
    r = send(server, api_key, "POST", "/v1/customers", b"name=" + b"x" * (16 * 1024 * 1024 + 1))
    err = assert_envelope(r)
    assert (r.status_code, err["code"], err["message"]) == (
        413,
        "request_too_large",
        "Request body is too large.",
    )
    _logged(r.headers, err)
    [entry] = mock.journal("POST", "/v1/customers")
    assert (entry.status, entry.request_id, entry.params) == (413, r.headers["Request-Id"], {})


# --- v2: a body on a GET or a DELETE is ignored ---------------------------------------------------


def test_a_body_sent_with_a_v2_get_or_delete_is_ignored(
    server: ThreadedServer, api_key: str, client: stripe.StripeClient
) -> None:
    """control-api.md: on v2 the parameters of a GET or DELETE are its query string, "a body
    sent with those is ignored, as the API ignores it", even one that is no JSON at all."""
    ed = client.v2.core.event_destinations.create(_destination("ignored bodies"))
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    base = server.url + "/v2/core/event_destinations"
    # not validated: the v2 event destination paths are no operation of the OpenAPI spec at hand
    listed = requests.get(base, data=b"{not json", headers=headers, timeout=10)
    assert listed.status_code == 200, listed.text[:300]
    assert [d["id"] for d in listed.json()["data"]] == [ed.id]
    # not validated: as above (no OpenAPI operation for the v2 event destination paths)
    gone = requests.delete(f"{base}/{ed.id}", data=b"[1, 2", headers=headers, timeout=10)
    assert gone.status_code == 200, gone.text[:300]
    assert gone.json()["id"] == ed.id
    assert client.v2.core.event_destinations.list().data == []


def test_a_v2_error_has_the_v2_envelope(server: ThreadedServer, api_key: str) -> None:
    """A v2 endpoint's error has v2's members (`type`, `code`, `message`; optionally `doc_url`,
    `user_message`), not v1's `param` or `request_log_url`."""
    # not validated: the v2 event destination paths are no operation of the OpenAPI spec at hand
    r = raw_http(server, "GET", "/v2/core/event_destinations/ed_test_missing", api_key)
    assert r.status_code == 404, r.text[:300]
    err = r.json()["error"]
    assert set(err) <= {"type", "code", "message", "doc_url", "user_message"}, err
    assert (err["type"], err["code"]) == ("invalid_request_error", "not_found")
    assert isinstance(err["message"], str) and err["message"]


# --- an emulator bug: a 500 for this request, logged with it -------------------------------------


def test_an_emulator_bug_is_a_500_of_this_request_logged_with_its_method_and_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """wire-format.md: an emulator bug is a 500 `api_error`, logged. The answer is this
    request's (its log URL names its Request-Id) and the log line says which request failed."""

    def boom(cust: Any, prm: Any) -> None:
        raise RuntimeError("an emulator bug")

    app = create_app(Settings(port=0))
    monkeypatch.setattr(customers_module, "_apply", boom)
    with ThreadedServer(app=app) as srv, caplog.at_level(logging.ERROR):
        r = send(srv, "sk_test_boom_" + uuid.uuid4().hex, "POST", "/v1/customers", b"name=x")
    assert r.status_code == 500
    err = r.json()["error"]
    assert (err["type"], err["message"]) == ("api_error", "An unknown error occurred")
    _logged(r.headers, err)
    logged = [x for x in caplog.records if x.name == "stripe_mock_billing" and x.exc_info]
    assert [x.getMessage() for x in logged] == ["unexpected error in POST /v1/customers"]
