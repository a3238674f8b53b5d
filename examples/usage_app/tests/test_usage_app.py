"""The example service, tested against the emulator with the pytest plugin's fixtures."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from usage_app import Config, UsageReporter

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400


def _summary(client: Any, meter_id: str, customer_id: str, start: int, end: int) -> Any:
    summaries = client.v1.billing.meters.event_summaries.list(
        meter_id, {"customer": customer_id, "start_time": start, "end_time": end}
    )
    return sum(s.aggregated_value for s in summaries.data)


def test_each_request_is_one_meter_event_with_its_idempotency_key(
    reporter: UsageReporter, stripe_mock: Any, stripe_client: Any, meter: Any
) -> None:
    cus = stripe_client.v1.customers.create({"name": "Acme"})
    for request_id, tokens in [("r1", 1200), ("r2", 800), ("r3", 5)]:
        assert reporter.report_tokens(cus.id, tokens, request_id=request_id)
    sent = stripe_mock.journal("POST", "/v1/billing/meter_events")
    assert [e.params["payload"]["value"] for e in sent] == ["1200", "800", "5"]
    assert [e.idempotency_key for e in sent] == ["tokens-r1", "tokens-r2", "tokens-r3"]
    assert [e.params["identifier"] for e in sent] == ["r1", "r2", "r3"]
    assert all(e.status == 200 for e in sent)


def test_a_500_is_retried_with_the_same_idempotency_key_and_billed_once(
    reporter: UsageReporter, stripe_mock: Any, stripe_client: Any, meter: Any
) -> None:
    cus = stripe_client.v1.customers.create({})
    stripe_mock.fail_next("api_error", path="/v1/billing/meter_events", method="POST")
    now = stripe_mock.now()
    assert reporter.report_tokens(cus.id, 500, request_id="req-42", timestamp=now - 10)
    attempts = stripe_mock.journal("POST", "/v1/billing/meter_events")
    assert [a.status for a in attempts] == [500, 200]
    assert [a.fault for a in attempts] == ["api_error", None]
    assert attempts[0].idempotency_key == attempts[1].idempotency_key == "tokens-req-42"
    start = (now - 3600) // 60 * 60
    assert _summary(stripe_client, meter.id, cus.id, start, start + 7200) == 500


def test_rate_limited_reports_are_queued_and_flushed(
    reporter: UsageReporter, stripe_mock: Any, stripe_client: Any, meter: Any
) -> None:
    cus = stripe_client.v1.customers.create({})
    stripe_mock.fail_next("rate_limit", path="/v1/billing/meter_events", times=2)
    assert reporter.report_tokens(cus.id, 10, request_id="a") is False
    assert reporter.report_tokens(cus.id, 20, request_id="b") is False
    assert reporter.flush() == 0
    sent = stripe_mock.journal("POST", "/v1/billing/meter_events")
    assert [(e.status, e.params["identifier"]) for e in sent] == [
        (429, "a"),
        (429, "b"),
        (200, "a"),
        (200, "b"),
    ]


def test_batches_go_through_the_v2_stream(
    reporter: UsageReporter, stripe_mock: Any, stripe_client: Any, meter: Any
) -> None:
    cus = stripe_client.v1.customers.create({})
    reporter.report_tokens_batch([(cus.id, 100)] * 150)
    streams = stripe_mock.journal("POST", "/v2/billing/meter_event_stream")
    assert [len(s.params["events"]) for s in streams] == [100, 50]
    assert len(stripe_mock.journal("POST", "/v2/billing/meter_event_session")) == 1
    now = stripe_mock.now()
    start = (now - 3600) // 60 * 60
    assert _summary(stripe_client, meter.id, cus.id, start, start + 7200) == 15000


def test_legacy_usage_records_through_raw_request(
    reporter: UsageReporter, stripe_mock: Any
) -> None:
    acacia = stripe_mock.acacia_client()
    product = acacia.v1.products.create({"name": "Legacy tokens"})
    price = acacia.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1,
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
        }
    )
    cus = acacia.v1.customers.create({})
    sub = acacia.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    item = sub["items"].data[0].id
    now = stripe_mock.now()
    for n, qty in enumerate([3, 4, 5]):
        record = reporter.report_legacy_usage(item, qty, request_id=f"u{n}", timestamp=now)
        assert record.object == "usage_record" and record.quantity == qty
    posts = stripe_mock.journal("POST", f"/v1/subscription_items/{item}/usage_records")
    assert [(e.params["quantity"], e.idempotency_key) for e in posts] == [
        ("3", "usage-u0"),
        ("4", "usage-u1"),
        ("5", "usage-u2"),
    ]
    assert {e.api_version for e in posts} == {"2025-02-24.acacia"}
    summaries = acacia.raw_request(
        "get",
        f"/v1/subscription_items/{item}/usage_record_summaries",
        stripe_version="2025-02-24.acacia",
    )
    assert acacia.deserialize(summaries, api_mode="V1").data[0].total_usage == 12


def test_period_end_invoice_is_finalized_and_paid(
    reporter: UsageReporter,
    stripe_mock: Any,
    stripe_client: Any,
    token_price: Any,
    stripe_test_clock: Any,
) -> None:
    tc = stripe_test_clock(frozen_time=T0, name="Acme")
    stripe_client.v1.subscriptions.create(
        {"customer": tc.customer.id, "items": [{"price": token_price.id}]}
    )
    for n in range(3):
        reporter.report_tokens(tc.customer.id, 100_000, request_id=f"p{n}", timestamp=T0 + 60 + n)
    tc.advance(to=T0 + 31 * DAY + 60)  # past the period end, inside the finalization grace
    outcomes = {o.action: o for o in reporter.settle_invoices(tc.customer.id)}
    cycle = outcomes["finalized"]  # the draft cycle invoice: 300,000 tokens x 0.002 cents
    assert (cycle.status, cycle.amount_due) == ("paid", 600)
    assert "recorded" in outcomes  # the $0 invoice of the subscription's creation
    assert stripe_mock.journal("POST", f"/v1/invoices/{cycle.invoice_id}/finalize")


def test_default_stripe_urls_work_in_process(stripe_mock: Any, meter: Any) -> None:
    if stripe_mock.mode != "inprocess":
        pytest.skip("only in-process mode intercepts Stripe's own hosts")
    app = UsageReporter(Config(api_key=stripe_mock.api_key))  # no base_url: api.stripe.com
    cus = app.client.v1.customers.create({})
    assert app.report_tokens(cus.id, 1, request_id="x")
    assert stripe_mock.journal("POST", "/v1/billing/meter_events")[0].status == 200


def test_persistent_500s_surface_after_the_sdk_retries(
    reporter: UsageReporter, stripe_mock: Any
) -> None:
    stripe_mock.fail_next("api_error", path="/v1/billing/meter_events", times=3)
    with pytest.raises(stripe.APIError):
        reporter.report_tokens("cus_x", 1, request_id="gives-up")
    assert len(stripe_mock.journal()) == 3  # first try + max_network_retries=2
