"""The retry policy settings: control API validation, the StripeMock handle, and retries driven
by the account's wall clock (`clock_offset`) instead of a test clock."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from tests.api.billing_helpers import DAY, HOUR, licensed_price
from tests.api.conftest import control_error


def test_defaults(mock: StripeMock) -> None:
    got = mock.settings
    assert got["dunning_mode"] == "custom"
    assert got["dunning_retry_days"] == [3, 5, 7]
    assert (got["dunning_smart_tries"], got["dunning_smart_window_days"]) == (8, 14)
    assert (got["dunning_after_final"], got["dunning_invoice_after_final"]) == ("cancel", "open")
    assert got["charge_without_payment_method"] is True


def test_handle_set_dunning(mock: StripeMock) -> None:
    got = mock.set_dunning(retry_days=[1, 2], after_final="unpaid", invoice_after_final="open")
    assert (got["dunning_mode"], got["dunning_retry_days"]) == ("custom", [1, 2])
    assert got["dunning_after_final"] == "unpaid"
    got = mock.set_dunning(smart_tries=4, smart_window_days=7)
    assert (got["dunning_mode"], got["dunning_smart_tries"], got["dunning_smart_window_days"]) == (
        "smart",
        4,
        7,
    )


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (
            {"dunning_mode": "ml"},
            "dunning_mode",
            "Invalid dunning_mode: must be one of custom, smart.",
        ),
        (
            {"dunning_after_final": "delete"},
            "dunning_after_final",
            "Invalid dunning_after_final: must be one of cancel, unpaid, past_due.",
        ),
        (
            {"dunning_retry_days": [3, 0]},
            "dunning_retry_days",
            "Invalid dunning_retry_days: every entry must be an integer between 1 and 60.",
        ),
        (
            {"dunning_retry_days": [1] * 9},
            "dunning_retry_days",
            "Invalid dunning_retry_days: at most 8 entries.",
        ),
        (
            {"dunning_retry_days": "soon"},
            "dunning_retry_days",
            "Invalid dunning_retry_days: every entry must be an integer between 1 and 60.",
        ),
        (
            {"dunning_smart_tries": 9},
            "dunning_smart_tries",
            "Invalid dunning_smart_tries: must be between 1 and 8.",
        ),
    ],
)
def test_bad_values_are_refused(
    mock: StripeMock, body: dict[str, object], param: str, message: str
) -> None:
    with pytest.raises(ControlError) as exc:
        mock.update_settings(**body)
    assert exc.value.status == 400
    err = control_error(exc)
    assert (err["type"], err["param"], err["message"]) == ("invalid_request_error", param, message)
    assert mock.settings["dunning_retry_days"] == [3, 5, 7]


def test_retries_follow_the_wall_clock(client: stripe.StripeClient, mock: StripeMock) -> None:
    cust = client.v1.customers.create(
        {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client).id}]}
    )
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    end = sub["items"].data[0].current_period_end
    mock.advance_wall_clock(end - mock.now() + HOUR)
    inv = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (inv.billing_reason, inv.status, inv.attempt_count) == ("subscription_cycle", "open", 1)
    first_retry = inv.next_payment_attempt
    assert first_retry == inv.status_transitions.finalized_at + 3 * DAY
    mock.advance_wall_clock(first_retry - mock.now() + 1)
    again = client.v1.invoices.retrieve(inv.id)
    assert (again.attempt_count, again.next_payment_attempt) == (2, first_retry + 5 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
