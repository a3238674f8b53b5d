"""Per-account billing engine state: indexes that keep time-driven work from scanning history.

LIMITATIONS: in memory only, like everything else in the store.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..store import Namespace

NEVER: Final = 2**62  # "no pending action"


@dataclass(slots=True, kw_only=True)
class EngineState:
    """Indexes the engine maintains for one account."""

    # earliest pending time-driven action among wall-clock subscriptions (NEVER when none)
    wall_next_due: int = NEVER
    # customer id -> its subscription ids, in creation order
    customer_subs: dict[str, list[str]] = field(default_factory=dict)
    # test clock id -> its customer ids, in creation order
    clock_customers: dict[str, list[str]] = field(default_factory=dict)
    # customer id -> pending invoice item ids (not yet on an invoice), in creation order
    pending_items: dict[str, list[str]] = field(default_factory=dict)
    # item id -> (old price, first unbilled second, switch time) of its last price change, so a
    # `billing_cycle_anchor=now` in the same update can bill the old price's usage
    price_switches: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    # subscription id -> period end whose `invoice.upcoming` notice was sent
    upcoming_sent: dict[str, int] = field(default_factory=dict)
    # subscription ids whose `customer.subscription.trial_will_end` was sent
    trial_notified: set[str] = field(default_factory=set)
    # while a subscription update runs: its `payment_behavior`, and the decline of the
    # invoice it charged (dunning.py), so the route can refuse or roll back the update
    payment_behavior: str | None = None
    update_decline: Any = None


def state(ns: Namespace) -> EngineState:
    """The engine state of an account, created on first use."""
    st = ns.extensions.get("billing")
    if st is None:
        st = EngineState()
        ns.extensions["billing"] = st
    return st


def save_extensions(ns: Namespace) -> dict[str, Any]:
    """For a rollback: deep copies of the account's extensions that are state, and the lengths
    of its `_mock*` lists (the webhook outboxes: traffic, only cut back to their length)."""
    return {
        "extensions": {
            k: copy.deepcopy(v) for k, v in ns.extensions.items() if not k.startswith("_mock")
        },
        "outboxes": {
            k: len(v) for k, v in ns.extensions.items() if k.startswith("_mock") and type(v) is list
        },
    }


def restore_extensions(ns: Namespace, saved: dict[str, Any]) -> None:
    """Put back what `save_extensions` kept; a `_mock*` list made since is emptied."""
    for k in [k for k in ns.extensions if not k.startswith("_mock")]:
        del ns.extensions[k]
    ns.extensions.update(saved["extensions"])
    for k, n in saved["outboxes"].items():
        del ns.extensions[k][n:]
    for k, v in ns.extensions.items():
        if k.startswith("_mock") and type(v) is list and k not in saved["outboxes"]:
            v.clear()
