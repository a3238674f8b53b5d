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

Import is pickle-free and safe on untrusted input in the sense that it only instantiates
classes defined in this package (by `module:qualname`), never calls `__init__`, and builds the
whole state before touching the account, so a bad snapshot is a 400 and changes nothing.

LIMITATIONS: the idempotency cache, the rate-limit window, the journal and fault rules are not
exported (they describe traffic, not state); v2 meter event session tokens live on the store,
not the account, and are not exported. A snapshot is tied to this emulator's version: a field
added since is filled from its default, a class removed since makes the import fail.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import importlib
import math
import sys
from array import array
from decimal import Decimal, InvalidOperation
from typing import Any

from . import __version__
from .config import AccountSettings
from .errors import InvalidRequest
from .store import Namespace

FORMAT = "stripe-mock-billing/account-snapshot"
FORMAT_VERSION = 1
# Namespace fields that are not state: identity, locks, caches and control-API traffic records
SKIP_FIELDS = frozenset(
    {"api_key", "lock", "idem_lock", "idempotency", "recent_requests", "journal", "faults"}
)
PACKAGE = __name__.split(".")[0]
_TAGS = ("$id", "$ref", "$decimal", "$array", "$set", "$frozenset", "$tuple", "$dict", "$enum")


class SnapshotError(Exception):
    """A value that cannot be exported, or a snapshot that cannot be imported."""


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class(name: Any) -> type:
    if not isinstance(name, str) or ":" not in name:
        raise SnapshotError(f"bad class reference {name!r}")
    module, _, qual = name.partition(":")
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        raise SnapshotError(f"class {name} is outside {PACKAGE}")
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
        fields = {
            name: self.enc(getattr(obj, name), f"{where}.{name}")
            for name in names
            if hasattr(obj, name)
        }
        return {"$id": n, "$object": _qualname(cls), "fields": fields}


class _Decoder:
    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}

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
            return _class(node["$enum"])(self.dec(node.get("value")))
        if "$tuple" in node:
            return tuple(self.dec(v) for v in self._seq(node["$tuple"]))
        if "$namedtuple" in node:
            return _class(node["$namedtuple"])(*(self.dec(v) for v in self._seq(node["items"])))
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
            cls = _class(node["$custom"])
            obj = cls.from_snapshot(self.dec(node.get("state")))  # type: ignore[attr-defined]
            return self._register(node, obj)
        if "$object" in node:
            return self._object(node)
        raise SnapshotError(f"untagged object with keys {sorted(node)[:5]}")

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
        maker: Any = cls
        obj = self._register(node, maker.__new__(maker))
        values = {k: self.dec(v) for k, v in fields.items()}
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
    return out


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
