"""A project that ran `pip install stripe-mock-billing` (no extras) and `pip install stripe
pytest`: the plugin's fixtures work in its default (in-process) mode with nothing else set up.

`.ci/run` builds the wheel, installs it into a fresh venv and runs this file there.
"""

import stripe


def test_stripe_client_fixture_works_on_a_plain_install(stripe_client: stripe.StripeClient):
    meter = stripe_client.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": "api_call",
            "default_aggregation": {"formula": "sum"},
        }
    )
    customer = stripe_client.v1.customers.create({"name": "Ada"})
    stripe_client.v1.billing.meter_events.create(
        {"event_name": "api_call", "payload": {"stripe_customer_id": customer.id, "value": "3"}}
    )
    assert meter.status == "active"
    assert stripe_client.v1.customers.retrieve(customer.id).name == "Ada"


def test_code_that_builds_its_own_client_is_served_too(stripe_mock):
    # the app under test makes its own client with Stripe's default URLs
    client = stripe.StripeClient(stripe_mock.api_key)
    assert client.v1.customers.create({"email": "a@example.com"}).email == "a@example.com"
