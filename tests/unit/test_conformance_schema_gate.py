"""`python -m conformance run` / `setup` and the schema: no schema or nothing validated fails,
unless `--no-schema`. The SDK runners and the scenarios are faked (nothing is installed or run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import cli, driver
from conformance import schema_source as ss
from conformance.driver import Result
from conformance.sdks import SDKS
from tests.schema_gate import SchemaGate


class FakeSdk:
    name = "python-16.1.0"

    def installed_version(self) -> str:
        return "16.1.0"


@dataclass
class Faked:
    results: list[Result] = field(default_factory=list)  # what the scenarios "return"
    options: list[Any] = field(default_factory=list)  # the RunOptions they were run with


@pytest.fixture
def faked(monkeypatch: pytest.MonkeyPatch) -> Faked:
    """SDKs that look installed, no runner processes, scenarios that return `results`."""
    state = Faked()

    def run(opts: Any) -> list[Result]:
        state.options.append(opts)
        return state.results

    monkeypatch.setattr(cli, "parse_sdks", lambda spec: [FakeSdk()])
    monkeypatch.setattr(driver, "sdk_info", lambda sdk: {"sdk_version": "x", "api_version": "y"})
    monkeypatch.setattr(driver, "run", run)
    monkeypatch.delenv(ss.NO_SCHEMA_ENV, raising=False)
    return state


def run_cli(tmp_path: Path, *extra: str) -> int:
    base = ["run", "--base", "http://127.0.0.1:9", "--target-kind", "emulator"]
    return cli.main([*base, "--report", str(tmp_path / "report.json"), *extra])


def cell(checked: int) -> Result:
    return Result("s", "t", "core", "python-16.1.0", "pass", schema_checked=checked)


def test_run_without_schema_does_not_start(
    faked: Faked,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ss.CACHE_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(ss.SHARED_ENV, str(tmp_path / "none"))
    assert run_cli(tmp_path) == 2
    err = capsys.readouterr().err
    assert "python -m conformance setup" in err and "--no-schema" in err
    assert faked.options == []  # the scenarios never ran


def test_run_opted_out_runs_unvalidated(
    faked: Faked,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ss.CACHE_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(ss.SHARED_ENV, str(tmp_path / "none"))
    faked.results = [cell(0)]
    assert run_cli(tmp_path, "--no-schema") == 0
    assert faked.options[0].validate is False
    captured = capsys.readouterr()
    assert "schema validation OFF (--no-schema)" in captured.err
    assert "schema validation was OFF (--no-schema)" in captured.out


def test_run_validating_nothing_fails(
    faked: Faked,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    openapi_schema: SchemaGate,
) -> None:
    if openapi_schema.opt_out:
        pytest.skip("schema validation opted out (--no-schema)")
    faked.results = [cell(0)]
    assert run_cli(tmp_path) == 1
    assert faked.options[0].validate is True
    assert "0 responses were validated" in capsys.readouterr().out
    faked.results = [cell(7)]
    assert run_cli(tmp_path) == 0
    assert (
        "schema: 7 responses validated against Stripe's OpenAPI (2026-05-27.dahlia, 2024-04-10)"
        in (capsys.readouterr().out)
    )


def test_setup_obtains_the_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "setup", lambda sdks, force: 0)
    monkeypatch.setenv(ss.CACHE_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(ss.SHARED_ENV, str(tmp_path / "none"))
    monkeypatch.setenv(ss.OFFLINE_ENV, "1")
    assert cli.main(["setup", "--sdk", next(iter(SDKS))]) == 1
    assert "schema setup FAILED" in capsys.readouterr().err
