"""Billing credits: `/v1/billing/credit_grants` (create, retrieve, update, list, expire, void),
`/v1/billing/credit_balance_summary` and `/v1/billing/credit_balance_transactions`.

Emulated (shared/spec/billing-credits.md §0-§4): the paths exist from `2024-10-28.acacia`
(older versions get Stripe's `Unrecognized request URL`); `priority` and
`applicability_config[scope][prices]` from `2025-02-24.acacia` (before: `parameter_unknown`);
`category` required until `2025-10-29.clover`, then optional (`paid`); `customer_account` from
`2025-12-15.clover`. A grant's `test_clock` is its customer's and `effective_at` defaults to
the customer's clock time. Money and time: billing/credits.py.

Choices where Stripe is unverified (messages ours):
- scope: exactly one of `price_type` / `prices` (400, param `applicability_config[scope]`);
  a listed price must be a metered price with a meter (400, param
  `applicability_config[scope][prices]`); an unknown one is `resource_missing` on its `[id]`;
- `expires_at` must be after `effective_at` (create) and in the future (update);
- `/void` of a grant an invoice used, `/void` or `/expire` of a voided or expired grant: 400;
- the 101st unused grant of a customer: 400, param `customer`;
- `customer_account` names a v2 Account, which this emulator has none of: 400
  `resource_missing`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import credits
from ..domain import events as event_log
from ..domain import versions
from ..domain.credit_grants import (
    GRANT_NOUN,
    TXN_NOUN,
    CreditBalanceSummary,
    CreditGrant,
    get_credit_grant,
    get_transaction,
    grants_of,
)
from ..domain.customers import get_customer
from ..errors import InvalidRequest, ResourceMissing, UnrecognizedURL, invalid_value, missing_param
from ..wire import pipeline as p
from ..wire.params import (
    LIST_PARAMS,
    Enum,
    Int,
    List,
    Metadata,
    Obj,
    Str,
    Timestamp,
    apply_metadata,
)
from ..wire.render import render_list, render_one
from .prices import CURRENCIES

credit_grants = Blueprint("credit_grants", __name__)

SCOPE = "applicability_config[scope]"


def _exists_in_version() -> None:
    """Billing credits do not exist before `2024-10-28.acacia`."""
    if not versions.has_credit_grants(p.api_version()):
        raise UnrecognizedURL(p.method(), p.path())


p.gate(credit_grants, _exists_in_version)


def _ts(**kw: Any) -> Timestamp:
    return Timestamp(allow_now=False, **kw)


def _create_spec(version: str) -> dict[str, Any]:
    scope: dict[str, Any] = {"price_type": Enum(nullable=False, values=("metered",))}
    if versions.has_credit_priority(version):
        scope["prices"] = List(item=Obj(fields={"id": Str(required=True, nullable=False)}))
    spec: dict[str, Any] = {
        "amount": Obj(
            required=True,
            nullable=False,
            fields={
                "type": Enum(required=True, nullable=False, values=("monetary",)),
                "monetary": Obj(
                    nullable=False,
                    fields={
                        "currency": Str(required=True, nullable=False),
                        "value": Int(required=True, nullable=False, min=1),
                    },
                ),
            },
        ),
        "applicability_config": Obj(
            required=True,
            nullable=False,
            fields={"scope": Obj(required=True, nullable=False, fields=scope)},
        ),
        "category": Enum(
            required=not versions.credit_category_optional(version),
            nullable=False,
            values=("paid", "promotional"),
        ),
        "customer": Str(
            required=not versions.has_customer_account(version), nullable=False, max_length=5000
        ),
        "effective_at": _ts(nullable=False),
        "expires_at": _ts(nullable=False),
        "metadata": Metadata(),
        "name": Str(nullable=False, max_length=100),
    }
    if versions.has_credit_priority(version):
        spec["priority"] = Int(nullable=False, min=0, max=100)
    if versions.has_customer_account(version):
        spec["customer_account"] = Str(nullable=False)
    return spec


UPDATE = {"expires_at": _ts(), "metadata": Metadata()}


def _list_spec(version: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {**LIST_PARAMS, **extra}
    spec["customer"] = Str(nullable=False, required=not versions.has_customer_account(version))
    if versions.has_customer_account(version):
        spec["customer_account"] = Str(nullable=False)
    return spec


def _customer_of(ns: Any, prm: dict[str, Any]) -> str:
    """The customer a request names (`customer`; a `customer_account` never exists here)."""
    if prm.get("customer_account") is not None:
        raise ResourceMissing(
            "account", prm["customer_account"], param="customer_account", in_path=False
        )
    cid = prm.get("customer")
    if cid is None:
        raise missing_param("customer")
    return get_customer(ns, cid, param="customer", in_path=False).id


def _scope(ns: Any, scope: dict[str, Any]) -> tuple[str | None, list[str] | None]:
    """(price_type, prices) of a valid scope, or Stripe's 400."""
    price_type, prices = scope.get("price_type"), scope.get("prices")
    if (price_type is None) == (prices is None):
        raise invalid_value(
            SCOPE, "You must specify exactly one of `price_type` or `prices` in " + SCOPE + "."
        )
    if prices is None:
        return price_type, None
    if not prices:
        raise invalid_value(f"{SCOPE}[prices]", f"{SCOPE}[prices] must not be empty.")
    out: list[str] = []
    for i, entry in enumerate(prices):
        pid = entry["id"]
        price = ns.prices.get(pid)
        if price is None:
            raise ResourceMissing("price", pid, param=f"{SCOPE}[prices][{i}][id]", in_path=False)
        if price.recurring is None or price.recurring.meter is None:
            raise invalid_value(
                f"{SCOPE}[prices]",
                f"The price {pid} is not a metered price backed by a meter: credit grants "
                "apply only to metered prices with a meter.",
            )
        if pid not in out:
            out.append(pid)
    return None, out


