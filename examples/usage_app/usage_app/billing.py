"""UsageReporter: reports token usage to Stripe and reacts to period-end invoices.

Written against Stripe's public API only (nothing emulator-specific), as an application would:

- `report_tokens`: one Billing Meter event per request through `POST /v1/billing/meter_events`,
  deduplicated by `identifier` and sent with an `Idempotency-Key`, so the SDK's automatic
  retries (`max_network_retries`) can never double-bill; rate-limited reports are queued and
  sent again by `flush()`.
- `report_tokens_batch`: many events through the v2 high-throughput stream
  (`meter_event_session` + `meter_event_stream`), re-opening the session when it expires.
- `report_legacy_usage`: legacy usage records (`POST /v1/subscription_items/{id}/usage_records`,
  only up to API version 2025-02-24.acacia) through `raw_request`, for customers still on
  pre-meter metered prices.
- `settle_invoices`: at period end, lists the customer's invoices and reacts to each status:
  finalizes drafts, pays open ones, records paid ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import stripe

LEGACY_VERSION = "2025-02-24.acacia"


@dataclass
class Config:
    """Where and how to reach Stripe."""

    api_key: str
    base_url: str | None = None  # None: Stripe's own hosts
    max_network_retries: int = 2
    event_name: str = "llm_tokens"


@dataclass
class InvoiceOutcome:
    """What `settle_invoices` did with one invoice."""

    invoice_id: str
    status: str
    amount_due: int
    action: str


@dataclass
class UsageReporter:
    """Reports usage for one Stripe account."""

    config: Config
    pending: list[dict[str, Any]] = field(default_factory=list)
    _session: Any = None

    def __post_init__(self) -> None:
        kwargs: dict[str, Any] = {"max_network_retries": self.config.max_network_retries}
        if self.config.base_url:
            url = self.config.base_url
            kwargs["base_addresses"] = {
                "api": url,
                "meter_events": url,
                "files": url,
                "connect": url,
            }
        self.client = stripe.StripeClient(self.config.api_key, **kwargs)

    # --- Billing Meters (v1) ------------------------------------------------------------
    def report_tokens(
        self, customer_id: str, tokens: int, *, request_id: str, timestamp: int | None = None
    ) -> bool:
        """Report one request's tokens; False when rate limited (queued for `flush`)."""
        event: dict[str, Any] = {
            "event_name": self.config.event_name,
            "payload": {"stripe_customer_id": customer_id, "value": str(tokens)},
            "identifier": request_id,
        }
        if timestamp is not None:
            event["timestamp"] = timestamp
        try:
            self.client.v1.billing.meter_events.create(
                event,  # type: ignore[arg-type]
                {"idempotency_key": f"tokens-{request_id}"},
            )
        except stripe.RateLimitError:
            self.pending.append(event)
            return False
        return True

    def flush(self) -> int:
        """Send queued reports again; the number still pending."""
        queued, self.pending = self.pending, []
        for event in queued:
            try:
                self.client.v1.billing.meter_events.create(
                    event,  # type: ignore[arg-type]
                    {"idempotency_key": f"tokens-{event['identifier']}"},
                )
            except stripe.RateLimitError:
                self.pending.append(event)
        return len(self.pending)

    # --- v2 meter event stream ----------------------------------------------------------
    def _stream_token(self) -> str:
        if self._session is None:
            self._session = self.client.v2.billing.meter_event_session.create()
        return str(self._session.authentication_token)

    def report_tokens_batch(self, usage: list[tuple[str, int]]) -> None:
        """Report many (customer, tokens) pairs through the v2 stream (100 per call)."""
        events = [
            {
                "event_name": self.config.event_name,
                "payload": {"stripe_customer_id": cus, "value": str(tokens)},
                "identifier": str(uuid.uuid4()),
            }
            for cus, tokens in usage
        ]
        for start in range(0, len(events), 100):
            chunk = {"events": events[start : start + 100]}
            try:
                self.client.v2.billing.meter_event_stream.create(
                    chunk,  # type: ignore[arg-type]
                    {"api_key": self._stream_token()},
                )
            except stripe.TemporarySessionExpiredError:
                self._session = None
                self.client.v2.billing.meter_event_stream.create(
                    chunk,  # type: ignore[arg-type]
                    {"api_key": self._stream_token()},
                )

    # --- legacy usage records -----------------------------------------------------------
    def report_legacy_usage(
        self, subscription_item_id: str, tokens: int, *, request_id: str, timestamp: int
    ) -> Any:
        """One usage record (increment) on a legacy metered subscription item."""
        resp = self.client.raw_request(
            "post",
            f"/v1/subscription_items/{subscription_item_id}/usage_records",
            quantity=tokens,
            timestamp=timestamp,
            action="increment",
            stripe_version=LEGACY_VERSION,
            idempotency_key=f"usage-{request_id}",
        )
        return self.client.deserialize(resp, api_mode="V1")

    # --- period end ---------------------------------------------------------------------
    def settle_invoices(self, customer_id: str) -> list[InvoiceOutcome]:
        """React to the customer's invoices: finalize drafts, pay open ones, record paid."""
        outcomes = []
        invoices = self.client.v1.invoices.list({"customer": customer_id, "limit": 100})
        for inv in invoices.auto_paging_iter():
            action = "ignore"
            if inv.status == "draft":
                inv = self.client.v1.invoices.finalize_invoice(inv.id)  # type: ignore[arg-type]
                action = "finalized"
            if inv.status == "open":
                inv = self.client.v1.invoices.pay(inv.id)  # type: ignore[arg-type]
                action = "paid" if action == "ignore" else f"{action}+paid"
            elif inv.status == "paid" and action == "ignore":
                action = "recorded"
            outcomes.append(
                InvoiceOutcome(
                    invoice_id=str(inv.id),
                    status=str(inv.status),
                    amount_due=int(inv.amount_due),
                    action=action,
                )
            )
        return outcomes
