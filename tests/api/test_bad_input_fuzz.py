"""Hypothesis fuzzing of the v1 endpoints over raw HTTP: random form bodies (malformed keys,
odd values, stray bytes) and plausible parameter trees through the SDK's own encoder. Never a
500, always Stripe's error envelope, and a rejected request changes nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from stripe_mock_billing.server import ThreadedServer
from tests.api.test_bad_input import FORM, assert_envelope, seed, send, snapshot
from tests.conftest import validated


@pytest.fixture
def seeded(server: ThreadedServer, api_key: str) -> dict[str, str]:
    """An account with a customer, product, price, subscription and item."""
    return seed(server, api_key)


# --- fuzzing ------------------------------------------------------------------------------------

NAMES = [
    "name",
    "email",
    "metadata",
    "items",
    "price",
    "quantity",
    "customer",
    "currency",
    "unit_amount",
    "unit_amount_decimal",
    "recurring",
    "interval",
    "usage_type",
    "product",
    "product_data",
    "expand",
    "limit",
    "starting_after",
    "tiers",
    "up_to",
    "billing_scheme",
    "tiers_mode",
    "billing_cycle_anchor",
    "backdate_start_date",
    "cancel_at_period_end",
    "subscription",
    "clear_usage",
    "active",
    "lookup_key",
    "transform_quantity",
    "divide_by",
    "round",
    "id",
    "deleted",
    "0",
    "1",
    "",
    "x",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "usd",
            "month",
            "metered",
            "tiered",
            "inf",
            "now",
            "true",
            "false",
            "1.5",
            "9" * 25,
            "cus_x",
            "price_x",
            "%FF",
            "[",
            "]",
            "customer",
            "data.customer",
            "graduated",
            "up",
            "sum",
        ]
    ),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def _key(parts: list[str], style: int) -> str:
    head, rest = parts[0], parts[1:]
    if style == 0:
        return head + "".join(f"[{p}]" for p in rest)
    if style == 1:
        return head + "".join(f"%5B{p}%5D" for p in rest)
    return head + "".join("[]" if p == "" else f"[{p}" for p in rest)  # malformed


PAIRS = st.lists(
    st.tuples(
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=4),
        st.integers(min_value=0, max_value=2),
        VALUES,
    ),
    max_size=12,
)
ENDPOINTS = st.sampled_from(
    [
        ("POST", "/v1/customers"),
        ("POST", "/v1/products"),
        ("POST", "/v1/prices"),
        ("POST", "/v1/subscriptions"),
        ("POST", "/v1/subscription_items"),
        ("POST", "/v1/customers/{cus}"),
        ("POST", "/v1/subscriptions/{sub}"),
        ("POST", "/v1/subscription_items/{si}"),
        ("GET", "/v1/customers"),
        ("GET", "/v1/prices"),
        ("GET", "/v1/subscriptions"),
        ("GET", "/v1/subscriptions/{sub}"),
        ("DELETE", "/v1/subscription_items/{si}"),
    ]
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(endpoint=ENDPOINTS, pairs=PAIRS, raw_tail=st.binary(max_size=8))
def test_fuzz_form_bodies_never_500(
    server: ThreadedServer,
    api_key: str,
    seeded: dict[str, str],
    endpoint: tuple[str, str],
    pairs: list[tuple[list[str], int, str]],
    raw_tail: bytes,
) -> None:
    method, path = endpoint
    path = path.format(**seeded)
    encoded = "&".join(f"{_key(parts, style)}={value}" for parts, style, value in pairs)
    data = encoded.encode("utf-8", "surrogatepass") + (b"&" + raw_tail if raw_tail else b"")
    before = state_before(server, api_key)
    if method == "POST":
        r = send(server, api_key, method, path, data)
    else:
        r = validated(
            requests.request(
                method,
                server.url + path + "?" + data.decode("latin-1"),
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=30,
            )
        )
    assert r.status_code < 500, (method, path, data, r.text[:500])
    unchanged_if_rejected(server, api_key, r, before, (method, path, data))
    if r.status_code < 400:
        json.loads(r.text)


# --- structured fuzzing: plausible parameter trees through the SDK's own encoder ---------------

INTS = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.sampled_from([0, 1, 1095, 1096, 2**31, 2**63 - 1, 2**63, -(2**63) - 1]),
)
TIMES = st.one_of(
    st.sampled_from(["now", "", "tomorrow", 0, -1, 2**63]),
    st.integers(min_value=-400, max_value=400).map(lambda d: 1_790_000_000 + d * 86_400),
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


TIER = st.fixed_dictionaries(
    {},
    optional={
        "up_to": st.one_of(INTS, st.just("inf"), st.just("")),
        "unit_amount": INTS,
        "unit_amount_decimal": st.sampled_from(["0.5", "1", "1e3", "", "-1", "0.0000000000001"]),
        "flat_amount": INTS,
    },
)
PRICE_PARAMS = st.fixed_dictionaries(
    {"currency": st.sampled_from(["usd", "eur", "USD", "xyz", ""])},
    optional={
        "unit_amount": INTS,
        "unit_amount_decimal": st.sampled_from(["0.05", "12", "1.1234567890123", "x"]),
        "billing_scheme": st.sampled_from(["per_unit", "tiered", "bogus", ""]),
        "tiers_mode": st.sampled_from(["graduated", "volume", ""]),
        "tiers": st.lists(TIER, max_size=4),
        "transform_quantity": st.fixed_dictionaries(
            {}, optional={"divide_by": INTS, "round": st.sampled_from(["up", "down", "x"])}
        ),
        "recurring": st.fixed_dictionaries(
            {},
            optional={
                "interval": st.sampled_from(["day", "week", "month", "year", "decade"]),
                "interval_count": INTS,
                "usage_type": st.sampled_from(["licensed", "metered", ""]),
                "aggregate_usage": st.sampled_from(["sum", "max", "last_ever", "nope"]),
                "meter": st.sampled_from(["mtr_nope", ""]),
            },
        ),
        "product": st.sampled_from(["{prod}", "prod_nope", ""]),
        "product_data": st.fixed_dictionaries({}, optional={"name": st.sampled_from(["p", ""])}),
        "lookup_key": st.sampled_from(["k1", "k2", ""]),
        "transfer_lookup_key": st.booleans(),
        "metadata": st.dictionaries(st.sampled_from(["a", "0", ""]), st.sampled_from(["", "v"])),
        "expand": st.lists(
            st.sampled_from(["product", "tiers", "nope", "product.nope"]), max_size=2
        ),
    },
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "price": st.sampled_from(["{price}", "{metered}", "{one_time}", "{yearly}", "price_nope"]),
        "quantity": INTS,
        "metadata": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["", "v"])),
        "billing_thresholds": st.fixed_dictionaries({}, optional={"usage_gte": INTS}),
    },
)
SUB_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "customer": st.sampled_from(["{cus}", "cus_nope", ""]),
        "items": st.lists(ITEM, max_size=3),
        "billing_cycle_anchor": TIMES,
        "backdate_start_date": TIMES,
        "trial_end": TIMES,
        "trial_period_days": INTS,
        "cancel_at_period_end": st.booleans(),
        "cancel_at": TIMES,
        "billing_thresholds": st.fixed_dictionaries({}, optional={"amount_gte": INTS}),
        "metadata": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["", "v"])),
        "expand": st.lists(
            st.sampled_from(["customer", "latest_invoice", "items.data.price.product", "x"]),
            max_size=2,
        ),
    },
)
UPDATE_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["{si}", "si_nope"]),
        "price": st.sampled_from(["{price}", "{metered}", "{yearly}", "price_nope"]),
        "quantity": INTS,
        "deleted": st.booleans(),
        "clear_usage": st.booleans(),
    },
)
SUB_UPDATE = st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(UPDATE_ITEM, max_size=3),
        "cancel_at_period_end": st.booleans(),
        "billing_cycle_anchor": st.sampled_from(["now", "unchanged", "later"]),
        "trial_end": TIMES,
        "metadata": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["", "v"])),
        "proration_behavior": st.sampled_from(["none", "always_invoice", "x"]),
    },
)
META = st.one_of(
    st.just(""),
    st.dictionaries(
        st.sampled_from(["a", "0", "k" * 41, ""]), st.sampled_from(["", "v", "x" * 501])
    ),
)
CUSTOMER = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["Ada", "", "n" * 300]),
        "email": st.sampled_from(["a@b.c", ""]),
        "balance": INTS,
        "address": st.one_of(
            st.just(""), st.fixed_dictionaries({}, optional={"city": st.just("P")})
        ),
        "preferred_locales": st.lists(st.sampled_from(["en", "fr", ""]), max_size=3),
        "invoice_settings": st.fixed_dictionaries(
            {}, optional={"default_payment_method": st.sampled_from(["pm_1", ""])}
        ),
        "test_clock": st.sampled_from(["clock_nope", ""]),
        "metadata": META,
        "expand": st.lists(st.sampled_from(["test_clock", "name", "x.y"]), max_size=2),
    },
)
PRODUCT = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["P", ""]),
        "id": st.sampled_from(["{prod}", "custom_1", "bad id", ""]),
        "active": st.booleans(),
        "default_price": st.sampled_from(["{price}", "{yearly}", "price_nope", ""]),
        "images": st.lists(st.sampled_from(["https://x", ""]), max_size=9),
        "statement_descriptor": st.sampled_from(["ok", "x" * 23]),
        "metadata": META,
        "expand": st.lists(st.sampled_from(["default_price", "name"]), max_size=2),
    },
)
LIST_QUERY = st.fixed_dictionaries(
    {},
    optional={
        "limit": INTS,
        "starting_after": st.sampled_from(["{cus}", "{price}", "{sub}", "nope", ""]),
        "ending_before": st.sampled_from(["{cus}", "{price}", "{sub}", "nope"]),
        "expand": st.lists(
            st.sampled_from(["data.customer", "data.product", "data.tiers", "customer", "x"]),
            max_size=2,
        ),
        "status": st.sampled_from(["all", "canceled", "nope"]),
        "type": st.sampled_from(["one_time", "recurring", "x"]),
        "recurring": st.fixed_dictionaries(
            {}, optional={"usage_type": st.sampled_from(["metered", "x"])}
        ),
        "customer": st.sampled_from(["{cus}", "cus_nope"]),
    },
)
QUERIES = st.tuples(
    st.sampled_from(
        [
            "/v1/customers",
            "/v1/prices",
            "/v1/subscriptions",
            "/v1/products",
            "/v1/subscription_items",
        ]
    ),
    LIST_QUERY,
)
STRUCTURED = st.one_of(
    st.tuples(st.just("/v1/customers"), CUSTOMER),
    st.tuples(st.just("/v1/customers/{cus}"), CUSTOMER),
    st.tuples(st.just("/v1/products"), PRODUCT),
    st.tuples(st.just("/v1/products/{prod}"), PRODUCT),
    st.tuples(st.just("/v1/prices"), PRICE_PARAMS),
    st.tuples(st.just("/v1/subscriptions"), SUB_PARAMS),
    st.tuples(st.just("/v1/subscriptions/{sub}"), SUB_UPDATE),
    st.tuples(
        st.just("/v1/subscription_items"), ITEM.map(lambda d: {**d, "subscription": "{sub}"})
    ),
    st.tuples(st.just("/v1/subscription_items/{si}"), ITEM),
)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if value.startswith("{") else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


# The account's exported state (GET /_mock/snapshot) as last seen, per key: hypothesis runs a
# test's examples one after the other on the same account, and after a rejected request the
# state is (checked to be) what it was, so the next example need not export it again.
_last_state: dict[str, dict[str, Any]] = {}


def state_before(server: ThreadedServer, key: str) -> dict[str, Any]:
    """The account's state before a request (exported unless known unchanged since)."""
    if key not in _last_state:
        _last_state[key] = snapshot(server, key)
    return _last_state[key]


