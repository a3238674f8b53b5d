"""v2 event destinations through stripe-python 16: CRUD, enable / disable / ping, the signing
secret rules, thin meter error notifications parsed with `parse_event_notification` and
fetched back (`fetch_event`, `fetch_related_object`), snapshot destinations."""

from __future__ import annotations

import pytest
import requests
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.meter_helpers import day0, make_meter, send
from tests.api.webhook_helpers import receiver

THIN = ["v1.billing.meter.error_report_triggered", "v1.billing.meter.no_meter_found"]


def _create(
    client: stripe.StripeClient, url: str, **extra: object
) -> stripe.v2.core.EventDestination:
    params = {
        "name": "meter errors",
        "type": "webhook_endpoint",
        "event_payload": "thin",
        "enabled_events": THIN,
        "webhook_endpoint": {"url": url},
        "include": ["webhook_endpoint.signing_secret", "webhook_endpoint.url"],
        **extra,
    }
    return client.v2.core.event_destinations.create(params)  # type: ignore[arg-type]


def test_create_retrieve_update_list_delete(client: stripe.StripeClient) -> None:
    ed = _create(client, "http://127.0.0.1:9/thin", description="d", metadata={"k": "v"})
    assert ed.id.startswith("ed_test_")
    assert ed.object == "v2.core.event_destination"
    assert ed.webhook_endpoint.signing_secret.startswith("whsec_")
    assert ed.webhook_endpoint.url == "http://127.0.0.1:9/thin"
    assert (ed.status, ed.event_payload, ed.type) == ("enabled", "thin", "webhook_endpoint")
    assert ed.enabled_events == THIN
    assert ed.snapshot_api_version is None
    got = client.v2.core.event_destinations.retrieve(ed.id)
    assert got.webhook_endpoint.signing_secret is None  # only on create
    assert got.webhook_endpoint.url is None  # only when included
    got = client.v2.core.event_destinations.retrieve(ed.id, {"include": ["webhook_endpoint.url"]})
    assert got.webhook_endpoint.url == "http://127.0.0.1:9/thin"
    upd = client.v2.core.event_destinations.update(
        ed.id, {"name": "renamed", "enabled_events": THIN[:1], "metadata": {"k": None, "j": "w"}}
    )
    assert (upd.name, upd.enabled_events, upd.metadata.to_dict()) == (
        "renamed",
        THIN[:1],
        {"j": "w"},
    )
    listed = client.v2.core.event_destinations.list()
    assert [d.id for d in listed.data] == [ed.id]
    client.v2.core.event_destinations.delete(ed.id)
    with pytest.raises(stripe.StripeError) as exc:
        client.v2.core.event_destinations.retrieve(ed.id)
    assert exc.value.http_status == 404
    assert exc.value.code == "not_found"
    assert str(exc.value.user_message) == f"Event destination {ed.id} not found."


def test_disable_and_enable(client: stripe.StripeClient) -> None:
    ed = _create(client, "http://127.0.0.1:9/thin")
    off = client.v2.core.event_destinations.disable(ed.id)
    assert off.status == "disabled"
    assert off.status_details.disabled.reason == "user"
    on = client.v2.core.event_destinations.enable(ed.id)
    assert on.status == "enabled" and on.status_details is None


