"""Logical operations -> each SDK's real method (or its raw-request path where the SDK has none).

A scenario calls `t.call("usage_records.create", si_id, params)`; this table says that
stripe-python 11.6.1 runs `client.subscription_items.usage_records.create(si, params)`,
stripe-node 17.7.0 runs `stripe.subscriptionItems.createUsageRecord(si, params)`, and the two
current SDKs (16.1.0, node 23), which no longer have usage-record methods, send the same request
through `client.raw_request` / `stripe.rawRequest` with the acacia API version.
LIMITATIONS: raw requests cannot auto-page (the SDKs page typed lists only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    """One API operation as each SDK family calls it."""

    method: str  # HTTP method
    path: str  # path template with {0}, {1} for positional args
    py: str  # StripeClient service path (11.x form; 16.x adds "v1." for v1 services)
    node: str  # stripe-node resource path
    legacy: bool = False  # removed from current SDKs (basil+): they use a raw request
    node17_options: tuple[tuple[str, str], ...] = ()  # extra per-request options on node 17
    node23: str | None = None  # node 23's resource path where it was renamed


def _crud(name: str, node: str, *, delete: str | None = "delete", extra: str = "") -> dict[str, Op]:
    base = f"/v1/{extra or name}"
    ops = {
        f"{name}.create": Op("POST", base, f"{name}.create", f"{node}.create"),
        f"{name}.retrieve": Op("GET", base + "/{0}", f"{name}.retrieve", f"{node}.retrieve"),
        f"{name}.update": Op("POST", base + "/{0}", f"{name}.update", f"{node}.update"),
        f"{name}.list": Op("GET", base, f"{name}.list", f"{node}.list"),
    }
    if delete:
        ops[f"{name}.{delete}"] = Op(
            "DELETE",
            base + "/{0}",
            f"{name}.{delete}",
            f"{node}.{'del' if delete == 'delete' else delete}",
        )
    return ops


OPS: dict[str, Op] = {
    **_crud("customers", "customers"),
    **_crud("products", "products"),
    **_crud("prices", "prices", delete=None),
    **_crud("subscriptions", "subscriptions", delete="cancel"),
    **_crud("subscription_items", "subscriptionItems"),
    **_crud("webhook_endpoints", "webhookEndpoints"),
    # legacy usage records (acacia and earlier)
    "usage_records.create": Op(
        "POST",
        "/v1/subscription_items/{0}/usage_records",
        "subscription_items.usage_records.create",
        "subscriptionItems.createUsageRecord",
        legacy=True,
    ),
    "usage_record_summaries.list": Op(
        "GET",
        "/v1/subscription_items/{0}/usage_record_summaries",
        "subscription_items.usage_record_summaries.list",
        "subscriptionItems.listUsageRecordSummaries",
        legacy=True,
    ),
    # invoices
    "invoices.upcoming": Op(
        "GET",
        "/v1/invoices/upcoming",
        "invoices.upcoming",
        "invoices.retrieveUpcoming",
        legacy=True,
    ),
    "invoices.upcoming_lines": Op(
        "GET",
        "/v1/invoices/upcoming/lines",
        "invoices.upcoming_lines.list",
        "invoices.listUpcomingLines",
        legacy=True,
    ),
    "invoices.create_preview": Op(
        "POST", "/v1/invoices/create_preview", "invoices.create_preview", "invoices.createPreview"
    ),
    "invoices.retrieve": Op("GET", "/v1/invoices/{0}", "invoices.retrieve", "invoices.retrieve"),
    "invoices.list": Op("GET", "/v1/invoices", "invoices.list", "invoices.list"),
    "invoices.lines": Op(
        "GET", "/v1/invoices/{0}/lines", "invoices.line_items.list", "invoices.listLineItems"
    ),
    "invoices.finalize": Op(
        "POST",
        "/v1/invoices/{0}/finalize",
        "invoices.finalize_invoice",
        "invoices.finalizeInvoice",
    ),
    "invoices.pay": Op("POST", "/v1/invoices/{0}/pay", "invoices.pay", "invoices.pay"),
    "customers.payment_methods": Op(
        "GET",
        "/v1/customers/{0}/payment_methods",
        "customers.payment_methods.list",
        "customers.listPaymentMethods",
    ),
    # events
    "events.list": Op("GET", "/v1/events", "events.list", "events.list"),
    "events.retrieve": Op("GET", "/v1/events/{0}", "events.retrieve", "events.retrieve"),
    # test clocks
    "test_clocks.create": Op(
        "POST",
        "/v1/test_helpers/test_clocks",
        "test_helpers.test_clocks.create",
        "testHelpers.testClocks.create",
    ),
    "test_clocks.retrieve": Op(
        "GET",
        "/v1/test_helpers/test_clocks/{0}",
        "test_helpers.test_clocks.retrieve",
        "testHelpers.testClocks.retrieve",
    ),
    "test_clocks.list": Op(
        "GET",
        "/v1/test_helpers/test_clocks",
        "test_helpers.test_clocks.list",
        "testHelpers.testClocks.list",
    ),
    "test_clocks.delete": Op(
        "DELETE",
        "/v1/test_helpers/test_clocks/{0}",
        "test_helpers.test_clocks.delete",
        "testHelpers.testClocks.del",
    ),
    "test_clocks.advance": Op(
        "POST",
        "/v1/test_helpers/test_clocks/{0}/advance",
        "test_helpers.test_clocks.advance",
        "testHelpers.testClocks.advance",
    ),
    # billing meters (v1)
    **{
        f"meters.{verb}": Op(
            method,
            "/v1/billing/meters" + suffix,
            f"billing.meters.{verb}",
            f"billing.meters.{verb}",
        )
        for verb, method, suffix in (
            ("create", "POST", ""),
            ("retrieve", "GET", "/{0}"),
            ("update", "POST", "/{0}"),
            ("list", "GET", ""),
            ("deactivate", "POST", "/{0}/deactivate"),
            ("reactivate", "POST", "/{0}/reactivate"),
        )
    },
    "meters.event_summaries": Op(
        "GET",
        "/v1/billing/meters/{0}/event_summaries",
        "billing.meters.event_summaries.list",
        "billing.meters.listEventSummaries",
    ),
    "meter_events.create": Op(
        "POST",
        "/v1/billing/meter_events",
        "billing.meter_events.create",
        "billing.meterEvents.create",
    ),
    "meter_event_adjustments.create": Op(
        "POST",
        "/v1/billing/meter_event_adjustments",
        "billing.meter_event_adjustments.create",
        "billing.meterEventAdjustments.create",
    ),
    # billing credits (2024-10-28.acacia+)
    **{
        f"credit_grants.{verb}": Op(
            method,
            "/v1/billing/credit_grants" + suffix,
            f"billing.credit_grants.{verb}",
            f"billing.creditGrants.{verb}",
        )
        for verb, method, suffix in (
            ("create", "POST", ""),
            ("retrieve", "GET", "/{0}"),
            ("update", "POST", "/{0}"),
            ("list", "GET", ""),
        )
    },
    "credit_grants.expire": Op(
        "POST",
        "/v1/billing/credit_grants/{0}/expire",
        "billing.credit_grants.expire",
        "billing.creditGrants.expire",
    ),
    "credit_grants.void": Op(
        "POST",
        "/v1/billing/credit_grants/{0}/void",
        "billing.credit_grants.void_grant",
        "billing.creditGrants.voidGrant",
    ),
    "credit_balance_summary.retrieve": Op(
        "GET",
        "/v1/billing/credit_balance_summary",
        "billing.credit_balance_summary.retrieve",
        "billing.creditBalanceSummary.retrieve",
        node23="billing.creditBalanceSummaries.retrieve",  # renamed in stripe-node 23
    ),
    "credit_balance_transactions.list": Op(
        "GET",
        "/v1/billing/credit_balance_transactions",
        "billing.credit_balance_transactions.list",
        "billing.creditBalanceTransactions.list",
    ),
    "credit_balance_transactions.retrieve": Op(
        "GET",
        "/v1/billing/credit_balance_transactions/{0}",
        "billing.credit_balance_transactions.retrieve",
        "billing.creditBalanceTransactions.retrieve",
    ),
    # usage alerts (2024-09-30.acacia+)
    **{
        f"alerts.{verb}": Op(
            method,
            "/v1/billing/alerts" + suffix,
            f"billing.alerts.{verb}",
            f"billing.alerts.{verb}",
        )
        for verb, method, suffix in (
            ("create", "POST", ""),
            ("retrieve", "GET", "/{0}"),
            ("list", "GET", ""),
            ("activate", "POST", "/{0}/activate"),
            ("deactivate", "POST", "/{0}/deactivate"),
            ("archive", "POST", "/{0}/archive"),
        )
    },
    # billing meters (v2)
    "v2.meter_event_session.create": Op(
        "POST",
        "/v2/billing/meter_event_session",
        "v2.billing.meter_event_session.create",
        "v2.billing.meterEventSession.create",
    ),
    "v2.meter_event_stream.create": Op(
        "POST",
        "/v2/billing/meter_event_stream",
        "v2.billing.meter_event_stream.create",
        "v2.billing.meterEventStream.create",
        # 17.x hard-codes host meter-events.stripe.com for this method (SDK-FACTS.md)
        node17_options=(("host", "$HOST"),),
    ),
    "v2.meter_events.create": Op(
        "POST",
        "/v2/billing/meter_events",
        "v2.billing.meter_events.create",
        "v2.billing.meterEvents.create",
    ),
    "v2.events.list": Op("GET", "/v2/core/events", "v2.core.events.list", "v2.core.events.list"),
    "v2.events.retrieve": Op(
        "GET", "/v2/core/events/{0}", "v2.core.events.retrieve", "v2.core.events.retrieve"
    ),
    "v2.meter_event_adjustments.create": Op(
        "POST",
        "/v2/billing/meter_event_adjustments",
        "v2.billing.meter_event_adjustments.create",
        "v2.billing.meterEventAdjustments.create",
    ),
}


def runner_request(
    flavor: str,
    op_name: str,
    args: tuple[Any, ...],
    params: dict[str, Any] | None,
    options: dict[str, Any],
    paging: str | None,
) -> dict[str, Any]:
    """The runner request that performs `op_name` with the given SDK flavor."""
    op = OPS[op_name]
    current = flavor in ("py16", "node23")
    if op.legacy and current:
        if paging:
            raise ValueError(f"{op_name}: auto-paging is not available through a raw request")
        return {
            "cmd": "raw",
            "method": op.method.lower(),
            "path": op.path.format(*args),
            "params": params or {},
            "options": options,
        }
    opts = dict(options)
    if flavor.startswith("py"):
        path = op.py
        if flavor == "py16" and not path.startswith("v2."):
            path = "v1." + path
    else:
        path = op.node
        if flavor == "node17":
            opts.update(dict(op.node17_options))
        elif flavor == "node23" and op.node23:
            path = op.node23
    return {
        "cmd": "call",
        "path": path,
        "args": list(args),
        "params": params,
        "options": opts,
        "paging": paging,
    }
