"""Core wire behaviour through each SDK: CRUD, errors, 401, idempotency, pagination, expand."""

from __future__ import annotations

import uuid

from ..harness import T, scenario
from .common import customer, licensed_price, product, subscribe, uid

IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with. Try using a key other than '{key}' if you meant to execute a different request."
)


@scenario("customers.crud", "customer create, retrieve, update, delete", area="core")
def customers_crud(t: T) -> None:
    email = f"ada-{uid()}@example.com"
    cus = t.call(
        "customers.create",
        params={"name": "Ada", "email": email, "metadata": {"team": "billing", "tier": "gold"}},
    )
    t.eq(cus["object"], "customer", "object")
    t.check(cus["id"].startswith("cus_"), f"customer id prefix: {cus['id']}")
    t.eq([cus["name"], cus["email"], cus["livemode"]], ["Ada", email, False], "name/email/live")
    t.eq(cus["metadata"], {"team": "billing", "tier": "gold"}, "metadata")
    t.check((t.header("Request-Id") or "").startswith("req_"), "Request-Id header req_...")
    got = t.call("customers.retrieve", cus["id"])
    t.eq(got, cus, "retrieve returns the created customer")
    upd = t.call("customers.update", cus["id"], params={"name": "Ada L.", "metadata": {"tier": ""}})
    t.eq(upd["name"], "Ada L.", "updated name")
    t.eq(upd["metadata"], {"team": "billing"}, "metadata[tier]= (empty) deletes the key")
    gone = t.call("customers.delete", cus["id"])
    t.eq(gone, {"id": cus["id"], "object": "customer", "deleted": True}, "delete stub")
    again = t.call("customers.retrieve", cus["id"])
    t.eq([again["id"], again.get("deleted")], [cus["id"], True], "retrieving a deleted customer")


@scenario("products.prices", "products and prices: licensed, tiered (expand tiers)", area="core")
def products_prices(t: T) -> None:
    prod = product(t)
    t.check(prod["id"].startswith("prod_"), "product id prefix")
    t.eq(prod["active"], True, "product active")
    price = licensed_price(t, prod["id"], 1250)
    t.eq(
        [price["object"], price["unit_amount"], price["unit_amount_decimal"], price["type"]],
        ["price", 1250, "1250", "recurring"],
        "licensed price fields",
    )
    t.eq(price["recurring"]["interval"], "month", "recurring.interval")
    t.eq(price["recurring"]["usage_type"], "licensed", "recurring.usage_type")
    tiered = t.call(
        "prices.create",
        params={
            "product": prod["id"],
            "currency": "usd",
            "recurring": {"interval": "month"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 10, "unit_amount": 100},
                {"up_to": "inf", "unit_amount": 50, "flat_amount": 200},
            ],
            "expand": ["tiers"],
        },
    )
    t.eq(tiered["tiers_mode"], "graduated", "tiers_mode")
    t.eq(
        [(x["up_to"], x["unit_amount"], x["flat_amount"]) for x in tiered["tiers"]],
        [(10, 100, None), (None, 50, 200)],
        "tiers (up_to inf renders as null)",
    )
    plain = t.call("prices.retrieve", tiered["id"])
    t.check("tiers" not in plain, "tiers are only present when expanded")
    with_product = t.call("prices.retrieve", price["id"], params={"expand": ["product"]})
    t.eq(with_product["product"]["id"], prod["id"], "expand[]=product gives the product object")
    listed = t.call("prices.list", params={"product": prod["id"]})
    t.eq([p["id"] for p in listed["data"]], [tiered["id"], price["id"]], "list newest first")
    upd = t.call("products.update", prod["id"], params={"name": "Renamed"})
    t.eq(upd["name"], "Renamed", "product rename")


@scenario("errors.params", "missing, unknown, invalid and unknown-id parameters", area="errors")
def errors_params(t: T) -> None:
    t.fails(
        "products.create",
        params={},
        status=400,
        cls="InvalidRequestError",
        code="parameter_missing",
        param="name",
        message="Missing required param: name.",
    )
    t.fails(
        "customers.create",
        params={"nickname": "x"},
        status=400,
        cls="InvalidRequestError",
        code="parameter_unknown",
        param="nickname",
        message="Received unknown parameter: nickname",
    )
    prod = product(t)
    t.fails(
        "prices.create",
        params={"product": prod["id"], "currency": "usd", "unit_amount": "12.5"},
        status=400,
        code="parameter_invalid_integer",
        param="unit_amount",
        message="Invalid integer: 12.5",
    )
    valid = licensed_price(t, prod["id"])
    t.fails(
        "subscriptions.create",
        params={"customer": "cus_doesnotexist", "items": [{"price": valid["id"]}]},
        status=400,
        code="resource_missing",
        param="customer",
        message="No such customer: 'cus_doesnotexist'",
    )
    for op, oid, noun in (
        ("customers.retrieve", "cus_nope", "customer"),
        ("products.retrieve", "prod_nope", "product"),
        ("prices.retrieve", "price_nope", "price"),
        ("subscriptions.retrieve", "sub_nope", "subscription"),
        ("subscription_items.retrieve", "si_nope", "subscription item"),
    ):
        t.fails(
            op,
            oid,
            status=404,
            cls="InvalidRequestError",
            code="resource_missing",
            param="id",
            message=f"No such {noun}: '{oid}'",
        )
    t.fails(
        "customers.list",
        params={"limit": 101},
        status=400,
        param="limit",  # message text unverified at Stripe: not checked
    )
    cus = customer(t)
    t.fails(
        "customers.retrieve",
        cus["id"],
        params={"expand": ["nonexistent_field"]},
        status=400,
        message="This property cannot be expanded (nonexistent_field).",
        only_emulator=("message",),  # text unverified at Stripe
    )


