"""Stripe's v1 wire format through the SDK and raw HTTP: encoding, parameter errors, headers and
the error envelope (objects, lists and expand: test_objects_and_expand.py)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.resources import customers as customers_module
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of, make_client, validated

REQ_ID = re.compile(r"req_[0-9A-Za-z]{14}")


def raw(
    server: Any,
    key: str,
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    schema: bool = True,
) -> requests.Response:
    """A raw request; its response checked against the schema unless `schema=False` (for
    operations Stripe's OpenAPI does not have, each call says which)."""
    h = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    r = requests.request(method, server.url + path, data=body, headers=h, timeout=10)
    return validated(r) if schema else r


def make_price(client: stripe.StripeClient, **extra: Any) -> stripe.Price:
    params: dict[str, Any] = {
        "currency": "usd",
        "unit_amount": 500,
        "product_data": {"name": "Plan"},
        "recurring": {"interval": "month"},
    }
    params.update(extra)
    return client.v1.prices.create(params)  # type: ignore[arg-type]


def make_sub(client: stripe.StripeClient) -> stripe.Subscription:
    cus = client.v1.customers.create({"name": "Sub owner"})
    price = make_price(client)
    return client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})


# --- request encoding ---------------------------------------------------------------------


def test_nested_hashes_and_arrays_of_hashes(client: stripe.StripeClient) -> None:
    price = make_price(client, recurring={"interval": "week", "interval_count": 2})
    assert price.recurring is not None
    assert (price.recurring.interval, price.recurring.interval_count) == ("week", 2)
    cus = client.v1.customers.create({})
    other = make_price(client, recurring={"interval": "week", "interval_count": 2})
    sub = client.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [{"price": price.id, "quantity": 3}, {"price": other.id, "quantity": 1}],
        }
    )
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [
        (price.id, 3),
        (other.id, 1),
    ]


def test_deep_bracket_nesting_a_b_c(server: Any, api_key: str) -> None:
    body = (
        "name=x&address[city]=Paris&address[line1]=1+rue"
        "&invoice_settings[default_payment_method]=pm_card_visa"
    )
    r = raw(server, api_key, "POST", "/v1/customers", body)
    assert r.status_code == 200
    got = r.json()
    assert got["address"]["city"] == "Paris" and got["address"]["line1"] == "1 rue"
    assert got["invoice_settings"]["default_payment_method"].startswith("pm_")


def test_items_indexed_out_of_order_keep_index_order(server: Any, api_key: str) -> None:
    c = raw(server, api_key, "POST", "/v1/customers", "").json()
    p1 = raw(
        server,
        api_key,
        "POST",
        "/v1/prices",
        "currency=usd&unit_amount=1&product_data[name]=a&recurring[interval]=month",
    ).json()
    p2 = raw(
        server,
        api_key,
        "POST",
        "/v1/prices",
        "currency=usd&unit_amount=2&product_data[name]=b&recurring[interval]=month",
    ).json()
    body = f"customer={c['id']}&items[1][price]={p2['id']}&items[0][price]={p1['id']}"
    sub = raw(server, api_key, "POST", "/v1/subscriptions", body).json()
    assert [i["price"]["id"] for i in sub["items"]["data"]] == [p1["id"], p2["id"]]


@pytest.mark.parametrize(
    "expand",
    [
        "expand[]=customer&expand[]=items.data.price.product",
        "expand[0]=customer&expand[1]=items.data.price.product",
        "expand%5B%5D=customer&expand%5B%5D=items.data.price.product",
        "expand%5B0%5D=customer&expand%5B1%5D=items.data.price.product",
    ],
)
def test_expand_forms_in_query_string(
    client: stripe.StripeClient, server: Any, api_key: str, expand: str
) -> None:
    sub = make_sub(client)
    r = raw(server, api_key, "GET", f"/v1/subscriptions/{sub.id}?{expand}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer"]["object"] == "customer"
    assert body["items"]["data"][0]["price"]["product"]["object"] == "product"


