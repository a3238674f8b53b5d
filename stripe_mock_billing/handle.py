"""`StripeMock`: one account of an emulator, with Python helpers over the `/_mock` control API.

The pytest plugin's `stripe_mock` fixture is a `StripeMock`; outside pytest, build one with
`StripeMock.connect(url, api_key)` (a running server) or `mock_stripe().handle()` (in-process).
With an app at hand (in-process and thread-server modes) control calls go straight to the WSGI
app; otherwise (external server, e.g. Docker) over HTTP with urllib. Either way they go through
the same `/_mock` routes with the account's key, so a handle only ever touches its own account.

Also here: `make_stripe_client` (a StripeClient with all four base addresses at the emulator)
and `ClockedCustomer`, the test-clock helper built on the public Test Clocks API via the SDK.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .wire.journal import JournalEntry
from .wsgi_call import call_wsgi

if TYPE_CHECKING:
    from flask import Flask

ACACIA = "2025-02-24.acacia"


def new_api_key() -> str:
    """A fresh secret test key, i.e. a fresh, empty account."""
    return "sk_test_" + uuid.uuid4().hex


def make_stripe_client(
    url: str,
    api_key: str,
    *,
    stripe_version: str | None = None,
    max_network_retries: int = 0,
    http_client: Any = None,
    async_client: Any = None,
    **kwargs: Any,
) -> Any:
    """A `stripe.StripeClient` with api, meter_events, files and connect all at `url`."""
    import stripe

    if http_client is None:
        if async_client is None:
            try:
                async_client = stripe.HTTPXClient(verify_ssl_certs=False)
            except ImportError:
                async_client = None
        http_client = stripe.RequestsClient(async_fallback_client=async_client)
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": url, "meter_events": url, "files": url, "connect": url},
        max_network_retries=max_network_retries,
        http_client=http_client,
        stripe_version=stripe_version,
        **kwargs,
    )


class ControlError(Exception):
    """A `/_mock` call answered with an error (Stripe's envelope in `.error`)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.error: dict[str, Any] = (
            body.get("error", {}) if isinstance(body, dict) else {"message": str(body)}
        )
        super().__init__(f"{status}: {self.error.get('message')}")


