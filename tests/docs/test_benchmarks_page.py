"""docs/benchmarks.md is generated from the bench scripts' saved figures, and is current.

- The page equals what `bench/report.py` generates from bench/results/*.json (its `--check`).
- Every `bench/bench_*.py` records its figures through `bench/_results.py`, so none of them can
  print a figure that the page cannot show.
- The page's prose quotes no figure: numbers live only in the generated table.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmarks_page_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    status = _report().main(["--check"])
    diff = capsys.readouterr().err
    assert status == 0, (
        "docs/benchmarks.md is stale (it differs from what bench/results/*.json generate): "
        "run `python bench/report.py` and commit the page.\n" + diff[-4000:]
    )


def _records_figures(path: Path) -> bool:
    """The script imports `_results` and calls `record` (or `_results.record`)."""
    tree = ast.parse(path.read_text(), str(path))
    imports = any(
        (isinstance(node, ast.ImportFrom) and node.module == "_results")
        or (isinstance(node, ast.Import) and any(a.name == "_results" for a in node.names))
        for node in ast.walk(tree)
    )
    calls = any(
        isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "record")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "record")
        )
        for node in ast.walk(tree)
    )
    return imports and calls


BENCH_SCRIPTS = sorted(BENCH.glob("bench_*.py"))


def test_there_are_bench_scripts() -> None:
    assert BENCH_SCRIPTS


@pytest.mark.parametrize("script", BENCH_SCRIPTS, ids=lambda p: p.name)
def test_bench_script_records_its_figures(script: Path) -> None:
    assert _records_figures(script), (
        f"bench/{script.name} prints figures the docs cannot show: import `record` from "
        "bench/_results.py and call it wherever a figure is printed (see its docstring), then "
        f"run `python bench/{script.name}` and `python bench/report.py`"
    )


def test_prose_quotes_no_figures() -> None:
    report = _report()
    prose = re.sub(r"`[^`]*`", "", report.HEADER + report.PROSE)  # code: paths, versions, flags
    prose = re.sub(r"<!--.*?-->", "", prose, flags=re.S)
    numbers = re.findall(r"[^\s]*(?<![A-Za-z_])\d[^\s]*", prose)
    assert not numbers, (
        f"the prose in bench/report.py quotes {numbers}: figures belong in the generated table "
        "(refer to its rows instead)"
    )
