"""Hostile and malformed input over raw HTTP: always a 4xx in Stripe's envelope, never a 500, and
a rejected request changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import validated

FORM = "application/x-www-form-urlencoded"
TABLES = (
    "customers",
    "products",
    "prices",
    "subscriptions",
    "subscription_items",
    "invoices",
    "invoiceitems",
)


def snapshot(server: ThreadedServer, key: str) -> dict[str, Any]:
    """The account's whole state, as the control API exports it (`GET /_mock/snapshot`)."""
    return StripeMock.connect(server.url, key).export_state()


def send(
    server: ThreadedServer,
    key: str,
    method: str,
    path: str,
    body: bytes | str | None = None,
    ctype: str | None = FORM,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if ctype is not None:
        headers["Content-Type"] = ctype
    r = requests.request(method, server.url + path, data=body, headers=headers, timeout=30)
    return r if path.startswith("/_mock") else validated(r)  # /_mock: emulator-only, no schema


def assert_envelope(r: requests.Response) -> dict[str, Any]:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Request-Id"].startswith("req_")
    body = r.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert isinstance(err["type"], str) and isinstance(err["message"], str) and err["message"]
    assert set(err) <= {"type", "code", "message", "param", "doc_url", "request_log_url"}
    if "code" in err:
        assert err["doc_url"] == "https://stripe.com/docs/error-codes/" + err["code"].replace(
            "_", "-"
        )
    assert "Traceback" not in r.text
    return dict(err)


def seed(server: ThreadedServer, api_key: str) -> dict[str, str]:
    """Give the account a customer, product, price, subscription and item; their ids."""

    def post(path: str, body: str) -> dict[str, Any]:
        r = send(server, api_key, "POST", path, body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    cus = post("/v1/customers", "name=seed")
    price = post(
        "/v1/prices", "currency=usd&unit_amount=100&product_data[name]=p&recurring[interval]=month"
    )
    sub = post("/v1/subscriptions", f"customer={cus['id']}&items[0][price]={price['id']}")
    return {
        "cus": cus["id"],
        "price": price["id"],
        "prod": price["product"],
        "sub": sub["id"],
        "si": sub["items"]["data"][0]["id"],
    }


@pytest.fixture
def seeded(server: ThreadedServer, api_key: str) -> dict[str, str]:
    """An account with a customer, product, price, subscription and item."""
    return seed(server, api_key)


BAD_BODIES: list[tuple[str, str, bytes, str | None, int, str | None]] = [
    # (name, path, body, content type, status, expected param)
    ("json body", "/v1/customers", b'{"name": "x"}', "application/json", 400, None),
    (
        "multipart body",
        "/v1/customers",
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
        400,
        None,
    ),
    (
        "scalar then hash",
        "/v1/customers",
        b"name=x&address=1&address[city]=P",
        FORM,
        400,
        "address",
    ),
    ("hash then scalar", "/v1/customers", b"address[city]=P&address=1", FORM, 400, "address"),
    ("non-utf8 value", "/v1/customers", b"name=\xff\xfe", FORM, 400, None),
    ("non-utf8 escaped", "/v1/customers", b"name=%C3%28", FORM, 400, None),
    ("non-utf8 key", "/v1/customers", b"\xffname=x", FORM, 400, None),
    ("unclosed bracket", "/v1/customers", b"metadata[k=v", FORM, 400, None),
    ("leading bracket", "/v1/customers", b"[name]=x", FORM, 400, None),
    ("text after bracket", "/v1/customers", b"metadata[k]x=v", FORM, 400, None),
    ("too deep", "/v1/customers", b"metadata" + b"[a]" * 10 + b"=1", FORM, 400, None),
    ("huge integer", "/v1/customers", b"balance=" + b"9" * 30, FORM, 400, "balance"),
    ("int64 overflow", "/v1/customers", b"balance=9223372036854775808", FORM, 400, "balance"),
    ("float integer", "/v1/customers", b"balance=1.5", FORM, 400, "balance"),
    ("hash for scalar", "/v1/customers", b"name[first]=Ada", FORM, 400, "name"),
    ("array for scalar", "/v1/customers", b"email[]=a@b.c", FORM, 400, "email"),
    ("scalar for hash", "/v1/customers", b"address=Paris", FORM, 400, "address"),
    ("scalar for array", "/v1/customers", b"preferred_locales=en", FORM, 400, "preferred_locales"),
    ("hash for metadata value", "/v1/customers", b"metadata[a][b]=1", FORM, 400, "metadata[a]"),
    ("empty expand element", "/v1/customers", b"expand[]=", FORM, 400, "expand[0]"),
    ("unknown expand", "/v1/customers", b"expand[]=nope", FORM, 400, "expand"),
    ("unknown param", "/v1/customers", b"nmae=x", FORM, 400, "nmae"),
    ("unknown test clock", "/v1/customers", b"test_clock=clock_nope", FORM, 400, "test_clock"),
    (
        "decimal too big",
        "/v1/prices",
        b"currency=usd&product_data[name]=p&unit_amount_decimal=" + b"9" * 30,
        FORM,
        400,
        "unit_amount_decimal",
    ),
    (
        "decimal exponent",
        "/v1/prices",
        b"currency=usd&product_data[name]=p&unit_amount_decimal=1e5",
        FORM,
        400,
        "unit_amount_decimal",
    ),
    (
        "negative amount",
        "/v1/prices",
        b"currency=usd&product_data[name]=p&unit_amount=-1",
        FORM,
        400,
        "unit_amount",
    ),
    ("items as string", "/v1/subscriptions", b"customer=cus_x&items=abc", FORM, 400, "items"),
    (
        "items with word index",
        "/v1/subscriptions",
        b"customer=cus_x&items[first][price]=p",
        FORM,
        400,
        "items",
    ),
    (
        "items element empty",
        "/v1/subscriptions",
        b"customer=cus_x&items[0]=",
        FORM,
        400,
        "items[0]",
    ),
    (
        "anchor not a time",
        "/v1/subscriptions",
        b"customer=cus_x&items[0][price]=p&billing_cycle_anchor=tomorrow",
        FORM,
        400,
        "billing_cycle_anchor",
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "body", "ctype", "status", "param"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES]
)
def test_bad_bodies_are_4xx_and_write_nothing(
    server: ThreadedServer,
    api_key: str,
    seeded: dict[str, str],
    name: str,
    path: str,
    body: bytes,
    ctype: str | None,
    status: int,
    param: str | None,
) -> None:
    before = snapshot(server, api_key)
    r = send(server, api_key, "POST", path, body, ctype)
    err = assert_envelope(r)
    assert r.status_code == status
    if param is not None:
        assert err["param"] == param
    assert snapshot(server, api_key) == before


def test_json_body_message(server: ThreadedServer, api_key: str) -> None:
    r = send(server, api_key, "POST", "/v1/customers", b'{"name": "x"}', "application/json")
    assert assert_envelope(r)["message"] == (
        "Invalid request: v1 endpoints take application/x-www-form-urlencoded bodies, not "
        "application/json."
    )


def test_conflicting_keys_message(server: ThreadedServer, api_key: str) -> None:
    r = send(server, api_key, "POST", "/v1/customers", b"a=1&a[b]=2")
    err = assert_envelope(r)
    assert (err["param"], err["message"]) == (
        "a",
        "Invalid value for a: it is given both as a value and as a hash.",
    )


def test_more_than_10k_params(server: ThreadedServer, api_key: str) -> None:
    body = "&".join(f"metadata[k{i}]=v" for i in range(10_001))
    r = send(server, api_key, "POST", "/v1/customers", body)
    err = assert_envelope(r)
    assert err["message"] == "Invalid request: more than 10000 parameters."
    assert send(server, api_key, "GET", "/v1/customers").json()["data"] == []


def test_many_metadata_keys_under_the_param_limit(server: ThreadedServer, api_key: str) -> None:
    body = "&".join(f"metadata[k{i}]=v" for i in range(51))
    err = assert_envelope(send(server, api_key, "POST", "/v1/customers", body))
    assert err["message"] == (
        "Metadata can have up to 50 keys, but you've set 51. Email us at "
        "support+metadata@stripe.com for more information."
    )


def test_body_over_16_mib_is_413(server: ThreadedServer, api_key: str) -> None:
    r = send(server, api_key, "POST", "/v1/customers", b"name=" + b"x" * (16 * 1024 * 1024 + 1))
    err = assert_envelope(r)
    assert r.status_code == 413
    assert (err["code"], err["message"]) == ("request_too_large", "Request body is too large.")
    assert send(server, api_key, "GET", "/v1/customers").json()["data"] == []


@pytest.mark.parametrize("body", [b"", None])
def test_empty_bodies(server: ThreadedServer, api_key: str, body: bytes | None) -> None:
    # nothing required: an empty create works
    r = send(server, api_key, "POST", "/v1/customers", body, None)
    assert r.status_code == 200 and r.json()["object"] == "customer"
    # something required: the first missing param
    err = assert_envelope(send(server, api_key, "POST", "/v1/prices", body, None))
    assert (err["code"], err["param"]) == ("parameter_missing", "currency")


def test_empty_pairs_are_ignored(server: ThreadedServer, api_key: str) -> None:
    r = send(server, api_key, "POST", "/v1/customers", b"&&name=x&&")
    assert r.status_code == 200 and r.json()["name"] == "x"


BAD_QUERIES = [
    ("/v1/customers?limit=" + "9" * 25, "limit"),
    ("/v1/customers?limit[a]=1", "limit"),
    ("/v1/customers?limit=0", "limit"),
    ("/v1/customers?%FF=1", None),
    ("/v1/customers?created[gte]=1", "created"),
    ("/v1/customers?expand[]=data.nope", "expand"),
    ("/v1/customers?expand[]=customer", "expand"),
    ("/v1/prices?recurring=month", "recurring"),
    ("/v1/prices?type=weekly", "type"),
    ("/v1/subscription_items", "subscription"),
    ("/v1/subscription_items?subscription=sub_nope", "subscription"),
    ("/v1/subscriptions?status=sleeping", "status"),
    ("/v1/customers?starting_after=cus_nope", "starting_after"),
]


@pytest.mark.parametrize(("path", "param"), BAD_QUERIES)
def test_bad_queries(server: ThreadedServer, api_key: str, path: str, param: str | None) -> None:
    err = assert_envelope(send(server, api_key, "GET", path, None, None))
    if param is not None:
        assert err["param"] == param


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/customers/%FF%FE"),
        ("GET", "/v1/customers/" + "x" * 5000),
        ("POST", "/v1/products/prod_nope"),
        ("DELETE", "/v1/subscription_items/si_nope?clear_usage=true"),
        ("GET", "/v1/subscriptions/sub_nope?expand[]=customer"),
        ("DELETE", "/v1/customers/cus_nope?bogus=1"),
    ],
)
def test_unknown_ids_in_paths(server: ThreadedServer, api_key: str, method: str, path: str) -> None:
    r = send(server, api_key, method, path, None, None)
    err = assert_envelope(r)
    assert r.status_code == 404
    assert (err["code"], err["param"]) == ("resource_missing", "id")


