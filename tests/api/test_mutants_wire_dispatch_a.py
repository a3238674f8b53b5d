"""The two ways into the pipeline (stripe_mock_billing/wire/dispatch.py), pinned where the
mutation review of wire/ found them untested: which requests the lean dispatcher leaves to Flask
(a non-ASCII path, a trailing or doubled slash), what a HEAD answers, the error envelope of the
errors Flask's handlers render, a request on the Flask path releasing its account, and an
exception raised after the route.

docs/architecture.md, "Two ways into one pipeline": a path werkzeug would normalise (trailing or
doubled slashes, non-ASCII) goes to Flask, whose hooks "build the same `State` and run the same
functions, so both paths answer alike"; errors are rendered once, and "anything else is a 500
`api_error` with no traceback in the body". Every error carries `request_log_url`, the log of
the request that got it: its `Request-Id` (test_wire_format.py)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import flask
import pytest
import requests
import stripe

from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.inprocess import INPROCESS_URL, call_wsgi
from stripe_mock_billing.resources import customers as customers_module
from stripe_mock_billing.server import ThreadedServer
from stripe_mock_billing.wire import pipeline
from tests.api.conftest import raw_http
from tests.conftest import err_of, make_client, validated, validated_raw

LOGS = "https://dashboard.stripe.com/test/logs/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _key() -> str:
    return "sk_test_" + uuid.uuid4().hex


def _unrecognized(method: str, path: str) -> str:
    return (
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/."
    )


# --- HEAD ---------------------------------------------------------------------------------


def _socket_exchange(server: ThreadedServer, request: bytes) -> bytes:
    """Send one request on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_head_of_an_api_route_answers_headers_and_no_body(
    server: ThreadedServer, api_key: str
) -> None:
    """RFC 9110 §9.3.2: the server MUST NOT send content in the response to a HEAD. A HEAD of
    `GET /v1/customers` is answered as the GET (200, its headers) with nothing after them (read
    off the socket: an HTTP client would not show bytes sent after a HEAD's headers)."""
    raw_http(server, "POST", "/v1/customers", api_key, data={"name": "Ada"})
    out = _socket_exchange(
        server,
        (
            "HEAD /v1/customers HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {api_key}\r\nConnection: close\r\n\r\n"
        ).encode(),
    )
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nRequest-Id: req_" in head
    assert rest == b""


# --- paths the lean dispatcher leaves to Flask ------------------------------------------------


def test_a_non_ascii_id_in_the_path_is_named_as_sent(server: ThreadedServer, api_key: str) -> None:
    """`GET /v1/customers/cus_é` (percent-encoded UTF-8) is a 404 `resource_missing` naming the
    id as sent, `cus_é` (not its bytes read as Latin-1, as WSGI carries them)."""
    r = validated(raw_http(server, "GET", "/v1/customers/cus_%C3%A9", api_key))
    assert r.status_code == 404
    e = r.json()["error"]
    assert (e["type"], e["code"], e["param"], e["message"]) == (
        "invalid_request_error",
        "resource_missing",
        "id",
        "No such customer: 'cus_é'",
    )
    assert e["request_log_url"] == LOGS + r.headers["Request-Id"]


def test_a_request_served_by_flask_releases_its_account() -> None:
    """A request through Flask (a non-ASCII path) takes its account's lock like any other and
    gives it back: the account's next request, from another thread, is answered. The first
    thread stays alive meanwhile (a finished thread's id may be reused by the next one, which
    would then own a lock never released)."""
    app = create_app(Settings(port=0))
    auth = {"Authorization": f"Bearer {_key()}"}
    paths = ("/v1/customers/cus_%C3%A9", "/v1/customers")
    answers: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
    served, finish = threading.Event(), threading.Event()

    def request(path: str) -> None:
        answers[path] = call_wsgi(app, "GET", INPROCESS_URL + path, auth, None)

    def first_request() -> None:
        request(paths[0])
        served.set()
        finish.wait(30)

    holder = threading.Thread(target=first_request, daemon=True)
    holder.start()
    try:
        assert served.wait(10)
        other = threading.Thread(target=request, args=(paths[1],), daemon=True)
        other.start()
        other.join(10)
    finally:
        finish.set()
    assert [answers[p][0] if p in answers else None for p in paths] == [404, 200]
    for path in paths:
        status, headers, body = answers[path]
        validated_raw("GET", path, status, dict(headers), body)


