"""Export and import an account's state as JSON (seed data, snapshot / restore).

The encoding is generic, so tables added later keep working without changes here: every field
of the Namespace except its locks, caches and control-API state is walked. Dataclasses are
written field by field (`dataclasses.fields`), other classes of this package by their
`__slots__` / `__dict__` (the column-wise meter and usage stores included), or through their
own `to_snapshot()` / `from_snapshot(state)` when they define them. JSON-native values stay as
they are; everything else is tagged: `{"$decimal": "0.05"}`, `{"$array": "q", ...}` (base64 of
the machine values, byte order recorded), `{"$set": [...]}`, `{"$tuple": [...]}`,
`{"$dict": [[k, v], ...]}` for non-string keys, `{"$enum": ...}`, `{"$float": "inf"}`. Objects
referenced twice are written once (`"$id"`) and then by reference (`{"$ref": n}`), so shared
structures (e.g. a series both in an index and in a list) stay shared after import.

Import is pickle-free and accepts only the snapshot's own schema: classes come from an explicit
allow-list (`ALLOWED`, by `module:qualname`; an enum tag may only name an Enum of the list, a
named tuple only a NamedTuple of it), `__init__` is never called, every field is checked against
its declared type (dataclasses by their annotations, the column stores by `PLAIN_FIELDS` plus
their invariants, each table by the class it holds), caches are dropped, and the whole state is
built before the account is touched: anything else is a 400 that changes nothing.

LIMITATIONS: the idempotency cache, the rate-limit window, the journal and fault rules are not
exported (they describe traffic, not state); v2 meter event session tokens live on the store,
not the account, and are not exported. A snapshot is tied to this emulator's version: a field
added since is filled from its default, a class removed since makes the import fail.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import enum
import importlib
import math
import sys
import types
import typing
from array import array
from collections import OrderedDict, deque
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Union

from . import __version__
from .config import AccountSettings
from .errors import InvalidRequest
from .store import Namespace

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


def _slot_names(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return [n for n in names if n not in ("__dict__", "__weakref__")]


class _Encoder:
    def __init__(self) -> None:
        self.memo: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive so ids stay unique

    def _shared(self, obj: Any) -> dict[str, Any] | None:
        ref = self.memo.get(id(obj))
        if ref is not None:
            return {"$ref": ref}
        self.memo[id(obj)] = len(self.memo) + 1
        self.keep.append(obj)
        return None

    def enc(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, bool | str):
            return obj
        if isinstance(obj, int) and not isinstance(obj, enum.Enum):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        if isinstance(obj, Decimal):
            return {"$decimal": str(obj)}
        if isinstance(obj, enum.Enum):
            return {"$enum": _qualname(type(obj)), "value": self.enc(obj.value, where)}
        if isinstance(obj, tuple):
            items = [self.enc(v, f"{where}[{i}]") for i, v in enumerate(obj)]
            if hasattr(type(obj), "_fields"):  # NamedTuple
                return {"$namedtuple": _qualname(type(obj)), "items": items}
            return {"$tuple": items}
        if isinstance(obj, frozenset):
            return {"$frozenset": [self.enc(v, where) for v in obj]}
        ref = self._shared(obj)
        if ref is not None:
            return ref
        n = self.memo[id(obj)]
        if isinstance(obj, list):
            return {"$id": n, "$list": [self.enc(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, set):
            return {"$id": n, "$set": [self.enc(v, where) for v in obj]}
        if isinstance(obj, array):
            data = base64.b64encode(obj.tobytes()).decode("ascii")
            return {"$id": n, "$array": obj.typecode, "byteorder": sys.byteorder, "data": data}
        if isinstance(obj, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in obj):
                mapped = {k: self.enc(v, f"{where}.{k}") for k, v in obj.items()}
                return {"$id": n, "$map": mapped}
            pairs = [[self.enc(k, where), self.enc(v, f"{where}[{k!r}]")] for k, v in obj.items()]
            return {"$id": n, "$dict": pairs}
        return self._object(obj, n, where)

    def _object(self, obj: Any, n: int, where: str) -> Any:
        cls = type(obj)
        if not cls.__module__.startswith(PACKAGE):
            raise SnapshotError(f"cannot export {where}: {cls.__module__}.{cls.__qualname__}")
        if hasattr(cls, "to_snapshot") and hasattr(cls, "from_snapshot"):
            state = self.enc(obj.to_snapshot(), where)
            return {"$id": n, "$custom": _qualname(cls), "state": state}
        if dataclasses.is_dataclass(obj):
            names = [f.name for f in dataclasses.fields(obj)]
        else:
            names = _slot_names(cls) + list(getattr(obj, "__dict__", {}))
        # a field declared "None" is a cache (a meter series' sorted view): written as null
        caches = {k for k, v in PLAIN_FIELDS.get(_qualname(cls), {}).items() if v == "None"}
        fields = {
            name: None if name in caches else self.enc(getattr(obj, name), f"{where}.{name}")
            for name in names
            if hasattr(obj, name)
        }
        return {"$id": n, "$object": _qualname(cls), "fields": fields}


class _AnyMissing(dict[str, Any]):
    """Names for evaluating an annotation: its module's, then Any for what only type checkers
    import (a `TYPE_CHECKING` import), so a field typed by such a name is checked no further."""

    def __missing__(self, key: str) -> Any:
        if key.startswith("__"):
            raise KeyError(key)
        return getattr(builtins, key, Any)


_TYPE_CACHE: dict[type, dict[str, Any]] = {}


def _field_types(cls: type) -> dict[str, Any]:
    """The declared type of each field of an allowed class (dataclass, NamedTuple or plain)."""
    cached = _TYPE_CACHE.get(cls)
    if cached is not None:
        return cached
    names = _AnyMissing(vars(sys.modules[cls.__module__]))
    names.update({"array": array, "Any": Any, "Literal": Literal, "Union": Union})
    names.update({"Decimal": Decimal, "OrderedDict": OrderedDict, "deque": deque})
    qual = _qualname(cls)
    if qual in PLAIN_FIELDS:
        raw: dict[str, Any] = dict(PLAIN_FIELDS[qual])
        names["_Series"] = _class(_B + "meter_series:_Series")
        names["IdentifierIndex"] = _class(_B + "meter_identifiers:IdentifierIndex")
    elif dataclasses.is_dataclass(cls):
        raw = {f.name: f.type for f in dataclasses.fields(cls)}
    else:
        raw = dict(getattr(cls, "__annotations__", {}))
    out = {}
    for name, ann in raw.items():
        out[name] = eval(ann, {}, names) if isinstance(ann, str) else ann  # our own source
    _TYPE_CACHE[cls] = out
    return out


def _conforms(value: Any, tp: Any) -> bool:
    """Whether `value` has the declared type `tp` (containers checked element by element)."""
    if tp is Any or tp is object:
        return True
    if tp is None or tp is type(None):
        return value is None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        return any(_conforms(value, a) for a in args)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is None:
        if not isinstance(tp, type) or getattr(tp, "_is_protocol", False):
            return True  # a TypeVar, a Protocol: no runtime shape to check
        return isinstance(value, tp)
    base = origin if isinstance(origin, type) else None
    loose = base in (OrderedDict, deque) and isinstance(value, dict | list)
    if base is not None and base is not array and not isinstance(value, base) and not loose:
        return False
    if origin in (list, set, frozenset, deque) and args:
        return all(_conforms(v, args[0]) for v in value)
    if origin in (dict, OrderedDict) and len(args) == 2:
        return all(_conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items())
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(map(_conforms, value, args))
    if origin is array:
        return isinstance(value, array)
    return True


def _check_field(cls_name: str, field: str, value: Any, tp: Any) -> None:
    if not _conforms(value, tp):
        raise SnapshotError(f"{cls_name}.{field}: {type(value).__name__} is not {tp}")


def _check_plain(name: str, obj: Any) -> None:
    """Invariants of the column stores, whose code trusts them (indexes, probing)."""
    short = name.rpartition(":")[2]
    if short == "IdentifierIndex":
        keys, refs, size = obj._keys, obj._refs, len(obj._keys)
        ok = keys.typecode == refs.typecode == "Q" and len(refs) == size >= 8
        ok = ok and size & (size - 1) == 0 and obj._mask == size - 1
        # open addressing probes until an empty slot: there must be one
        ok = ok and 0 <= obj._used < size and obj._used == size - keys.count(0)
    elif short == "_Series":
        n = len(obj.ts)
        ok = obj.ts.typecode == obj.received.typecode == "q" and len(obj.received) == n
        ok = ok and obj.values.typecode in ("q", "d") and len(obj.values) == n
        ok = ok and all(0 <= r < n for r in obj.cancelled) and obj.sid >= 0
        ok = ok and (obj.width is None or obj.width > 0)
        ok = ok and all(0 <= r < n for r in (obj.winners or {}).values())
        obj.order = None  # caches: rebuilt on first use
        obj.view = None
    elif short == "MeterEventStore":
        series = obj._series
        ok = len(obj._owners) == len(series) and obj._count >= 0
        ok = ok and all(s.sid == i for i, s in enumerate(series))
        ok = ok and all(
            0 <= s.sid < len(series) and series[s.sid] is s
            for by_customer in obj._meters.values()
            for s in by_customer.values()
        )
    else:  # ItemUsage
        n = len(obj._ts)
        ok = obj._ts.typecode == "q" and len(obj._qty) == n and 0 <= obj._pvalid <= n
        ok = ok and len(obj._prefix) >= obj._pvalid + 1 and obj.records >= 0
        ok = ok and all(q >= 0 for q in obj._qty) and list(obj._ts) == sorted(set(obj._ts))
    if not ok:
        raise SnapshotError(f"{name}: inconsistent columns")


class _Decoder:
    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}
        self.plain: list[tuple[str, Any]] = []  # column stores, checked once fully built

    def _register(self, node: dict[str, Any], obj: Any) -> Any:
        n = node.get("$id")
        if not isinstance(n, int) or n in self.memo:
            raise SnapshotError(f"bad or repeated $id {n!r}")
        self.memo[n] = obj
        return obj

    def dec(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            raise SnapshotError("bare JSON arrays are not part of the snapshot format")
        if not isinstance(node, dict):
            raise SnapshotError(f"unexpected value {node!r}")
        if "$ref" in node:
            if node["$ref"] not in self.memo:
                raise SnapshotError(f"dangling $ref {node['$ref']!r}")
            return self.memo[node["$ref"]]
        if "$float" in node:
            return float(node["$float"])
        if "$decimal" in node:
            try:
                return Decimal(node["$decimal"])
            except (InvalidOperation, TypeError):
                raise SnapshotError(f"bad decimal {node['$decimal']!r}") from None
        if "$enum" in node:
            cls = _class(node["$enum"])
            if not issubclass(cls, enum.Enum):
                raise SnapshotError(f"{node['$enum']} is not an enum")
            value = self.dec(node.get("value"))
            if not isinstance(value, str | int) or value not in cls._value2member_map_:
                raise SnapshotError(f"{node['$enum']} has no member {value!r}")
            return cls(value)
        if "$tuple" in node:
            return tuple(self.dec(v) for v in self._seq(node["$tuple"]))
        if "$namedtuple" in node:
            return self._namedtuple(node)
        if "$frozenset" in node:
            return frozenset(self.dec(v) for v in self._seq(node["$frozenset"]))
        if "$list" in node:
            out: list[Any] = self._register(node, [])
            out.extend(self.dec(v) for v in self._seq(node["$list"]))
            return out
        if "$set" in node:
            s: set[Any] = self._register(node, set())
            s.update(self.dec(v) for v in self._seq(node["$set"]))
            return s
        if "$array" in node:
            return self._register(node, self._array(node))
        if "$map" in node:
            d: dict[Any, Any] = self._register(node, {})
            items = node["$map"]
            if not isinstance(items, dict):
                raise SnapshotError("$map must be an object")
            d.update((k, self.dec(v)) for k, v in items.items())
            return d
        if "$dict" in node:
            d = self._register(node, {})
            for pair in self._seq(node["$dict"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise SnapshotError("$dict items must be [key, value] pairs")
                d[self.dec(pair[0])] = self.dec(pair[1])
            return d
        if "$custom" in node:
            raise SnapshotError("no class of the snapshot format has a custom encoding")
        if "$object" in node:
            return self._object(node)
        raise SnapshotError(f"untagged object with keys {sorted(node)[:5]}")

    def _namedtuple(self, node: dict[str, Any]) -> Any:
        name = node["$namedtuple"]
        cls: Any = _class(name)
        if not (issubclass(cls, tuple) and hasattr(cls, "_fields")):
            raise SnapshotError(f"{name} is not a named tuple")
        items = [self.dec(v) for v in self._seq(node.get("items"))]
        if len(items) != len(cls._fields):
            raise SnapshotError(f"{name} takes {len(cls._fields)} items")
        hints = _field_types(cls)
        for field_name, value in zip(cls._fields, items, strict=True):
            _check_field(name, field_name, value, hints.get(field_name, Any))
        return cls(*items)

    @staticmethod
    def _seq(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise SnapshotError("expected a JSON array")
        return value

    @staticmethod
    def _array(node: dict[str, Any]) -> array[Any]:
        try:
            arr = array(node["$array"])
            arr.frombytes(base64.b64decode(node["data"], validate=True))
        except (ValueError, TypeError, KeyError):
            raise SnapshotError("bad $array") from None
        if node.get("byteorder") != sys.byteorder:
            arr.byteswap()
        return arr

    def _object(self, node: dict[str, Any]) -> Any:
        cls = _class(node["$object"])
        fields = node.get("fields")
        if not isinstance(fields, dict):
            raise SnapshotError("$object needs fields")
        name = node["$object"]
        if not dataclasses.is_dataclass(cls) and name not in PLAIN_FIELDS:
            raise SnapshotError(f"{name} cannot be imported")
        maker: Any = cls
        obj = self._register(node, maker.__new__(maker))
        values = {k: self.dec(v) for k, v in fields.items()}
        hints = _field_types(cls)
        for field_name, value in values.items():
            if field_name not in hints:
                raise SnapshotError(f"{name} has no field {field_name}")
            _check_field(name, field_name, value, hints[field_name])
        if name in PLAIN_FIELDS:
            missing = sorted(set(PLAIN_FIELDS[name]) - set(values))
            if missing:
                raise SnapshotError(f"{name} lacks field {missing[0]}")
            self.plain.append((name, obj))
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                if f.name in values:
                    continue
                if f.default is not dataclasses.MISSING:
                    values[f.name] = f.default
                elif f.default_factory is not dataclasses.MISSING:
                    values[f.name] = f.default_factory()
                else:
                    raise SnapshotError(f"{node['$object']} lacks field {f.name}")
        for name, value in values.items():
            try:
                object.__setattr__(obj, name, value)
            except AttributeError:
                raise SnapshotError(f"{node['$object']} has no field {name}") from None
        return obj


def state_fields() -> list[str]:
    """Names of the Namespace fields that make up an account's state."""
    return [f.name for f in dataclasses.fields(Namespace) if f.name not in SKIP_FIELDS]


