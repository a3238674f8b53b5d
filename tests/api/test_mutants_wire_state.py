"""The per-request state of the HTTP wire layer (stripe_mock_billing/wire/state.py), pinned
where the mutation review of wire/ found it untested: `expand[]` paths checked before a write,
also on a subscription's cancel (the one DELETE that renders its object), and `tiers` on prices
nested in other objects."""

from __future__ import annotations

import re

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import licensed_price
from tests.api.conftest import raw_http
from tests.conftest import err_of


def test_cancel_with_a_bad_expand_path_cancels_nothing(client: stripe.StripeClient) -> None:
    """`DELETE /v1/subscriptions/{id}` takes `expand[]` (Stripe's OpenAPI) and renders the
    subscription: a bad path is a parameter error, refused before the cancel."""
    cus = client.v1.customers.create({})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.cancel(sub.id, {"expand": ["nope"]})
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["type"], e.get("code"), e["param"], e["message"]) == (
        "invalid_request_error",
        None,
        "expand",
        "This property cannot be expanded (nope).",
    )
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    # a good path still works on the cancel
    done = client.v1.subscriptions.cancel(sub.id, {"expand": ["customer"]})
    assert (done.status, done.customer.id) == ("canceled", cus.id)  # type: ignore[union-attr]


def test_a_sub_resource_list_expands_its_own_objects(client: stripe.StripeClient) -> None:
    """`GET /v1/invoices/{id}/lines` lists line items: `expand[]=data.subscription` is checked
    against a line item (whose `subscription` is expandable), not against the invoice."""
    cus = client.v1.customers.create({})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    inv_id = str(sub.latest_invoice)
    lines = client.v1.invoices.line_items.list(inv_id, {"expand": ["data.subscription"]})
    assert [ln.subscription.id for ln in lines.data] == [sub.id]  # type: ignore[union-attr]


def _tiered_price(client: stripe.StripeClient) -> stripe.Price:
    return client.v1.prices.create(
        {
            "currency": "usd",
            "product_data": {"name": "tiered"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 3}],
            "recurring": {"interval": "month"},
        }
    )


def test_tiers_of_a_price_inside_a_subscription_are_included_by_their_full_path(
    client: stripe.StripeClient,
) -> None:
    """`tiers` is includable (`expand[]=tiers`), also on a price nested in another object:
    `expand[]=items.data.price.tiers` on a subscription."""
    price = _tiered_price(client)
    cus = client.v1.customers.create({})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price.id, "quantity": 1}]}
    )
    got = client.v1.subscriptions.retrieve(sub.id, {"expand": ["items.data.price.tiers"]})
    tiers = got["items"].data[0].price.tiers
    assert [(t.up_to, t.unit_amount) for t in tiers] == [(10, 5), (None, 3)]


@pytest.mark.parametrize("root", ["/v1", "/v2"])
def test_the_bare_api_roots_answer_like_any_unknown_api_url(
    server: ThreadedServer, api_key: str, root: str
) -> None:
    """`GET /v1` and `GET /v2` (no trailing slash) are API URLs Stripe does not have: the 404
    carries the headers of every API response (`Request-Id`, the default `Stripe-Version`, no
    caching, CORS), as `GET /v1/nope` does. (Which envelope the bare `/v2` uses, v1's or v2's,
    is not pinned: Stripe's is unverified.)"""
    # raw: the SDK cannot call a bare root, and Stripe's OpenAPI has no such operation
    r = raw_http(server, "GET", root, api_key)
    assert r.status_code == 404
    e = r.json()["error"]
    assert (e["type"], e["message"]) == (
        "invalid_request_error",
        f"Unrecognized request URL (GET: {root}). Please see https://stripe.com/docs or we can "
        "help at https://support.stripe.com/.",
    )
    if root == "/v1":
        assert (e.get("code"), e.get("param")) == (None, None)
    assert r.headers["Request-Id"].startswith("req_")
    assert r.headers["Stripe-Version"] == "2025-02-24.acacia"
    assert r.headers["Cache-Control"] == "no-cache, no-store"
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_a_request_id_is_req_and_14_characters(client: stripe.StripeClient) -> None:
    """Stripe's request ids, e.g. `req_O6zILK5QEVpViw` in a captured error: `req_` and 14
    letters or digits, in the `Request-Id` header and the error's `request_log_url`."""
    r = client.raw_request("get", "/v1/customers")
    assert re.fullmatch(r"req_[A-Za-z0-9]{14}", r.headers["Request-Id"])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_missing")
    url = err_of(exc)["request_log_url"]
    assert re.fullmatch(r"https://dashboard\.stripe\.com/test/logs/req_[A-Za-z0-9]{14}", url)
