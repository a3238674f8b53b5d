"""Billing credits, usage alerts and meter billing thresholds (docs/guides/credits.md,
docs/guides/alerts.md), on each SDK's pinned version where that version has the feature: credit
grants from `2024-10-28.acacia`, alerts from `2024-09-30.acacia`, `billing_thresholds` up to
acacia and again from `2025-05-28.basil`. Acacia responses of the credits and alerts endpoints
are not schema-validated (the legacy subset, 2024-04-10, predates them: the report lists them
as unvalidated); basil-or-later ones are."""

from __future__ import annotations

from typing import Any

from ..harness import T, scenario
from .billing import (
    HOUR,
    SEND_INVOICE,
    clock_start,
    clocked_customer,
    cycle_invoice,
    invoices_of,
    meter_price,
    usage_of,
)
from .common import DAY, customer, period, product, subscribe
from .meter_billing import classic
from .meters import event, new_meter

CREDITS = "2024-10-28"
ALERTS = "2024-09-30"
BASIL = "2025-03-31"
THRESHOLDS_BACK = "2025-05-28"


def _day(t: T) -> str:
    return t.version[:10]


def _available(t: T, cus: str, grant: str) -> int:
    summary = t.call(
        "credit_balance_summary.retrieve",
        params={"customer": cus, "filter": {"type": "credit_grant", "credit_grant": grant}},
    )
    t.eq(summary["object"], "billing.credit_balance_summary", "balance summary object")
    t.eq(len(summary["balances"]), 1, "one balance (usd)")
    return int(summary["balances"][0]["available_balance"]["monetary"]["value"])


@scenario(
    "credits.apply",
    "a 10 USD metered-scope grant pays 10 of a 15 USD meter invoice: amount_due 5, balance 0, "
    "a credits_applied debit",
    area="credits",
)
def credits_apply(t: T) -> None:
    if _day(t) < CREDITS:
        t.skip(f"no credit grants at {t.version}")
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    price = meter_price(t, product(t)["id"], meter["id"], 10)
    sub = subscribe(t, cus["id"], price["id"], **SEND_INVOICE, **classic(t))
    _, end = period(t, sub)
    grant = t.call(
        "credit_grants.create",
        params={
            "customer": cus["id"],
            "name": "Conformance credits",
            "amount": {"type": "monetary", "monetary": {"currency": "usd", "value": 1000}},
            "applicability_config": {"scope": {"price_type": "metered"}},
            "category": "paid",
        },
    )
    t.check(grant["id"].startswith("credgr_"), "credit grant id prefix")
    t.eq(
        [grant["object"], grant["customer"], grant["amount"]["monetary"]["value"]],
        ["billing.credit_grant", cus["id"], 1000],
        "the grant",
    )
    t.eq(grant["test_clock"], clk["id"], "the grant takes the customer's clock")
    t.eq(grant["effective_at"], t0, "effective at the clock's time", emulator_only=True)
    t.eq(grant["applicability_config"]["scope"]["price_type"], "metered", "applicability scope")
    got = t.call("credit_grants.retrieve", grant["id"])
    t.eq(got["id"], grant["id"], "retrieve")
    listed = t.call("credit_grants.list", params={"customer": cus["id"]})
    t.eq([g["id"] for g in listed["data"]], [grant["id"]], "list by customer")
    t.eventually(lambda: t.eq(_available(t, cus["id"], grant["id"]), 1000, "1000 available"))
    t.advance_clock(clk["id"], t0 + 10 * DAY)
    event(t, meter, cus["id"], 100, t0 + DAY)
    event(t, meter, cus["id"], 50, t0 + 2 * DAY)
    t.advance_clock(clk["id"], end + 2 * HOUR)  # past the period end and the 1 h grace

    def applied() -> dict[str, Any]:
        inv = t.call("invoices.retrieve", cycle_invoice(t, sub["id"], end)["id"])
        t.eq(inv["status"], "open", "the cycle invoice is finalized")
        t.eq(usage_of(t, inv, price["id"]), (150, 1500), "150 units at 10 cents")
        t.eq(
            [inv["subtotal"], inv["total"], inv["amount_due"]],
            [1500, 500, 500],
            "subtotal 1500, 1000 paid by credits: total and amount_due 500",
        )
        credits = inv["total_pretax_credit_amounts"]
        t.eq(
            [(c["type"], c["amount"]) for c in credits],
            [("credit_balance_transaction", 1000)],
            "total_pretax_credit_amounts",
        )
        return dict(inv)

    inv = t.eventually(applied)
    t.eq(_available(t, cus["id"], grant["id"]), 0, "nothing left available")
    ledger = t.call("credit_balance_transactions.list", params={"customer": cus["id"]})["data"]
    t.eq(
        [(tx["type"], (tx["debit"] or tx["credit"])["type"]) for tx in ledger],
        [("debit", "credits_applied"), ("credit", "credits_granted")],
        "ledger, newest first",
    )
    debit = ledger[0]
    t.check(debit["id"].startswith("cbtxn_"), "credit balance transaction id prefix")
    t.eq(
        [
            debit["credit_grant"],
            debit["debit"]["amount"]["monetary"]["value"],
            debit["debit"]["credits_applied"]["invoice"],
        ],
        [grant["id"], 1000, inv["id"]],
        "the credits_applied debit names the grant, 1000 cents and the invoice",
    )
    t.eq(
        inv["total_pretax_credit_amounts"][0]["credit_balance_transaction"],
        debit["id"],
        "the invoice names the debit",
    )
    one = t.call("credit_balance_transactions.retrieve", debit["id"])
    t.eq(one["id"], debit["id"], "retrieve a transaction")


