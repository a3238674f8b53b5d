"""What an import verifies: each field against its declared type, the column stores'
invariants (their code trusts them), and each table's class.
"""

from __future__ import annotations

import builtins
import dataclasses
import sys
import types
import typing
from array import array
from collections import OrderedDict, deque
from decimal import Decimal
from typing import Any, Literal, Union

from ..store import Namespace
from .schema import _B, PLAIN_FIELDS, TABLES, SnapshotError, _class, _qualname


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
