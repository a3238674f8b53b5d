"""The lean dispatcher (stripe_mock_billing/wire/dispatch.py, `Dispatcher._prepare` and
`_route`), pinned where the mutation review of wire/ found it untested: which requests it may
serve itself and which go to Flask (docs/architecture.md, "Two ways into one pipeline": a route
whose blueprint or app has a Flask hook the pipeline does not know goes to Flask, so the hook
runs), an app whose routes its segment tree cannot hold, the body limit read from the app's
`MAX_CONTENT_LENGTH`, and Flask's refusal of new routes once a request was served.

The apps here are built by each test (`create_app`, then a route or hook of the test's own,
as an application embedding the emulator would add them before its first request) and served
by a `ThreadedServer`; Stripe's routes are called through the SDK, schema-checked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import flask
import pytest
import requests
import stripe

from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.resources import customers as customers_routes
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of, make_client, validated


@contextmanager
def _serving(app: flask.Flask) -> Iterator[str]:
    """`app` on a background server; its base URL."""
    with ThreadedServer(app=app) as srv:
        yield srv.url


def _key() -> str:
    return "sk_test_" + uuid.uuid4().hex


def _own_path() -> str:
    """A path under /v1/ no other app of this process has: the dispatcher checks its route
    table against werkzeug's matcher once per set of routes, so a new set is checked here."""
    return "/v1/_app_" + uuid.uuid4().hex[:12]


def _customers_work(url: str, key: str, violations: list[str]) -> None:
    """Stripe's customer routes through the SDK: create (POST), retrieve (GET with the id in
    the path), list (GET), delete (DELETE)."""
    client = make_client(url, key, violations)
    cus = client.v1.customers.create({"name": "Ada"})
    assert (cus.object, cus.name) == ("customer", "Ada")
    got = client.v1.customers.retrieve(cus.id)
    assert (got.id, got.name) == (cus.id, "Ada")
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]
    gone = client.v1.customers.delete(cus.id)
    assert (gone.id, gone.deleted) == (cus.id, True)


# --- routing ------------------------------------------------------------------------------


def test_a_path_that_repeats_the_version_is_unrecognized(client: stripe.StripeClient) -> None:
    """`GET /v1/v1/customers` is no Stripe URL: a 404 naming the path as sent, not the customer
    list of `/v1/customers`."""
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("get", "/v1/v1/customers")
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        None,
        None,
        "Unrecognized request URL (GET: /v1/v1/customers). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )


