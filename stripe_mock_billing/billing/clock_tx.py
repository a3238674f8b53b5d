"""All-or-nothing test clock advances, at a cost that follows the clock, not the account.

`save(ns, clock_id, customers)` remembers what an advance can change, `undo(ns, saved)` puts
it back (an advance that fails half-way changes nothing). A full copy of the account
(`collection.checkpoint`) grew with every advance (events, paid invoices) until one monthly
advance of 1,000 subscriptions took 20 s; an advance only changes the clock's own objects.

What is saved, generically, so that tables added later are covered:
- every table is remembered by its length: rows an advance adds (events, invoices, ledger
  entries, ...) are dropped again, in insertion order;
- rows that belong to the clock are deep-copied, unless final: an object with a `customer` or
  `subscription` of the clock, a `test_clock` equal to it, or a customer of it, whose `status`
  is not final (`paid`, `void`, `uncollectible`, `canceled`: those an advance never changes);
- every extension that is state is deep-copied (the engine's schedule and indexes), `_mock*`
  lists (webhook outboxes) are cut back to their length.
- the tables in ACCOUNT_WIDE are copied whole: an alert without a customer filter belongs to
  no customer but records the customers it fired for.
LIMITATIONS: an advance that changed another object of no customer of the clock (none does)
would keep that change.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

from .state import restore_extensions, save_extensions

if TYPE_CHECKING:
    from ..store import Namespace

FINAL = frozenset({"paid", "void", "uncollectible", "canceled"})
ACCOUNT_WIDE = frozenset({"alerts"})  # few rows (an account's usage alerts)


def _tables(ns: Namespace) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(ns)
        if type(getattr(ns, f.name)) is dict and f.name != "extensions"
    ]


def _belongs(obj: Any, clock_id: str, customers: set[str], subs: set[str]) -> bool:
    if getattr(obj, "status", None) in FINAL:
        return False
    return (
        getattr(obj, "customer", None) in customers
        or getattr(obj, "subscription", None) in subs
        or getattr(obj, "test_clock", None) == clock_id
        or getattr(obj, "id", None) in customers
    )


def save(ns: Namespace, clock_id: str, customers: list[str], subs: list[str]) -> dict[str, Any]:
    """What an advance of `clock_id` (its customers and subscriptions) can change."""
    cust_set, sub_set = set(customers), set(subs)
    lengths: dict[str, int] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name in _tables(ns):
        table: dict[str, Any] = getattr(ns, name)
        lengths[name] = len(table)
        if name in ACCOUNT_WIDE:
            mine = dict(table)
        else:
            mine = {k: v for k, v in table.items() if _belongs(v, clock_id, cust_set, sub_set)}
        if mine:
            rows[name] = copy.deepcopy(mine)
    return {"lengths": lengths, "rows": rows, **save_extensions(ns)}


def undo(ns: Namespace, saved: dict[str, Any]) -> None:
    """Put back what `save` remembered."""
    for name, n in saved["lengths"].items():
        table: dict[str, Any] = getattr(ns, name)
        for key in list(table)[n:]:
            del table[key]
        table.update(saved["rows"].get(name, {}))
    restore_extensions(ns, saved)
