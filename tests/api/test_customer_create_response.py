"""`POST /v1/customers` answers with the customer as a retrieve shows it, whichever way it is
rendered (the `customer.created` snapshot is reused when nothing differs, issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.conftest import make_client


def _created_event(client: stripe.StripeClient, cid: str) -> dict[str, Any]:
    events = client.v1.events.list({"type": "customer.created", "limit": 100}).data
    return next(e.data.object.to_dict() for e in events if e.data.object.id == cid)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"name": "Ada", "email": "ada@example.com", "metadata": {"plan": "pro"}},
        {"preferred_locales": ["fr", "en"], "phone": "+33 1 23 45 67 89"},
        {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": ""}},
    ],
    ids=["plain", "fields", "lists", "payment method"],
)
def test_the_create_answer_is_the_customer_a_retrieve_shows(
    client: stripe.StripeClient, params: dict[str, Any]
) -> None:
    created = client.v1.customers.create(params)  # type: ignore[arg-type]
    assert created.to_dict() == client.v1.customers.retrieve(created.id).to_dict()
    if "payment_method" not in params:
        assert created.to_dict() == _created_event(client, created.id)


def test_a_default_payment_method_given_at_create_is_in_the_answer(
    client: stripe.StripeClient,
) -> None:
    created = client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    pm = created.invoice_settings.default_payment_method
    assert isinstance(pm, str) and pm.startswith("pm_")
    assert created.to_dict() == client.v1.customers.retrieve(created.id).to_dict()


def test_an_expanded_create_answer_expands(client: stripe.StripeClient) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_767_225_600})
    created = client.v1.customers.create({"test_clock": clk.id, "expand": ["test_clock"]})
    assert created.test_clock.id == clk.id  # the expanded clock, not its id
    assert created.test_clock.object == "test_helpers.test_clock"


def test_the_answer_at_another_api_version_is_rendered_at_that_version(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    old = make_client(server.url, api_key, schema_violations, "2024-06-20")
    created = old.v1.customers.create({"name": "Old"})
    assert created.to_dict() == old.v1.customers.retrieve(created.id).to_dict()
    assert created.last_response.headers["Stripe-Version"] == "2024-06-20"
