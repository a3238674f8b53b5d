"""The Flask path of the pipeline (stripe_mock_billing/wire/dispatch.py, `before_request`) and
the lean dispatcher's check of a new set of routes (`_agrees`), pinned where the mutation
review of wire/ found them untested.

docs/architecture.md, "Two ways into one pipeline": a request the lean dispatcher does not serve
itself goes to Flask, whose hooks "build the same `State` and run the same functions, so both
paths answer alike". Two ways there are used here: a chunked body (on the session's server),
and an application that adds a Flask `after_request` hook of its own, which sends every
Stripe route to Flask (`flask_path`, below; its hook records each request, so every test can
check that Flask served it). On that path the tests repeat behaviour the rest of the suite
checks on the lean path: `expand[]` refused before a write (wire-format.md), an API that does
not exist in the requested version, the v2 meter event stream authenticated by its session
token, a draft invoice's metered line following late usage, and the body a hook reads.

The dispatcher checks its route tree against werkzeug's matcher once per set of routes (in a
process-wide cache), so the last tests build an app with a route of their own under a unique
path: a set of routes the process has not seen, checked by that request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import flask
import pytest
import requests
import stripe

from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.server import ThreadedServer
from stripe_mock_billing.wire import dispatch
from tests.api.billing_helpers import FEB1, JAN1, advance, new_clock
from tests.api.meter_helpers import day0, make_meter, total
from tests.conftest import err_of, make_client, validated


class FlaskPath:
    """A server whose app has an `after_request` hook of its own (every API route then goes
    through Flask), and the requests that hook saw (method, path, status)."""

    def __init__(self, srv: ThreadedServer, seen: list[str]) -> None:
        self.srv = srv
        self.seen = seen

    @property
    def url(self) -> str:
        return self.srv.url

    def client(self, violations: list[str], version: str | None = None) -> stripe.StripeClient:
        """A schema-checked SDK client of a fresh account on this server."""
        return make_client(self.url, "sk_test_" + uuid.uuid4().hex, violations, version)


@pytest.fixture(scope="module")
def flask_path() -> Iterator[FlaskPath]:
    app = create_app(Settings())
    seen: list[str] = []

    @app.after_request
    def audit(resp: flask.Response) -> flask.Response:
        seen.append(f"{flask.request.method} {flask.request.path} {resp.status_code}")
        return resp

    with ThreadedServer(app=app) as srv:
        yield FlaskPath(srv, seen)


# --- the Flask path answers as the lean one -------------------------------------------------


def test_flask_path_refuses_a_bad_expand_before_the_write(
    flask_path: FlaskPath, schema_violations: list[str]
) -> None:
    """wire-format.md: `expand[]` paths are checked before a create; a bad one is a 400
    `This property cannot be expanded (<path>).` with `param: expand`, and nothing is
    written."""
    client = flask_path.client(schema_violations)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"name": "Ada", "expand": ["nope"]})
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["type"], e.get("code"), e["param"], e["message"]) == (
        "invalid_request_error",
        None,
        "expand",
        "This property cannot be expanded (nope).",
    )
    assert client.v1.customers.list().data == []
    assert flask_path.seen[-2:] == ["POST /v1/customers 400", "GET /v1/customers 200"]


def test_flask_path_has_no_credit_grants_before_2024_10_28(
    flask_path: FlaskPath, schema_violations: list[str]
) -> None:
    """Billing credits exist from `2024-10-28.acacia`: at `2024-09-30.acacia` the credit grant
    list is an unrecognized URL (404), on the Flask path as on the lean one."""
    old = flask_path.client(schema_violations, "2024-09-30.acacia")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        old.v1.billing.credit_grants.list({"customer": "cus_x"})
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        None,
        None,
        "Unrecognized request URL (GET: /v1/billing/credit_grants). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )
    assert flask_path.seen[-1] == "GET /v1/billing/credit_grants 404"


def test_flask_path_stream_takes_the_session_token(
    flask_path: FlaskPath, schema_violations: list[str]
) -> None:
    """The v2 meter event stream authenticates with a meter event session's token, not an API
    key: its events are ingested (the meter's summary counts them)."""
    client = flask_path.client(schema_violations)
    meter = make_meter(client)
    cus = client.v1.customers.create({})
    session = client.v2.billing.meter_event_session.create()
    base = day0()
    event = {
        "event_name": "api_calls",
        "payload": {"stripe_customer_id": cus.id, "value": "7"},
        "timestamp": datetime.fromtimestamp(base + 60, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    res = client.v2.billing.meter_event_stream.create(
        {"events": [event]},  # type: ignore[list-item]
        {"api_key": session.authentication_token},
    )
    assert res is None  # `{}`
    assert flask_path.seen[-1] == "POST /v2/billing/meter_event_stream 200"
    assert total(client, meter.id, cus.id, base, base + 86_400) == 7


def test_flask_path_draft_follows_late_usage(
    flask_path: FlaskPath, schema_violations: list[str]
) -> None:
    """A meter event sent after a cycle's draft invoice was created, timestamped inside the
    period it closes, lands on that draft while it is a draft (Stripe's grace hour): a read of
    the draft shows it, on the Flask path too."""
    client = flask_path.client(schema_violations)
    meter = make_meter(client)
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 10,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            "product_data": {"name": "API calls"},
        }
    )
    clk = new_clock(client, JAN1)
    cus = client.v1.customers.create({"test_clock": clk.id})
    sub = client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    _send(client, cus.id, 5, JAN1 + 10)
    advance(client, clk.id, FEB1 + 60)
    (draft,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    assert draft.status == "draft"
    _send(client, cus.id, 8, FEB1 - 100)
    got = client.v1.invoices.retrieve(draft.id)
    assert flask_path.seen[-1] == f"GET /v1/invoices/{draft.id} 200"
    (line,) = [ln for ln in got.lines.data if ln.pricing.price_details.price == price.id]
    assert (line.quantity, line.amount) == (13, 130)
    assert got.amount_due == 130


def _send(client: stripe.StripeClient, cus: str, value: int, ts: int) -> None:
    client.v1.billing.meter_events.create(
        {
            "event_name": "api_calls",
            "payload": {"stripe_customer_id": cus, "value": str(value)},
            "timestamp": ts,
        }
    )


def test_an_app_hook_reads_the_form_the_pipeline_read(schema_violations: list[str]) -> None:
    """A `before_request` hook of the application runs after the pipeline has read the body
    (Flask runs hooks in the order they were registered; create_app registers the pipeline's
    first) and still reads the form through Flask's request, as in any Flask app."""
    app = create_app(Settings())
    forms: list[dict[str, str]] = []

    @app.before_request
    def audit() -> None:
        forms.append(dict(flask.request.form))

    with ThreadedServer(app=app) as srv:
        client = make_client(srv.url, "sk_test_" + uuid.uuid4().hex, schema_violations)
        cus = client.v1.customers.create({"name": "Ada", "email": "ada@example.com"})
    assert cus.name == "Ada"
    assert forms == [{"name": "Ada", "email": "ada@example.com"}]


# --- a chunked body goes to Flask --------------------------------------------------------------


def test_a_chunked_body_is_read(server: ThreadedServer, api_key: str) -> None:
    """A body sent with `Transfer-Encoding: chunked` (no Content-Length) is read whole: the
    customer gets its name."""

    def chunks() -> Iterator[bytes]:
        yield b"name=Ada"
        yield b"&email=ada%40example.com"

    r = validated(
        requests.post(
            server.url + "/v1/customers",
            data=chunks(),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            timeout=10,
        )
    )
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["email"]) == ("Ada", "ada@example.com")


# --- a new set of routes: the tree is checked and kept ---------------------------------------


def _dispatcher(app: flask.Flask) -> Any:
    found: Any = app.wsgi_app
    while not isinstance(found, dispatch.Dispatcher):
        found = found.__closure__[0].cell_contents  # the webhooks wrapper's `inner`
    return found


def test_a_new_set_of_routes_is_served_from_the_tree(schema_violations: list[str]) -> None:
    """An application adds a route of its own under /v1/ (a unique path: a set of routes this
    process has not checked yet). Stripe's routes answer, each method to its own view, and the
    dispatcher keeps its route tree and serves them itself (docs/architecture.md: the lean
    path, whose tree is checked against werkzeug's matcher once, serves the /v1 and /v2
    routes; only the speed would differ otherwise, so this looks at the dispatcher)."""
    app = create_app(Settings())
    path = "/v1/_app_" + uuid.uuid4().hex[:12]
    app.add_url_rule(path, "app_ping", lambda: {"ok": True})
    with ThreadedServer(app=app) as srv:
        client = make_client(srv.url, "sk_test_" + uuid.uuid4().hex, schema_violations)
        cus = client.v1.customers.create({"name": "Ada"})
        assert client.v1.customers.retrieve(cus.id).name == "Ada"
        assert client.v1.customers.delete(cus.id).deleted is True
    dispatcher = _dispatcher(app)
    assert dispatcher.table is not None
    # every Stripe route is served by the dispatcher itself; the application's own view, which
    # it does not know, goes to Flask (the module docstring of wire/dispatch.py)
    stripe_endpoints = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if r.rule.startswith(("/v1/", "/v2/")) and r.endpoint != "app_ping"
    }
    assert len(stripe_endpoints) > 90
    assert set(dispatcher.views) == stripe_endpoints


