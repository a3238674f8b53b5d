"""Fixtures of the example app's suite, built on the stripe-mock-billing pytest plugin
(`stripe_mock`, `stripe_client`, `stripe_test_clock` come from the plugin's entry point)."""

from __future__ import annotations

from typing import Any

import pytest
from usage_app import Config, UsageReporter

EVENT_NAME = "llm_tokens"


@pytest.fixture
def reporter(stripe_mock: Any) -> UsageReporter:
    """The service under test, pointed at the emulator account of this test (retries on)."""
    return UsageReporter(
        Config(api_key=stripe_mock.api_key, base_url=stripe_mock.url, max_network_retries=2)
    )


@pytest.fixture
def meter(stripe_client: Any) -> Any:
    """The `llm_tokens` meter (sum of `value`)."""
    return stripe_client.v1.billing.meters.create(
        {
            "display_name": "LLM tokens",
            "event_name": EVENT_NAME,
            "default_aggregation": {"formula": "sum"},
        }
    )


@pytest.fixture
def token_price(stripe_client: Any, meter: Any) -> Any:
    """$0.02 per 1,000 tokens, billed monthly from the meter."""
    product = stripe_client.v1.products.create({"name": "LLM tokens"})
    return stripe_client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount_decimal": "0.002",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
