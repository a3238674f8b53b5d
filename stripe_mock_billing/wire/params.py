"""Typed per-endpoint parameter specs and their coercion from decoded form data.

An endpoint declares `SPEC = {"quantity": Int(required=True), "metadata": Metadata(), ...}` and
`parse(SPEC, raw)` returns a dict of coerced values holding only the parameters that were sent.
An empty string means "unset" (wire-format.md §2.3): nullable fields come back as `None`,
`metadata=` comes back as `None` (clear all) and `metadata[k]=` as `{k: None}` (delete key).

Check order follows Stripe (wire-format.md §9): unknown parameters anywhere, then missing required
ones, then types and values. Messages marked (unverified) in the spec are our best reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from ..errors import invalid_empty, invalid_integer, invalid_value, missing_param, unknown_params
from ..limits import MAX_TIMESTAMP, MIN_TIMESTAMP, parse_int
from .form import Node

INT64_MAX = 2**63 - 1
NOW = "now"


def _join(parent: str, key: str) -> str:
    return f"{parent}[{key}]" if parent else key


def one_of_text(values: tuple[str, ...]) -> str:
    """`a, b, or c` as in Stripe's enum messages."""
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"


@dataclass(slots=True, kw_only=True)
class Param:
    """Base of all parameter types."""

    required: bool = False
    nullable: bool = True  # whether "" unsets it (else "" is parameter_invalid_empty)

    def coerce(self, value: Node, name: str) -> Any:
        """Turn the decoded value into its Python form, or raise a ParameterError."""
        raise NotImplementedError

    def text(self, value: Node, name: str, what: str) -> str | None:
        """The scalar string sent, or None when an empty string unsets this parameter."""
        s = _scalar(value, name, what)
        if s == "":
            if self.nullable and not self.required:
                return None
            raise invalid_empty(name)
        return s

    def unknown(self, value: Node, name: str) -> list[str]:
        """Names of unknown nested parameters under this one."""
        return []

    def missing(self, value: Node, name: str) -> str | None:
        """Name of the first missing required nested parameter under this one."""
        return None


_N = TypeVar("_N", int, Decimal)


def _in_range(name: str, n: _N, lo: _N | None, hi: _N | None) -> _N:
    """`n` when within [lo, hi], else Stripe's range error."""
    if lo is not None and n < lo:
        raise invalid_value(name, f"Invalid {name}: must be greater than or equal to {lo}")
    if hi is not None and n > hi:
        raise invalid_value(name, f"Invalid {name}: must be less than or equal to {hi}")
    return n


def _scalar(value: Node, name: str, what: str) -> str:
    if not isinstance(value, str):
        article = "an" if what[0] in "aeiou" else "a"
        raise invalid_value(name, f"Invalid {what}: {name} must be {article} {what}, not a hash.")
    return value


@dataclass(slots=True, kw_only=True)
class Str(Param):
    """A string, at most `max_length` characters."""

    max_length: int = 5000

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "string")
        if s is None:
            return None
        if len(s) > self.max_length:
            raise invalid_value(
                name,
                f"Invalid string: {s[:20]}...; must be at most {self.max_length} characters",
                code="parameter_invalid_string",
            )
        return s


@dataclass(slots=True, kw_only=True)
class Enum(Param):
    """One of fixed string values."""

    values: tuple[str, ...] = ()

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "string")
        if s is None:
            return None
        if s not in self.values:
            raise invalid_value(name, f"Invalid {name}: must be one of {one_of_text(self.values)}")
        return s


@dataclass(slots=True, kw_only=True)
class Int(Param):
    """A base-10 integer (int64), optionally bounded."""

    min: int | None = None
    max: int | None = None
    allow_inf: bool = False  # `up_to=inf` in tiers -> None

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "integer")
        if s is None:
            return None
        if self.allow_inf and s == "inf":
            return None
        n = parse_int(s)  # never int(s): 4,300+ digits raise, and the work is quadratic
        if n is None or abs(n) > INT64_MAX:
            raise invalid_integer(name, _cut(s))
        return _in_range(name, n, self.min, self.max)


def _cut(text: str) -> str:
    """A value as echoed in an error message (an absurd one is cut)."""
    return text if len(text) <= 100 else text[:100] + "..."


@dataclass(slots=True, kw_only=True)
class Timestamp(Int):
    """A Unix timestamp; `now` allowed when `allow_now` (returned as the string 'now').

    Always within 1970-01-01 .. 2999-12-31 (limits.py): billing period math works in years
    1..9999, so a timestamp outside would fail later, inside an engine step."""

    allow_now: bool = True
    extra_literals: tuple[str, ...] = ()

    def coerce(self, value: Node, name: str) -> Any:
        if isinstance(value, str) and (
            (self.allow_now and value == NOW) or value in self.extra_literals
        ):
            return value
        n = Int.coerce(self, value, name)
        if n is not None and not MIN_TIMESTAMP <= n <= MAX_TIMESTAMP:
            raise invalid_value(
                name,
                f"Invalid timestamp: {name} must be a Unix timestamp between {MIN_TIMESTAMP} "
                f"and {MAX_TIMESTAMP}.",
                code="parameter_invalid_integer",
            )
        return n