def _unrecognized(r: requests.Response, where: str) -> None:
    assert r.status_code == 404
    e = r.json()["error"]
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        None,
        None,
        f"Unrecognized request URL (GET: {where}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )


def test_a_route_with_converter_arguments_keeps_werkzeug_s_limits(
    schema_violations: list[str],
) -> None:
    """An application's route whose parameter has a converter argument
    (`<string(maxlength=5):code>`, werkzeug's documented string converter) is beyond the
    dispatcher's tree: Stripe's routes still answer, and the route takes a segment of 5
    characters but not one of 6 (an unrecognized URL, as Flask answers it)."""
    app = create_app(Settings())
    path = "/v1/_app_" + uuid.uuid4().hex[:12]
    app.add_url_rule(path + "/<string(maxlength=5):code>", "app_code", lambda code: {"code": code})
    key = "sk_test_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    with ThreadedServer(app=app) as srv:
        client = make_client(srv.url, key, schema_violations)
        cus = client.v1.customers.create({"name": "Ada"})
        assert client.v1.customers.retrieve(cus.id).name == "Ada"
        # the application's own route: Stripe's OpenAPI has no such operation, no schema
        five = requests.get(srv.url + path + "/abcde", headers=auth, timeout=10)
        six = requests.get(srv.url + path + "/abcdef", headers=auth, timeout=10)
    assert (five.status_code, five.json()) == (200, {"code": "abcde"})
    _unrecognized(six, f"{path}/abcdef")