def test_expand_forms_in_post_body(server: Any, api_key: str) -> None:
    body = "currency=usd&unit_amount=5&product_data[name]=p&expand[]=product"
    r = raw(server, api_key, "POST", "/v1/prices", body)
    assert r.json()["product"]["object"] == "product"
    body = "currency=usd&unit_amount=5&product_data[name]=p&expand[0]=product"
    assert raw(server, api_key, "POST", "/v1/prices", body).json()["product"]["name"] == "p"


def test_metadata_empty_value_unsets(client: stripe.StripeClient) -> None:
    p = client.v1.products.create({"name": "m", "metadata": {"a": "1", "b": "2", "c": "3"}})
    p = client.v1.products.update(p.id, {"metadata": {"a": "", "d": "4"}})
    assert p.metadata.to_dict() == {"b": "2", "c": "3", "d": "4"}
    p = client.v1.products.update(p.id, {"metadata": ""})
    assert p.metadata.to_dict() == {}


def test_get_query_with_percent_encoded_and_literal_brackets(
    client: stripe.StripeClient, server: Any, api_key: str
) -> None:
    made = [client.v1.customers.create({"email": "q@x.io"}).id for _ in range(3)]
    for qs in ("limit=2&email=q%40x.io", "limit=2&email=q@x.io"):
        r = raw(server, api_key, "GET", f"/v1/customers?{qs}")
        assert [c["id"] for c in r.json()["data"]] == made[::-1][:2]
    price = make_price(client)
    r = raw(server, api_key, "GET", "/v1/prices?recurring%5Binterval%5D=month")
    assert [p["id"] for p in r.json()["data"]] == [price.id]
    r = raw(server, api_key, "GET", "/v1/prices?recurring[interval]=year")
    assert r.json()["data"] == []


def test_post_parameters_in_the_query_string_and_the_body_are_both_read(
    client: stripe.StripeClient, server: Any, api_key: str
) -> None:
    """A v1 POST takes parameters from its query string as well as its form body (the ones in
    the body from a form, those in the query with their brackets percent-encoded)."""
    r = raw(
        server,
        api_key,
        "POST",
        "/v1/customers?description=from%20the%20query&metadata%5Bq%5D=1",
        "name=Ada&email=ada%40example.com",
    )
    assert r.status_code == 200
    got = client.v1.customers.retrieve(r.json()["id"])
    assert (got.name, got.email, got.description) == ("Ada", "ada@example.com", "from the query")
    assert got.metadata.to_dict() == {"q": "1"}


