"""In-process mode: mock_stripe (responses + httpx), the async transport, crash propagation,
and frozen time (freezegun, time-machine)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import freezegun
import httpx
import pytest
import requests
import responses
import stripe
import time_machine

from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.domain import customers as customers_module
from stripe_mock_billing.handle import StripeMock, new_api_key
from stripe_mock_billing.inprocess import (
    INPROCESS_URL,
    AsyncInProcessTransport,
    EmulatorCrash,
    httpx_client,
    mock_stripe,
)
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import assert_journal_valid, make_client

Y2030 = 1893456000  # 2030-01-01T00:00:00Z


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a TCP connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("in-process mode opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_default_stripe_urls_are_served_in_process(no_sockets: None) -> None:
    with mock_stripe() as m:
        sdk = stripe.StripeClient("sk_test_default_urls", max_network_retries=0)
        cus = sdk.v1.customers.create({"name": "Ada"})
        assert sdk.v1.customers.retrieve(cus.id).name == "Ada"
        mine = m.client("sk_test_default_urls")  # the account named by the key
        assert [c.id for c in mine.v1.customers.list().data] == [cus.id]
        assert_journal_valid(m.handle("sk_test_default_urls"))


def test_inprocess_url_and_client_helper(no_sockets: None) -> None:
    with mock_stripe() as m:
        assert m.url == INPROCESS_URL
        sdk = m.client()
        prod = sdk.v1.products.create({"name": "p"})
        assert prod.id.startswith("prod_")
        account = m.handle(sdk._requestor.api_key)
        assert account.journal("POST")[0].response["id"] == prod.id
        assert_journal_valid(account)


def test_stripe_hosts_can_be_left_alone() -> None:
    with mock_stripe(stripe_hosts=False) as m:
        assert m.pattern.match("https://api.stripe.com/v1/customers") is None
        assert m.pattern.match(INPROCESS_URL + "/v1/customers")


def test_v2_meter_event_stream_uses_the_meter_events_host(no_sockets: None) -> None:
    with mock_stripe() as m:
        sdk = stripe.StripeClient("sk_test_" + "v2stream", max_network_retries=0)
        session = sdk.v2.billing.meter_event_session.create()
        assert session.authentication_token
        assert_journal_valid(m.handle("sk_test_v2stream"))


def test_decorator_gives_each_call_a_fresh_emulator(schema_violations: list[str]) -> None:
    seen: list[int] = []

    @mock_stripe()
    def count_and_create() -> None:
        sdk = make_client(INPROCESS_URL, "sk_test_decorated", schema_violations)
        seen.append(len(sdk.v1.customers.list().data))
        sdk.v1.customers.create({})

    count_and_create()
    count_and_create()
    assert seen == [0, 0]


def test_other_urls_pass_through(server: ThreadedServer) -> None:
    # /healthz is emulator-only: no schema describes it
    with mock_stripe():
        assert requests.get(server.url + "/healthz", timeout=5).json()["status"] == "ok"
        assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


def test_interception_stops_after_the_block() -> None:
    with mock_stripe():
        pass
    with pytest.raises(requests.ConnectionError):  # no response to check
        requests.get(INPROCESS_URL + "/healthz", timeout=5)


def test_routes_can_join_an_existing_responses_mock(no_sockets: None) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, "https://example.test/hello", json={"hi": 1})
        with mock_stripe(requests_mock=rsps) as m:
            sdk = stripe.StripeClient("sk_test_joined", max_network_retries=0)
            assert sdk.v1.customers.create({}).id.startswith("cus_")
            # another service's stub, not Stripe's API: no schema applies
            assert requests.get("https://example.test/hello", timeout=5).json() == {"hi": 1}
            assert_journal_valid(m.handle("sk_test_joined"))


@pytest.mark.anyio
async def test_async_methods_with_the_default_httpx_client(no_sockets: None) -> None:
    with mock_stripe() as m:
        sdk = stripe.StripeClient("sk_test_async_default", max_network_retries=0)
        cus = await sdk.v1.customers.create_async({"name": "Async"})
        got = await sdk.v1.customers.retrieve_async(cus.id)
        assert got.name == "Async"
        assert_journal_valid(m.handle("sk_test_async_default"))


@pytest.mark.anyio
async def test_async_decorator(schema_violations: list[str]) -> None:
    @mock_stripe()
    async def body() -> str:
        sdk = make_client(INPROCESS_URL, "sk_test_async_deco", schema_violations)
        return str((await sdk.v1.products.create_async({"name": "x"})).id)

    assert (await body()).startswith("prod_")


@pytest.mark.anyio
async def test_httpx_client_needs_no_patching(no_sockets: None) -> None:
    app = create_app(Settings())
    sdk = stripe.StripeClient(
        "sk_test_transport",
        base_addresses={"api": INPROCESS_URL, "meter_events": INPROCESS_URL},
        http_client=httpx_client(app, allow_sync_methods=True),
        max_network_retries=0,
    )
    cus = await sdk.v1.customers.create_async({"name": "T"})
    assert sdk.v1.customers.retrieve(cus.id).name == "T"  # sync through httpx.Client
    with pytest.raises(stripe.InvalidRequestError) as exc:
        await sdk.v1.customers.retrieve_async("cus_missing")
    assert exc.value.http_status == 404
    account = StripeMock(INPROCESS_URL, "sk_test_transport", mode="inprocess", app=app)
    assert [e.status for e in account.journal()] == [200, 200, 404]
    assert_journal_valid(account)


@pytest.mark.anyio
async def test_async_transport_directly() -> None:
    app = create_app(Settings())
    async with httpx.AsyncClient(transport=AsyncInProcessTransport(app)) as http:  # type: ignore[arg-type]
        resp = await http.get(INPROCESS_URL + "/healthz")
    # /healthz is emulator-only: no schema describes it
    assert resp.status_code == 200 and resp.json()["status"] == "ok"


@pytest.fixture
def broken_render(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def boom(self: Any, ctx: Any) -> dict[str, Any]:
        raise ZeroDivisionError("emulator bug")

    monkeypatch.setattr(customers_module.Customer, "render", boom)
    yield


def test_emulator_crash_is_reraised_into_the_test(broken_render: None) -> None:
    with mock_stripe() as m:
        sdk = stripe.StripeClient("sk_test_crash", max_network_retries=2)
        with pytest.raises(EmulatorCrash) as exc:
            sdk.v1.customers.create({"name": "x"})
        assert isinstance(exc.value.__cause__, ZeroDivisionError)
        (entry,) = m.handle("sk_test_crash").journal()
        assert entry.status == 500  # rendered and journaled first, retried never
        assert entry.response["error"]["type"] == "api_error"
        assert_journal_valid(m.handle("sk_test_crash"))


def test_without_propagation_the_sdk_sees_the_500(broken_render: None) -> None:
    with mock_stripe(settings=Settings(propagate_exceptions=False)) as m:
        sdk = stripe.StripeClient("sk_test_no_crash", max_network_retries=0)
        with pytest.raises(stripe.APIError) as exc:
            sdk.v1.customers.create({})
        assert exc.value.http_status == 500
        assert exc.value.json_body["error"] == {
            "type": "api_error",
            "message": "An unknown error occurred",
            "request_log_url": exc.value.json_body["error"]["request_log_url"],
        }
        assert_journal_valid(m.handle("sk_test_no_crash"))


# --- frozen time -------------------------------------------------------------------------


def test_freezegun_moves_the_emulators_wall_clock() -> None:
    with mock_stripe() as m, freezegun.freeze_time("2030-01-01"):
        sdk = m.client(new_api_key())
        assert sdk.v1.customers.create({}).created == Y2030
        assert sdk.v1.products.create({"name": "p"}).created == Y2030
        assert_journal_valid(m.handle(sdk._requestor.api_key))


def test_time_machine_moves_the_emulators_wall_clock() -> None:
    with mock_stripe() as m, time_machine.travel(Y2030, tick=False):
        sdk = m.client(new_api_key())
        assert sdk.v1.products.create({"name": "p"}).created == Y2030
        assert_journal_valid(m.handle(sdk._requestor.api_key))


def test_test_clocks_stay_independent_of_frozen_time() -> None:
    with mock_stripe() as m:
        sdk = m.client(new_api_key())
        clk = sdk.v1.test_helpers.test_clocks.create({"frozen_time": 1700000000})
        with freezegun.freeze_time("2030-01-01"):
            cus = sdk.v1.customers.create({"test_clock": clk.id})
            assert cus.created == 1700000000
            again = sdk.v1.test_helpers.test_clocks.retrieve(clk.id)
            assert again.frozen_time == 1700000000
        assert_journal_valid(m.handle(sdk._requestor.api_key))


def test_environ_matches_the_server_for_odd_paths_and_queries(
    server: ThreadedServer, schema_violations: list[str]
) -> None:
    key = new_api_key()
    remote = make_client(server.url, key, schema_violations)
    with mock_stripe() as m:
        local = m.client(key)
        for sdk in (remote, local):
            sdk.v1.customers.create({"email": "a+b@example.com", "metadata": {"k": "v w"}})
        for call in (
            lambda c: c.v1.customers.retrieve("cus_a b/ü"),
            lambda c: c.v1.customers.list({"email": "a+b@example.com", "limit": 1}),
        ):
            results = []
            for sdk in (remote, local):
                try:
                    results.append(_strip(call(sdk).to_dict()))
                except stripe.StripeError as exc:
                    results.append((exc.http_status, exc.json_body["error"]["message"]))
            assert results[0] == results[1]
        assert len(local.v1.customers.list({"email": "a+b@example.com"}).data) == 1
        assert_journal_valid(m.handle(key))


def _strip(body: Any) -> Any:
    """A list body without ids and timestamps (they differ between the two accounts)."""
    return [(c["email"], c["metadata"]) for c in body["data"]]


def test_module_level_resource_calls_are_served_in_process(
    no_sockets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "api_key", "sk_test_globals")
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    with mock_stripe() as m:
        cus = stripe.Customer.create(name="Global")
        assert stripe.Customer.retrieve(cus.id).name == "Global"
        mine = m.client("sk_test_globals")  # the account named by the global key
        assert [c.id for c in mine.v1.customers.list().data] == [cus.id]
        assert_journal_valid(m.handle("sk_test_globals"))