@credit_grants.post("/v1/billing/credit_grants")
def create_credit_grant() -> Response:
    """Create a credit grant for a customer."""
    ns = p.ns()
    prm = p.params(_create_spec(p.api_version()))
    amount = prm["amount"]
    if amount.get("monetary") is None:
        raise missing_param("amount[monetary]")
    currency = amount["monetary"]["currency"].lower()
    if currency not in CURRENCIES:
        raise invalid_value(
            "amount[monetary][currency]", f"Invalid currency: {amount['monetary']['currency']}."
        )
    price_type, prices = _scope(ns, prm["applicability_config"]["scope"])
    cid = _customer_of(ns, prm)
    now = clock.customer_now(ns, cid)
    effective = prm.get("effective_at", now)
    expires = prm.get("expires_at")
    if expires is not None and expires <= effective:
        raise invalid_value("expires_at", "expires_at must be after effective_at.")
    credits.settle_customer(ns, cid, now)
    if credits.unused_count(ns, cid, now) >= credits.MAX_UNUSED:
        raise InvalidRequest(
            f"The customer {cid} has reached the maximum of {credits.MAX_UNUSED} unused "
            "credit grants.",
            param="customer",
        )
    grant = CreditGrant(
        id=ids.new_id("billing.credit_grant"),
        customer=cid,
        currency=currency,
        value=amount["monetary"]["value"],
        created=now,
        updated=now,
        category=prm.get("category") or "paid",
        price_type=price_type,
        prices=prices,
        effective_at=effective,
        expires_at=expires,
        name=prm.get("name"),
        priority=prm.get("priority", 50),
        metadata=apply_metadata({}, prm.get("metadata") or {}),
        test_clock=ns.customers[cid].test_clock,
    )
    credits.create(ns, grant)
    return render_one(grant, p.ctx(), prm.get("expand"))


@credit_grants.get("/v1/billing/credit_grants/<gid>")
def retrieve_credit_grant(gid: str) -> Response:
    """Retrieve a credit grant."""
    ns = p.ns()
    grant = get_credit_grant(ns, gid)
    prm = p.params({})
    credits.settle(ns, grant, clock.customer_now(ns, grant.customer))
    return render_one(grant, p.ctx(), prm.get("expand"))


@credit_grants.post("/v1/billing/credit_grants/<gid>")
def update_credit_grant(gid: str) -> Response:
    """Update `expires_at` and `metadata` (nothing else is updatable)."""
    ns = p.ns()
    grant = get_credit_grant(ns, gid)
    prm = p.params(UPDATE)
    now = clock.customer_now(ns, grant.customer)
    credits.settle(ns, grant, now)
    before = event_log.snapshot(ns, grant)
    changed = False
    if "expires_at" in prm:
        if grant.voided_at is not None or grant.expired:
            raise InvalidRequest(
                f"The credit grant {grant.id} is already "
                f"{'voided' if grant.voided_at is not None else 'expired'}; its expires_at "
                "cannot change.",
                param="expires_at",
            )
        new = prm["expires_at"]
        if new is not None and new <= now:
            raise invalid_value("expires_at", "expires_at must be in the future.")
        changed = new != grant.expires_at
        grant.expires_at = new
    if "metadata" in prm:
        grant.metadata = apply_metadata(grant.metadata, prm["metadata"])
    if event_log.snapshot(ns, grant) != before:
        grant.updated = now
    credits.update(ns, grant, before, now, changed)
    return render_one(grant, p.ctx(), prm.get("expand"))


@credit_grants.get("/v1/billing/credit_grants")
def list_credit_grants() -> Response:
    """A customer's grants, newest first."""
    ns = p.ns()
    prm = p.params(_list_spec(p.api_version()))
    cid = _customer_of(ns, prm)  # one of customer / customer_account is needed (clover too)
    objs = list(reversed(grants_of(ns, cid)))
    credits.settle_customer(ns, cid)
    return render_list(objs, prm, p.ctx(), url="/v1/billing/credit_grants", noun=GRANT_NOUN)


def _state_change(gid: str, verb: str) -> tuple[Any, CreditGrant, dict[str, Any], int]:
    ns = p.ns()
    grant = get_credit_grant(ns, gid)
    prm = p.params({})
    now = clock.customer_now(ns, grant.customer)
    credits.settle(ns, grant, now)
    if grant.voided_at is not None:
        raise InvalidRequest(f"The credit grant {grant.id} is already voided; it cannot {verb}.")
    if grant.expired:
        raise InvalidRequest(f"The credit grant {grant.id} is already expired; it cannot {verb}.")
    return ns, grant, prm, now


