"""Typed per-endpoint parameter specs and their coercion from decoded form data.

An endpoint declares `SPEC = {"quantity": Int(required=True), "metadata": Metadata(), ...}` and
`parse(SPEC, raw)` returns a dict of coerced values holding only the parameters that were sent.
An empty string means "unset" (wire-format.md §2.3): nullable fields come back as `None`,
`metadata=` comes back as `None` (clear all) and `metadata[k]=` as `{k: None}` (delete key).

Check order follows Stripe (wire-format.md §9): unknown parameters anywhere, then missing required
ones, then types and values. Messages marked (unverified) in the spec are our best reading.

The package: `base.py` (the `Param` base class and the helpers every type shares),
`scalars.py` (strings, enums, integers, timestamps, booleans, decimals), `nested.py` (metadata,
string maps, hashes, arrays, the level-by-level checks under a hash, `apply_metadata`) and
`parsing.py` (`parse`, the top-level check order with each spec's bookkeeping done once, and the
`expand` / list parameters every endpoint shares).
"""

from __future__ import annotations

from .base import INT64_MAX, NOW, Param, one_of_text
from .nested import List, Metadata, Obj, StrMap, apply_metadata
from .parsing import EXPAND, LIST_PARAMS, parse
from .scalars import Bool, DecimalStr, Enum, Int, Str, Timestamp

__all__ = [
    "EXPAND",
    "INT64_MAX",
    "LIST_PARAMS",
    "NOW",
    "Bool",
    "DecimalStr",
    "Enum",
    "Int",
    "List",
    "Metadata",
    "Obj",
    "Param",
    "Str",
    "StrMap",
    "Timestamp",
    "apply_metadata",
    "one_of_text",
    "parse",
]
