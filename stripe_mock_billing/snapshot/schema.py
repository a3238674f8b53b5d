"""The account snapshot format: its name and version, the Namespace fields that are not state,
the allow-list of classes a snapshot may hold (`ALLOWED`), the class each table holds
(`TABLES`), the declared fields of the column stores that are no dataclass (`PLAIN_FIELDS`),
and the class lookup an import goes through (`_class`, which refuses anything not allowed).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from ..store import Namespace

FORMAT = "stripe-mock-billing/account-snapshot"
FORMAT_VERSION = 1
# Namespace fields that are not state: identity, locks, caches and control-API traffic records
SKIP_FIELDS = frozenset(
    {
        "api_key",
        "lock",
        "idem_lock",
        "idempotency",
        "recent_requests",
        "journal",
        "faults",
        "writes",
    }
)
PACKAGE = __name__.split(".")[0]
_TAGS = ("$id", "$ref", "$decimal", "$array", "$set", "$frozenset", "$tuple", "$dict", "$enum")


class SnapshotError(Exception):
    """A value that cannot be exported, or a snapshot that cannot be imported."""


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# Every class a snapshot may hold. A class not listed here is refused on import (a new table's
# class must be added, with its table in TABLES): tests/unit/test_snapshot.py checks the list.
_D, _B = PACKAGE + ".domain.", PACKAGE + ".billing."
ALLOWED = frozenset(
    {
        PACKAGE + ".config:AccountSettings",
        _D + "customers:Customer",
        _D + "products:Product",
        _D + "prices:Price",
        _D + "prices:Recurring",
        _D + "pricing:Tier",
        _D + "pricing:TransformQuantity",
        _D + "pricing:RatingPrice",
        _D + "subscriptions:Subscription",
        _D + "subscriptions:SubscriptionItem",
        _D + "subscriptions:PendingUpdate",
        _D + "invoices:Invoice",
        _D + "invoices:InvoiceLine",
        _D + "invoices:ItemReason",
        _D + "invoiceitems:InvoiceItem",
        _D + "payment_methods:PaymentMethod",
        _D + "test_clocks:TestClock",
        _D + "meters:Meter",
        _D + "events:Event",
        _D + "webhook_endpoints:WebhookEndpoint",
        _D + "event_destinations:EventDestination",
        _D + "event_destinations:PingEvent",
        _D + "credit_grants:CreditGrant",
        _D + "credit_grants:CreditBalanceTransaction",
        _D + "alerts:Alert",
        _B + "state:EngineState",
        _B + "usage:ItemUsage",
        _B + "meter_usage:MeterEventStore",
        _B + "meter_usage:CancelResult",
        _B + "meter_series:_Series",
        _B + "meter_identifiers:IdentifierIndex",
        _B + "meter_ingest:ErrorReport",
        _B + "meter_ingest:EventError",
        _B + "prorations:Proration",
    }
)
# the class each table holds (by id)
TABLES = {
    "customers": _D + "customers:Customer",
    "products": _D + "products:Product",
    "prices": _D + "prices:Price",
    "subscriptions": _D + "subscriptions:Subscription",
    "subscription_items": _D + "subscriptions:SubscriptionItem",
    "invoices": _D + "invoices:Invoice",
    "invoiceitems": _D + "invoiceitems:InvoiceItem",
    "payment_methods": _D + "payment_methods:PaymentMethod",
    "test_clocks": _D + "test_clocks:TestClock",
    "meters": _D + "meters:Meter",
    "events": _D + "events:Event",
    "webhook_endpoints": _D + "webhook_endpoints:WebhookEndpoint",
    "event_destinations": _D + "event_destinations:EventDestination",
    "usage": _B + "usage:ItemUsage",
    "credit_grants": _D + "credit_grants:CreditGrant",
    "credit_balance_transactions": _D + "credit_grants:CreditBalanceTransaction",
    "alerts": _D + "alerts:Alert",
}
# the declared fields of the classes that are no dataclass (column stores), as annotations
PLAIN_FIELDS: dict[str, dict[str, str]] = {
    _B + "usage:ItemUsage": {
        "_ts": "array",
        "_qty": "list[int]",
        "_prefix": "list[int]",
        "_pvalid": "int",
        "_bmax": "list[int]",
        "_pending": "dict[int, int]",
        "records": "int",
    },
    _B + "meter_usage:MeterEventStore": {
        "_meters": "dict[str, dict[str, _Series]]",
        "_series": "list[_Series]",
        "_owners": "list[tuple[str, str]]",
        "_identifiers": "IdentifierIndex",
        "_count": "int",
    },
    _B + "meter_series:_Series": {
        "sid": "int",
        "width": "int | None",
        "ts": "array",
        "values": "array",
        "received": "array",
        "scale": "int | None",
        "cancelled": "set[int]",
        "winners": "dict[int, int] | None",
        "order": "array | None",
        "view": "None",
    },
    _B + "meter_identifiers:IdentifierIndex": {
        "_keys": "array",
        "_refs": "array",
        "_mask": "int",
        "_used": "int",
    },
}


def _class(name: Any) -> type:
    if not isinstance(name, str) or ":" not in name:
        raise SnapshotError(f"bad class reference {name!r}")
    module, _, qual = name.partition(":")
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        raise SnapshotError(f"class {name} is outside {PACKAGE}")
    if name not in ALLOWED:
        raise SnapshotError(f"class {name} is not part of the snapshot format")
    try:
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise SnapshotError(f"unknown class {name}") from None
    if not isinstance(obj, type):
        raise SnapshotError(f"{name} is not a class")
    return obj


def state_fields() -> list[str]:
    """Names of the Namespace fields that make up an account's state."""
    return [f.name for f in dataclasses.fields(Namespace) if f.name not in SKIP_FIELDS]