@credit_grants.post("/v1/billing/credit_grants/<gid>/expire")
def expire_credit_grant(gid: str) -> Response:
    """Expire a grant now: its remaining balance is written off (`credits_expired`)."""
    ns, grant, prm, now = _state_change(gid, "be expired")
    credits.expire(ns, grant, now)
    return render_one(grant, p.ctx(), prm.get("expand"))


@credit_grants.post("/v1/billing/credit_grants/<gid>/void")
def void_credit_grant(gid: str) -> Response:
    """Void a grant no invoice has used (`credits_voided`)."""
    ns, grant, prm, now = _state_change(gid, "be voided")
    if grant.applied:
        raise InvalidRequest(
            f"The credit grant {grant.id} cannot be voided because its credits have been "
            "applied to an invoice. Only credit grants that were never applied can be voided."
        )
    credits.void(ns, grant, now)
    return render_one(grant, p.ctx(), prm.get("expand"))


# --- balances -----------------------------------------------------------------------------------


def _summary_spec(version: str) -> dict[str, Any]:
    scope: dict[str, Any] = {"price_type": Enum(nullable=False, values=("metered",))}
    if versions.has_credit_priority(version):
        scope["prices"] = List(item=Obj(fields={"id": Str(required=True, nullable=False)}))
    spec = _list_spec(version)
    for name in LIST_PARAMS:
        spec.pop(name)
    spec["filter"] = Obj(
        required=True,
        nullable=False,
        fields={
            "type": Enum(
                required=True, nullable=False, values=("applicability_scope", "credit_grant")
            ),
            "credit_grant": Str(nullable=False),
            "applicability_scope": Obj(nullable=False, fields=scope),
        },
    )
    return spec


def _filtered(ns: Any, cid: str, flt: dict[str, Any]) -> list[CreditGrant]:
    """The customer's grants a summary filter selects."""
    if flt["type"] == "credit_grant":
        gid = flt.get("credit_grant")
        if gid is None:
            raise missing_param("filter[credit_grant]")
        grant = get_credit_grant(ns, gid, param="filter[credit_grant]", in_path=False)
        if grant.customer != cid:
            raise ResourceMissing(GRANT_NOUN, gid, param="filter[credit_grant]", in_path=False)
        return [grant]
    scope = flt.get("applicability_scope")
    if scope is None:
        raise missing_param("filter[applicability_scope]")
    price_type, prices = scope.get("price_type"), scope.get("prices")
    if (price_type is None) == (prices is None):
        raise invalid_value(
            "filter[applicability_scope]",
            "You must specify exactly one of `price_type` or `prices` in "
            "filter[applicability_scope].",
        )
    grants = grants_of(ns, cid)
    if prices is None:
        return grants  # every grant applies to metered prices
    wanted = {e["id"] for e in prices}
    return [g for g in grants if g.prices is None or wanted & set(g.prices)]


@credit_grants.get("/v1/billing/credit_balance_summary")
def retrieve_credit_balance_summary() -> Response:
    """The customer's available and ledger balances, per currency."""
    ns = p.ns()
    prm = p.params(_summary_spec(p.api_version()))
    cid = _customer_of(ns, prm)
    grants = _filtered(ns, cid, prm["filter"])
    now = clock.customer_now(ns, cid)
    credits.settle_customer(ns, cid, now)
    summary = CreditBalanceSummary(cid, credits.balances(ns, cid, grants, now))
    return render_one(summary, p.ctx(), prm.get("expand"))


@credit_grants.get("/v1/billing/credit_balance_transactions")
def list_credit_balance_transactions() -> Response:
    """The ledger of a customer (or of one grant), newest first."""
    ns = p.ns()
    prm = p.params(_list_spec(p.api_version(), credit_grant=Str(nullable=False)))
    cid = _customer_of(ns, prm)
    credits.settle_customer(ns, cid)
    gid = prm.get("credit_grant")
    if gid is not None:
        grant = get_credit_grant(ns, gid, param="credit_grant", in_path=False)
        if grant.customer != cid:
            raise ResourceMissing(GRANT_NOUN, gid, param="credit_grant", in_path=False)
    txns = [
        t
        for t in reversed(ns.credit_balance_transactions.values())
        if t.customer == cid and (gid is None or t.credit_grant == gid)
    ]
    # Stripe's schema pins this list's `url` to the credit grants path (pattern
    # `^/v1/billing/credit_grants`), so that is what it says
    return render_list(txns, prm, p.ctx(), url="/v1/billing/credit_grants", noun=TXN_NOUN)


@credit_grants.get("/v1/billing/credit_balance_transactions/<tid>")
def retrieve_credit_balance_transaction(tid: str) -> Response:
    """Retrieve one ledger entry."""
    txn = get_transaction(p.ns(), tid)
    prm = p.params({})
    return render_one(txn, p.ctx(), prm.get("expand"))