def test_unknown_ids_in_body_params(
    server: ThreadedServer, api_key: str, seeded: dict[str, str]
) -> None:
    cases = [
        ("/v1/subscriptions", f"customer=cus_nope&items[0][price]={seeded['price']}", "customer"),
        (
            "/v1/subscriptions",
            f"customer={seeded['cus']}&items[0][price]=price_nope",
            "items[0][price]",
        ),
        (
            "/v1/subscription_items",
            f"subscription=sub_nope&price={seeded['price']}",
            "subscription",
        ),
        ("/v1/subscription_items", f"subscription={seeded['sub']}&price=price_nope", "price"),
        ("/v1/prices", "currency=usd&unit_amount=1&product=prod_nope", "product"),
        (f"/v1/products/{seeded['prod']}", "default_price=price_nope", "default_price"),
    ]
    for path, body, param in cases:
        before = snapshot(server, api_key)
        r = send(server, api_key, "POST", path, body)
        err = assert_envelope(r)
        assert (r.status_code, err["code"], err["param"]) == (400, "resource_missing", param)
        assert snapshot(server, api_key) == before


def test_update_with_bad_input_keeps_the_object(
    server: ThreadedServer, api_key: str, seeded: dict[str, str]
) -> None:
    before = snapshot(server, api_key)
    for body in (b"name=ok&balance=abc", b"name=ok&metadata[x][y]=1", b"name=ok&expand[]=nope"):
        assert_envelope(send(server, api_key, "POST", f"/v1/customers/{seeded['cus']}", body))
    body = b"metadata[a]=1&items[0][id]=" + seeded["si"].encode() + b"&items[0][quantity]=x"
    assert_envelope(send(server, api_key, "POST", f"/v1/subscriptions/{seeded['sub']}", body))
    assert snapshot(server, api_key) == before