def test_a_trailing_slash_is_the_same_url(server: ThreadedServer, api_key: str) -> None:
    """docs/architecture.md: werkzeug normalises a trailing slash, so `GET /v1/customers/` is
    the list `GET /v1/customers` answers (not the retrieve of a customer with an empty id).
    Stripe's own answer for a trailing slash is unverified."""
    made = raw_http(server, "POST", "/v1/customers", api_key, data={"name": "Ada"}).json()
    r = raw_http(server, "GET", "/v1/customers/", api_key)
    assert r.status_code == 200
    got = r.json()
    assert (got["object"], [c["id"] for c in got["data"]]) == ("list", [made["id"]])


def test_an_empty_segment_in_the_path_is_an_unrecognized_url(
    server: ThreadedServer, api_key: str
) -> None:
    """`/v1/invoices/{invoice}/lines` needs an invoice id (a path parameter of Stripe's
    OpenAPI): `GET /v1/invoices//lines` matches no route, so it is the 404 for an unknown URL
    (wire-format.md), not a lookup of an invoice with an empty id."""
    r = raw_http(server, "GET", "/v1/invoices//lines", api_key)
    assert r.status_code == 404
    e = r.json()["error"]
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        None,
        None,
        _unrecognized("GET", "/v1/invoices//lines"),
    )


# --- errors rendered by Flask's handlers name the request -------------------------------------


def test_an_unknown_url_names_its_request_in_request_log_url(
    server: ThreadedServer, api_key: str
) -> None:
    """The 404 for an unknown URL (Flask's routing, turned into Stripe's error) links the log of
    its own request, as every other error does."""
    r = raw_http(server, "GET", "/v1/nope", api_key)
    assert r.status_code == 404
    e = r.json()["error"]
    assert e["message"] == _unrecognized("GET", "/v1/nope")
    assert e["request_log_url"] == LOGS + r.headers["Request-Id"]


def test_a_body_over_16_mib_names_its_request_in_request_log_url(
    server: ThreadedServer, api_key: str
) -> None:
    """The 413 for a body over 16 MiB (docs/reference/limits.md; werkzeug's limit on the Flask
    path) links the log of its own request."""
    body = b"name=" + b"x" * (16 * 1024 * 1024 + 1)
    r = validated(raw_http(server, "POST", "/v1/customers", api_key, data=body, headers=FORM))
    assert r.status_code == 413
    e = r.json()["error"]
    assert (e["code"], e["message"]) == ("request_too_large", "Request body is too large.")
    assert e["request_log_url"] == LOGS + r.headers["Request-Id"]


def _not_found() -> None:
    flask.abort(404)


def _hooked_app(way: str) -> flask.Flask:
    """An app whose hook raises werkzeug's 404 on every API request: a hook of the pipeline
    (`pipeline.add_before`, served on the lean path) or a Flask `before_request` hook of the
    application (every Stripe route then goes through Flask), docs/architecture.md."""
    app = create_app(Settings(port=0))
    if way == "lean":
        pipeline.add_before(app, _not_found)
    else:
        app.before_request(_not_found)
    return app


@pytest.mark.parametrize("way", ["lean", "flask"])
def test_a_werkzeug_404_raised_by_a_hook_is_stripe_s_unrecognized_url(way: str) -> None:
    """werkzeug's 404 is rendered as Stripe's 404 for an unknown URL, naming the request's
    method and path (docs/architecture.md: Stripe's `Unrecognized request URL`), with the common
    headers and a `request_log_url` of its own request, whichever way the request came in."""
    with ThreadedServer(app=_hooked_app(way)) as srv:
        r = validated(raw_http(srv, "DELETE", "/v1/customers/cus_x", _key()))
    assert r.status_code == 404
    e = r.json()["error"]
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        None,
        None,
        _unrecognized("DELETE", "/v1/customers/cus_x"),
    )
    assert e["request_log_url"] == LOGS + r.headers["Request-Id"]
    assert r.headers["Stripe-Version"] == "2025-02-24.acacia"  # the server default


# --- unexpected exceptions: 500 api_error, logged with the request ----------------------------


@pytest.fixture
def apps() -> Iterator[dict[str, flask.Flask]]:
    """Two fresh apps: "lean" as created, "flask" with a Flask `after_request` hook of its own,
    which sends every Stripe route through Flask (docs/architecture.md)."""
    flask_app = create_app(Settings(port=0))

    @flask_app.after_request
    def own_hook(resp: flask.Response) -> flask.Response:
        return resp

    yield {"lean": create_app(Settings(port=0)), "flask": flask_app}


