"""`parse`: a request's parameters checked against a spec in Stripe's order (unknown, missing,
then types and values), with each spec's bookkeeping worked out once; and the parameters every
endpoint shares (`expand`, and the list endpoints' `LIST_PARAMS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import missing_param, unknown_params
from ..form import Node
from .base import Param
from .nested import List
from .scalars import Int, Str

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
