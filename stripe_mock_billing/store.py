"""In-memory state: a Store of Namespaces, one per secret API key.

Each secret key is its own account: objects made with one key are invisible to every other key,
so parallel test workers (one key each) can share one server without a reset. A namespace holds
typed tables (id -> model dataclass), its settings, an idempotency cache and an RLock that the
request pipeline holds while a request runs, so requests of one account are serialized while
different accounts run in parallel.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from typing import Any

from .config import AccountSettings, Settings
from .ids import TABLE_BY_PREFIX, prefix_of


@dataclass(slots=True, kw_only=True)
class IdempotencyEntry:
    """A stored first execution of an idempotency key."""

    fingerprint: str
    created: float
    request_id: str
    done: bool = False
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Namespace:
    """One account's state."""

    api_key: str
    settings: AccountSettings
    lock: threading.RLock = field(default_factory=threading.RLock)
    idem_lock: threading.Lock = field(default_factory=threading.Lock)
    idempotency: OrderedDict[str, IdempotencyEntry] = field(default_factory=OrderedDict)
    # rate limiter: timestamps of recent requests (sliding one-second window)
    recent_requests: list[float] = field(default_factory=list)
    # (request id, Idempotency-Key) of the API request holding the lock, for the events it causes
    origin: tuple[str | None, str | None] | None = None
    # bumped (under the lock) by every request that may write: --data saves the changed accounts
    writes: int = 0

    # --- tables: id -> domain object (insertion order = creation order) --------------------
    # Core knows no object above it, so the tables are typed here by comment only: each holds
    # the dataclass of `domain/<family>.py` named beside it.
    customers: dict[str, Any] = field(default_factory=dict)  # domain.customers.Customer
    products: dict[str, Any] = field(default_factory=dict)  # domain.products.Product
    prices: dict[str, Any] = field(default_factory=dict)  # domain.prices.Price
    subscriptions: dict[str, Any] = field(default_factory=dict)  # domain.subscriptions
    subscription_items: dict[str, Any] = field(default_factory=dict)  # ...SubscriptionItem
    invoices: dict[str, Any] = field(default_factory=dict)  # domain.invoices.Invoice
    invoiceitems: dict[str, Any] = field(default_factory=dict)  # domain.invoiceitems
    payment_methods: dict[str, Any] = field(default_factory=dict)  # domain.payment_methods
    test_clocks: dict[str, Any] = field(default_factory=dict)  # domain.test_clocks.TestClock
    meters: dict[str, Any] = field(default_factory=dict)  # domain.meters.Meter
    events: dict[str, Any] = field(default_factory=dict)  # domain.events.Event
    webhook_endpoints: dict[str, Any] = field(default_factory=dict)  # domain.webhook_endpoints
    event_destinations: dict[str, Any] = field(default_factory=dict)  # domain.event_destinations
    credit_grants: dict[str, Any] = field(default_factory=dict)  # domain.credit_grants
    # ...credit_grants.CreditBalanceTransaction (the ledger, in writing order)
    credit_balance_transactions: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)  # domain.alerts.Alert
    # legacy usage records per subscription item id (billing/usage.py ItemUsage)
    usage: dict[str, Any] = field(default_factory=dict)
    # Billing Meter events of this account (billing/meter_usage.py), created on first use
    meter_events: Any = None
    # emulator-only state of the control API (journal, faults)
    journal: deque[Any] = field(default_factory=deque)  # trimmed from the left (journal.py)
    faults: list[Any] = field(default_factory=list)
    # free-form per-feature state, keyed by feature name
    extensions: dict[str, Any] = field(default_factory=dict)

    def find(self, obj_id: str) -> Any | None:
        """Any object of this account by id, through the id prefix table; None if unknown."""
        table = TABLE_BY_PREFIX.get(prefix_of(obj_id))
        if table is None:
            return None
        objs: dict[str, Any] = getattr(self, table)
        return objs.get(obj_id)


class Store:
    """All accounts of one emulator instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._namespaces: dict[str, Namespace] = {}
        # api key -> monotonic time of its last request, least recently used first (bounds
        # idle accounts: Settings.account_idle_ttl, Settings.max_accounts)
        self._touched: dict[str, float] = {}
        # v2 meter event session tokens: token -> (api key, expires_at)
        self.session_tokens: dict[str, tuple[str, int]] = {}

    def namespace(self, api_key: str, now: float | None = None) -> Namespace:
        """The account for `api_key`, created on first use; `now` (monotonic seconds, given by
        requests) marks it used, and creating an account drops the idle ones first."""
        ns = self._namespaces.get(api_key)
        if ns is not None:
            if now is not None:
                self._touched.pop(api_key, None)
                self._touched[api_key] = now
            return ns
        with self._lock:
            ns = self._namespaces.get(api_key)
            if ns is None:
                if now is not None:
                    self._drop_idle(now)
                version = self.settings.api_version
                acct = replace(self.settings.account_defaults, api_version=version)
                ns = Namespace(api_key=api_key, settings=acct)
                self._namespaces[api_key] = ns
            if now is not None:
                self._touched.pop(api_key, None)
                self._touched[api_key] = now
            return ns

    def _drop_idle(self, now: float) -> None:
        """Forget accounts no request touched for `account_idle_ttl` seconds, then the least
        recently used ones past `max_accounts` (never one that a request holds)."""
        ttl, most = self.settings.account_idle_ttl, self.settings.max_accounts
        for key, seen in list(self._touched.items()):
            over = most > 0 and len(self._namespaces) >= most
            if not over and not (ttl > 0 and now - seen > ttl):
                break  # the rest were used more recently
            ns = self._namespaces.get(key)
            if ns is not None and not ns.lock.acquire(blocking=False):
                continue
            self._touched.pop(key, None)
            self._namespaces.pop(key, None)
            if ns is not None:
                ns.lock.release()

    def peek(self, api_key: str) -> Namespace | None:
        """The account for `api_key` if it exists (never creates one)."""
        return self._namespaces.get(api_key)

    def reset(self, api_key: str) -> None:
        """Forget everything about one account."""
        with self._lock:
            self._namespaces.pop(api_key, None)
            self._touched.pop(api_key, None)

    def reset_all(self) -> None:
        """Forget every account."""
        with self._lock:
            self._namespaces.clear()
            self._touched.clear()

    def api_keys(self) -> list[str]:
        """Keys of the accounts that exist."""
        with self._lock:
            return list(self._namespaces)