@scenario(
    "auth.401",
    "invalid API key: 401 with a masked key; publishable key 403; bad Stripe-Version",
    area="errors",
)
def auth_401(t: T) -> None:
    bad = "sk_live_" + uuid.uuid4().hex  # invalid on the emulator and at Stripe alike
    t.as_key(bad)
    t.fails(
        "customers.list",
        status=401,
        cls="AuthenticationError",
        type="invalid_request_error",
        code=None,
        message=f"Invalid API Key provided: sk_live_{'*' * (len(bad) - 12)}{bad[-4:]}",
    )
    if t.emulator:  # at Stripe a made-up pk_ key is simply invalid (401)
        t.as_key("pk_test_" + uuid.uuid4().hex)
        t.fails(
            "customers.list",
            status=403,
            cls="PermissionError",
            code="secret_key_required",
            message="This API call cannot be made with a publishable API key. Please use a secret "
            "API key. You can find a list of your API keys at "
            "https://dashboard.stripe.com/account/apikeys.",
        )
    t.restore_key()
    t.call("customers.list", params={"limit": 1})
    t.fails(
        "customers.list",
        api_version="2019-13-45",
        status=400,
        cls="InvalidRequestError",
        message="Invalid Stripe API version: 2019-13-45",
    )


@scenario("idempotency", "Idempotency-Key replay, Idempotent-Replayed, mismatch", area="core")
def idempotency(t: T) -> None:
    key = f"conformance-{uuid.uuid4()}"
    email = f"idem-{uid()}@example.com"
    first = t.call("customers.create", params={"email": email}, idempotency_key=key)
    t.defer("customers.delete", first["id"])
    first_req = t.header("Request-Id")
    t.eq(t.header("Idempotency-Key"), key, "the Idempotency-Key is echoed")
    t.check(t.header("Idempotent-Replayed") in (None, "false"), "first call is not a replay")
    again = t.call("customers.create", params={"email": email}, idempotency_key=key)
    t.eq(again, first, "replay returns the same customer")
    t.eq(t.header("Idempotent-Replayed"), "true", "Idempotent-Replayed header on replay")
    t.eq(t.header("Original-Request"), first_req, "Original-Request = first Request-Id")
    t.check(t.header("Request-Id") != first_req, "replay has a new Request-Id")
    listed = t.call("customers.list", params={"email": email})
    t.eq(len(listed["data"]), 1, "the replay created nothing")
    t.fails(
        "customers.create",
        params={"email": "other-" + email},
        idempotency_key=key,
        status=400,
        cls="IdempotencyError",
        type="idempotency_error",
        message=IDEMPOTENCY_MISMATCH.format(key=key),
    )
    # Stripe answers the mismatch without a code (wire-format.md §10)
    t.check(
        "code" not in t.last[-1].body["error"], "no code on idempotency_error", emulator_only=True
    )


@scenario("pagination.auto", "list pages, has_more, url and SDK auto-paging", area="core")
def pagination(t: T) -> None:
    email = f"page-{uid()}@example.com"
    ids = [customer(t, email=email, name=f"c{i}")["id"] for i in range(5)]
    newest_first = list(reversed(ids))
    page = t.call("customers.list", params={"email": email, "limit": 2})
    t.eq(page["object"], "list", "list object")
    t.eq(page["url"], "/v1/customers", "list url")
    t.eq([c["id"] for c in page["data"]], newest_first[:2], "first page, newest first")
    t.eq(page["has_more"], True, "has_more on the first page")
    nxt = t.call("customers.list", params={"email": email, "limit": 2, "starting_after": ids[3]})
    t.eq([c["id"] for c in nxt["data"]], newest_first[2:4], "starting_after page")
    back = t.call("customers.list", params={"email": email, "limit": 2, "ending_before": ids[2]})
    t.eq([c["id"] for c in back["data"]], newest_first[:2], "ending_before page")
    every = t.call("customers.list", params={"email": email, "limit": 2}, paging="auto")
    t.eq([c["id"] for c in every], newest_first, "auto-paging yields every customer once")
    gets = [ex for ex in t.last if ex.method == "GET" and ex.path == "/v1/customers"]
    t.eq(len(gets), 3, "auto-paging made 3 requests (2+2+1)")
    t.check("starting_after" in dict(gets[1].query_params()), "auto-paging sends starting_after")


@scenario("expand", "expand on retrieve, create and lists (data.*, nested)", area="core")
def expand(t: T) -> None:
    cus = customer(t, name="Expand")
    prod = product(t)
    price = licensed_price(t, prod["id"])
    sub = subscribe(t, cus["id"], price["id"], expand=["customer"])
    t.eq(sub["customer"]["id"], cus["id"], "create with expand[]=customer")
    got = t.call(
        "subscriptions.retrieve", sub["id"], params={"expand": ["items.data.price.product"]}
    )
    t.eq(got["customer"], cus["id"], "not expanded unless asked")
    t.eq(got["items"]["data"][0]["price"]["product"]["id"], prod["id"], "items.data.price.product")
    listed = t.call(
        "subscriptions.list", params={"customer": cus["id"], "expand": ["data.customer"]}
    )
    t.eq([s["customer"]["id"] for s in listed["data"]], [cus["id"]], "list expand data.customer")
    t.call("subscriptions.cancel", sub["id"])
