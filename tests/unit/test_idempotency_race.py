"""wire/idempotency.py under a race no HTTP test can time: a snapshot import (which forgets the
account's idempotency keys) landing between a request's claim of its key and its answer. A unit
test of the pipeline's idempotency step: it imports the snapshot from inside the request, which
the public surface cannot do (the control API's import waits for the account's lock)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from stripe_mock_billing import snapshot
from stripe_mock_billing.resources import customers as customers_module
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import validated


def _post(server: ThreadedServer, key: str, idem: str, body: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
    return validated(
        requests.post(server.url + "/v1/customers", data=body, headers=headers, timeout=10)
    )


def test_a_request_whose_key_a_snapshot_import_forgot_still_answers(
    server: ThreadedServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot import replaces the account's state and forgets its idempotency keys
    (docs/reference/control-api.md). One that lands while a request with a key runs (here: from
    inside the request, so the timing is fixed) leaves that request nothing to store its answer
    under; the request still answers normally."""
    _post(server, api_key, "before", "name=before")
    store = server.app.extensions["stripe_mock_billing.store"]
    space = store.namespace(api_key)
    state = snapshot.export_state(space)
    real = customers_module._apply

    def import_midway(cust: Any, prm: Any) -> None:
        snapshot.import_state(space, state)
        real(cust, prm)

    monkeypatch.setattr(customers_module, "_apply", import_midway)
    r = _post(server, api_key, "during", "name=during")
    assert r.status_code == 200 and r.json()["name"] == "during"
