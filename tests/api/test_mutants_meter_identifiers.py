"""Meter event identifiers pinned while reviewing the surviving mutants of
billing/meter_identifiers.py (issue 15; meters.md §3: an identifier is unique within 24 h).
700 identifiers are past the 682 a fresh index holds before it grows, so every one of them has
been moved once into the bigger table; v2 streams carry them 100 to a request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.meter_helpers import D, day0, make_meter, send, total
from tests.conftest import err_of, make_client


def _stream_700(client: stripe.StripeClient, cus: str, base: int) -> None:
    """Events e0..e699 of value 1, one a second from `base`, in 7 stream requests."""
    session = client.v2.billing.meter_event_session.create()
    for batch in range(7):
        events: list[Any] = [
            {
                "event_name": "api_calls",
                "payload": {"stripe_customer_id": cus, "value": "1"},
                "identifier": f"e{i}",
                "timestamp": datetime.fromtimestamp(base + i, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                ),
            }
            for i in range(batch * 100, batch * 100 + 100)
        ]
        client.v2.billing.meter_event_stream.create(
            {"events": events}, {"api_key": session.authentication_token}
        )


def test_a_resent_batch_of_700_identifiers_is_dropped(
    client: stripe.StripeClient, cus: str
) -> None:
    """Resending 700 events with the same identifiers within 24 h adds nothing."""
    m = make_meter(client)
    base = day0()
    _stream_700(client, cus, base)
    assert total(client, m.id, cus, base, base + D) == 700
    _stream_700(client, cus, base)
    assert total(client, m.id, cus, base, base + D) == 700


def test_700_identifiers_survive_a_snapshot(
    server: ThreadedServer,
    client: stripe.StripeClient,
    cus: str,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    """An account holding 700 identifiers imports, and the copy still refuses a reused one."""
    make_meter(client)
    base = day0()
    _stream_700(client, cus, base)
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(twin, cus, 1, base, identifier="e699")
    e = err_of(exc)
    assert (exc.value.http_status, e["type"], e.get("code"), e.get("param")) == (
        400,
        "invalid_request_error",
        None,
        None,
    )
    assert e["message"] == "An event already exists with identifier e699."
