"""Stripe's v1 wire format through the SDK and raw HTTP: encoding, object shape, lists, expand,
headers and the error envelope."""

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
from tests.conftest import err_of, make_client

REQ_ID = re.compile(r"req_[0-9A-Za-z]{14}")


def raw(
    server: Any,
    key: str,
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    h = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return requests.request(method, server.url + path, data=body, headers=h, timeout=10)


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
        "&invoice_settings[default_payment_method]=pm_1"
    )
    r = raw(server, api_key, "POST", "/v1/customers", body)
    assert r.status_code == 200
    got = r.json()
    assert got["address"]["city"] == "Paris" and got["address"]["line1"] == "1 rue"
    assert got["invoice_settings"]["default_payment_method"] == "pm_1"


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


# --- object shape, lists, deletes -------------------------------------------------------------


def test_object_shape_and_id_prefixes(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    item = sub["items"].data[0]
    objs = [
        (client.v1.customers.retrieve(sub.customer), "cus_", "customer"),  # type: ignore[arg-type]
        (item.price, "price_", "price"),
        (client.v1.products.retrieve(item.price.product), "prod_", "product"),  # type: ignore[arg-type]
        (sub, "sub_", "subscription"),
        (item, "si_", "subscription_item"),
    ]
    for obj, prefix, kind in objs:
        d = obj.to_dict()
        assert d["id"].startswith(prefix)
        assert len(d["id"]) == len(prefix) + 24
        assert d["object"] == kind
        assert d["metadata"] == {}
        assert isinstance(d["created"], int)
        if kind != "subscription_item":
            assert d["livemode"] is False


def test_null_fields_are_present(client: stripe.StripeClient) -> None:
    d = client.v1.customers.create({}).to_dict()
    for k in ("name", "email", "description", "phone", "address", "test_clock"):
        assert k in d and d[k] is None


def test_list_default_limit_is_10_and_max_100(client: stripe.StripeClient) -> None:
    for i in range(12):
        client.v1.products.create({"name": f"p{i}"})
    lst = client.v1.products.list()
    assert len(lst.data) == 10 and lst.has_more is True
    assert lst.url == "/v1/products" and lst.object == "list"
    assert len(client.v1.products.list({"limit": 100}).data) == 12
    assert client.v1.products.list({"limit": 100}).has_more is False


def test_list_pagination_walk_both_directions(client: stripe.StripeClient) -> None:
    made = [client.v1.products.create({"name": f"p{i}"}).id for i in range(7)]
    newest_first = made[::-1]
    assert [p.id for p in client.v1.products.list({"limit": 3}).auto_paging_iter()] == newest_first
    page = client.v1.products.list({"limit": 3, "starting_after": newest_first[2]})
    assert [p.id for p in page.data] == newest_first[3:6] and page.has_more is True
    last = client.v1.products.list({"limit": 3, "starting_after": newest_first[5]})
    assert [p.id for p in last.data] == newest_first[6:] and last.has_more is False
    back = client.v1.products.list({"limit": 3, "ending_before": newest_first[6]})
    assert [p.id for p in back.data] == newest_first[3:6] and back.has_more is True
    first = client.v1.products.list({"limit": 3, "ending_before": newest_first[2]})
    assert [p.id for p in first.data] == newest_first[:2] and first.has_more is False


def test_ending_before_unknown_id(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.list({"ending_before": "prod_gone"})
    assert _err(exc) == (400, "resource_missing", "ending_before", "No such product: 'prod_gone'")


def test_deleted_stubs(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create({"name": "bye"})
    d = client.v1.products.delete(prod.id)
    assert d.to_dict() == {"id": prod.id, "object": "product", "deleted": True}
    cus = client.v1.customers.create({})
    assert client.v1.customers.delete(cus.id).to_dict() == {
        "id": cus.id,
        "object": "customer",
        "deleted": True,
    }


# --- expand ---------------------------------------------------------------------------------


def test_expand_customer_and_latest_invoice_on_subscription(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    assert isinstance(sub.latest_invoice, str) and sub.latest_invoice.startswith("in_")
    got = client.v1.subscriptions.retrieve(
        sub.id, {"expand": ["customer", "latest_invoice", "latest_invoice.customer"]}
    )
    assert got.customer.object == "customer"  # type: ignore[union-attr]
    assert got.customer.id == sub.customer  # type: ignore[union-attr]
    assert got.latest_invoice.object == "invoice"  # type: ignore[union-attr]
    assert got.latest_invoice.id == sub.latest_invoice  # type: ignore[union-attr]
    assert got.latest_invoice.customer.id == sub.customer  # type: ignore[union-attr]


def test_expand_nested_items_price_product(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    got = client.v1.subscriptions.retrieve(sub.id, {"expand": ["items.data.price.product"]})
    prod = got["items"].data[0].price.product
    assert prod.object == "product" and prod.name == "Plan"  # type: ignore[union-attr]


def test_expand_subscription_on_item(
    client: stripe.StripeClient, server: Any, api_key: str
) -> None:
    sub = make_sub(client)
    item_id = sub["items"].data[0].id
    r = raw(server, api_key, "GET", f"/v1/subscription_items/{item_id}?expand[]=price.product")
    assert r.json()["price"]["product"]["object"] == "product"


def test_expand_on_lists_with_data_prefix(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    lst = client.v1.subscriptions.list({"expand": ["data.customer"]})
    assert [s.id for s in lst.data] == [sub.id]
    assert lst.data[0].customer.object == "customer"  # type: ignore[union-attr]
    prices = client.v1.prices.list({"expand": ["data.product"]})
    assert prices.data[0].product.object == "product"  # type: ignore[union-attr]


def test_expand_tiers_on_prices(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "product_data": {"name": "t"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 3}],
            "recurring": {"interval": "month"},
        }
    )
    assert "tiers" not in price.to_dict()
    got = client.v1.prices.retrieve(price.id, {"expand": ["tiers"]})
    assert [t.up_to for t in got.tiers] == [10, None]  # type: ignore[union-attr]
    assert [t.unit_amount for t in got.tiers] == [5, 3]  # type: ignore[union-attr]
    lst = client.v1.prices.list({"expand": ["data.tiers"]})
    assert lst.data[0].tiers is not None


@pytest.mark.parametrize("path", ["name", "nope", "address.city"])
def test_unexpandable_path_is_400(client: stripe.StripeClient, path: str) -> None:
    cus = client.v1.customers.create({"name": "n"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve(cus.id, {"expand": [path]})
    assert _err(exc) == (400, None, "expand", f"This property cannot be expanded ({path}).")


def test_unexpandable_path_on_create_writes_nothing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"name": "ghost", "expand": ["name"]})
    assert _err(exc)[2] == "expand"
    assert client.v1.customers.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        make_price(client, expand=["nope"])
    assert client.v1.prices.list().data == []
    assert client.v1.products.list().data == []


def test_expand_too_deep(client: stripe.StripeClient) -> None:
    sub = make_sub(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.retrieve(sub.id, {"expand": ["a.b.c.d.e"]})
    assert _err(exc)[2] == "expand"
    assert "more than 4 levels" in err_of(exc)["message"]


# --- headers ----------------------------------------------------------------------------------


def test_request_id_on_every_response(server: Any, api_key: str) -> None:
    seen = set()
    responses = [
        raw(server, api_key, "POST", "/v1/customers", "name=x"),  # 200
        raw(server, api_key, "POST", "/v1/customers", "bogus=1"),  # 400
        raw(server, api_key, "GET", "/v1/customers/cus_nope"),  # 404
        raw(server, api_key, "GET", "/v1/nothing_here"),  # 404 unknown URL
        raw(server, "sk_test_", "GET", "/v1/customers"),  # 401
        raw(server, "pk_test_abc", "GET", "/v1/customers"),  # 403
        requests.get(server.url + "/v1/customers", timeout=5),  # 401, no key
        requests.get(server.url + "/healthz", timeout=5),
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
    r = raw(server, api_key, "PUT", "/v1/customers")
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
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(cust: Any, prm: Any) -> None:
        raise RuntimeError("secret internal detail")

    app = create_app(Settings(port=0))
    monkeypatch.setattr(customers_module, "_apply", boom)
    key = "sk_test_boom"
    with ThreadedServer(app=app) as srv, caplog.at_level(logging.ERROR):
        c = make_client(srv.url, key, [])
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


# --- rate limiting ------------------------------------------------------------------------------


def test_rate_limit_is_off_by_default(client: stripe.StripeClient) -> None:
    for _ in range(40):
        client.v1.customers.list({"limit": 1})


def test_per_account_rate_limit_gives_429(server: Any, api_key: str) -> None:
    store = server.app.extensions["stripe_mock_billing.store"]
    store.namespace(api_key).settings.rate_limit = 3
    c = make_client(server.url, api_key, [])
    for _ in range(3):
        c.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as exc:
        c.v1.customers.create({"name": "over"})
    assert exc.value.http_status == 429
    e = err_of(exc)
    assert (e["type"], e["code"]) == ("invalid_request_error", "rate_limit")
    assert e["message"] == (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits."
    )
    assert (exc.value.headers or {})["Stripe-Rate-Limited-Reason"] == "global-rate"
    other = make_client(server.url, api_key + "_other", [])
    assert other.v1.customers.list().data == []  # other accounts are not limited
    store.namespace(api_key).settings.rate_limit = 0
    assert c.v1.customers.list().data == []  # the rejected create wrote nothing


def test_rate_limit_from_settings_default() -> None:
    settings = Settings.from_env({}, port=0, rate_limit=2)
    with ThreadedServer(settings) as srv:
        c = make_client(srv.url, "sk_test_rl", [])
        c.v1.customers.list()
        c.v1.customers.list()
        with pytest.raises(stripe.RateLimitError):
            c.v1.customers.list()
