"""Unit tests for conformance/openapi_check.py, using hand-made Stripe response bodies.

They need Stripe's OpenAPI specs, obtained by the session's ``openapi_schema`` fixture (cache,
``../shared/openapi``, else PyPI + npm once); they fail without them unless opted out
(``--no-schema``), and are then skipped.
"""

import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from conformance.openapi_check import (  # noqa: E402
    ENV_VAR,
    SchemaValidator,
    SpecNotFound,
    UnknownOperation,
    check,
    find_spec_dir,
    is_legacy_version,
    validator_for_version,
)
from conformance.schema_source import CACHE_ENV  # noqa: E402
from tests.schema_gate import SchemaGate  # noqa: E402

SPEC_DIR = find_spec_dir()
OPTED_OUT = "schema validation opted out (--no-schema)"

CURRENT = "2025-03-31.basil"
LEGACY = "2025-02-24.acacia"


@pytest.fixture(scope="module")
def current(openapi_schema: SchemaGate) -> SchemaValidator:
    if openapi_schema.opt_out:
        pytest.skip(OPTED_OUT)
    validator = validator_for_version(CURRENT)
    assert validator is not None
    return validator


@pytest.fixture(scope="module")
def legacy(openapi_schema: SchemaGate) -> SchemaValidator:
    if openapi_schema.opt_out:
        pytest.skip(OPTED_OUT)
    validator = validator_for_version(LEGACY)
    assert validator is not None
    return validator


def meter(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "mtr_123",
        "object": "billing.meter",
        "created": 1700000000,
        "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
        "default_aggregation": {"formula": "sum"},
        "display_name": "API calls",
        "event_name": "api_call",
        "event_time_window": None,
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": 1700000000,
        "value_settings": {"event_payload_key": "value"},
    }
    body.update(overrides)
    return body


# ----------------------------------------------------------------- version and path selection


def test_version_selection() -> None:
    for version in ("2025-02-24.acacia", "2024-06-20", "2024-09-30.acacia", "2023-10-16"):
        assert is_legacy_version(version), version
    for version in ("2025-03-31.basil", "2026-05-27.dahlia", "2026-10-28.endive", None, ""):
        assert not is_legacy_version(version), version
    with pytest.raises(ValueError):
        is_legacy_version("basil")


def test_validator_for_version_picks_the_spec(
    current: SchemaValidator, legacy: SchemaValidator
) -> None:
    assert validator_for_version("2024-06-20") is legacy
    assert validator_for_version("2026-10-28.endive") is current
    assert legacy.api_version == "2024-04-10"
    assert current.api_version.endswith(".dahlia")
    # v2 is only in the current subset, whatever the API version
    v2 = validator_for_version(LEGACY, "/v2/billing/meter_event_session")
    assert v2 is current
    assert validator_for_version(LEGACY) is legacy  # cached per process


def test_absent_spec_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))
    assert find_spec_dir() is None
    assert validator_for_version(CURRENT) is None
    with pytest.raises(SpecNotFound):
        check("GET", "/v1/billing/meters", 200, {}, CURRENT)


@pytest.mark.skipif(SPEC_DIR is None, reason="no ../shared/openapi to point the variable at")
def test_env_var_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SPEC_DIR is not None
    monkeypatch.setenv(ENV_VAR, str(SPEC_DIR))
    assert find_spec_dir() == SPEC_DIR


def test_path_matching_prefers_literals(current: SchemaValidator, legacy: SchemaValidator) -> None:
    assert legacy.match_path("/v1/invoices/upcoming") == "/v1/invoices/upcoming"
    assert legacy.match_path("/v1/invoices/upcoming/lines") == "/v1/invoices/upcoming/lines"
    assert legacy.match_path("/v1/invoices/in_1") == "/v1/invoices/{invoice}"
    assert legacy.match_path("/v1/invoices/in_1/lines") == "/v1/invoices/{invoice}/lines"
    assert current.match_path("/v1/invoices/create_preview") == "/v1/invoices/create_preview"
    assert current.match_path("/v1/invoices/in_1") == "/v1/invoices/{invoice}"
    assert current.match_path("/v1/customers/search") == "/v1/customers/search"
    assert current.match_path("/v1/customers/cus_1") == "/v1/customers/{customer}"
    assert (
        current.match_path("/v1/billing/meters/mtr_123/event_summaries?limit=3")
        == "/v1/billing/meters/{id}/event_summaries"
    )
    assert (
        legacy.match_path("/v1/subscription_items/si_1/usage_records")
        == "/v1/subscription_items/{subscription_item}/usage_records"
    )
    assert current.match_path("/v1/nothing") is None
    assert current.match_path("/v1/customers//cards") is None


def test_unknown_operation(current: SchemaValidator) -> None:
    with pytest.raises(UnknownOperation, match="no matching path template"):
        current.validate("GET", "/v1/nothing/ch_1", 200, {})
    # a whole spec is narrowed to the usage-billing paths, like the subsets
    with pytest.raises(UnknownOperation, match="no matching path template"):
        current.validate("GET", "/v1/charges/ch_1", 200, {})
    with pytest.raises(UnknownOperation, match="has no PUT"):
        current.validate("PUT", "/v1/customers/cus_1", 200, {})
    # create_preview is POST-only; a GET must not fall through to /v1/invoices/{invoice}
    with pytest.raises(UnknownOperation):
        current.validate("GET", "/v1/invoices/create_preview", 200, {})
    # usage records were removed in basil
    with pytest.raises(UnknownOperation):
        check("POST", "/v1/subscription_items/si_1/usage_records", 200, {}, CURRENT)


