"""Issue 14 (hardening), test clock advances: bounded work, all or nothing, and no stall of
other accounts."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.hardening_helpers import (
    APR1_2025,
    FEB1_2025,
    MAY1_2025,
    clocked_subscription,
)
from tests.conftest import err_of, make_client, validated

# --- 1. bounded clock advances ----------------------------------------------------------------


def _state(client: stripe.StripeClient, clock_id: str, cus: str) -> tuple[Any, ...]:
    clk = client.v1.test_helpers.test_clocks.retrieve(clock_id)
    invoices = [i.id for i in client.v1.invoices.list({"customer": cus, "limit": 100}).data]
    events = [e.id for e in client.v1.events.list({"limit": 100}).data]
    subs = client.v1.subscriptions.list({"customer": cus}).data
    return clk.frozen_time, clk.status, invoices, events, [s.to_dict() for s in subs]


def test_an_advance_over_10000_periods_is_a_400_and_changes_nothing(
    client: stripe.StripeClient,
) -> None:
    """Advancing one monthly subscription to the year 9999 ran 15.8 s, made ~96,000 invoices,
    ended in a 500 and left the clock moved; to 2999 it would cross ~11,700 periods."""
    clock_id, cus = clocked_subscription(client)
    before = _state(client, clock_id, cus)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": 32_503_679_999})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e["param"], e.get("code")) == ("invalid_request_error", "frozen_time", None)
    assert e["message"] == (
        "Cannot advance the test clock that far: it would cross more than 10000 billing periods "
        "of its subscriptions in one advance. Advance it in smaller steps (account setting "
        "`max_advance_periods`)."
    )
    assert _state(client, clock_id, cus) == before


def test_max_advance_periods_is_an_account_setting(client: stripe.StripeClient, mock: Any) -> None:
    clock_id, cus = clocked_subscription(client)
    mock.update_settings(max_advance_periods=3)
    # Feb 1, Mar 1, Apr 1: three period ends
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": APR1_2025})
    before = _state(client, clock_id, cus)
    # May 1 .. Aug 1: four
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": 1754006400})
    assert err_of(exc)["param"] == "frozen_time"
    assert _state(client, clock_id, cus) == before
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": 1751328000})  # Jul 1


def test_an_advance_that_fails_half_way_changes_nothing(
    client: stripe.StripeClient, server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected failure after the first of several rollovers: rolled back, not half done."""
    from stripe_mock_billing.billing import lifecycle

    clock_id, cus = clocked_subscription(client)
    before = _state(client, clock_id, cus)
    real = lifecycle.rollover
    calls: list[int] = []

    def failing(ns: Any, sub: Any, boundary: int) -> None:
        calls.append(boundary)
        if len(calls) == 2:
            raise RuntimeError("boom in the second rollover")
        real(ns, sub, boundary)

    monkeypatch.setattr(lifecycle, "rollover", failing)
    errors = server.app.extensions["stripe_mock_billing.errors"]
    with pytest.raises(stripe.APIError) as exc:
        client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": MAY1_2025})
    assert exc.value.http_status == 500
    assert calls == [FEB1_2025, 1740787200]
    monkeypatch.undo()
    assert _state(client, clock_id, cus) == before
    assert any("second rollover" in str(err) for err in list(errors))


def test_a_long_advance_does_not_stall_other_accounts(
    loop_srv: Any, monkeypatch: pytest.MonkeyPatch, schema_violations: list[str]
) -> None:
    """The event-loop server ran every request inline: another account's request waited for
    the whole advance (15.3 s in the report). The advance below holds its thread until the
    other account has been answered; inline, the other request could never be answered."""
    from stripe_mock_billing.billing import engine

    url = f"http://127.0.0.1:{loop_srv.port}"
    a = make_client(url, "sk_test_long_" + uuid.uuid4().hex, schema_violations)
    clock_id, _ = clocked_subscription(a)
    other_answered = threading.Event()
    real = engine.advance_clock

    def slow_advance(ns: Any, clock: str, until: int) -> None:
        other_answered.wait(timeout=10)
        real(ns, clock, until)

    monkeypatch.setattr(engine, "advance_clock", slow_advance)
    result: dict[str, Any] = {}

    def advance() -> None:
        result["clock"] = a.v1.test_helpers.test_clocks.advance(
            clock_id, {"frozen_time": FEB1_2025}
        )

    worker = threading.Thread(target=advance)
    worker.start()
    b_key = "sk_test_other_" + uuid.uuid4().hex
    r = requests.post(
        url + "/v1/customers",
        data={"name": "b"},
        headers={"Authorization": f"Bearer {b_key}"},
        timeout=5,
    )
    assert validated(r).status_code == 200
    assert not result  # the advance was still running
    other_answered.set()
    worker.join(timeout=10)
    assert result["clock"].frozen_time == FEB1_2025
    # the same account's next request queues behind its advance, in order
    assert a.v1.test_helpers.test_clocks.retrieve(clock_id).frozen_time == FEB1_2025
