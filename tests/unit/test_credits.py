"""Billing credits math without HTTP: Stripe's grant order and how an invoice's lines draw on
the grants (billing/credits.py), table-driven."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from stripe_mock_billing.billing import credits
from stripe_mock_billing.config import AccountSettings
from stripe_mock_billing.domain.credit_grants import BY_CUSTOMER, CreditGrant
from stripe_mock_billing.domain.invoices import Invoice, InvoiceLine
from stripe_mock_billing.domain.meters import Meter
from stripe_mock_billing.store import Namespace


def _grant(gid: str, balance: int, **kw: object) -> CreditGrant:
    base: dict[str, object] = {
        "id": gid,
        "customer": "cus_1",
        "currency": "usd",
        "value": balance,
        "created": 0,
        "updated": 0,
        "effective_at": 0,
        "balance": balance,
    }
    base.update(kw)
    return CreditGrant(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grants", "order"),
    [
        # priority first (0 = applied first)
        ([("a", {"priority": 50}), ("b", {"priority": 10})], ["b", "a"]),
        # then the soonest expiry; a grant that never expires comes last
        ([("a", {}), ("b", {"expires_at": 500}), ("c", {"expires_at": 100})], ["c", "b", "a"]),
        # then promotional before paid
        ([("a", {"category": "paid"}), ("b", {"category": "promotional"})], ["b", "a"]),
        # then effective_at, then created
        ([("a", {"effective_at": 5}), ("b", {"effective_at": 1})], ["b", "a"]),
        ([("a", {"created": 9}), ("b", {"created": 3})], ["b", "a"]),
    ],
)
def test_sort_key(grants: list[tuple[str, dict[str, object]]], order: list[str]) -> None:
    objs = [_grant(gid, 100, **kw) for gid, kw in grants]
    assert [g.id for g in sorted(objs, key=credits.sort_key)] == order


def _ns(grants: list[CreditGrant]) -> Namespace:
    ns = Namespace(api_key="sk_test_unit", settings=AccountSettings())
    ns.meters["mtr_1"] = Meter(
        id="mtr_1", created=0, updated=0, display_name="m", event_name="m", formula="sum"
    )
    for pid, meter in (("price_m1", "mtr_1"), ("price_m2", "mtr_1"), ("price_legacy", None)):
        # only `recurring.meter` matters to credits: a stand-in, not a whole Price
        ns.prices[pid] = SimpleNamespace(id=pid, recurring=SimpleNamespace(meter=meter))
    for g in grants:
        ns.credit_grants[g.id] = g
        ns.extensions.setdefault(BY_CUSTOMER, {}).setdefault("cus_1", []).append(g.id)
    return ns


def _line(lid: str, price: str, amount: int, metered: bool = True) -> InvoiceLine:
    return InvoiceLine(
        id=lid,
        invoice="in_1",
        kind="subscription",
        amount=amount,
        currency="usd",
        description=None,
        period_start=0,
        period_end=100,
        price=price,
        metered=metered,
    )


def _invoice(lines: list[InvoiceLine]) -> Invoice:
    return Invoice(
        id="in_1",
        customer="cus_1",
        created=100,
        currency="usd",
        billing_reason="subscription_cycle",
        period_start=0,
        period_end=100,
        subscription="sub_1",
        lines=lines,
    )


@pytest.mark.parametrize(
    ("grants", "lines", "taken"),
    [
        # one grant, one line: never more than the line
        ([("g1", 1000, {})], [("l1", "price_m1", 1500)], [("l1", "g1", 1000)]),
        ([("g1", 5000, {})], [("l1", "price_m1", 1500)], [("l1", "g1", 1500)]),
        # drained in order, lines in invoice order
        (
            [("g1", 400, {"priority": 10}), ("g2", 1000, {})],
            [("l1", "price_m1", 300), ("l2", "price_m2", 500)],
            [("l1", "g1", 300), ("l2", "g1", 100), ("l2", "g2", 400)],
        ),
        # a price-scoped grant pays only its prices
        (
            [("g1", 1000, {"price_type": None, "prices": ["price_m2"]})],
            [("l1", "price_m1", 300), ("l2", "price_m2", 200)],
            [("l2", "g1", 200)],
        ),
        # legacy usage-record lines (no meter) and licensed lines are never paid
        ([("g1", 1000, {})], [("l1", "price_legacy", 300)], []),
        ([("g1", 1000, {})], [("l1", "price_m1", 300, False)], []),
        # eligibility by the invoice's period_end (100): effective_at <= 100 < expires_at
        ([("g1", 1000, {"effective_at": 101})], [("l1", "price_m1", 300)], []),
        ([("g1", 1000, {"effective_at": 100})], [("l1", "price_m1", 300)], [("l1", "g1", 300)]),
        ([("g1", 1000, {"expires_at": 100})], [("l1", "price_m1", 300)], []),
        ([("g1", 1000, {"expires_at": 101})], [("l1", "price_m1", 300)], [("l1", "g1", 300)]),
        # another currency, a voided grant
        ([("g1", 1000, {"currency": "eur"})], [("l1", "price_m1", 300)], []),
        ([("g1", 1000, {"voided_at": 5})], [("l1", "price_m1", 300)], []),
    ],
)
def test_plan(
    grants: list[tuple[str, int, dict[str, object]]],
    lines: list[tuple[object, ...]],
    taken: list[tuple[str, str, int]],
) -> None:
    ns = _ns([_grant(gid, bal, **kw) for gid, bal, kw in grants])
    inv = _invoice([_line(*ln) for ln in lines])  # type: ignore[arg-type]
    out = credits._plan(ns, inv, 100, {})
    assert [(ln.id, g.id, amount) for ln, g, amount in out] == taken
