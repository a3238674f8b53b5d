"""Export: the encoder that walks an account's state into tagged JSON, and `export_state`."""

from __future__ import annotations

import base64
import dataclasses
import enum
import math
import sys
from array import array
from decimal import Decimal
from typing import Any

from .. import __version__
from ..store import Namespace
from .schema import (
    FORMAT,
    FORMAT_VERSION,
    PACKAGE,
    PLAIN_FIELDS,
    SnapshotError,
    _qualname,
    state_fields,
)


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