def test_an_app_route_under_v1_is_served_by_its_own_view(
    schema_violations: list[str],
) -> None:
    """A route the embedding application adds under /v1/ (its view reads Flask's `request`)
    answers through its own view, and Stripe's routes beside it still answer."""
    app = create_app(Settings())
    path = _own_path()
    app.add_url_rule(path, "app_ping", lambda: {"path": flask.request.path})
    key = _key()
    with _serving(app) as url:
        _customers_work(url, key, schema_violations)
        # the application's own route: Stripe's OpenAPI has no such operation, no schema
        r = requests.get(url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert (r.status_code, r.json()) == (200, {"path": path})


def test_api_routes_answer_when_the_app_has_a_route_the_tree_cannot_hold(
    schema_violations: list[str],
) -> None:
    """An `<int:...>` converter is beyond the dispatcher's segment tree: every request is then
    matched by werkzeug's own matcher, and Stripe's routes answer as before, each method to
    its own route (a POST creates, a GET reads, a DELETE deletes)."""
    app = create_app(Settings())
    path = _own_path()
    app.add_url_rule(path + "/<int:n>", "app_item", lambda n: {"n": n})
    key = _key()
    with _serving(app) as url:
        _customers_work(url, key, schema_violations)
        # the application's own route: Stripe's OpenAPI has no such operation, no schema
        r = requests.get(url + path + "/7", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert (r.status_code, r.json()) == (200, {"n": 7})


def test_routes_cannot_be_added_once_a_request_was_served(schema_violations: list[str]) -> None:
    """As in any Flask app, a route added after the first request is refused (werkzeug's
    matcher, and the dispatcher's table, would not see it consistently)."""
    app = create_app(Settings())
    with _serving(app) as url:
        make_client(url, _key(), schema_violations).v1.customers.list()
    with pytest.raises(AssertionError, match="It has already handled its first request"):
        app.add_url_rule(_own_path(), "late", lambda: {"late": True})


# --- Flask hooks an application adds --------------------------------------------------------


def test_an_app_hook_runs_on_stripe_routes(schema_violations: list[str]) -> None:
    """A `before_request` hook of the app runs on every API request (docs/architecture.md: a
    Flask hook the pipeline does not know sends the route to Flask, which runs it)."""
    app = create_app(Settings())
    seen: list[str] = []

    @app.before_request
    def audit() -> None:
        seen.append(f"{flask.request.method} {flask.request.path}")

    with _serving(app) as url:
        client = make_client(url, _key(), schema_violations)
        cus = client.v1.customers.create({"name": "Ada"})
        client.v1.customers.retrieve(cus.id)
    assert seen == ["POST /v1/customers", f"GET /v1/customers/{cus.id}"]


def test_an_app_context_teardown_runs_on_stripe_routes(schema_violations: list[str]) -> None:
    """A `teardown_appcontext` function of the app (what an extension registers to close its
    sessions) runs after every API request, as Flask runs it (docs/architecture.md: a Flask
    hook the pipeline does not know sends the route to Flask)."""
    app = create_app(Settings())
    closed: list[str] = []

    @app.teardown_appcontext
    def close(_exc: BaseException | None) -> None:
        closed.append(flask.request.path if flask.has_request_context() else "app")

    with _serving(app) as url:
        client = make_client(url, _key(), schema_violations)
        cus = client.v1.customers.create({"name": "Ada"})
        client.v1.customers.retrieve(cus.id)
    assert len(closed) == 2


def test_a_blueprint_hook_runs_on_that_blueprint_s_routes(schema_violations: list[str]) -> None:
    """A blueprint of the application with a `before_request` hook, serving the emulator's
    customer list at a path of its own: the hook runs on its route (not on Stripe's)."""
    app = create_app(Settings())
    seen: list[str] = []
    bp = flask.Blueprint("audited", __name__)
    bp.before_request(lambda: seen.append(flask.request.path))
    path = _own_path()
    bp.add_url_rule(path, view_func=customers_routes.list_customers)
    app.register_blueprint(bp)
    key = _key()
    with _serving(app) as url:
        make_client(url, key, schema_violations).v1.customers.create({"name": "Ada"})
        # the application's own route: Stripe's OpenAPI has no such operation, no schema
        r = requests.get(url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 200
    assert [c["name"] for c in r.json()["data"]] == ["Ada"]
    assert seen == [path]


@pytest.mark.parametrize("holder", ["inner", "outer"])
def test_a_hook_of_a_nested_or_enclosing_blueprint_runs_on_nested_routes(
    schema_violations: list[str], holder: str
) -> None:
    """A blueprint nested in another (`outer.inner`): Flask runs the hooks of a view's blueprint
    and of every blueprint it is nested in, so a `before_request` hook of `inner` or of `outer`
    runs on the nested blueprint's route."""
    app = create_app(Settings())
    seen: list[str] = []
    blueprints = {
        "outer": flask.Blueprint("outer", __name__),
        "inner": flask.Blueprint("inner", __name__),
    }
    blueprints[holder].before_request(lambda: seen.append(flask.request.path))
    path = _own_path()
    blueprints["inner"].add_url_rule(path, view_func=customers_routes.list_customers)
    blueprints["outer"].register_blueprint(blueprints["inner"])
    app.register_blueprint(blueprints["outer"])
    key = _key()
    with _serving(app) as url:
        make_client(url, key, schema_violations).v1.customers.create({"name": "Ada"})
        # the application's own route: Stripe's OpenAPI has no such operation, no schema
        r = requests.get(url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 200
    assert [c["name"] for c in r.json()["data"]] == ["Ada"]
    assert seen == [path]


# --- the body limit -------------------------------------------------------------------------


def _post_customer(url: str, key: str, body: bytes) -> requests.Response:
    return validated(
        requests.post(
            url + "/v1/customers",
            data=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            timeout=30,
        )
    )


def _body(size: int) -> bytes:
    """A create-customer form of exactly `size` bytes (empty pairs are ignored)."""
    return b"name=Ada" + b"&" * (size - 8)


def test_the_app_s_body_limit_is_its_max_content_length_both_sides() -> None:
    """An application that lowers Flask's `MAX_CONTENT_LENGTH` to 1000 bytes: a body of
    exactly 1000 bytes is served, 1001 bytes is 413 `request_too_large`."""
    app = create_app(Settings())
    app.config["MAX_CONTENT_LENGTH"] = 1000
    key = _key()
    with _serving(app) as url:
        ok = _post_customer(url, key, _body(1000))
        assert (ok.status_code, ok.json()["name"]) == (200, "Ada")
        r = _post_customer(url, key, _body(1001))
    assert r.status_code == 413
    e = r.json()["error"]
    assert (e["type"], e["code"], e.get("param"), e["message"]) == (
        "invalid_request_error",
        "request_too_large",
        None,
        "Request body is too large.",
    )


def test_no_body_limit_when_max_content_length_is_none() -> None:
    """`MAX_CONTENT_LENGTH = None` is Flask's "no limit": a body is served (a customer is
    created), and one past the default 16 MiB is read and refused by the next limit,
    docs/reference/limits.md's 10,000 form pairs, not by a 413."""
    app = create_app(Settings())
    app.config["MAX_CONTENT_LENGTH"] = None
    key = _key()
    with _serving(app) as url:
        ok = _post_customer(url, key, _body(100))
        assert (ok.status_code, ok.json()["name"]) == (200, "Ada")
        r = _post_customer(url, key, _body(16 * 1024 * 1024 + 1))
    assert r.status_code == 400
    e = r.json()["error"]
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        None,
        None,
        "Invalid request: more than 10000 parameters.",
    )