def test_meter_error_arrives_thin_and_fetches(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ed = _create(client, rcv.url)
        rcv.secret = ed.webhook_endpoint.signing_secret
        meter = make_meter(client)
        send(client, "cus_nobody", 1, ts=day0())
        (notif,) = rcv.events()
        assert isinstance(notif, stripe.events.V1BillingMeterErrorReportTriggeredEventNotification)
        body, _ = rcv.raw[0]
        assert b'"data"' not in body  # thin: no data in the delivery
        assert notif.related_object.id == meter.id
        notif._client = client  # fetch through the emulator-bound client
        event = notif.fetch_event()
        assert event.id == notif.id
        assert event.data.reason.error_types[0].code == "meter_event_customer_not_found"
        assert notif.fetch_related_object().id == meter.id


def test_no_meter_found_has_no_related_object(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ed = _create(client, rcv.url)
        rcv.secret = ed.webhook_endpoint.signing_secret
        s = client.v2.billing.meter_event_session.create()
        client.v2.billing.meter_event_stream.create(
            {"events": [{"event_name": "nothing", "payload": {"value": "1"}}]},
            {"api_key": s.authentication_token},
        )
        (notif,) = rcv.events()
        assert notif.type == "v1.billing.meter.no_meter_found"
        assert notif.related_object is None if hasattr(notif, "related_object") else True


def test_ping_is_delivered_and_returned(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ed = _create(client, rcv.url)
        rcv.secret = ed.webhook_endpoint.signing_secret
        ev = client.v2.core.event_destinations.ping(ed.id)
        assert ev.type == "v2.core.event_destination.ping"
        assert ev.related_object.id == ed.id
        (notif,) = rcv.events()
        assert notif.id == ev.id
        assert client.v2.core.events.retrieve(ev.id).id == ev.id


def test_disabled_destination_gets_nothing(client: stripe.StripeClient, mock: StripeMock) -> None:
    with receiver() as rcv:
        ed = _create(client, rcv.url)
        rcv.secret = ed.webhook_endpoint.signing_secret
        client.v2.core.event_destinations.disable(ed.id)
        make_meter(client)
        send(client, "cus_nobody", 1, ts=day0())
        assert rcv.raw == []


def test_snapshot_destination_gets_v1_events_at_its_version(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        ed = _create(
            client,
            rcv.url,
            event_payload="snapshot",
            enabled_events=["customer.created"],
            snapshot_api_version="2025-03-31.basil",
        )
        rcv.secret = ed.webhook_endpoint.signing_secret
        assert ed.snapshot_api_version == "2025-03-31.basil"
        client.v1.customers.create({})
        (ev,) = rcv.events()
        assert isinstance(ev, stripe.Event)
        assert ev.api_version == "2025-03-31.basil"
        assert client.v1.events.retrieve(ev.id).pending_webhooks == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"enabled_events": ["invoice.paid"]},
            "Invalid enabled_events: invoice.paid is not a thin",
        ),
        ({"type": "amazon_eventbridge"}, "Invalid type: amazon_eventbridge."),
        ({"event_payload": "fat"}, "Invalid event_payload: fat"),
        (
            {"webhook_endpoint": {"url": "https://example.com/x"}},
            "Invalid URL: https://example.com/x.",
        ),
        ({"snapshot_api_version": "2025-03-31.basil"}, "snapshot_api_version can only be set"),
        ({"include": ["secret"]}, "Invalid include: secret"),
    ],
)
def test_bad_create(client: stripe.StripeClient, extra: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(stripe.StripeError) as exc:
        _create(client, "http://127.0.0.1:9/x", **extra)
    assert exc.value.http_status == 400
    assert exc.value.code == "invalid_request"
    assert str(exc.value.user_message).startswith(message)
    assert client.v2.core.event_destinations.list().data == []


def test_fetch_headers_sdks_send_are_accepted(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    ed = _create(client, "http://127.0.0.1:9/thin")
    ev = client.v2.core.event_destinations.ping(ed.id)
    # not validated: GET /v2/core/events/{id} is no operation of the OpenAPI spec at hand
    resp = requests.get(
        f"{server.url}/v2/core/events/{ev.id}",
        headers={
            "Authorization": f"Bearer {api_key}",
            "Stripe-Request-Trigger": f"event={ev.id}",
            "Stripe-Context": "acct_123",
        },
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.json()["id"] == ev.id


def test_snapshot_roundtrip_keeps_destinations_and_pings(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    ed = _create(client, "http://127.0.0.1:9/thin")
    ping = client.v2.core.event_destinations.ping(ed.id)
    snap = mock.export_state()
    mock.reset()
    mock.import_state(snap)
    assert [d.id for d in client.v2.core.event_destinations.list().data] == [ed.id]
    assert client.v2.core.events.retrieve(ping.id).type == "v2.core.event_destination.ping"
