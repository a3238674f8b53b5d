"""`/v1/webhook_endpoints` through the SDK: create / retrieve / update / list / delete, the
secret only on create, enabled_events and URL validation, per-account isolation."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import err_of

URL = "http://127.0.0.1:9/hook"


def _create(client: stripe.StripeClient, **params: object) -> stripe.WebhookEndpoint:
    body = {"url": URL, "enabled_events": ["invoice.paid"], **params}
    return client.v1.webhook_endpoints.create(body)  # type: ignore[arg-type]


def test_create_shows_secret_once(client: stripe.StripeClient) -> None:
    ep = _create(client, description="sink", metadata={"k": "v"})
    assert ep.id.startswith("we_")
    assert ep.object == "webhook_endpoint"
    assert ep.secret.startswith("whsec_") and len(ep.secret) > 20
    assert ep.status == "enabled"
    assert ep.url == URL
    assert ep.enabled_events == ["invoice.paid"]
    assert ep.api_version is None
    assert ep.description == "sink"
    assert ep.metadata.to_dict() == {"k": "v"}
    got = client.v1.webhook_endpoints.retrieve(ep.id)
    assert "secret" not in got.to_dict()
    assert got.url == URL


def test_update_fields_and_disable(client: stripe.StripeClient) -> None:
    ep = _create(client)
    got = client.v1.webhook_endpoints.update(
        ep.id,
        {
            "url": "http://localhost:8000/new",
            "enabled_events": ["*"],
            "description": "d",
            "metadata": {"a": "1"},
            "disabled": True,
        },
    )
    assert got.url == "http://localhost:8000/new"
    assert got.enabled_events == ["*"]
    assert got.status == "disabled"
    assert got.description == "d"
    assert "secret" not in got.to_dict()
    again = client.v1.webhook_endpoints.update(ep.id, {"disabled": False})
    assert again.status == "enabled"


def test_api_version_is_create_only(client: stripe.StripeClient) -> None:
    ep = _create(client, api_version="2025-03-31.basil")
    assert ep.api_version == "2025-03-31.basil"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.webhook_endpoints.update(ep.id, {"api_version": "2025-02-24.acacia"})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert e["code"] == "parameter_unknown"
    assert e["param"] == "api_version"
    assert e["message"] == "Received unknown parameter: api_version"


def test_secret_is_not_updatable(client: stripe.StripeClient) -> None:
    ep = _create(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.webhook_endpoints.update(ep.id, {"secret": "whsec_x"})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_unknown", "secret")
    assert e["message"] == "Received unknown parameter: secret"


def test_list_newest_first_and_delete(client: stripe.StripeClient) -> None:
    a, b = _create(client), _create(client)
    listed = client.v1.webhook_endpoints.list()
    assert [e.id for e in listed.data] == [b.id, a.id]
    assert listed.url == "/v1/webhook_endpoints"
    gone = client.v1.webhook_endpoints.delete(a.id)
    assert gone.to_dict() == {"id": a.id, "object": "webhook_endpoint", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.webhook_endpoints.retrieve(a.id)
    e = err_of(exc)
    assert exc.value.http_status == 404
    assert e["code"] == "resource_missing"
    assert e["message"] == f"No such webhook endpoint: '{a.id}'"


def test_endpoints_are_per_account(client: stripe.StripeClient, server, schema_violations) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_client

    ep = _create(client)
    other = make_client(server.url, "sk_test_other_" + ep.id, schema_violations)
    assert other.v1.webhook_endpoints.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as exc:
        other.v1.webhook_endpoints.retrieve(ep.id)
    assert exc.value.http_status == 404


def test_wildcard_and_every_emitted_type_accepted(client: stripe.StripeClient) -> None:
    for types in (["*"], ["product.created", "price.updated", "billing.meter.created"]):
        ep = _create(client, enabled_events=types)
        assert ep.enabled_events == types


def test_unknown_event_type_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, enabled_events=["invoice.paid", "invoice.exploded"])
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert e["type"] == "invalid_request_error"
    assert e["param"] == "enabled_events"
    assert e["message"].startswith(
        "Invalid enabled_events[1]: invoice.exploded is not an event type"
    )
    assert client.v1.webhook_endpoints.list().data == []  # nothing written


def test_thin_type_on_v1_endpoint_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, enabled_events=["v1.billing.meter.error_report_triggered"])
    e = err_of(exc)
    assert e["param"] == "enabled_events"
    assert "event destinations" in e["message"]


def test_empty_enabled_events_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, enabled_events="")
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_invalid_empty", "enabled_events")


def test_missing_url_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.webhook_endpoints.create({"enabled_events": ["*"]})  # type: ignore[typeddict-item]
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "url")
    assert e["message"] == "Missing required param: url."


@pytest.mark.parametrize(
    "url",
    ["not a url", "ftp://127.0.0.1/x", "http://", "http://127.0.0.1:99999/x", "127.0.0.1:80/x"],
)
def test_malformed_url_is_400(client: stripe.StripeClient, url: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, url=url)
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["code"], e["param"]) == ("url_invalid", "url")
    assert e["message"] == f"Invalid URL: {url}"


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://10.0.0.1/hook", "http://128.0.0.1/hook"]
)
def test_non_loopback_url_without_allow_list_is_400(client: stripe.StripeClient, url: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, url=url)
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("url_invalid", "url")
    assert e["message"].startswith(f"Invalid URL: {url}. The emulator delivers webhooks only")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/h",
        "http://127.255.255.254:1/h",
        "http://[::1]:8000/h",
        "http://localhost/h",
        "https://app.localhost/h",
    ],
)
def test_loopback_urls_accepted(client: stripe.StripeClient, url: str) -> None:
    assert _create(client, url=url).url == url


def test_bad_api_version_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, api_version="2025-13-45.acacia")
    e = err_of(exc)
    assert e["param"] == "api_version"
    assert e["message"] == "Invalid Stripe API version: 2025-13-45.acacia"


def test_connect_true_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client, connect=True)
    assert err_of(exc)["param"] == "connect"
    assert _create(client, connect=False).status == "enabled"


def test_sixteen_endpoints_at_most(client: stripe.StripeClient) -> None:
    for _ in range(16):
        _create(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _create(client)
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert e["message"] == "You have reached the maximum of 16 test webhook endpoints."
    assert len(client.v1.webhook_endpoints.list({"limit": 100}).data) == 16