@dataclass
class StripeMock:
    """One account (API key) of an emulator and its control helpers."""

    url: str
    api_key: str
    mode: str = "external"
    app: Flask | None = None
    timeout: float = 30.0
    _clients: list[Any] = field(default_factory=list, repr=False)
    _mounted: list[str] = field(default_factory=list, repr=False)  # mount_webhook_app URLs

    @classmethod
    def connect(cls, url: str, api_key: str | None = None) -> StripeMock:
        """A handle on a running server (e.g. the Docker image) for `api_key` or a fresh one."""
        return cls(url=url.rstrip("/"), api_key=api_key or new_api_key(), mode="external")

    # --- transport ----------------------------------------------------------------------
    def _control(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        target = path + ("?" + urlencode(query) if query else "")
        headers = {"Authorization": f"Bearer {self.api_key}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.app is not None:
            status, _, raw = call_wsgi(self.app, method, self.url + target, headers, data)
        else:
            req = urllib.request.Request(
                self.url + target, data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    status, raw = resp.status, resp.read()
            except urllib.error.HTTPError as err:
                status, raw = err.code, err.read()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode("utf-8", "replace")
        if status >= 400:
            raise ControlError(status, decoded)
        return decoded

    # --- clients ------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> Any:
        """A StripeClient for this account (`stripe_version=`, `max_network_retries=`, ...)."""
        if self.mode == "inprocess" and self.app is not None and "http_client" not in kwargs:
            from .inprocess_httpx import httpx_client

            with contextlib.suppress(ImportError):
                kwargs.setdefault("async_client", httpx_client(self.app))
        return make_stripe_client(self.url, self.api_key, **kwargs)

    def acacia_client(self, **kwargs: Any) -> Any:
        """A StripeClient sending `Stripe-Version: 2025-02-24.acacia` (legacy usage records)."""
        return self.client(stripe_version=ACACIA, **kwargs)

    # --- account ------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything about this account (objects, settings, journal, faults)."""
        self._control("POST", "/_mock/reset")

    @property
    def settings(self) -> dict[str, Any]:
        """The account's switches (config.AccountSettings) as a dict."""
        body = dict(self._control("GET", "/_mock/settings"))
        body.pop("object", None)
        return body

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change account switches (validated as a whole; ControlError on a bad value)."""
        body = dict(self._control("POST", "/_mock/settings", changes))
        body.pop("object", None)
        return body

    def set_dunning(
        self,
        *,
        retry_days: list[int] | None = None,
        smart_tries: int | None = None,
        smart_window_days: int | None = None,
        after_final: str | None = None,
        invoice_after_final: str | None = None,
    ) -> dict[str, Any]:
        """The account's retry policy and what happens after the last failed retry:
        `retry_days=[3, 5, 7]` (custom schedule, days after the previous attempt) or
        `smart_tries=8, smart_window_days=14` (evenly spaced); `after_final` "cancel" | "unpaid"
        | "past_due"; `invoice_after_final` "uncollectible" | "open"."""
        changes: dict[str, Any] = {}
        if retry_days is not None:
            changes.update(dunning_mode="custom", dunning_retry_days=list(retry_days))
        if smart_tries is not None or smart_window_days is not None:
            changes["dunning_mode"] = "smart"
            if smart_tries is not None:
                changes["dunning_smart_tries"] = smart_tries
            if smart_window_days is not None:
                changes["dunning_smart_window_days"] = smart_window_days
        if after_final is not None:
            changes["dunning_after_final"] = after_final
        if invoice_after_final is not None:
            changes["dunning_invoice_after_final"] = invoice_after_final
        return self.update_settings(**changes)

    # --- wall clock ---------------------------------------------------------------------
    def now(self) -> int:
        """The account's wall-clock time (real time + clock_offset)."""
        return int(self._control("GET", "/_mock/clock")["now"])

    def set_clock_offset(self, seconds: int) -> None:
        """Make the account's wall clock run `seconds` ahead of (or behind) real time."""
        self.update_settings(clock_offset=seconds)

    def advance_wall_clock(self, seconds: int) -> int:
        """Move the account's wall clock forward by `seconds` (adds to clock_offset)."""
        offset = int(self.settings["clock_offset"]) + seconds
        self.update_settings(clock_offset=offset)
        return offset

    # --- journal ------------------------------------------------------------------------
    def journal(
        self, method: str | None = None, path: str | None = None, since: int = 0
    ) -> list[JournalEntry]:
        """This account's requests, oldest first; `path` may be a glob (`*` spans `/`)."""
        query: dict[str, Any] = {}
        if method:
            query["method"] = method
        if path:
            query["path"] = path
        if since:
            query["since"] = since
        body = self._control("GET", "/_mock/journal", query=query)
        names = {f.name for f in fields(JournalEntry)} - {"body", "size"}
        return [JournalEntry(**{k: v for k, v in e.items() if k in names}) for e in body["data"]]

    def clear_journal(self) -> None:
        """Forget this account's journal."""
        self._control("DELETE", "/_mock/journal")

    # --- faults -------------------------------------------------------------------------
    def fail_next(
        self,
        kind: str = "api_error",
        path: str = "*",
        method: str = "*",
        times: int = 1,
        **opts: Any,
    ) -> dict[str, Any]:
        """Make the next `times` matching requests fail with `kind` (rate_limit, lock_timeout,
        api_error, idempotency_key_in_use); options: status, reason, should_retry."""
        body = {"kind": kind, "path": path, "method": method, "times": times, **opts}
        return dict(self._control("POST", "/_mock/faults", body))

    def add_latency(
        self, latency_ms: int, path: str = "*", method: str = "*", times: int = 1
    ) -> dict[str, Any]:
        """Delay the next `times` matching requests by `latency_ms`, then execute them."""
        body = {"kind": "latency", "latency_ms": latency_ms, "path": path, "method": method}
        return dict(self._control("POST", "/_mock/faults", {**body, "times": times}))

    def faults(self) -> list[dict[str, Any]]:
        """Fault rules still armed."""
        return list(self._control("GET", "/_mock/faults")["data"])

    def clear_faults(self) -> None:
        """Disarm every fault rule."""
        self._control("DELETE", "/_mock/faults")

    # --- webhooks -----------------------------------------------------------------------
    def webhook_attempts(
        self, event: str | None = None, endpoint: str | None = None
    ) -> list[dict[str, Any]]:
        """Every webhook delivery attempt of this account, oldest first (control_webhooks.py)."""
        query = {k: v for k, v in (("event", event), ("endpoint", endpoint)) if v}
        return list(self._control("GET", "/_mock/webhooks/attempts", query=query)["data"])

    def resend_webhook(self, event: str, endpoint: str) -> dict[str, Any]:
        """Deliver `event` to `endpoint` (`we_...`, or `forward`) again, now; the attempt."""
        body = {"event": event, "endpoint": endpoint}
        return dict(self._control("POST", "/_mock/webhooks/resend", body))

    def webhook_fault(
        self,
        kind: str,
        times: int = 1,
        *,
        type: str | None = None,
        endpoint: str | None = None,
        delay_ms: int | None = None,
    ) -> dict[str, Any]:
        """The next `times` deliveries (of `type`, to `endpoint`) get `kind`: duplicate,
        reorder, delay (`delay_ms`), fail or drop."""
        body: dict[str, Any] = {"kind": kind, "times": times}
        for name, value in (("type", type), ("endpoint", endpoint), ("delay_ms", delay_ms)):
            if value is not None:
                body[name] = value
        return dict(self._control("POST", "/_mock/webhooks/faults", body))

    def webhook_faults(self) -> list[dict[str, Any]]:
        """Delivery faults still armed."""
        return list(self._control("GET", "/_mock/webhooks/faults")["data"])

    def clear_webhook_faults(self) -> None:
        """Disarm every delivery fault."""
        self._control("DELETE", "/_mock/webhooks/faults")

    def mount_webhook_app(self, wsgi_app: Any, path: str = "/webhooks") -> str:
        """Serve webhook deliveries to `wsgi_app` (e.g. your Flask app) in-process: returns a
        URL to register as an endpoint; deliveries to it call the app directly, no socket.
        Needs the emulator's app in this process (inprocess and server modes)."""
        if self.app is None:
            raise RuntimeError("mount_webhook_app needs the emulator in this process")
        from .control_webhooks import dispatcher
        from .ids import random_tail

        url = f"http://app-{random_tail(10).lower()}.localhost{path}"
        dispatcher(self.app).local_receivers[url] = wsgi_app
        self._mounted.append(url)
        return url

    def unmount_webhook_apps(self) -> None:
        """Forget the apps mounted with `mount_webhook_app` (the fixture does it after a test)."""
        if self.app is None:
            return
        from .control_webhooks import dispatcher

        for url in self._mounted:
            dispatcher(self.app).local_receivers.pop(url, None)
        self._mounted.clear()

    def wait_for_webhooks(self, timeout: int = 10) -> bool:
        """Wait until no background delivery of this account is pending (False on timeout)."""
        body = self._control("POST", "/_mock/webhooks/wait", {"timeout": timeout})
        return bool(body["idle"])

    # --- billing credits and usage alerts ------------------------------------------------
    def credit_balance(self, customer: str, currency: str = "usd") -> dict[str, int]:
        """The customer's credit balance in `currency`: `{"available": n, "ledger": n}` (0 / 0
        without grants), as `credit_balance_summary` computes it (control_billing.py)."""
        body = self._control("GET", f"/_mock/credits/{customer}")
        for row in body["balances"]:
            if row["currency"] == currency:
                return {"available": row["available"], "ledger": row["ledger"]}
        return {"available": 0, "ledger": 0}

    def alerts_triggered(self, customer: str | None = None) -> list[dict[str, Any]]:
        """Every usage alert that fired: `{"alert", "customer", "value"}` (one per alert and
        customer, as `one_time` alerts fire)."""
        query = {"customer": customer} if customer else None
        return list(self._control("GET", "/_mock/alerts/triggered", query=query)["data"])

    # --- snapshots ----------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """This account's state as JSON (snapshot/encode.py)."""
        return dict(self._control("GET", "/_mock/snapshot"))

    def import_state(self, snapshot: dict[str, Any]) -> None:
        """Replace this account's state with a snapshot (all or nothing)."""
        self._control("POST", "/_mock/snapshot", snapshot)

    # --- emulator errors ----------------------------------------------------------------
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions the app logged (empty in external mode: not visible)."""
        if self.app is None:
            return []
        return list(self.app.extensions["stripe_mock_billing.errors"])


@dataclass
class ClockedCustomer:
    """A test clock with a customer on it, advanced through the public API (SDK)."""

    client: Any
    clock: Any
    customer: Any

    @classmethod
    def create(
        cls, client: Any, frozen_time: int, *, clock_name: str | None = None, **customer: Any
    ) -> ClockedCustomer:
        """Create a test clock at `frozen_time` and a customer (`**customer` params) on it."""
        params: dict[str, Any] = {"frozen_time": frozen_time}
        if clock_name:
            params["name"] = clock_name
        clk = client.v1.test_helpers.test_clocks.create(params)
        cust = client.v1.customers.create({**customer, "test_clock": clk.id})
        return cls(client=client, clock=clk, customer=cust)

    @property
    def now(self) -> int:
        """The clock's frozen time."""
        return int(self.clock.frozen_time)

    def advance(
        self, *, to: int | None = None, by: int | None = None, timeout: float = 30.0
    ) -> Any:
        """Advance the clock (to a time, or by seconds) and wait until it is `ready`."""
        from . import clock

        if (to is None) == (by is None):
            raise ValueError("give exactly one of to= or by=")
        target = to if to is not None else self.now + int(by or 0)
        clocks = self.client.v1.test_helpers.test_clocks
        clk = clocks.advance(self.clock.id, {"frozen_time": target})
        deadline = clock.monotonic() + timeout
        while clk.status != "ready":
            if clk.status == "internal_failure" or clock.monotonic() > deadline:
                raise RuntimeError(f"test clock {clk.id} did not become ready: {clk.status}")
            clock.sleep(0.01)
            clk = clocks.retrieve(clk.id)
        self.clock = clk
        return clk

    def delete(self) -> None:
        """Delete the clock (and, at Stripe, its customers)."""
        self.client.v1.test_helpers.test_clocks.delete(self.clock.id)
