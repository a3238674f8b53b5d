"""Rendering on the HTTP wire (stripe_mock_billing/wire/render.py), pinned where the mutation
review of wire/ found it untested: the depth limit of `expand[]`, bad paths through a list
refused before the write, the path an `expand[]` error names when it is only found while
rendering, `has_more` on a page exactly as long as the limit, JSON for bodies the fast encoder
refuses, and `Content-Length` on every answer."""

from __future__ import annotations

import http.client

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from stripe_mock_billing.wire.render import dumps
from tests.api.billing_helpers import licensed_price
from tests.api.usage_helpers import metered_item, report, totals
from tests.conftest import err_of, validated_raw


def _cannot_expand(exc: pytest.ExceptionInfo[stripe.StripeError], path: str) -> None:
    """A 400 `invalid_request_error` without a code, naming `path` (docs/reference/wire-format.md:
    `This property cannot be expanded (<path>).` with `param: expand`)."""
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["type"], e.get("code"), e["param"], e["message"]) == (
        "invalid_request_error",
        None,
        "expand",
        f"This property cannot be expanded ({path}).",
    )


# --- depth ----------------------------------------------------------------------------------


def test_four_levels_of_expand_are_allowed(acacia: stripe.StripeClient) -> None:
    """Stripe's limit is 4 levels ("Expansions have a maximum depth of four levels"): a path of
    exactly four ids, none of them `data`, expands all the way down (acacia: an invoice still
    has `subscription`)."""
    clk = acacia.v1.test_helpers.test_clocks.create({"frozen_time": 1_767_225_600})
    cus = acacia.v1.customers.create({"test_clock": clk.id})
    sub = acacia.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": licensed_price(acacia, 1000).id}]}
    )
    got = acacia.v1.subscriptions.retrieve(
        sub.id, {"expand": ["latest_invoice.subscription.customer.test_clock"]}
    )
    t = got.latest_invoice.subscription.customer.test_clock  # type: ignore[union-attr]
    assert (t.object, t.id) == ("test_helpers.test_clock", clk.id)


def test_five_levels_are_refused_counting_data_segments(client: stripe.StripeClient) -> None:
    """Every dotted segment is a level, `data` included: Stripe refuses
    `data.items.data.price.product` on a subscription list with 400
    `property_expansion_max_depth`, "You cannot expand more than 4 levels of a property.
    Property: data.items.data.price.product" (captured from live answers; Stripe's docs: "when
    listing charges, data.payment_intent.customer.default_source is the deepest allowed")."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_767_225_600})
    cus = client.v1.customers.create({"test_clock": clk.id})
    client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    path = "data.items.data.price.product"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.list({"customer": cus.id, "expand": [path]})
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["type"], e.get("code"), e.get("param"), e["message"]) == (
        "invalid_request_error",
        "property_expansion_max_depth",
        "expand",  # the emulator's choice: Stripe's `param` here is unverified
        f"You cannot expand more than 4 levels of a property. Property: {path}",
    )
    # four segments with `data` among them are within the limit
    four = "data.latest_invoice.customer.test_clock"
    got = client.v1.subscriptions.list({"customer": cus.id, "expand": [four]})
    assert got.data[0].latest_invoice.customer.test_clock.id == clk.id  # type: ignore[union-attr]


def test_five_levels_without_data_are_refused(client: stripe.StripeClient) -> None:
    """One level past the limit: `latest_invoice.subscription.latest_invoice.subscription
    .customer` is refused before anything is rendered."""
    cus = client.v1.customers.create({})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    path = "latest_invoice.subscription.latest_invoice.subscription.customer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.retrieve(sub.id, {"expand": [path]})
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["type"], e["param"], e["message"]) == (
        "invalid_request_error",
        "expand",
        f"You cannot expand more than 4 levels of a property. Property: {path}",
    )


# --- paths through lists, checked before the write --------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "items.nope",  # a list object has `data`, nothing else to walk into
        "items.data.nope",  # a subscription item's field that does not exist
        "items.data.price.nope",  # past the inline price
    ],
)
def test_a_bad_path_through_items_creates_no_subscription(
    client: stripe.StripeClient, path: str
) -> None:
    """A subscription's `items` is a list object of subscription items: a path through it is
    checked field by field before the create writes anything (docs/reference/wire-format.md)."""
    cus = client.v1.customers.create({})
    price = licensed_price(client, 1000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create(
            {"customer": cus.id, "items": [{"price": price.id}], "expand": [path]}
        )
    _cannot_expand(exc, path)
    assert client.v1.subscriptions.list({"customer": cus.id, "status": "all"}).data == []
    assert client.v1.invoices.list({"customer": cus.id}).data == []


def test_a_list_path_must_start_with_data(client: stripe.StripeClient) -> None:
    """On a list, `expand[]` paths start with `data.` (wire-format.md §3.4): `test_clock` alone
    names a field of the list object, which has none to expand."""
    client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list({"expand": ["test_clock"]})
    _cannot_expand(exc, "test_clock")
    assert client.v1.customers.list({"expand": ["data.test_clock"]}).data[0].test_clock is None


def test_tiers_is_a_leaf_so_a_path_below_it_creates_no_price(client: stripe.StripeClient) -> None:
    """`tiers` is includable, not an id: nothing below it expands, and the price is not
    created."""
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            {
                "currency": "usd",
                "product_data": {"name": "tiered"},
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 3}],
                "recurring": {"interval": "month"},
                "expand": ["tiers.up_to"],
            }
        )
    _cannot_expand(exc, "tiers.up_to")
    assert client.v1.prices.list().data == []


def test_a_usage_record_has_no_data_to_expand(acacia: stripe.StripeClient) -> None:
    """A usage record is one object, not a list: `expand[]=data` is refused before the usage is
    recorded."""
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, expand=["data"])
    _cannot_expand(exc, "data")
    assert totals(acacia, si) == [0]


# --- errors found while rendering (types the route table does not describe) ----------------


@pytest.mark.parametrize(
    "path",
    [
        "data.nope",  # no such field on an event
        "data.type",  # a string that is not an id
        "data.created",  # an integer
        "data.data",  # an inline hash
        "data.data.object.description",  # null, but never an id
    ],
)
def test_a_bad_path_on_the_event_list_names_the_whole_path(
    client: stripe.StripeClient, path: str
) -> None:
    """`GET /v1/events` is checked while rendering (an event's `data.object` may be any type):
    the error names the path as sent, however deep the field that stopped it."""
    client.v1.products.create({"name": "p", "images": ["https://example.com/p.png"]})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.list({"expand": [path]})
    _cannot_expand(exc, path)


def test_a_path_into_a_list_of_strings_names_the_whole_path(client: stripe.StripeClient) -> None:
    """A product's `images` is a list of strings: nothing in it expands (`GET /v1/events/{id}`,
    checked while rendering)."""
    client.v1.products.create({"name": "p", "images": ["https://example.com/p.png"]})
    (event,) = client.v1.events.list().data
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.retrieve(event.id, {"expand": ["data.object.images.x"]})
    _cannot_expand(exc, "data.object.images.x")


# --- lists: has_more at the page size ---------------------------------------------------------


def _products(client: stripe.StripeClient, n: int) -> list[str]:
    """`n` new products' ids, newest first (list order)."""
    return [client.v1.products.create({"name": f"p{i}"}).id for i in range(n)][::-1]