# ----------------------------------------------------------------- v1 bodies


def test_valid_meter_with_null_event_time_window(current: SchemaValidator) -> None:
    assert current.validate("GET", "/v1/billing/meters/mtr_123", 200, meter()) == []
    assert check("POST", "/v1/billing/meters", 200, meter(), "2026-10-28.endive") == []
    assert check("GET", "/v1/billing/meters/mtr_123", 200, meter(), LEGACY) == []


def test_broken_meter(current: SchemaValidator) -> None:
    problems = current.validate("GET", "/v1/billing/meters/mtr_123", 200, meter(status="paused"))
    assert len(problems) == 1
    assert "$.status" in problems[0] and "'paused'" in problems[0]
    body = meter(created="yesterday", display_name=None)
    del body["event_name"]
    problems = current.validate("GET", "/v1/billing/meters/mtr_123", 200, body)
    assert len(problems) == 3, problems
    assert any("'event_name' is a required property" in p for p in problems)


def test_strict_extra_fields(current: SchemaValidator) -> None:
    body = meter(dispaly_name="typo")
    path = "/v1/billing/meters/mtr_123"
    assert current.validate("GET", path, 200, body) == []
    problems = current.validate("GET", path, 200, body, strict_extra=True)
    assert problems == ["$: unexpected field 'dispaly_name' (not in the billing.meter schema)"]
    listing = {
        "object": "list",
        "data": [meter(), body],
        "has_more": False,
        "url": "/v1/billing/meters",
    }
    problems = current.validate("GET", "/v1/billing/meters", 200, listing, strict_extra=True)
    assert problems == [
        "$.data[1]: unexpected field 'dispaly_name' (not in the billing.meter schema)"
    ]
    deleted = {"id": "cus_1", "object": "customer", "deleted": True}
    assert current.validate("DELETE", "/v1/customers/cus_1", 200, deleted, strict_extra=True) == []


def test_v1_error_bodies(current: SchemaValidator) -> None:
    good = {"error": {"type": "invalid_request_error", "message": "x"}}
    assert current.validate("GET", "/v1/billing/meters/mtr_404", 404, good) == []
    problems = current.validate(
        "GET", "/v1/billing/meters/mtr_404", 404, {"error": {"message": "x"}}
    )
    assert problems == ["$.error: 'type' is a required property"]
    bad_type = {"error": {"type": "not_an_error_type", "message": "x"}}
    assert current.validate("GET", "/v1/billing/meters/mtr_404", 400, bad_type) != []


def test_list_body(current: SchemaValidator) -> None:
    body = {"object": "list", "data": [meter()], "has_more": False, "url": "/v1/billing/meters"}
    assert current.validate("GET", "/v1/billing/meters", 200, body) == []
    empty = {"object": "list", "data": [], "has_more": False, "url": "/v1/billing/meters"}
    assert current.validate("GET", "/v1/billing/meters", 200, empty) == []
    wrong_url = {**empty, "url": "/v1/meters"}
    assert current.validate("GET", "/v1/billing/meters", 200, wrong_url) != []


def test_legacy_usage_record(legacy: SchemaValidator) -> None:
    record = {
        "id": "mbur_1",
        "object": "usage_record",
        "livemode": False,
        "quantity": 5,
        "subscription_item": "si_1",
        "timestamp": 1700000000,
    }
    path = "/v1/subscription_items/si_1/usage_records"
    assert legacy.validate("POST", path, 200, record) == []
    assert check("POST", path, 200, record, "2024-06-20") == []
    missing = {k: v for k, v in record.items() if k != "quantity"}
    assert legacy.validate("POST", path, 200, missing) == ["$: 'quantity' is a required property"]


# ----------------------------------------------------------------- v2 bodies


def test_v2_meter_event_stream(current: SchemaValidator) -> None:
    path = "/v2/billing/meter_event_stream"
    assert current.validate("POST", path, 200, {}) == []
    assert current.validate("POST", path, 200, {"x": 1}) != []
    assert check("POST", path, 200, {}, LEGACY) == []  # v2 always uses the current subset


def test_v2_session_expired_error(current: SchemaValidator) -> None:
    expired = {
        "error": {
            "type": "temporary_session_expired",
            "code": "billing_meter_event_session_expired",
            "message": "The meter event session has expired.",
            "doc_url": "https://docs.stripe.com/api/v2/billing/meter-event-stream",
        }
    }
    path = "/v2/billing/meter_event_stream"
    assert current.validate("POST", path, 401, expired) == []
    generic = {"error": {"code": "invalid_request", "message": "bad"}}
    assert current.validate("POST", "/v2/billing/meter_events", 400, generic) == []
    problems = current.validate("POST", path, 401, {"error": {"message": "no code"}})
    assert problems and problems[0].startswith("$: matches none of the allowed schemas")


def test_v2_session(current: SchemaValidator) -> None:
    session = {
        "id": "mes_1",
        "object": "v2.billing.meter_event_session",
        "authentication_token": "tok",
        "created": "2026-01-01T00:00:00.000Z",
        "expires_at": "2026-01-01T00:15:00.000Z",
        "livemode": False,
    }
    path = "/v2/billing/meter_event_session"
    assert current.validate("POST", path, 200, session, strict_extra=True) == []
