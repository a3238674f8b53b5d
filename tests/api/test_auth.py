"""Authentication (wire-format.md §4): Bearer and Basic, Stripe's 401/403 texts, one account per
secret key."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.wire.auth import NO_KEY, PUBLISHABLE, mask_key
from tests.conftest import err_of, make_client, validated


def get(server: Any, headers: dict[str, str], path: str = "/v1/customers") -> requests.Response:
    return validated(requests.get(server.url + path, headers=headers, timeout=10))


def error(r: requests.Response) -> dict[str, Any]:
    return dict(r.json()["error"])


def test_bearer_key_works_through_the_sdk(client: stripe.StripeClient) -> None:
    assert client.v1.customers.create({"name": "bearer"}).name == "bearer"


def test_basic_auth_like_curl_u(server: Any, api_key: str) -> None:
    r = validated(
        requests.post(
            server.url + "/v1/customers", data={"name": "basic"}, auth=(api_key, ""), timeout=10
        )
    )
    assert r.status_code == 200
    cid = r.json()["id"]
    # same key, Bearer: same account
    r = get(server, {"Authorization": f"Bearer {api_key}"}, f"/v1/customers/{cid}")
    assert r.json()["name"] == "basic"


def test_basic_auth_with_a_password_uses_the_user_part(server: Any, api_key: str) -> None:
    token = base64.b64encode(f"{api_key}:ignored".encode()).decode()
    assert get(server, {"Authorization": f"Basic {token}"}).status_code == 200


def test_no_api_key(server: Any) -> None:
    r = get(server, {})
    assert r.status_code == 401
    assert error(r) == {
        "type": "invalid_request_error",
        "message": NO_KEY,
        "request_log_url": error(r)["request_log_url"],
    }
    assert NO_KEY == (
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/."
    )
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Stripe"'


def test_no_api_key_sdk_raises_authentication_error(
    server: Any, schema_violations: list[str]
) -> None:
    c = make_client(server.url, "sk_test_x", schema_violations)
    with pytest.raises(stripe.AuthenticationError) as exc:
        c.raw_request("get", "/v1/customers", headers={"Authorization": ""})
    assert exc.value.http_status == 401
    e = err_of(exc)
    assert "code" not in e and "param" not in e
    assert (e["type"], e["message"]) == ("invalid_request_error", NO_KEY)


@pytest.mark.parametrize(("header", "shown"), [("Bearer null", "null"), ("Bearer", "Bearer")])
def test_empty_or_null_bearer(server: Any, header: str, shown: str) -> None:
    r = get(server, {"Authorization": header})
    assert r.status_code == 401
    e = error(r)
    assert "code" not in e
    assert e["message"] == (
        "You did not provide an API key, though you did set your Authorization header to "
        f'"{shown}". Using Bearer auth, your Authorization header should look something like '
        "'Authorization: Bearer YOUR_SECRET_KEY'. See https://stripe.com/docs/api#authentication "
        "for details, or we can help at https://support.stripe.com/."
    )


def test_basic_with_empty_user(server: Any) -> None:
    token = base64.b64encode(b":").decode()
    r = get(server, {"Authorization": f"Basic {token}"})
    assert r.status_code == 401
    assert error(r)["message"].startswith("You did not provide an API key, though you did set")


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk_live_abcdefgh1234", "sk_live_********1234"),
        ("rk_live_0123456789abcdef", "rk_live_************cdef"),
        ("not_a_key_wxyz", "**********wxyz"),
        ("sk_test_", "sk_test_"),
        ("sk_tes_your_secret_key_here", "***********************here"),
    ],
)
def test_invalid_key_is_masked(server: Any, key: str, masked: str) -> None:
    r = get(server, {"Authorization": f"Bearer {key}"})
    assert r.status_code == 401
    e = error(r)
    assert "code" not in e and e["type"] == "invalid_request_error"
    assert e["message"] == f"Invalid API Key provided: {masked}"
    assert len(mask_key(key)) == len(key)


def test_invalid_key_sdk_error_class(server: Any, schema_violations: list[str]) -> None:
    c = make_client(server.url, "sk_live_abcdefgh1234", schema_violations)
    with pytest.raises(stripe.AuthenticationError) as exc:
        c.v1.customers.list()
    assert exc.value.http_status == 401
    e = err_of(exc)
    assert "code" not in e and "param" not in e
    assert (e["type"], e["message"]) == (
        "invalid_request_error",
        "Invalid API Key provided: sk_live_********1234",
    )


@pytest.mark.parametrize("key", ["pk_test_abc123", "pk_live_abc123"])
def test_publishable_key_is_403_secret_key_required(
    server: Any, key: str, schema_violations: list[str]
) -> None:
    c = make_client(server.url, key, schema_violations)
    with pytest.raises(stripe.PermissionError) as exc:
        c.v1.customers.create({"name": "x"})
    assert exc.value.http_status == 403
    e = err_of(exc)
    assert (e["type"], e["code"], e.get("param")) == (
        "invalid_request_error",
        "secret_key_required",
        None,
    )
    assert e["message"] == (
        "This API call cannot be made with a publishable API key. Please use a secret API key. "
        "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys."
    )
    assert e["message"] == PUBLISHABLE


def test_restricted_test_key_works_on_v1(server: Any, schema_violations: list[str]) -> None:
    c = make_client(server.url, "rk_test_restricted123", schema_violations)
    assert c.v1.customers.create({}).id.startswith("cus_")


def test_each_secret_key_is_its_own_account(
    server: Any, api_key: str, schema_violations: list[str]
) -> None:
    a = make_client(server.url, api_key, schema_violations)
    b = make_client(server.url, api_key + "_b", schema_violations)
    prod = a.v1.products.create({"name": "a's"})
    price = a.v1.prices.create({"currency": "usd", "unit_amount": 1, "product": prod.id})
    assert [p.id for p in a.v1.products.list().data] == [prod.id]
    assert b.v1.products.list().data == []
    assert b.v1.prices.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as exc:
        b.v1.prices.retrieve(price.id)
    assert exc.value.http_status == 404
    # b may even create a product with the same custom id
    a.v1.products.create({"name": "x", "id": "shared_id"})
    assert b.v1.products.create({"name": "y", "id": "shared_id"}).name == "y"
    assert a.v1.products.retrieve("shared_id").name == "x"


def test_auth_is_checked_before_parameters(server: Any) -> None:
    r = validated(requests.post(server.url + "/v1/customers", data={"bogus": "1"}, timeout=10))
    assert r.status_code == 401
    assert error(r)["message"] == NO_KEY


def test_unknown_route_is_checked_before_auth(server: Any) -> None:
    # not validated: /v1/nope is no operation of Stripe's OpenAPI, so no schema describes it
    r = requests.get(server.url + "/v1/nope", timeout=10)
    assert r.status_code == 404
    assert error(r)["message"].startswith("Unrecognized request URL (GET: /v1/nope).")


def test_healthz_needs_no_auth(server: Any) -> None:
    r = requests.get(server.url + "/healthz", timeout=10)  # emulator-only: no schema
    assert r.status_code == 200 and r.json()["status"] == "ok"
