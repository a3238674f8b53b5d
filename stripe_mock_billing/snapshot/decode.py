"""Import: the decoder that rebuilds an account's state from a snapshot (pickle-free, allowed
classes only, every field checked), `decode_state` and `import_state`.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import sys
from array import array
from decimal import Decimal, InvalidOperation
from typing import Any

from ..config import AccountSettings
from ..errors import InvalidRequest
from ..store import Namespace
from .checks import _check_field, _check_plain, _check_tables, _field_types
from .schema import FORMAT, FORMAT_VERSION, PLAIN_FIELDS, SnapshotError, _class, state_fields


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