def export_state(space: Namespace) -> dict[str, Any]:
    """The account's state as a JSON-able dict (call with the namespace lock held)."""
    enc = _Encoder()
    state: dict[str, Any] = {}
    for name in state_fields():
        value = getattr(space, name)
        if name == "extensions":  # control-API bookkeeping (`_mock*` keys) is not state
            value = {k: v for k, v in value.items() if not str(k).startswith("_mock")}
        try:
            state[name] = enc.enc(value, name)
        except SnapshotError:
            raise
        except Exception as exc:  # a value of an unforeseen kind: name it
            raise SnapshotError(f"cannot export {name}: {exc}") from exc
    return {
        "object": "_mock.account_snapshot",
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "emulator_version": __version__,
        "state": state,
    }


def decode_state(snapshot: Any) -> dict[str, Any]:
    """Decode a snapshot into Namespace field values; 400 `InvalidRequest` if it is not one."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise InvalidRequest(f"Invalid snapshot: `format` must be {FORMAT!r}.", param="format")
    if snapshot.get("format_version") != FORMAT_VERSION:
        raise InvalidRequest(
            f"Invalid snapshot: unsupported format_version {snapshot.get('format_version')!r}.",
            param="format_version",
        )
    state = snapshot.get("state")
    if not isinstance(state, dict):
        raise InvalidRequest("Invalid snapshot: `state` must be an object.", param="state")
    allowed = set(state_fields())
    unknown = sorted(k for k in state if k not in allowed)
    if unknown:
        raise InvalidRequest(
            f"Invalid snapshot: unknown state field(s) {', '.join(unknown)}.", param="state"
        )
    dec = _Decoder()
    out: dict[str, Any] = {}
    for name, node in state.items():
        try:
            out[name] = dec.dec(node)
        except (SnapshotError, TypeError, ValueError, RecursionError) as exc:
            raise InvalidRequest(f"Invalid snapshot: {name}: {exc}", param="state") from None
    if "settings" in out and not isinstance(out["settings"], AccountSettings):
        raise InvalidRequest("Invalid snapshot: settings must be AccountSettings.", param="state")
    try:
        for cls_name, obj in dec.plain:
            _check_plain(cls_name, obj)
        _check_tables(out)
    except (SnapshotError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise InvalidRequest(f"Invalid snapshot: {exc}", param="state") from None
    return out


def _check_tables(values: dict[str, Any]) -> None:
    """Each table is a dict of id -> the class it holds; the other fields have their types."""
    hints = _field_types(Namespace)
    for name, value in values.items():
        table_class = TABLES.get(name)
        if table_class is not None:
            cls = _class(table_class)
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and type(v) is cls for k, v in value.items()
            ):
                raise SnapshotError(f"{name} must map ids to {cls.__name__} objects")
        elif name == "meter_events":
            store = _class(_B + "meter_usage:MeterEventStore")
            if value is not None and type(value) is not store:
                raise SnapshotError("meter_events must be a MeterEventStore")
        elif name != "settings":
            _check_field("Namespace", name, value, hints.get(name, Any))


def import_state(space: Namespace, snapshot: Any) -> None:
    """Replace the account's state with a snapshot's (validated fully before any change)."""
    values = decode_state(snapshot)
    fresh = Namespace(api_key=space.api_key, settings=dataclasses.replace(space.settings))
    with space.lock:
        for name in state_fields():
            if name in values:
                setattr(space, name, values[name])
            elif name != "settings":
                setattr(space, name, getattr(fresh, name))
        space.idempotency.clear()
        space.writes += 1