def _triggered(t: T, alert_id: str, since: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = t.call(
        "events.list",
        params={"type": "billing.alert.triggered", "created": {"gte": since}, "limit": 100},
        paging="auto",
    )
    return [e for e in found if (e["data"]["object"].get("alert") or {}).get("id") == alert_id]


@scenario(
    "alerts.usage_threshold",
    "an alert gte=100 filtered on one customer: 99 units do not fire it, the 100th does, once",
    area="alerts",
)
def alerts_usage_threshold(t: T) -> None:
    if _day(t) < ALERTS:
        t.skip(f"no alerts at {t.version}")
    since = t.wall_now() - 300
    meter = new_meter(t)
    ada, bob = customer(t, name="Ada"), customer(t, name="Bob")
    alert = t.call(
        "alerts.create",
        params={
            "alert_type": "usage_threshold",
            "title": "100 units",
            "usage_threshold": {
                "gte": 100,
                "meter": meter["id"],
                "recurrence": "one_time",
                "filters": [{"type": "customer", "customer": ada["id"]}],
            },
        },
    )
    t.defer("alerts.archive", alert["id"])  # runs before the meter's deactivation
    t.check(alert["id"].startswith("alrt_"), "alert id prefix")
    t.eq(
        [alert["object"], alert["alert_type"], alert["status"]],
        ["billing.alert", "usage_threshold", "active"],
        "a new alert is active",
    )
    t.eq(alert["usage_threshold"]["gte"], 100, "usage_threshold.gte")
    t.eq(alert["usage_threshold"]["filters"][0]["customer"], ada["id"], "customer filter")
    got = t.call("alerts.retrieve", alert["id"])
    t.eq(got["id"], alert["id"], "retrieve")
    listed = t.call("alerts.list", params={"meter": meter["id"]})
    t.eq([a["id"] for a in listed["data"]], [alert["id"]], "list by meter")
    now = t.wall_now()
    event(t, meter, bob["id"], 500, now)  # another customer: filtered out
    event(t, meter, ada["id"], 60, now)
    event(t, meter, ada["id"], 39, now)
    t.eq(_triggered(t, alert["id"], since), [], "99 units (and Bob's 500) do not fire it")
    event(t, meter, ada["id"], 1, now)  # the 100th unit

    def fired() -> None:
        found = _triggered(t, alert["id"], since)
        t.eq(len(found), 1, "the 100th unit fires billing.alert.triggered once")
        obj = found[0]["data"]["object"]
        t.eq(obj["object"], "billing.alert_triggered", "data.object")
        t.eq([obj["customer"], obj["value"]], [ada["id"], 100], "customer and value")

    t.eventually(fired)
    event(t, meter, ada["id"], 1000, now)
    t.eq(len(_triggered(t, alert["id"], since)), 1, "one_time: no second event")


@scenario(
    "thresholds.meter_amount_gte",
    "billing_thresholds[amount_gte] on a meter-priced subscription: a threshold invoice, and "
    "the period-end invoice bills only the usage after it",
    area="thresholds",
)
def thresholds_meter_amount_gte(t: T) -> None:
    if BASIL <= _day(t) < THRESHOLDS_BACK:
        t.skip(f"no billing_thresholds at {t.version}")
    t0 = clock_start(t)
    clk, cus = clocked_customer(t, t0)
    meter = new_meter(t)
    price = meter_price(t, product(t)["id"], meter["id"], 1)
    sub = subscribe(
        t,
        cus["id"],
        price["id"],
        billing_thresholds={"amount_gte": 1000},
        **SEND_INVOICE,
        **classic(t),
    )
    t.eq(sub["billing_thresholds"]["amount_gte"], 1000, "billing_thresholds.amount_gte")
    _, end = period(t, sub)
    t.advance_clock(clk["id"], t0 + 5 * DAY)
    event(t, meter, cus["id"], 999, t0 + DAY)
    t.check(
        all(i["billing_reason"] != "subscription_threshold" for i in invoices_of(t, sub["id"])),
        "999 cents: no threshold invoice",
    )
    event(t, meter, cus["id"], 1, t0 + 2 * DAY)  # reaches 1000

    def threshold_invoice() -> dict[str, Any]:
        hit = [
            i for i in invoices_of(t, sub["id"]) if i["billing_reason"] == "subscription_threshold"
        ]
        t.eq(len(hit), 1, "one subscription_threshold invoice")
        t.eq(hit[0]["threshold_reason"]["amount_gte"], 1000, "threshold_reason.amount_gte")
        t.eq(usage_of(t, hit[0], price["id"]), (1000, 1000), "the threshold invoice bills 1000")
        t.eq(hit[0]["total"], 1000, "threshold invoice total")
        return dict(hit[0])

    t.eventually(threshold_invoice)
    t.advance_clock(clk["id"], t0 + 10 * DAY)
    event(t, meter, cus["id"], 200, t0 + 7 * DAY)
    t.advance_clock(clk["id"], end + 2 * HOUR)

    def cycle() -> None:
        inv = t.call("invoices.retrieve", cycle_invoice(t, sub["id"], end)["id"])
        t.eq(inv["status"], "open", "the cycle invoice is finalized")
        t.eq(usage_of(t, inv, price["id"]), (200, 200), "only the usage after the threshold")
        t.eq(inv["total"], 200, "the threshold usage is not billed twice")

    t.eventually(cycle)
    thresholds = [
        i for i in invoices_of(t, sub["id"]) if i["billing_reason"] == "subscription_threshold"
    ]
    t.eq(len(thresholds), 1, "still one threshold invoice")