@dataclass(slots=True, kw_only=True)
class Bool(Param):
    """`true` / `false`."""

    def coerce(self, value: Node, name: str) -> Any:
        s = _scalar(value, name, "boolean")
        if s == "" and self.nullable and not self.required:
            return None
        # v1 also takes `True`/`False`: stripe-python 11.x form-encodes Python booleans that way
        # (stripe/stripe-python#1499: only v2 insists on lowercase)
        if s in ("true", "True"):
            return True
        if s in ("false", "False"):
            return False
        raise invalid_value(name, f"Invalid boolean: {s}")


_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@dataclass(slots=True, kw_only=True)
class DecimalStr(Param):
    """A decimal string with at most `places` fractional digits, returned as Decimal."""

    places: int = 12
    min: Decimal | None = None
    max: Decimal | None = None

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "decimal")
        if s is None:
            return None
        if not _DECIMAL_RE.fullmatch(s) or len(s) > 40:
            raise invalid_value(name, f"Invalid decimal: {s}", code="parameter_invalid_decimal")
        try:
            d = Decimal(s)
        except InvalidOperation:
            raise invalid_value(name, f"Invalid decimal: {s}") from None
        if "." in s and len(s.split(".", 1)[1]) > self.places:
            raise invalid_value(
                name, f"Invalid decimal: {s}; must have at most {self.places} decimal places"
            )
        return _in_range(name, d, self.min, self.max)


@dataclass(slots=True, kw_only=True)
class Metadata(Param):
    """Free-form string map: 50 keys, keys <= 40 chars, values <= 500 chars."""

    def coerce(self, value: Node, name: str) -> Any:
        if value == "":
            return None
        if isinstance(value, str):
            raise invalid_value(name, "Invalid metadata: metadata must be a hash.")
        out: dict[str, str | None] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise invalid_value(
                    _join(name, k), f"Invalid value for {_join(name, k)}: must be a string."
                )
            if len(k) > 40:
                raise invalid_value(
                    name,
                    f"Metadata keys can have a maximum length of 40 characters. Key '{k}' "
                    "is too long.",
                )
            if len(v) > 500:
                raise invalid_value(
                    _join(name, k),
                    f"Metadata values can have a maximum length of 500 characters. The value "
                    f"for key '{k}' is too long.",
                )
            out[k] = v if v != "" else None
        if len(out) > 50:
            raise invalid_value(name, "You can have a maximum of 50 metadata keys.")
        return out


@dataclass(slots=True, kw_only=True)
class StrMap(Param):
    """A map of free string keys to strings (e.g. a meter event `payload`)."""

    max_value_length: int = 5000

    def coerce(self, value: Node, name: str) -> Any:
        if isinstance(value, str):
            if value == "" and self.nullable and not self.required:
                return None
            raise invalid_value(name, f"Invalid hash: {name} must be a hash.")
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise invalid_value(
                    _join(name, k), f"Invalid value for {_join(name, k)}: must be a string."
                )
            out[k] = v
        return out


@dataclass(slots=True, kw_only=True)
class Obj(Param):
    """A hash with declared fields."""

    fields: Mapping[str, Param] = field(default_factory=dict)

    def coerce(self, value: Node, name: str) -> Any:
        if isinstance(value, str):
            if value == "" and self.nullable and not self.required:
                return None
            raise invalid_value(name, f"Invalid hash: {name} must be a hash.")
        return _parse_level(self.fields, value, name)

    def unknown(self, value: Node, name: str) -> list[str]:
        return [] if isinstance(value, str) else _unknown_level(self.fields, value, name)

    def missing(self, value: Node, name: str) -> str | None:
        return None if isinstance(value, str) else _missing_level(self.fields, value, name)


def _as_indexed(value: Node, name: str) -> list[tuple[str, Node]]:
    if isinstance(value, str):
        raise invalid_value(name, f"Invalid array: {name} must be an array.")
    items: list[tuple[int, str, Node]] = []
    for k, v in value.items():
        if not (k.isascii() and k.isdigit()) or len(k) > 6:
            raise invalid_value(name, f"Invalid array: {name} must be an array.")
        items.append((int(k), k, v))
    items.sort()
    return [(k, v) for _, k, v in items]