def _assert_500(
    exc: pytest.ExceptionInfo[stripe.APIError],
    caplog: pytest.LogCaptureFixture,
    app: flask.Flask,
    raised: BaseException,
) -> None:
    """A 500 `api_error` without the exception's text, linking its own request's log; the
    exception logged with the request's method and path, and kept for the adapters."""
    assert exc.value.http_status == 500
    e = err_of(exc)
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "api_error",
        None,
        None,
        "An unknown error occurred",
    )
    assert "secret internal detail" not in (exc.value.http_body or "")
    assert e["request_log_url"] == LOGS + (exc.value.headers or {})["Request-Id"]
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is raised]
    assert len(logged) == 1
    assert "POST /v1/customers" in logged[0].getMessage()
    assert list(app.extensions["stripe_mock_billing.errors"]) == [raised]


@pytest.mark.parametrize("way", ["lean", "flask"])
def test_an_exception_in_a_route_is_a_500_naming_its_request(
    apps: dict[str, flask.Flask],
    way: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    schema_violations: list[str],
) -> None:
    """An emulator bug inside a route (simulated), on either way into the pipeline: a 500
    `api_error` linking its own request's log, the exception logged with the request."""
    raised = RuntimeError("secret internal detail")

    def boom(cust: Any, prm: Any) -> None:
        raise raised

    app = apps[way]
    monkeypatch.setattr(customers_module, "_apply", boom)
    with ThreadedServer(app=app) as srv, caplog.at_level(logging.ERROR):
        client = make_client(srv.url, _key(), schema_violations)
        with pytest.raises(stripe.APIError) as exc:
            client.v1.customers.create({"name": "x"})
    _assert_500(exc, caplog, app, raised)


@pytest.mark.parametrize(
    "way",
    ["lean", "flask"],
)
def test_an_exception_after_the_route_is_a_500_naming_its_request(
    apps: dict[str, flask.Flask],
    way: str,
    caplog: pytest.LogCaptureFixture,
    schema_violations: list[str],
) -> None:
    """An emulator bug in a hook the pipeline runs after the route (`pipeline.add_after`,
    docs/architecture.md), simulated: still a 500 `api_error` with the common headers, linking
    its own request's log, the exception logged with the request; the next request is served.
    Both ways into the pipeline answer alike."""
    raised = RuntimeError("secret internal detail")
    calls: list[int] = []

    def after(resp: flask.Response) -> flask.Response:
        calls.append(resp.status_code)
        if len(calls) == 1:
            raise raised
        return resp

    app = apps[way]
    pipeline.add_after(app, after)
    with ThreadedServer(app=app) as srv, caplog.at_level(logging.ERROR):
        client = make_client(srv.url, _key(), schema_violations)
        with pytest.raises(stripe.APIError) as exc:
            client.v1.customers.create({"name": "x"})
        assert exc.value.headers is not None
        assert exc.value.headers["Stripe-Version"] == stripe.api_version
        assert client.v1.customers.list().object == "list"
    _assert_500(exc, caplog, app, raised)


# --- framing -------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [b"abc", b"-1", b"+6", b"\xb2", b"6 bytes, as counted by hand"])
def test_an_invalid_content_length_is_a_400_that_changes_nothing(
    server: ThreadedServer, api_key: str, length: bytes
) -> None:
    """RFC 9112 §6.3: a request with an invalid Content-Length has invalid framing, and "the
    server MUST respond with a 400 (Bad Request) status code and then close the connection";
    wire-format.md: bad input of any kind is a 4xx and changes nothing (no customer made).
    `\xb2` is a superscript two in a header's Latin-1 text: a digit to str.isdigit, not to
    int() (it was a 500). The text is the emulator's (docs/reference/wire-format.md)."""
    out = _socket_exchange(
        server,
        b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {api_key}\r\n".encode()
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + b"Content-Length: "
        + length
        + b"\r\nConnection: close\r\n\r\nname=x",
    )
    assert out.startswith(b"HTTP/1.1 400 ")
    err = json.loads(out.partition(b"\r\n\r\n")[2])["error"]
    assert err["type"] == "invalid_request_error" and "code" not in err and "param" not in err
    shown = length.decode("latin-1")[:20]  # the header's first 20 characters
    assert err["message"] == f"Invalid Content-Length header: {shown} is not a number of bytes."
    listed = requests.get(server.url + "/v1/customers", auth=(api_key, ""), timeout=10)
    assert validated(listed).json()["data"] == []
