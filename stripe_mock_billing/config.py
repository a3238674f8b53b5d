"""Settings of one emulator instance, from arguments or `STRIPE_MOCK_BILLING_*` env vars.

Account-level behaviour that a test may switch (finalization grace, strict clock limits, rate
limit, summary lag, ...) has its defaults here and can be overridden per account through the
control API.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import lru_cache
from typing import Any

from .errors import InvalidRequest
from .stripe_versions import KNOWN_DATES, KNOWN_VERSIONS, NEWEST

DEFAULT_API_VERSION = "2025-02-24.acacia"
DEFAULT_PORT = 12111
_VERSION_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:\.([a-z]+))?")


@lru_cache(maxsize=256)
def validate_api_version(version: str, today: str | None = None) -> str:
    """The version to serve for `version`, else Stripe's 400 `Invalid Stripe API version`.

    A released version (stripe_versions.py) is served as itself, a `.preview` on a release date
    too; a well-formed one newer than the newest released but not after `today` (ISO date, when
    the caller knows it) as the newest released one; anything else is invalid."""
    if version in KNOWN_VERSIONS:
        return version
    m = _VERSION_RE.fullmatch(version)
    ok = m is not None
    if m is not None:
        try:
            date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            ok = False
    day = version[:10]
    if ok and m is not None and m.group(4) == "preview" and day in KNOWN_DATES:
        return version
    if ok and today is not None and NEWEST[:10] < day <= today:
        return NEWEST
    raise InvalidRequest(f"Invalid Stripe API version: {version[:100]}")


@dataclass(slots=True, kw_only=True)
class AccountSettings:
    """Per-account behaviour switches; each account starts with a copy of the defaults."""

    # seconds between a cycle invoice's creation (draft) and its finalization (Stripe: ~1 hour)
    finalization_grace: int = 3600
    # enforce Stripe's test clock caps (3 customers/clock, 3 subscriptions/customer, 2 intervals)
    strict_clock_limits: bool = False
    # answer test clock advances with status `advancing`, turning `ready` on the next retrieve
    async_clock_advance: bool = False
    # billing periods one test clock advance may cross, summed over the clock's subscriptions
    # (bounded work per request; Stripe's own cap, two intervals, is `strict_clock_limits`)
    max_advance_periods: int = 10_000
    # requests per second per account; 0 = off (Stripe test mode allows 25/s)
    rate_limit: int = 0
    # seconds meter events take to show up in summaries (Stripe aggregates asynchronously)
    summary_lag: int = 0
    # seconds added to the wall clock for this account (drift between the app and Stripe)
    clock_offset: int = 0
    # the account's default API version: event `data.object` snapshots are rendered at it
    # (set from Settings.api_version when the account is created)
    api_version: str = DEFAULT_API_VERSION
    # failed payments (billing/dunning.py). Retry policy of automatic collection: "custom"
    # retries `dunning_retry_days[i]` days after the previous attempt; "smart" spreads
    # `dunning_smart_tries` retries evenly over `dunning_smart_window_days` (Stripe's ML timing
    # cannot be reproduced). After the last retry fails the subscription is "cancel"ed, made
    # "unpaid" or left "past_due", and the invoice marked "uncollectible" or left "open".
    # Defaults chosen for determinism (spec §14), not Stripe's Dashboard defaults.
    dunning_mode: str = "custom"
    dunning_retry_days: list[int] = field(default_factory=lambda: [3, 5, 7])
    dunning_smart_tries: int = 8
    dunning_smart_window_days: int = 14
    dunning_after_final: str = "cancel"
    dunning_invoice_after_final: str = "open"
    # (emulator extension) a charge with no payment method at all succeeds; False makes it fail
    # like Stripe (`invoice.payment_failed`, never retried until a payment method appears)
    charge_without_payment_method: bool = True
    # webhooks (delivery.py): "synchronous" delivers before the API call answers, one attempt;
    # "background" queues deliveries and retries failures after webhook_retry_schedule[i] s
    webhook_delivery: str = "synchronous"
    webhook_timeout_ms: int = 10_000
    webhook_retry_schedule: list[int] = field(default_factory=lambda: [1, 5, 30])


@dataclass(slots=True, kw_only=True)
class Settings:
    """One emulator instance's configuration."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_version: str = DEFAULT_API_VERSION
    # accounts no request touched for this many seconds are forgotten (0 = never), and at
    # most this many are kept, least recently used dropped first (0 = no cap); the pytest
    # plugin turns both off (each test deletes its own account)
    account_idle_ttl: int = 24 * 3600
    max_accounts: int = 10_000
    # idempotency keys kept per account (oldest evicted first) and how long (Stripe: >= 24 h)
    idempotency_max_keys: int = 10_000
    idempotency_ttl: int = 24 * 3600
    # re-raise unexpected exceptions into the caller (thread / in-process adapters) after rendering
    propagate_exceptions: bool = False
    account_defaults: AccountSettings = field(default_factory=AccountSettings)
    # webhooks: hosts besides loopback that endpoints may point at (`--webhook-allow`)
    webhook_allow: list[str] = field(default_factory=list)
    # `--forward-to URL` (like `stripe listen`): every account's events (or only those of
    # `forward_key`), of `forward_events` types (default all), signed with `webhook_secret`
    forward_to: str | None = None
    forward_events: list[str] = field(default_factory=list)
    forward_key: str | None = None
    webhook_secret: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `STRIPE_MOCK_BILLING_HOST`, `_PORT`, `_API_VERSION`, `_RATE_LIMIT`,
        then overrides."""
        env = dict(os.environ if env is None else env)
        s = cls()
        if "STRIPE_MOCK_BILLING_HOST" in env:
            s.host = env["STRIPE_MOCK_BILLING_HOST"]
        if "STRIPE_MOCK_BILLING_PORT" in env:
            s.port = int(env["STRIPE_MOCK_BILLING_PORT"])
        if "STRIPE_MOCK_BILLING_API_VERSION" in env:
            s.api_version = env["STRIPE_MOCK_BILLING_API_VERSION"]
        if "STRIPE_MOCK_BILLING_RATE_LIMIT" in env:
            s.account_defaults.rate_limit = int(env["STRIPE_MOCK_BILLING_RATE_LIMIT"])
        if "STRIPE_MOCK_BILLING_ACCOUNT_TTL" in env:
            s.account_idle_ttl = int(env["STRIPE_MOCK_BILLING_ACCOUNT_TTL"])
        if "STRIPE_MOCK_BILLING_MAX_ACCOUNTS" in env:
            s.max_accounts = int(env["STRIPE_MOCK_BILLING_MAX_ACCOUNTS"])
        for name in ("forward_to", "forward_key", "webhook_secret"):
            value = env.get("STRIPE_MOCK_BILLING_" + name.upper())
            if value:
                setattr(s, name, value)
        for name in ("webhook_allow", "forward_events"):
            value = env.get("STRIPE_MOCK_BILLING_" + name.upper())
            if value:
                setattr(s, name, [v.strip() for v in value.split(",") if v.strip()])
        known = {f.name for f in fields(cls)}
        direct = {k: v for k, v in overrides.items() if k in known and v is not None}
        acct = {k: v for k, v in overrides.items() if k not in known and v is not None}
        s = replace(s, **direct)
        if acct:
            s.account_defaults = replace(s.account_defaults, **acct)
        return s
