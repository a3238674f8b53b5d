"""The input readers of limits.py, and a guard that nothing reads untrusted input around them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stripe_mock_billing.errors import InvalidRequest
from stripe_mock_billing.limits import loads_json, parse_int

ROOT = Path(__file__).resolve().parents[2] / "stripe_mock_billing"
# modules that parse what the emulator itself wrote (its own responses, a receiver's request)
CLIENT_SIDE = {"handle.py", "pytest_plugin.py", "webhook_receiver.py", "wire/journal.py"}


def test_no_bare_json_loads_on_request_input() -> None:
    """Every JSON body goes through `loads_json` (depth and surrogate checks, 400 not 500)."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "limits.py" or rel in CLIENT_SIDE:
            continue
        if re.search(r"\bjson\.loads?\(", path.read_text()):
            offenders.append(rel)
    assert offenders == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("0", 0), ("-12", -12), ("9" * 40, int("9" * 40)), ("", None), ("-", None)],
        *[("9" * 41, None), ("1.0", None), ("²", None), ("٣", None), (" 1", None), ("+1", None)],
    ],
)
def test_parse_int(text: str, value: int | None) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 65 + b"]" * 65, "Invalid JSON: the request body is nested more than 64 levels."),
        (
            b"[" * 5000 + b"]" * 5000,
            "Invalid JSON: the request body is nested more than 64 levels.",
        ),
        (b'{"a": "\\udc00"}', "Invalid JSON: the request body contains an invalid \\u escape."),
        (b'{"\\ud800": 1}', "Invalid JSON: the request body contains an invalid \\u escape."),
        (b"[1]", "Invalid JSON: the request body must be a JSON object."),
        (b"{", "Invalid JSON: the request body could not be parsed."),
        (b"1" * 5000, "Invalid JSON: the request body could not be parsed."),
    ],
)
def test_loads_json_rejects(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        loads_json(raw)
    assert exc.value.status == 400
    assert exc.value.message == message


def test_loads_json_reads_64_levels_and_surrogate_pairs() -> None:
    deepest = loads_json(b"[" * 64 + b"]" * 64, require_object=False)
    for _ in range(63):
        deepest = deepest[0]
    assert deepest == []
    assert loads_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}
