"""The test session's schema gate (tests/schema_gate.py + the hooks in tests/conftest.py).

The end-to-end cases run a small pytest session in a subprocess with tests/conftest.py loaded as
a plugin (`-p tests.conftest`), an empty schema cache, no shared folder and fetching switched
off ($STRIPE_MOCK_BILLING_SCHEMA_OFFLINE), so no network is used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import schema_source as ss
from tests.schema_gate import SchemaGate

REPO = Path(__file__).resolve().parents[2]
# where this session finds the real specs (pytester moves $HOME, so pin them before it does)
OUTER_CACHE = ss.cache_dir()
OUTER_SHARED = ss.find_spec_dir()

ONE_CALL = """
def test_one_call(client):
    assert client.v1.billing.meters.list().data == []
"""
NO_CALL = """
def test_no_call():
    assert True
"""


# ----------------------------------------------------------------- the gate itself


def test_verdicts() -> None:
    assert SchemaGate(opt_out=None, ci=False).failure() is None  # 0 outside CI: a line only
    ci = SchemaGate(opt_out=None, ci=True)
    assert "CI=true and 0 responses" in (ci.failure() or "")
    ci.merge({"validated": 3, "versions": ["2024-04-10"], "error": None, "log": []})
    assert ci.failure() is None
    broken = SchemaGate(opt_out=None, ci=False)
    broken.error = "Stripe's OpenAPI schema is not available: ..."
    assert broken.failure() == broken.error
    off = SchemaGate(opt_out="--no-schema", ci=True)
    off.error = "ignored"
    assert off.failure() is None


def test_summary_lines() -> None:
    gate = SchemaGate(opt_out=None, ci=False)
    for data in (
        {"validated": 2_000, "versions": ["2026-05-27.dahlia"], "log": ["fetched x"]},
        {"validated": 345, "versions": ["2024-04-10", "2026-05-27.dahlia"], "log": ["fetched x"]},
    ):
        gate.merge(data)
    assert gate.summary() == [
        ("schema: fetched x", False),
        (
            "schema: 2,345 responses validated against Stripe's OpenAPI "
            "(2026-05-27.dahlia, 2024-04-10)",
            False,
        ),
    ]
    off = SchemaGate(opt_out="--no-schema", ci=False)
    assert off.summary() == [
        (
            "schema: validation OFF (--no-schema): 0 responses validated against Stripe's OpenAPI",
            True,
        )
    ]


def test_opted_out_gate_hands_out_no_validator() -> None:
    gate = SchemaGate(opt_out="--no-schema", ci=False)
    assert gate.validator("2025-03-31.basil", "/v1/billing/meters") is None


def test_unavailable_schema_raises_and_is_remembered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ss.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(ss.SHARED_ENV, str(tmp_path / "none"))
    monkeypatch.setenv(ss.OFFLINE_ENV, "1")
    gate = SchemaGate(opt_out=None, ci=False)
    with pytest.raises(ss.SchemaUnavailable, match="python -m conformance setup"):
        gate.validator("2025-03-31.basil", "/v1/billing/meters")
    assert gate.error and "--no-schema" in gate.error
    assert gate.failure() == gate.error


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(ss.NO_SCHEMA_ENV, "1")
    gate = SchemaGate.from_env()
    assert gate.ci and gate.opt_out == f"{ss.NO_SCHEMA_ENV}=1"
    assert SchemaGate.from_env(no_schema_option=True).opt_out == "--no-schema"
    monkeypatch.delenv("CI")
    monkeypatch.delenv(ss.NO_SCHEMA_ENV)
    gate = SchemaGate.from_env()
    assert not gate.ci and gate.opt_out is None


# ----------------------------------------------------------------- whole sessions


@pytest.fixture
def session_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose sessions load tests/conftest.py and find no schema and no network."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv(ss.CACHE_ENV, str(pytester.path / "empty-cache"))
    monkeypatch.setenv(ss.SHARED_ENV, str(pytester.path / "no-shared"))
    monkeypatch.setenv(ss.OFFLINE_ENV, "1")
    for name in ("CI", ss.NO_SCHEMA_ENV, "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "tests.conftest", "-p", "no:cacheprovider", *args)


def test_session_without_schema_fails_with_the_way_out(session_env: pytest.Pytester) -> None:
    session_env.makepyfile(test_x=ONE_CALL)
    result = run(session_env)
    assert result.ret != 0
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "Stripe's OpenAPI schema is not available" in out
    assert "python -m conformance setup" in out and "--no-schema" in out
    assert "schema: FAILED" in out


def test_session_opted_out_by_option_runs_unvalidated(session_env: pytest.Pytester) -> None:
    session_env.makepyfile(test_x=ONE_CALL)
    result = run(session_env, "--no-schema")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["schema: validation OFF (--no-schema): 0 responses validated*"])


def test_session_opted_out_by_env_runs_unvalidated(
    session_env: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ss.NO_SCHEMA_ENV, "1")
    monkeypatch.setenv("CI", "true")  # an explicit opt-out holds in CI too
    session_env.makepyfile(test_x=ONE_CALL)
    result = run(session_env)
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"schema: validation OFF ({ss.NO_SCHEMA_ENV}=1)*"])


def test_ci_session_validating_nothing_fails(
    session_env: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_env.makepyfile(test_x=NO_CALL)
    result = run(session_env)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["schema: 0 responses validated against Stripe's OpenAPI"])
    monkeypatch.setenv("CI", "true")
    result = run(session_env)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["schema: FAILED: CI=true and 0 responses were validated*"])


def test_counts_add_up_across_xdist_workers(
    session_env: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, openapi_schema: SchemaGate
) -> None:
    if openapi_schema.opt_out:
        pytest.skip("schema validation opted out (--no-schema)")
    # the real specs, where this session found them (cache or ../shared/openapi)
    monkeypatch.setenv(ss.CACHE_ENV, str(OUTER_CACHE))
    monkeypatch.setenv(ss.SHARED_ENV, str(OUTER_SHARED or session_env.path / "no-shared"))
    monkeypatch.setenv("CI", "true")
    session_env.makepyfile(test_x=ONE_CALL + ONE_CALL.replace("test_one_call", "test_another"))
    result = run(session_env, "-n", "2")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["schema: 2 responses validated against Stripe's OpenAPI (2026-05-27.dahlia)"]
    )
