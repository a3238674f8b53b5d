"""Control API for billing credits and usage alerts (emulator-only, `/_mock/...`).

- `GET /_mock/credits/<customer>`: the customer's credit balances per currency (`available`,
  `ledger`, as `credit_balance_summary` computes them at the customer's clock time) and its
  grants with their remaining balance;
- `GET /_mock/alerts/triggered[?customer=cus_...]`: every alert firing (alert, customer, value),
  in alert creation order.
Read by `StripeMock.credit_balance` / `StripeMock.alerts_triggered` and the pytest plugin.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from . import clock
from .billing import alerts, credits
from .control import _account, _list
from .domain.credit_grants import grants_of
from .domain.customers import get_customer
from .errors import unknown_params
from .wire.render import json_response

control_billing = Blueprint("control_billing", __name__)


@control_billing.get("/_mock/credits/<cid>")
def credit_state(cid: str) -> Response:
    """The customer's credit balances and grants."""
    space = _account()
    with space.lock:
        get_customer(space, cid)
        now = clock.customer_now(space, cid)
        credits.settle_customer(space, cid, now)
        grants = grants_of(space, cid)
        rows = credits.balances(space, cid, grants, now)
        body = {
            "object": "_mock.credit_balance",
            "customer": cid,
            "balances": [{"currency": c, "available": a, "ledger": led} for c, a, led in rows],
            "grants": [
                {
                    "id": g.id,
                    "currency": g.currency,
                    "balance": g.balance,
                    "voided": g.voided_at is not None,
                    "expired": g.expired,
                }
                for g in grants
            ],
        }
    return json_response(body)


@control_billing.get("/_mock/alerts/triggered")
def alerts_triggered() -> Response:
    """Every alert firing of the account (optionally of one customer)."""
    space = _account()
    unknown = sorted(k for k in request.args if k != "customer")
    if unknown:
        raise unknown_params(unknown)
    with space.lock:
        rows = alerts.fired(space, request.args.get("customer") or None)
    data = [{"alert": a, "customer": c, "value": v} for a, c, v in rows]
    return _list(data, "/_mock/alerts/triggered")
