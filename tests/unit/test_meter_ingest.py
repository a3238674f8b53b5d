"""Pure helpers of meter event ingestion: value parsing, the timestamp window, RFC 3339."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stripe_mock_billing.billing.meter_ingest import (
    MAX_FUTURE,
    MAX_PAST,
    parse_rfc3339,
    parse_value,
    rfc3339,
    timestamp_problem,
)

NOW = 1_767_225_600


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", 0),
        ("25", 25),
        ("-3", -3),
        ("007", 7),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775807", -(2**63 - 1)),
        ("9223372036854775808", None),
        ("1.5", None),
        ("1e3", None),
        ("+1", None),
        (" 1", None),
        ("", None),
        ("ten", None),
    ],
)
def test_parse_value(raw: str, expected: int | None) -> None:
    assert parse_value(raw) == expected


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (0, None),
        (-MAX_PAST, None),
        (-MAX_PAST - 1, "timestamp_too_far_in_past"),
        (MAX_FUTURE, None),
        (MAX_FUTURE + 1, "timestamp_in_future"),
    ],
)
def test_timestamp_window_edges(offset: int, code: str | None) -> None:
    problem = timestamp_problem(NOW + offset, NOW)
    assert (problem[0] if problem else None) == code


def test_rfc3339_format() -> None:
    assert rfc3339(NOW) == "2026-01-01T00:00:00.000Z"
    assert rfc3339(NOW + 0.25) == "2026-01-01T00:00:00.250Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00.000Z", NOW),
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01T01:00:00+01:00", NOW),
        ("2026-01-01T00:00:00", None),  # no offset
        ("2026-01-01", None),
        ("yesterday", None),
    ],
)
def test_parse_rfc3339(text: str, expected: int | None) -> None:
    assert parse_rfc3339(text) == expected


@given(st.integers(0, 4_000_000_000))
def test_rfc3339_round_trip(t: int) -> None:
    assert parse_rfc3339(rfc3339(t)) == t