@dataclass(slots=True, kw_only=True)
class List(Param):
    """An array (`a[0]=x` / `a[]=x`), `max_items` long at most; `a=` unsets it."""

    item: Param = field(default_factory=Str)
    max_items: int = 100

    def coerce(self, value: Node, name: str) -> Any:
        if value == "":
            if self.nullable and not self.required:
                return []
            raise invalid_empty(name)
        entries = _as_indexed(value, name)
        if len(entries) > self.max_items:
            raise invalid_value(
                name, f"Invalid array: {name} must have at most {self.max_items} elements."
            )
        for k, v in entries:
            if v == "":  # an element cannot be unset (`expand[]=`)
                raise invalid_empty(f"{name}[{k}]")
        return [self.item.coerce(v, f"{name}[{k}]") for k, v in entries]

    def unknown(self, value: Node, name: str) -> list[str]:
        if isinstance(value, str):
            return []
        out: list[str] = []
        for k, v in value.items():
            out.extend(self.item.unknown(v, f"{name}[{k}]"))
        return out

    def missing(self, value: Node, name: str) -> str | None:
        if isinstance(value, str):
            return None
        for k, v in _as_indexed(value, name):
            miss = self.item.missing(v, f"{name}[{k}]")
            if miss:
                return miss
        return None


def _unknown_level(spec: Mapping[str, Param], raw: Mapping[str, Node], parent: str) -> list[str]:
    out: list[str] = []
    for k, v in raw.items():
        p = spec.get(k)
        if p is None:
            out.append(_join(parent, k))
        else:
            out.extend(p.unknown(v, _join(parent, k)))
    return out


def _missing_level(spec: Mapping[str, Param], raw: Mapping[str, Node], parent: str) -> str | None:
    for k, p in spec.items():
        name = _join(parent, k)
        if k not in raw:
            if p.required:
                return name
            continue
        miss = p.missing(raw[k], name)
        if miss:
            return miss
    return None


def _parse_level(spec: Mapping[str, Param], raw: Mapping[str, Node], parent: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, p in spec.items():
        if k in raw:
            out[k] = p.coerce(raw[k], _join(parent, k))
    return out


EXPAND = List(item=Str(max_length=500), max_items=50)
LIST_PARAMS: dict[str, Param] = {
    "limit": Int(min=1, max=100),
    "starting_after": Str(),
    "ending_before": Str(),
}


class _Compiled:
    """What `parse` needs of a spec, worked out once: the spec with `expand`, each name's
    position, and the parameters a missing-check must look at (required ones, and hashes or
    arrays whose fields may be required), in the spec's order."""

    __slots__ = ("checks", "full", "index", "spec")

    def __init__(self, spec: Mapping[str, Param]) -> None:
        self.spec = spec  # held, so that its id stays its own while cached
        full = dict(spec)
        full.setdefault("expand", EXPAND)
        self.full = full
        self.index = {k: i for i, k in enumerate(full)}
        self.checks = [
            (k, p) for k, p in full.items() if p.required or type(p).missing is not Param.missing
        ]


_COMPILED: dict[int, _Compiled] = {}


def _compiled(spec: Mapping[str, Param]) -> _Compiled:
    hit = _COMPILED.get(id(spec))
    if hit is not None and hit.spec is spec:
        return hit
    if len(_COMPILED) >= 1024:  # specs built per request (per API version) would grow it
        _COMPILED.clear()
    hit = _COMPILED[id(spec)] = _Compiled(spec)
    return hit


def parse(spec: Mapping[str, Param], raw: Mapping[str, Node]) -> dict[str, Any]:
    """Validate `raw` against `spec` (plus `expand`) and return the coerced values.

    The same checks in the same order as `_unknown_level`, `_missing_level` and
    `_parse_level` at the top level, with the spec's bookkeeping done once (`_Compiled`)."""
    c = _compiled(spec)
    full = c.full
    unknown: list[str] = []
    for k, v in raw.items():
        p = full.get(k)
        if p is None:
            unknown.append(k)
        elif type(p).unknown is not Param.unknown:
            unknown.extend(p.unknown(v, k))
    if unknown:
        raise unknown_params(unknown)
    for k, p in c.checks:
        if k not in raw:
            if p.required:
                raise missing_param(k)
            continue
        miss = p.missing(raw[k], k)
        if miss:
            raise missing_param(miss)
    out: dict[str, Any] = {}
    if len(raw) * 4 < len(full):  # a few of many: in the spec's order, by position
        index = c.index
        for k in sorted(raw, key=index.__getitem__):
            out[k] = full[k].coerce(raw[k], k)
        return out
    for k, p in full.items():
        if k in raw:
            out[k] = p.coerce(raw[k], k)
    return out


def apply_metadata(current: dict[str, str], update: dict[str, str | None] | None) -> dict[str, str]:
    """Merge a metadata update: None clears all, a None value deletes its key."""
    if update is None:
        return {}
    merged = dict(current)
    for k, v in update.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = v
    if len(merged) > 50:
        raise invalid_value("metadata", "You can have a maximum of 50 metadata keys.")
    return merged