def test_a_redirect_rule_for_a_stripe_endpoint_is_not_served_by_its_view(
    schema_violations: list[str],
) -> None:
    """An application's rule under /v1/ that redirects to a Stripe URL and names Stripe's
    endpoint (`customers.retrieve_customer`): werkzeug answers it with a redirect, a routing
    exception, which on an API path is Stripe's unrecognized URL; the customer's view never
    answers it. The check of the route tree is made per set of routes: an app whose same rule
    takes PUT only (no method the tree serves), checked first in this process, changes
    nothing. Both apps also have a redirect rule that no view serves."""
    path = "/v1/_old_" + uuid.uuid4().hex[:12]
    target = "/v1/customers/<cid>"
    key = "sk_test_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    first = create_app(Settings())
    first.add_url_rule(
        path + "/<cid>", "customers.retrieve_customer", redirect_to=target, methods=["PUT"]
    )
    # a redirect with an endpoint of its own, which no view serves (as Flask allows)
    first.add_url_rule(path, "app_old", redirect_to="/v1/customers", methods=["PUT"])
    with ThreadedServer(app=first) as srv:
        assert make_client(srv.url, key, schema_violations).v1.customers.list().data == []
    app = create_app(Settings())
    app.add_url_rule(path + "/<cid>", "customers.retrieve_customer", redirect_to=target)
    app.add_url_rule(path, "app_old", redirect_to="/v1/customers", methods=["PUT"])
    with ThreadedServer(app=app) as srv:
        cus = make_client(srv.url, key, schema_violations).v1.customers.create({"name": "Ada"})
        # the application's own rule: Stripe's OpenAPI has no such operation, no schema
        r = requests.get(f"{srv.url}{path}/{cus.id}", headers=auth, timeout=10)
    _unrecognized(r, f"{path}/{cus.id}")
