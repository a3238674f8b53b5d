"""The request pipeline's last stages (stripe_mock_billing/wire/pipeline.py `finish` and an
idempotent replay), pinned where the mutation review of wire/ found them untested: the headers
of a replayed answer, the headers a stored error keeps, and which failures are not stored under
their `Idempotency-Key` (wire-format.md, "Idempotency")."""

from __future__ import annotations

import re

import pytest
import requests
import stripe

from stripe_mock_billing import clock
from stripe_mock_billing.server import ThreadedServer
from tests.api.conftest import invalid_request
from tests.api.meter_helpers import day0, make_meter
from tests.conftest import validated

REQUEST_ID = r"req_[A-Za-z0-9]{14}"


def _post_customer(server: ThreadedServer, key: str, idem: str, version: str) -> requests.Response:
    r = requests.post(
        server.url + "/v1/customers",
        data={"name": "Ada"},
        headers={
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": idem,
            "Stripe-Version": version,
        },
        timeout=10,
    )
    return validated(r)


def test_a_replay_carries_its_own_request_headers(
    server: ThreadedServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay answers the stored status and body with the headers of every response
    (wire-format.md: `Request-Id`, the echoed `Stripe-Version`, as docs/conformance.md checks
    on every response), its own request id and the version this request asked for: a version
    newer than the newest known is served as the newest, with `Stripe-Mock-Requested-Version`."""
    monkeypatch.setattr(clock, "real_time", lambda: 1798761600)  # 2027-01-01
    first = _post_customer(server, api_key, "replay-headers", "2025-02-24.acacia")
    again = _post_customer(server, api_key, "replay-headers", "2026-12-16.endive")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    h = again.headers
    assert h["Idempotent-Replayed"] == "true"
    assert h["Idempotency-Key"] == "replay-headers"
    assert h["Original-Request"] == first.headers["Request-Id"]
    assert re.fullmatch(REQUEST_ID, h["Request-Id"])
    assert h["Request-Id"] != first.headers["Request-Id"]
    assert h["Content-Type"] == "application/json"
    assert h["Stripe-Version"] == "2026-11-18.endive"
    assert h["Stripe-Mock-Requested-Version"] == "2026-12-16.endive"
    assert h["Cache-Control"] == "no-cache, no-store"
    assert h["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Stripe-Version"] == "2025-02-24.acacia"
    assert "Stripe-Mock-Requested-Version" not in first.headers
    assert first.headers["Cache-Control"] == "no-cache, no-store"
    assert first.headers["Access-Control-Allow-Origin"] == "*"


def test_a_stored_error_replays_its_stripe_should_retry(
    client: stripe.StripeClient, cus: str
) -> None:
    """A reused meter event identifier is a 400 with `Stripe-Should-Retry: false`; under an
    `Idempotency-Key` the error is stored and a replay returns the first answer
    (docs/guides/meters.md), the header included."""
    make_meter(client)
    params = {
        "event_name": "api_calls",
        "timestamp": day0(),
        "identifier": "evt-replayed",
        "payload": {"stripe_customer_id": cus, "value": "1"},
    }
    client.v1.billing.meter_events.create(params)  # type: ignore[arg-type]
    answers = []
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.billing.meter_events.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": "dup-identifier"},
            )
        e = invalid_request(exc)
        assert "code" not in e and "param" not in e
        assert e["message"] == "An event already exists with identifier evt-replayed."
        answers.append(exc.value)
    first, again = answers
    assert first.headers is not None and again.headers is not None
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["Stripe-Should-Retry"] == again.headers["Stripe-Should-Retry"] == "false"
    assert again.http_body == first.http_body


def test_a_parameter_error_raised_by_the_route_is_not_stored(
    client: stripe.StripeClient, cus: str
) -> None:
    """An invoice item needs an amount (or a price): a parameter failure, found by the route
    after the parameters were decoded, is not stored, as at Stripe (wire-format.md), so the
    same key may be sent again with the fix."""
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.invoice_items.create(
                {"customer": cus, "currency": "usd"}, {"idempotency_key": "fix-the-amount"}
            )
        e = invalid_request(exc)
        assert (e["code"], e["param"], e["message"]) == (
            "parameter_missing",
            "amount",
            "Missing required param: amount.",
        )
        assert "Idempotent-Replayed" not in (exc.value.headers or {})
    item = client.v1.invoice_items.create(
        {"customer": cus, "currency": "usd", "amount": 500}, {"idempotency_key": "fix-the-amount"}
    )
    assert (item.customer, item.amount) == (cus, 500)
    assert item.last_response is not None
    assert "Idempotent-Replayed" not in item.last_response.headers


def test_a_bad_expand_path_is_not_stored(client: stripe.StripeClient) -> None:
    """A path that cannot be expanded is a 400 on `expand` before anything is written: a
    parameter failure, not stored (wire-format.md), so the same key works once it is fixed."""
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.customers.create(
                {"name": "Ada", "expand": ["name"]}, {"idempotency_key": "fix-the-expand"}
            )
        e = invalid_request(exc)
        assert (e.get("code"), e["param"], e["message"]) == (
            None,
            "expand",
            "This property cannot be expanded (name).",
        )
        assert "Idempotent-Replayed" not in (exc.value.headers or {})
    assert client.v1.customers.list().data == []
    made = client.v1.customers.create({"name": "Ada"}, {"idempotency_key": "fix-the-expand"})
    assert made.name == "Ada"
    assert [c.id for c in client.v1.customers.list().data] == [made.id]
