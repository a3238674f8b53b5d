"""A meter event is never stamped before 1970: on a test clock within 35 days of the epoch the
35-day window reached below 0, and events with negative timestamps were stored (a later summary
query of such a series failed). Both sides of 0 through v1 (a 400); v2 shares the check (there
it is reported as `timestamp_too_far_in_past`, nothing stored)."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import err_tuple
from tests.api.meter_helpers import make_meter, send

CLOCK = 10 * 86400  # 1970-01-11


def _customer(client: stripe.StripeClient) -> str:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": CLOCK})
    return client.v1.customers.create({"test_clock": clk.id}).id


def test_a_v1_event_at_0_is_stored_and_one_before_is_refused(
    client: stripe.StripeClient,
) -> None:
    meter = make_meter(client)
    cus = _customer(client)
    assert send(client, cus, 5, ts=0).timestamp == 0
    with pytest.raises(stripe.InvalidRequestError) as exc:
        send(client, cus, 7, ts=-1)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "timestamp",
        "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater "
        "than or equal to 0.",
    )
    params = {"customer": cus, "start_time": 0, "end_time": CLOCK}
    summary = client.v1.billing.meters.event_summaries.list(meter.id, params).data  # type: ignore[arg-type]
    assert [s.aggregated_value for s in summary] == [5]
