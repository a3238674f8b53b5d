"""Parameter types that nest: metadata (and `apply_metadata`, which merges an update of it),
free string maps, hashes with declared fields and arrays, plus the level-by-level unknown /
missing / coerce walks a hash runs over its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import invalid_empty, invalid_value
from ..form import Node
from .base import Param, _join
from .scalars import Str


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
            # Stripe's texts as a Stripe engineer gave them (stripe-php#246); param: the map
            if len(k) > 40:
                raise invalid_value(name, f"Invalid key: {k} must be a string under 40 characters")
            if len(v) > 500:
                raise invalid_value(name, f"Invalid val: {v} must be a string under 500 characters")
            out[k] = v if v != "" else None
        if len(out) > 50:
            raise too_many_metadata_keys(name, len(out))
        return out


def too_many_metadata_keys(name: str, count: int) -> Exception:
    """Stripe's 400 for more than 50 metadata keys, as captured from real answers."""
    return invalid_value(
        name,
        f"Metadata can have up to 50 keys, but you've set {count}. Email us at "
        "support+metadata@stripe.com for more information.",
    )


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
        raise too_many_metadata_keys("metadata", len(merged))
    return merged
