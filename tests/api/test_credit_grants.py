"""Credit grants through the SDK: create / retrieve / update / list / expire / void, version
gates, the unused-grant limit, and every error path."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import DAY, JAN1, advance, licensed_price
from tests.api.credit_helpers import balance, clocked, grant, ledger, meter, meter_price
from tests.conftest import err_of, make_client

AMOUNT = {"type": "monetary", "monetary": {"currency": "usd", "value": 1000}}
METERED = {"scope": {"price_type": "metered"}}


def _err(exc: pytest.ExceptionInfo[stripe.StripeError], status: int = 400) -> dict[str, Any]:
    assert exc.value.http_status == status
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    return e


def test_create_renders_the_grant(client: stripe.StripeClient) -> None:
    clk, cus = clocked(client)
    g = grant(
        client,
        cus.id,
        1000,
        name="Purchased Credits",
        metadata={"order": "42"},
        expires_at=JAN1 + 30 * DAY,
        priority=10,
    )
    assert g.id.startswith("credgr_")
    assert g.object == "billing.credit_grant"
    assert g.amount.monetary.value == 1000 and g.amount.monetary.currency == "usd"
    assert g.applicability_config.scope.price_type == "metered"
    assert g.category == "paid"
    assert g.customer == cus.id
    assert g.test_clock == clk.id
    assert g.effective_at == JAN1  # the customer's clock time
    assert g.created == JAN1
    assert g.expires_at == JAN1 + 30 * DAY
    assert g.priority == 10
    assert g.name == "Purchased Credits"
    assert g.metadata.to_dict() == {"order": "42"}
    assert g.voided_at is None
    assert client.v1.billing.credit_grants.retrieve(g.id).to_dict() == g.to_dict()
    assert balance(client, cus.id) == (1000, 1000)
    assert ledger(client, cus.id) == [("credits_granted", 1000)]


def test_defaults_priority_50_and_category_paid_on_clover(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    g = client.v1.billing.credit_grants.create(
        {"customer": cus.id, "amount": AMOUNT, "applicability_config": METERED}  # type: ignore[typeddict-item]
    )
    assert g.priority == 50 and g.category == "paid"
    assert g.test_clock is None and g.expires_at is None


def test_price_scope(client: stripe.StripeClient) -> None:
    m = meter(client)
    price = meter_price(client, m.id)
    cus = client.v1.customers.create({})
    g = grant(client, cus.id, applicability_config={"scope": {"prices": [{"id": price.id}]}})
    assert g.applicability_config.scope.prices[0].id == price.id
    assert "price_type" not in g.applicability_config.scope


def test_update_expires_at_and_metadata(client: stripe.StripeClient) -> None:
    _, cus = clocked(client)
    g = grant(client, cus.id, metadata={"a": "1"})
    g2 = client.v1.billing.credit_grants.update(
        g.id, {"expires_at": JAN1 + 10 * DAY, "metadata": {"b": "2"}}
    )
    assert g2.expires_at == JAN1 + 10 * DAY
    assert g2.metadata.to_dict() == {"a": "1", "b": "2"}
    g3 = client.v1.billing.credit_grants.update(g.id, {"expires_at": ""})  # type: ignore[typeddict-item]
    assert g3.expires_at is None


def test_update_events(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    g = grant(client, cus.id)
    client.v1.billing.credit_grants.update(g.id, {"metadata": {"k": "v"}})
    evs = client.v1.events.list({"limit": 10}).data
    types = [e.type for e in evs]
    assert types[:3] == [
        "billing.credit_grant.updated",
        "billing.credit_balance_transaction.created",
        "billing.credit_grant.created",
    ]
    assert evs[0].data.previous_attributes.to_dict()["metadata"] == {"k": None}


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": {"type": "monetary", "monetary": {"currency": "usd", "value": 5}}}, "amount"),
        ({"category": "promotional"}, "category"),
        ({"priority": 1}, "priority"),
        ({"applicability_config": METERED}, "applicability_config"),
        ({"effective_at": JAN1}, "effective_at"),
        ({"name": "x"}, "name"),
    ],
)
def test_update_of_a_read_only_field(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    cus = client.v1.customers.create({})
    g = grant(client, cus.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.update(g.id, params)  # type: ignore[arg-type]
    e = _err(exc)
    assert e["code"] == "parameter_unknown"
    assert e["param"] == param
    assert e["message"] == f"Received unknown parameter: {param}"


def test_list_by_customer_newest_first(client: stripe.StripeClient) -> None:
    a = client.v1.customers.create({})
    b = client.v1.customers.create({})
    g1, g2 = grant(client, a.id), grant(client, a.id)
    g3 = grant(client, b.id)
    listed = client.v1.billing.credit_grants.list({"customer": a.id})
    assert [g.id for g in listed.data] == [g2.id, g1.id]
    assert listed.url == "/v1/billing/credit_grants"
    page = client.v1.billing.credit_grants.list({"customer": a.id, "limit": 1})
    assert [g.id for g in page.data] == [g2.id] and page.has_more
    assert [g.id for g in client.v1.billing.credit_grants.list({"customer": b.id}).data] == [g3.id]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.list({})
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "customer",
        "Missing required param: customer.",
    )


def test_expire_writes_credits_expired(client: stripe.StripeClient) -> None:
    _, cus = clocked(client)
    g = grant(client, cus.id, 700)
    out = client.v1.billing.credit_grants.expire(g.id)
    assert out.expires_at == JAN1
    assert ledger(client, cus.id) == [("credits_granted", 700), ("credits_expired", -700)]
    assert balance(client, cus.id) == (0, 0)


def test_expiry_on_the_clock(client: stripe.StripeClient) -> None:
    clk, cus = clocked(client)
    grant(client, cus.id, 700, expires_at=JAN1 + DAY)
    advance(client, clk.id, JAN1 + DAY - 1)
    assert ledger(client, cus.id) == [("credits_granted", 700)]
    advance(client, clk.id, JAN1 + DAY)
    assert ledger(client, cus.id) == [("credits_granted", 700), ("credits_expired", -700)]
    txns = client.v1.billing.credit_balance_transactions.list({"customer": cus.id, "limit": 1})
    (txn,) = txns.data
    assert txn.effective_at == JAN1 + DAY and txn.test_clock == clk.id


def test_void_writes_credits_voided(client: stripe.StripeClient) -> None:
    _, cus = clocked(client)
    g = grant(client, cus.id, 700)
    out = client.v1.billing.credit_grants.void_grant(g.id)
    assert out.voided_at == JAN1
    assert ledger(client, cus.id) == [("credits_granted", 700), ("credits_voided", -700)]
    assert balance(client, cus.id) == (0, 0)


def test_pending_grant_counts_in_no_balance(client: stripe.StripeClient) -> None:
    clk, cus = clocked(client)
    grant(client, cus.id, 700, effective_at=JAN1 + DAY)
    assert balance(client, cus.id) == (0, 0)
    advance(client, clk.id, JAN1 + DAY)
    assert balance(client, cus.id) == (700, 700)


def test_balance_summary_by_grant(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    g1 = grant(client, cus.id, 300)
    grant(client, cus.id, 400)
    s = client.v1.billing.credit_balance_summary.retrieve(
        {"customer": cus.id, "filter": {"type": "credit_grant", "credit_grant": g1.id}}
    )
    assert s.object == "billing.credit_balance_summary" and s.customer == cus.id
    assert s.balances[0].ledger_balance.monetary.value == 300
    assert balance(client, cus.id) == (700, 700)


def test_transactions_by_grant_and_retrieve(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    g1 = grant(client, cus.id, 300)
    grant(client, cus.id, 400)
    (t,) = client.v1.billing.credit_balance_transactions.list(
        {"customer": cus.id, "credit_grant": g1.id}
    ).data
    assert t.id.startswith("cbtxn_") and t.credit_grant == g1.id
    assert t.credit.type == "credits_granted" and t.debit is None
    got = client.v1.billing.credit_balance_transactions.retrieve(t.id)
    assert got.to_dict() == t.to_dict()
    ex = client.v1.billing.credit_balance_transactions.retrieve(t.id, {"expand": ["credit_grant"]})
    assert ex.credit_grant.id == g1.id  # type: ignore[union-attr]


def test_the_101st_unused_grant_is_refused(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    first = [grant(client, cus.id, 1) for _ in range(100)]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        grant(client, cus.id, 1)
    e = _err(exc)
    assert e["param"] == "customer" and e.get("code") is None
    assert e["message"] == (
        f"The customer {cus.id} has reached the maximum of 100 unused credit grants."
    )
    client.v1.billing.credit_grants.void_grant(first[0].id)  # a voided grant is not unused
    grant(client, cus.id, 1)


# --- errors --------------------------------------------------------------------------------


def _create_error(client: stripe.StripeClient, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": AMOUNT,
        "applicability_config": METERED,
        "category": "paid",
        **params,
    }
    with pytest.raises(stripe.StripeError) as exc:
        client.v1.billing.credit_grants.create({k: v for k, v in body.items() if v is not None})  # type: ignore[arg-type]
    return _err(exc, 404 if exc.value.http_status == 404 else 400)


def test_both_price_type_and_prices(client: stripe.StripeClient) -> None:
    m = meter(client)
    price = meter_price(client, m.id)
    cus = client.v1.customers.create({})
    scope = {"scope": {"price_type": "metered", "prices": [{"id": price.id}]}}
    e = _create_error(client, customer=cus.id, applicability_config=scope)
    assert e["param"] == "applicability_config[scope]" and e.get("code") is None
    assert e["message"] == (
        "You must specify exactly one of `price_type` or `prices` in applicability_config[scope]."
    )


def test_neither_price_type_nor_prices(client: stripe.StripeClient) -> None:
    # an empty scope hash is not encoded at all: applicability_config is missing
    cus = client.v1.customers.create({})
    e = _create_error(client, customer=cus.id, applicability_config={"scope": {}})
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "applicability_config",
        "Missing required param: applicability_config.",
    )


def test_an_empty_prices_list(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    e = _create_error(client, customer=cus.id, applicability_config={"scope": {"prices": ""}})
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "applicability_config[scope][prices]",
        "applicability_config[scope][prices] must not be empty.",
    )


def test_a_licensed_price_in_prices(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    cus = client.v1.customers.create({})
    e = _create_error(
        client, customer=cus.id, applicability_config={"scope": {"prices": [{"id": price.id}]}}
    )
    assert e["param"] == "applicability_config[scope][prices]" and e.get("code") is None
    assert e["message"] == (
        f"The price {price.id} is not a metered price backed by a meter: credit grants apply "
        "only to metered prices with a meter."
    )


def test_an_unknown_price_in_prices(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    e = _create_error(
        client, customer=cus.id, applicability_config={"scope": {"prices": [{"id": "price_x"}]}}
    )
    assert e["code"] == "resource_missing"
    assert e["param"] == "applicability_config[scope][prices][0][id]"
    assert e["message"] == "No such price: 'price_x'"


def test_an_unknown_customer(client: stripe.StripeClient) -> None:
    e = _create_error(client, customer="cus_nope")
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "customer",
        "No such customer: 'cus_nope'",
    )


def test_missing_customer(client: stripe.StripeClient) -> None:
    e = _create_error(client)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "customer",
        "Missing required param: customer.",
    )


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True)])
def test_amount_value_at_least_1(client: stripe.StripeClient, value: int, ok: bool) -> None:
    cus = client.v1.customers.create({})
    amount = {"type": "monetary", "monetary": {"currency": "usd", "value": value}}
    if ok:
        assert grant(client, cus.id, value).amount.monetary.value == 1
        return
    e = _create_error(client, customer=cus.id, amount=amount)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "amount[monetary][value]",
        "Invalid amount[monetary][value]: must be greater than or equal to 1",
    )


@pytest.mark.parametrize(("priority", "ok"), [(-1, False), (0, True), (100, True), (101, False)])
def test_priority_range(client: stripe.StripeClient, priority: int, ok: bool) -> None:
    cus = client.v1.customers.create({})
    if ok:
        assert grant(client, cus.id, priority=priority).priority == priority
        return
    e = _create_error(client, customer=cus.id, priority=priority)
    assert e["param"] == "priority" and e.get("code") is None
    bound = "greater than or equal to 0" if priority < 0 else "less than or equal to 100"
    assert e["message"] == f"Invalid priority: must be {bound}"


def test_expires_before_effective(client: stripe.StripeClient) -> None:
    _, cus = clocked(client)
    e = _create_error(client, customer=cus.id, expires_at=JAN1)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "expires_at",
        "expires_at must be after effective_at.",
    )
    assert grant(client, cus.id, expires_at=JAN1 + 1).expires_at == JAN1 + 1


def test_missing_amount_monetary(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    e = _create_error(client, customer=cus.id, amount={"type": "monetary"})
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "amount[monetary]",
        "Missing required param: amount[monetary].",
    )


def test_unknown_grant(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.retrieve("credgr_nope")
    e = _err(exc, 404)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "id",
        "No such credit grant: 'credgr_nope'",
    )


def test_void_of_an_applied_grant(client: stripe.StripeClient) -> None:
    from tests.api.billing_helpers import FEB1
    from tests.api.credit_helpers import send, subscribe

    m = meter(client)
    price = meter_price(client, m.id)
    clk, cus = clocked(client)
    subscribe(client, cus.id, price.id)
    g = grant(client, cus.id, 100)
    send(client, cus.id, 5)
    advance(client, clk.id, FEB1 + 2 * 3600)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.void_grant(g.id)
    e = _err(exc)
    assert e.get("code") is None and e.get("param") is None
    assert e["message"] == (
        f"The credit grant {g.id} cannot be voided because its credits have been applied to "
        "an invoice. Only credit grants that were never applied can be voided."
    )


@pytest.mark.parametrize("first", ["void_grant", "expire"])
@pytest.mark.parametrize("second", ["void_grant", "expire"])
def test_void_or_expire_twice(client: stripe.StripeClient, first: str, second: str) -> None:
    cus = client.v1.customers.create({})
    g = grant(client, cus.id)
    getattr(client.v1.billing.credit_grants, first)(g.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        getattr(client.v1.billing.credit_grants, second)(g.id)
    e = _err(exc)
    state = "voided" if first == "void_grant" else "expired"
    verb = "be voided" if second == "void_grant" else "be expired"
    assert e.get("code") is None and e.get("param") is None
    assert e["message"] == f"The credit grant {g.id} is already {state}; it cannot {verb}."


def test_update_expires_at_in_the_past(client: stripe.StripeClient) -> None:
    _, cus = clocked(client)
    g = grant(client, cus.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.update(g.id, {"expires_at": JAN1})
    e = _err(exc)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "expires_at",
        "expires_at must be in the future.",
    )
    assert client.v1.billing.credit_grants.update(g.id, {"expires_at": JAN1 + 1}).expires_at


def test_summary_filter_errors(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_balance_summary.retrieve(
            {"customer": cus.id, "filter": {"type": "credit_grant"}}
        )
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "filter[credit_grant]",
        "Missing required param: filter[credit_grant].",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_balance_summary.retrieve({"customer": cus.id})  # type: ignore[typeddict-item]
    e = _err(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "filter")


def test_transactions_need_a_customer(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_balance_transactions.list({})
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "customer",
        "Missing required param: customer.",
    )


def test_customer_account_names_no_account(client: stripe.StripeClient) -> None:
    e = _create_error(client, customer_account="acct_x")
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "customer_account",
        "No such account: 'acct_x'",
    )


# --- versions ------------------------------------------------------------------------------


def _versioned(server: ThreadedServer, api_key: str, violations: list[str], v: str) -> Any:
    return make_client(server.url, api_key, violations, v)


def test_absent_before_2024_10_28(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    old = _versioned(server, api_key, schema_violations, "2024-09-30.acacia")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        old.v1.billing.credit_grants.list({"customer": "cus_x"})
    e = _err(exc, 404)
    assert e["message"].startswith("Unrecognized request URL (GET: /v1/billing/credit_grants)")


def test_2024_10_28_requires_category_and_knows_no_priority(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    v = _versioned(server, api_key, schema_violations, "2024-10-28.acacia")
    cus = v.v1.customers.create({})
    base = {"customer": cus.id, "amount": AMOUNT, "applicability_config": METERED}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        v.v1.billing.credit_grants.create(base)
    e = _err(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "category")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        v.v1.billing.credit_grants.create({**base, "category": "paid", "priority": 1})
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_unknown",
        "priority",
        "Received unknown parameter: priority",
    )
    g = v.v1.billing.credit_grants.create({**base, "category": "promotional"})
    assert "priority" not in g and g.category == "promotional"


def test_acacia_2025_02_24_has_priority(acacia: stripe.StripeClient) -> None:
    cus = acacia.v1.customers.create({})
    g = grant(acacia, cus.id, priority=3)
    assert g.priority == 3


def test_expire_and_void_emit_updated(client: stripe.StripeClient) -> None:
    _, cus = clocked(client)
    g = grant(client, cus.id, 700)
    client.v1.billing.credit_grants.expire(g.id)
    evs = client.v1.events.list({"limit": 2}).data
    assert [e.type for e in evs] == [
        "billing.credit_grant.updated",
        "billing.credit_balance_transaction.created",
    ]
    assert evs[0].data.previous_attributes.to_dict() == {"expires_at": None}
    assert evs[1].data.object.debit.type == "credits_expired"
    g2 = grant(client, cus.id, 100)
    client.v1.billing.credit_grants.void_grant(g2.id)
    (ev,) = client.v1.events.list({"limit": 1}).data
    assert ev.type == "billing.credit_grant.updated"
    assert ev.data.previous_attributes.to_dict() == {"voided_at": None}


def test_expand_customer(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"name": "Ada"})
    g = client.v1.billing.credit_grants.create(
        {  # type: ignore[typeddict-item]
            "customer": cus.id,
            "amount": AMOUNT,
            "applicability_config": METERED,
            "expand": ["customer"],
        }
    )
    assert g.customer.name == "Ada"  # type: ignore[union-attr]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.retrieve(g.id, {"expand": ["amount"]})
    e = _err(exc)
    assert (e["param"], e["message"]) == ("expand", "This property cannot be expanded (amount).")