def test_delete_params_in_query_string(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    price = make_price(client)
    item = client.v1.subscription_items.create({"subscription": sub.id, "price": price.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.delete(item.id, {"clear_usage": True})
    assert err_of(exc)["param"] == "clear_usage"  # the DELETE query param was read


def test_charset_suffix_on_content_type_is_accepted(server: Any, api_key: str) -> None:
    r = raw(
        server,
        api_key,
        "POST",
        "/v1/customers",
        "name=cs",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert r.status_code == 200 and r.json()["name"] == "cs"


def test_double_slash_path_is_accepted(server: Any, api_key: str) -> None:
    r = raw(server, api_key, "POST", "//v1/customers", "name=ds")
    assert r.status_code == 200 and r.json()["object"] == "customer"


# --- parameter errors -----------------------------------------------------------------------


def _err(exc: pytest.ExceptionInfo[stripe.StripeError]) -> tuple[int | None, str, str, str]:
    e = err_of(exc)
    return exc.value.http_status, e.get("code"), e.get("param"), e["message"]  # type: ignore[return-value]


def test_unknown_parameter_single(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "x", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert _err(exc) == (400, "parameter_unknown", "colour", "Received unknown parameter: colour")
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    assert e["doc_url"] == "https://stripe.com/docs/error-codes/parameter-unknown"


def test_unknown_parameters_plural_first_is_param(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "x", "zeta": "1", "alpha": "2"})  # type: ignore[typeddict-unknown-key]
    assert _err(exc) == (
        400,
        "parameter_unknown",
        "zeta",
        "Received unknown parameters: zeta, alpha",
    )


def test_unknown_nested_parameter_in_bracket_form(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            {
                "currency": "usd",
                "unit_amount": 1,
                "product_data": {"name": "p"},
                "recurring": {"interval": "month", "foo": "bar"},  # type: ignore[typeddict-unknown-key]
            }
        )
    assert _err(exc) == (
        400,
        "parameter_unknown",
        "recurring[foo]",
        "Received unknown parameter: recurring[foo]",
    )


def test_missing_nested_parameter(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            {
                "currency": "usd",
                "unit_amount": 1,
                "product_data": {"name": "p"},
                "recurring": {"interval_count": 2},  # type: ignore[typeddict-item]
            }
        )
    assert _err(exc) == (
        400,
        "parameter_missing",
        "recurring[interval]",
        "Missing required param: recurring[interval].",
    )
    assert err_of(exc)["doc_url"] == "https://stripe.com/docs/error-codes/parameter-missing"


def test_invalid_integer(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            {"currency": "usd", "unit_amount": "55.00", "product_data": {"name": "p"}}  # type: ignore[typeddict-item]
        )
    assert _err(exc) == (400, "parameter_invalid_integer", "unit_amount", "Invalid integer: 55.00")


def test_invalid_enum(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        make_price(client, recurring={"interval": "fortnight"})
    status, code, param, msg = _err(exc)
    assert (status, code, param) == (400, None, "recurring[interval]")
    assert msg == "Invalid recurring[interval]: must be one of day, month, week, or year"


def test_invalid_boolean(server: Any, api_key: str) -> None:
    r = raw(server, api_key, "POST", "/v1/products", "name=x&active=yes")
    assert r.status_code == 400
    e = r.json()["error"]
    assert (e["param"], e["message"], e["type"]) == (
        "active",
        "Invalid boolean: yes",
        "invalid_request_error",
    )


def test_unknown_checked_before_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create({"bogus": 1})  # type: ignore[typeddict-unknown-key,typeddict-item]
    assert _err(exc)[1] == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create({"unit_amount": 1})  # type: ignore[typeddict-item]
    assert _err(exc) == (400, "parameter_missing", "currency", "Missing required param: currency.")


# --- headers ----------------------------------------------------------------------------------


def test_request_id_on_every_response(server: Any, api_key: str) -> None:
    seen = set()
    responses = [
        raw(server, api_key, "POST", "/v1/customers", "name=x"),  # 200
        raw(server, api_key, "POST", "/v1/customers", "bogus=1"),  # 400
        raw(server, api_key, "GET", "/v1/customers/cus_nope"),  # 404
        # 404 unknown URL: no operation of Stripe's OpenAPI, no schema to check
        raw(server, api_key, "GET", "/v1/nothing_here", schema=False),
        raw(server, "sk_test_", "GET", "/v1/customers"),  # 401
        raw(server, "pk_test_abc", "GET", "/v1/customers"),  # 403
        validated(requests.get(server.url + "/v1/customers", timeout=5)),  # 401, no key
        requests.get(server.url + "/healthz", timeout=5),  # emulator-only: no schema
    ]
    for r in responses:
        rid = r.headers.get("Request-Id", "")
        assert REQ_ID.fullmatch(rid), (r.status_code, rid)
        seen.add(rid)
    assert len(seen) == len(responses)


def test_error_request_log_url_ends_with_request_id(server: Any, api_key: str) -> None:
    r = raw(server, api_key, "GET", "/v1/customers/cus_nope")
    assert r.json()["error"]["request_log_url"] == (
        "https://dashboard.stripe.com/test/logs/" + r.headers["Request-Id"]
    )
    assert r.headers["Content-Type"] == "application/json"


def test_stripe_version_echoed(server: Any, api_key: str, client: stripe.StripeClient) -> None:
    r = raw(server, api_key, "GET", "/v1/customers", headers={"Stripe-Version": "2025-03-31.basil"})
    assert r.headers["Stripe-Version"] == "2025-03-31.basil"
    r = raw(server, api_key, "GET", "/v1/customers")
    assert r.headers["Stripe-Version"] == "2025-02-24.acacia"  # the server default
    resp = client.raw_request("get", "/v1/customers")
    assert resp.headers["Stripe-Version"] == stripe.api_version


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/x"), ("GET", "/v1/customers/a/b/c")])
def test_unknown_url(client: stripe.StripeClient, method: str, path: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request(method.lower(), path)
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert e == {
        "type": "invalid_request_error",
        "message": f"Unrecognized request URL ({method}: {path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        "request_log_url": e["request_log_url"],
    }


def test_wrong_method_on_known_path_is_unrecognized(server: Any, api_key: str) -> None:
    r = raw(server, api_key, "PUT", "/v1/customers", schema=False)  # Stripe has no PUT: no schema
    assert r.status_code == 404
    assert r.json()["error"]["message"].startswith("Unrecognized request URL (PUT: /v1/customers).")


@pytest.mark.parametrize(
    ("call", "noun"),
    [
        (lambda c: c.v1.customers.retrieve("cus_nope"), "customer"),
        (lambda c: c.v1.products.update("prod_nope", {"name": "x"}), "product"),
        (lambda c: c.v1.prices.retrieve("price_nope"), "price"),
        (lambda c: c.v1.subscriptions.cancel("sub_nope"), "subscription"),
        (lambda c: c.v1.subscription_items.delete("si_nope"), "subscription item"),
    ],
)
def test_unknown_path_id_is_404(client: stripe.StripeClient, call: Any, noun: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call(client)
    bad = {
        "customer": "cus_nope",
        "product": "prod_nope",
        "price": "price_nope",
        "subscription": "sub_nope",
        "subscription item": "si_nope",
    }[noun]
    assert _err(exc) == (404, "resource_missing", "id", f"No such {noun}: '{bad}'")


def test_unknown_id_in_body_param_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create({"customer": "cus_nope", "items": [{"price": "p"}]})
    assert _err(exc) == (400, "resource_missing", "customer", "No such customer: 'cus_nope'")
    cus = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": "price_nope"}]})
    assert _err(exc) == (
        400,
        "resource_missing",
        "items[0][price]",
        "No such price: 'price_nope'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create({"currency": "usd", "unit_amount": 1, "product": "prod_nope"})
    assert _err(exc) == (400, "resource_missing", "product", "No such product: 'prod_nope'")


def test_unexpected_exception_is_500_api_error(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    schema_violations: list[str],
) -> None:
    def boom(cust: Any, prm: Any) -> None:
        raise RuntimeError("secret internal detail")

    app = create_app(Settings(port=0))
    monkeypatch.setattr(customers_module, "_apply", boom)
    key = "sk_test_boom"
    with ThreadedServer(app=app) as srv, caplog.at_level(logging.ERROR):
        c = make_client(srv.url, key, schema_violations)
        with pytest.raises(stripe.APIError) as exc:
            c.v1.customers.create({"name": "x"})
        assert exc.value.http_status == 500
        e = err_of(exc)
        assert e["type"] == "api_error"
        assert e["message"] == "An unknown error occurred"
        assert "code" not in e and "param" not in e
        body = exc.value.http_body or ""
        assert "Traceback" not in body and "secret internal detail" not in body
        assert any("unexpected error" in r.getMessage() for r in caplog.records)
        assert isinstance(app.extensions["stripe_mock_billing.errors"][0], RuntimeError)
        monkeypatch.undo()
        assert c.v1.customers.list().data == []  # nothing half-written
