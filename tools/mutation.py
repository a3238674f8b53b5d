"""Mutation score of billing modules (mutmut), printed per module.

    python tools/mutation.py billing/rating.py billing/periods.py [--tests tests/unit/x.py]

Needs the `mutation` extra (`pip install -e '.[mutation]'`). Not part of CI (.ci/run): a run
takes minutes per module.

The repository is copied into a temporary directory (the package, tests/, conformance/ without
its .envs, pyproject.toml) with a `[tool.mutmut]` section naming the modules, so the working tree
is never touched (mutmut writes a `mutants/` directory beside its config). `mutmut run` mutates
only those modules and runs the selected tests against each mutant (default: tests/unit, the fast
table-driven tests of the billing math; pass `--tests` to add API tests). The score of a module is
detected / (detected + survived + no tests), where detected is killed or timed out; skipped and
suspicious mutants are listed but not scored. Exit status 0 whatever the score: it is a figure to
read, not a gate.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "stripe_mock_billing"
DETECTED = {"killed", "timeout"}
UNDETECTED = {"survived", "no tests"}


def _module_path(arg: str) -> str:
    """`billing/rating.py`, `billing.rating` or a package path -> the file in the package."""
    p = arg.removesuffix(".py").replace(".", "/")
    p = p.removeprefix(f"{PACKAGE}/")
    return f"{PACKAGE}/{p}.py"


def _copy(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".envs", "*.pyc", ".hypothesis", "report.json")
    for name in (PACKAGE, "tests", "conformance"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)


def _config(modules: list[str], tests: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    pyproject = (ROOT / "pyproject.toml").read_text()
    head = pyproject.split("\n[tool.mutmut]", 1)[0]
    return (
        f"{head}\n[tool.mutmut]\n"
        f'source_paths = ["{PACKAGE}"]\n'
        f"only_mutate = {toml_list(modules)}\n"
        'also_copy = ["conformance"]\n'
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--no-schema"]\n'
    )


def _module_of(mutant: str) -> str:
    """The module of a mutant: `<package>.billing.rating.x_amount__mutmut_3` -> `...rating`."""
    parts = mutant.split(".")
    for i, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:i])
    return ".".join(parts[:-1])


def scores(results: str) -> dict[str, Counter[str]]:
    """Status counts per module from `mutmut results --all true` lines (`name: status`)."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for line in results.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            out[_module_of(name)][status.strip()] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("modules", nargs="+", help="e.g. billing/rating.py or billing.rating")
    ap.add_argument("--tests", action="append", default=None, help="pytest paths (tests/unit)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = ap.parse_args(argv)
    modules = [_module_path(m) for m in args.modules]
    for m in modules:
        if not (ROOT / m).is_file():
            ap.error(f"no such module: {m}")
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    try:
        _copy(work)
        (work / "pyproject.toml").write_text(_config(modules, args.tests or ["tests/unit"]))
        mutmut = [sys.executable, "-m", "mutmut"]
        subprocess.run([*mutmut, "run"], cwd=work, check=False)
        res = subprocess.run(
            [*mutmut, "results", "--all", "true"],
            cwd=work,
            check=True,
            capture_output=True,
            text=True,
        )
        table = scores(res.stdout)
        print(f"{'module':<48} {'score':>7} {'killed':>7} {'survived':>9} {'other':>6}")
        for mod in sorted(table):
            c = table[mod]
            detected = sum(c[s] for s in DETECTED)
            scored = detected + sum(c[s] for s in UNDETECTED)
            other = sum(c.values()) - scored
            score = f"{100 * detected / scored:.1f}%" if scored else "-"
            survived = sum(c[s] for s in UNDETECTED)
            print(f"{mod:<48} {score:>7} {detected:>7} {survived:>9} {other:>6}")
        if not table:
            print("no mutants (is the module covered by the selected tests?)")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