def test_has_more_on_the_first_page_at_and_below_the_limit(client: stripe.StripeClient) -> None:
    """`has_more` is true iff more items exist beyond the page (wire-format.md §3.3): three
    objects fill a page of 3 with nothing left, and a page of 2 leaves one."""
    ids = _products(client, 3)
    full = client.v1.products.list({"limit": 3})
    assert ([p.id for p in full.data], full.has_more) == (ids, False)
    short = client.v1.products.list({"limit": 2})
    assert ([p.id for p in short.data], short.has_more) == (ids[:2], True)


def test_has_more_after_a_cursor_at_and_below_the_limit(client: stripe.StripeClient) -> None:
    """`starting_after` the newest of four: three remain, so a page of 3 has no more and a page
    of 2 has one more."""
    ids = _products(client, 4)
    full = client.v1.products.list({"limit": 3, "starting_after": ids[0]})
    assert ([p.id for p in full.data], full.has_more) == (ids[1:], False)
    short = client.v1.products.list({"limit": 2, "starting_after": ids[0]})
    assert ([p.id for p in short.data], short.has_more) == (ids[1:3], True)


def test_has_more_before_a_cursor_at_and_below_the_limit(client: stripe.StripeClient) -> None:
    """`ending_before` the oldest of four (paging backwards): three come before it, so a page
    of 3 has no more and a page of 2, the two just before the cursor, has one more."""
    ids = _products(client, 4)
    full = client.v1.products.list({"limit": 3, "ending_before": ids[3]})
    assert ([p.id for p in full.data], full.has_more) == (ids[:3], False)
    short = client.v1.products.list({"limit": 2, "ending_before": ids[3]})
    assert ([p.id for p in short.data], short.has_more) == (ids[1:3], True)


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"amount": 2**70}, b'{"amount":1180591620717411303424}'),
        ({1: "x", "name": "Zo\u00eb"}, '{"1":"x","name":"Zo\u00eb"}'.encode()),
    ],
)
def test_bodies_the_fast_encoder_refuses_are_still_json(body: object, expected: bytes) -> None:
    """`dumps` (every response body) hands what orjson refuses, an integer past 64 bits or a
    non-string key, to the standard encoder: the same compact UTF-8 JSON, not an error."""
    assert dumps(body) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/customers", "name=Jenny", 200),
        ("GET", "/v1/customers/cus_nope", None, 404),
    ],
)
def test_a_json_answer_is_sent_with_its_length(
    server: ThreadedServer, api_key: str, method: str, path: str, body: str | None, status: int
) -> None:
    """Stripe's answers are fixed JSON bodies sent with `Content-Length` (`Content-Type:
    application/json`, wire-format.md §5.2), not chunked: over HTTP/1.1 keep-alive the length
    is how a client finds the end of the body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {api_key}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    validated_raw(method, path, resp.status, resp.headers, data)
    assert resp.status == status
    assert resp.getheader("Content-Type") == "application/json"
    assert resp.getheader("Content-Length") == str(len(data))
    assert resp.getheader("Transfer-Encoding") is None