def unchanged_if_rejected(
    server: ThreadedServer, key: str, r: Any, before: dict[str, Any], what: Any
) -> None:
    """A rejected request is in Stripe's envelope and changed nothing; an accepted one may have
    changed the account (its state is exported again before the next request)."""
    if r.status_code >= 400:
        assert_envelope(r)
        assert snapshot(server, key) == before, (what, r.text[:300])
    else:
        _last_state.pop(key, None)


@pytest.fixture
def rich(server: ThreadedServer, api_key: str, seeded: dict[str, str]) -> dict[str, str]:
    """`seeded` plus metered (acacia), one-time and yearly prices."""

    def post(body: str, version: str | None = None) -> str:
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": FORM}
        if version:
            headers["Stripe-Version"] = version
        r = validated(
            requests.post(server.url + "/v1/prices", data=body, headers=headers, timeout=10)
        )
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    base = "currency=usd&unit_amount=5&product_data[name]=x"
    return {
        **seeded,
        "metered": post(
            base + "&recurring[interval]=month&recurring[usage_type]=metered", "2025-02-24.acacia"
        ),
        "one_time": post(base),
        "yearly": post(base + "&recurring[interval]=year"),
    }


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=STRUCTURED, acacia=st.booleans())
def test_fuzz_structured_params_never_500(
    server: ThreadedServer,
    api_key: str,
    rich: dict[str, str],
    case: tuple[str, dict[str, Any]],
    acacia: bool,
) -> None:
    path, params = case
    path = path.format(**rich)
    body = urlencode(list(_api_encode(_fill(params, rich))))
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": FORM}
    if acacia:
        headers["Stripe-Version"] = "2025-02-24.acacia"
    before = state_before(server, api_key)
    r = validated(requests.post(server.url + path, data=body, headers=headers, timeout=30))
    assert r.status_code < 500, (path, body, r.text[:500])
    unchanged_if_rejected(server, api_key, r, before, (path, body))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=QUERIES)
def test_fuzz_list_queries_never_500(
    server: ThreadedServer,
    api_key: str,
    rich: dict[str, str],
    case: tuple[str, dict[str, Any]],
) -> None:
    path, params = case
    query = urlencode(list(_api_encode(_fill(params, rich))))
    r = validated(
        requests.get(
            f"{server.url}{path}?{query}",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
    )
    assert r.status_code < 500, (path, query, r.text[:500])
    if r.status_code >= 400:
        assert_envelope(r)
    else:
        assert r.json()["object"] == "list"
