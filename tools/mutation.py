"""Mutation score of the billing and wire modules (mutmut), per module, per area and overall.

    python tools/mutation.py --all                 # billing/*.py, then wire/ (its params/ too)
    python tools/mutation.py --all --area billing  # only billing/ (the meter and usage stores)
    python tools/mutation.py --changed [REF]       # the modules `git diff REF` touches
    python tools/mutation.py billing/rating.py wire/form.py   # named modules, in that order
    python tools/mutation.py --report              # print the cached figures, run nothing

Needs the `mutation` extra (`pip install -e '.[mutation]'`). Not part of CI: a first full run
takes hours on a small machine; later runs are incremental.

The repository's package, tests/ and conformance/ are mirrored into a cache directory outside
the repository (default ~/.cache/stripe-mock-billing/mutmut, or --cache), where mutmut keeps its
state (`mutants/`): a mutant's verdict is kept until the function it mutates changes (mutmut
hashes each function), so an unchanged module is not run again. Every module of both areas is
instrumented in every run (mutmut maps tests to functions once, by tracing the selected tests),
and only the mutants with no verdict yet are run, all in one mutmut invocation (mutmut runs
the ones it expects to be fast first), under `nice -n 19` with one child by default.
`--max-tests N` runs only N of a mutant's tests, those about its module first, then the fastest
(a quicker, lower-bound score).
`--retest` also re-runs the survivors (after adding tests). `--until HH:MM` (UTC) stops the
run at that time; what was not reached stays unchecked and is listed.

Tests per mutant: tests/unit and tests/api minus the suites that start servers in subprocesses
or depend on timing (IGNORED); mutmut runs, fastest first and stopping at the first failure,
only the tests that executed the mutated function. The score of a module is detected /
(detected + survived + no tests), detected being killed or timed out (the timeouts, `t/o`, are
also shown on their own). Mutants listed in
tools/mutation_equivalents.toml (each with why it cannot change behaviour) are shown apart and
left out of the second score column; a listed mutant that no longer survives is reported as
stale. Exit status 0 whatever the score: a figure to read, not a gate.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "stripe_mock_billing"
# the areas mutated: billing/ (the engine and the meter and usage stores) and wire/ (the HTTP
# surface: form decoding, parameter specs, the pipeline, rendering); a module named without an
# area (`rating`) is a billing module
AREAS = ("billing", "wire")
MUTATED_DIRS = ("billing", "wire", "wire/params")
MUTATED = [f"{PACKAGE}/{d}/*.py" for d in MUTATED_DIRS]
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.toml"
DEFAULT_CACHE = Path.home() / ".cache" / "stripe-mock-billing" / "mutmut"
TESTS = ["tests/unit", "tests/api"]
# subprocess servers, forks, wall-clock timing, static checks of the source text (which the
# instrumented copy changes) and the schema/docker tooling: slow or meaningless per mutant
IGNORED = [
    "tests/api/test_server_cli.py",
    "tests/api/test_persistence.py",
    "tests/api/test_hardening_servers.py",
    "tests/api/test_loop_server.py",
    "tests/api/test_bad_input_fuzz.py",
    "tests/api/test_rate_limit.py",
    "tests/api/test_webhook_background.py",
    "tests/api/test_webhook_delivery.py",
    "tests/api/test_webhook_faults.py",
    "tests/api/test_webhook_forwarding.py",
    "tests/unit/test_dockerfile.py",
    "tests/unit/test_openapi_check.py",
    "tests/unit/test_schema_gate.py",
    "tests/unit/test_schema_source.py",
    "tests/unit/test_conformance_harness.py",
    "tests/unit/test_conformance_schema_gate.py",
    "tests/unit/test_layers.py",
    "tests/unit/test_params_used.py",
]
# tests that count the function calls a decoder makes (a work bound that is not a timer): the
# instrumented copy adds a call per mutated function, so they fail there whatever the mutant
DESELECTED = [
    "tests/unit/test_form.py::test_deep_keys_are_rejected_with_bounded_work",
    "tests/unit/test_form.py::test_many_pairs_are_rejected_before_splitting",
]
# --all runs the modules in this order (where a user's money is), then the rest alphabetically
RISK = [
    "rating",
    "periods",
    "prorations",
    "invoicing",
    "lifecycle",
    "thresholds",
    "usage",
    "meter_identifiers",
    "meter_ingest",
    "credits",
    "dunning",
    "retry_policy",
    "collection",
    "payments",
    "engine",
    "preview",
]
# a pytest plugin written into mutmut's directory: with --max-tests N, a mutant runs only N of
# the tests that executed its function (a lower bound on the score): first the tests whose file
# is about the mutant's module (RELEVANT, the files of its first words first), then the fastest
# others (mutmut orders them fastest first); the stats and clean runs are never cut
CAP_PLUGIN = """\
import os

RELEVANT = %r

def pytest_collection_modifyitems(session, config, items):
    cap = int(os.environ.get("MUTATION_MAX_TESTS") or 0)
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if cap and "__mutmut_" in mutant:
        module = mutant.split("__mutmut_")[0].rsplit(".", 2)[-2]
        words = RELEVANT.get(module, (module,))
        def rank(item):
            return next((n for n, w in enumerate(words) if w in item.nodeid), len(words))

        # the files of the first words first (the most specific), each in mutmut's order
        items[:] = sorted(items, key=rank)[:cap]
"""
# tests about a module, by words in their node id (file path or test name; a mutant of it runs
# them first under a cap): single tests found to kill its mutants, then its own test files
RELEVANT = {
    "auth": ("wire_auth", "test_auth", "hardening_state"),
    "dispatch": (
        "test_late_event_in_grace_lands_on_the_draft",
        "test_stream_ingests_events",
        "test_body_over_16_mib_is_413",
        "test_dispatcher_uses_the_table",
        "wire_dispatch",
        "pipeline_routes",
        "wire_format",
        "unsupported_params",
        "params_used",
        "versions",
    ),
    "faults": ("wire_faults", "faults", "meter_events_v2"),
    "form": (
        "test_key_count_limit",
        "wire_form",
        "test_form",
        "wire_format",
        "bad_input",
        "booleans",
    ),
    "idempotency": ("wire_auth", "idempotency", "line_break"),
    "journal": ("wire_journal", "journal", "test_control", "hardening_state", "inprocess"),
    "pipeline": (
        "test_same_key_other_endpoint_is_idempotency_error",
        "test_same_key_other_params_is_idempotency_error",
        "test_api_error_fault_does_not_execute",
        "test_an_invalid_content_length",
        "test_a_v1_delete_journals_its_form_body",
        "test_a_delete_body_is_read",
        "test_customer_events",
        "test_a_bare_rule_fails_the_next_request",
        "test_stream_ingests_events",
        "test_a_restricted_test_key_is_refused_on_v2",
        "test_a_newer_version_not_in_the_future",
        "test_the_bare_api_roots",
        "test_replay_returns_same_status",
        "test_faults_and_journal_reach_the_session_token_stream",
        "test_absent_before_2024_09_30",
        "test_per_account_rate_limit_gives_429",
        "test_idle_accounts_are_forgotten",
        "test_released_versions_are_served",
        "pipeline",
        "wire_format",
        "test_auth",
        "idempotency",
        "versions",
        "rate_limit",
    ),
    "render": (
        "test_pagination_cursor_unknown",
        "test_stream_wrong_token",
        "test_v2_adjustment_errors",
        "test_api_error_fault_does_not_execute",
        "test_api_error_status_and_should_retry_override",
        "test_declining_cards_fail_at_attach",
        "test_sdk_round_trips_over_keep_alive",
        "test_pipelined_requests_answer_in_order",
        "test_head_has_headers_and_no_body",
        "test_a_request_served_by_flask_releases_its_account",
        "wire_render",
        "wire_format",
        "objects_and_expand",
        "expand_before_write",
        "versions",
        "snapshot",
    ),
    "state": ("wire_state", "mutants_state", "idempotency", "event_destinations", "test_lifecycle"),
    "base": ("wire_params", "test_params", "unsupported_params", "bad_input", "hardening_input"),
    "nested": ("wire_params", "test_params", "unsupported_params", "bad_input", "hardening_input"),
    "parsing": ("wire_params", "test_params", "unsupported_params", "bad_input", "hardening_input"),
    "scalars": ("wire_params", "test_params", "unsupported_params", "bad_input", "booleans"),
}
DETECTED = {"killed", "timeout", "caught by type check"}
UNDETECTED = {"survived", "no tests"}
# mutmut's exit codes (mutmut.stats.status_by_exit_code, 3.8), without importing mutmut here
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    2: "interrupted",
    -2: "interrupted",  # SIGINT / SIGTERM of a stopped run: checked again next time
    -15: "interrupted",
    None: "not checked",
    34: "skipped",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
}


def module_path(arg: str) -> str:
    """`billing/rating.py`, `billing.rating`, `rating`, `wire/form.py` or a package path -> the
    package file."""
    p = arg.removesuffix(".py").replace(".", "/").removeprefix(f"{PACKAGE}/")
    if "/" not in p:
        p = f"billing/{p}"
    return f"{PACKAGE}/{p}.py"


def all_modules(area: str | None = None) -> list[str]:
    """Every mutated module (of `area` only, if given): billing's in RISK order first, then
    wire's alphabetically."""
    names = sorted(
        p.stem for p in (ROOT / PACKAGE / "billing").glob("*.py") if p.stem != "__init__"
    )
    ordered = [n for n in RISK if n in names] + [n for n in names if n not in RISK]
    billing = [module_path(n) for n in ordered]
    wire = [
        f"{PACKAGE}/{p.relative_to(ROOT / PACKAGE).as_posix()}"
        for d in MUTATED_DIRS
        if d.startswith("wire")
        for p in sorted((ROOT / PACKAGE / d).glob("*.py"))
        if p.stem != "__init__"
    ]
    return {"billing": billing, "wire": wire}.get(area or "", billing + wire)


def area_of(module: str) -> str:
    """`stripe_mock_billing/wire/params/scalars.py` -> `wire`."""
    return module.removeprefix(f"{PACKAGE}/").split("/", 1)[0]


def changed_modules(ref: str) -> list[str]:
    """Mutated modules that differ from `ref` (working tree and index included)."""
    out = subprocess.run(
        ["git", "diff", "--name-only", ref, "--", *(f"{PACKAGE}/{a}" for a in AREAS)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    order = all_modules()
    return [m for m in order if m in out]


# ---------------------------------------------------------------------------- the cache copy


def mirror(src: Path, dst: Path, skip: set[Path] | None = None) -> None:
    """Make `dst` hold `src`'s files: copy those whose content differs (fresh mtime, which is
    what tells mutmut a source changed), delete those gone; `skip` paths are left alone."""
    skip = skip or set()
    ignore = {"__pycache__", ".envs", ".hypothesis", ".pytest_cache"}
    seen: set[Path] = set()
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if ignore & set(rel.parts) or path.suffix == ".pyc" or not path.is_file():
            continue
        seen.add(rel)
        target = dst / rel
        if target in skip:
            continue
        if not target.exists() or not filecmp.cmp(path, target, shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    if dst.exists():
        for path in dst.rglob("*"):
            rel = path.relative_to(dst)
            if path.is_file() and rel not in seen and path not in skip and path.suffix == ".py":
                path.unlink()


def config_text() -> str:
    """pyproject.toml with the [tool.mutmut] section of this tool."""

    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    head = (ROOT / "pyproject.toml").read_text().split("\n[tool.mutmut]", 1)[0]
    selection = TESTS + [f"--ignore={p}" for p in IGNORED] + [f"--deselect={t}" for t in DESELECTED]
    return (
        f"{head}\n[tool.mutmut]\n"
        f'source_paths = ["{PACKAGE}"]\n'
        f"only_mutate = {toml_list(MUTATED)}\n"
        'also_copy = ["conformance"]\n'
        f"pytest_add_cli_args_test_selection = {toml_list(selection)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:xdist", "--no-schema"]\n'
        'on_dependency_change = "ignore"\n'
        # a mutant's CPU limit is (its tests' recorded call time + 5 s) x 3 x 2: mutmut's default
        # (x 15) lets an endless loop in period math run ~7 minutes; the 5 s cover the fixtures'
        # set-up, which the recorded time leaves out (x 2 with no margin timed out survivors)
        "timeout_multiplier = 3.0\n"
        "timeout_constant = 5.0\n"
        "use_git_change_detection = false\n"
    )


def prepare(cache: Path) -> None:
    """Mirror the repository into the cache and bring mutmut's copy up to date."""
    cache.mkdir(parents=True, exist_ok=True)
    for name in (PACKAGE, "tests", "conformance"):
        mirror(ROOT / name, cache / name)
    pyproject = cache / "pyproject.toml"
    text = config_text()
    if not pyproject.exists() or pyproject.read_text() != text:
        pyproject.write_text(text)
    mutants = cache / "mutants"
    if mutants.exists():
        # mutmut copies a non-mutated file only once: keep its copies current (the mutated
        # files are regenerated by mutmut itself when their source is newer)
        instrumented = {mutants / p.relative_to(cache) for p in _mutated_files(cache)}
        fresh = [
            path
            for path in instrumented
            if path.exists() and not path.with_name(path.name + ".meta").exists()
        ]
        if fresh:
            # files mutated from now on (e.g. an area added) were plain copies so far: removed,
            # mutmut instruments them, and traces the tests again to learn which reach them
            for path in fresh:
                path.unlink()
            (mutants / "mutmut-stats.json").unlink(missing_ok=True)
            print(f"{len(fresh)} newly mutated files: the test map is redone", flush=True)
        mirror(cache / PACKAGE, mutants / PACKAGE, skip=instrumented)
        for name in ("tests", "conformance"):
            mirror(cache / name, mutants / name)
    refresh_stats(cache)
    # generate the mutants (mutmut's first step), so that each module's verdicts are current
    code = (
        "import sys; sys.argv = ['mutmut']\n"
        "from mutmut.__main__ import copy_src_dir, copy_also_copy_files, create_mutants\n"
        "import os; os.makedirs('mutants', exist_ok=True)\n"
        "copy_src_dir(); copy_also_copy_files(); create_mutants(1)\n"
    )
    subprocess.run(
        ["nice", "-n", "19", sys.executable, "-c", code], cwd=cache, check=True, capture_output=True
    )


def fingerprint(cache: Path) -> str:
    """Hash of every file the test-to-function map depends on: the package and the tests
    (files newly instrumented redo the map in `prepare`)."""
    h = hashlib.sha256()
    for name in (PACKAGE, "tests", "conformance"):
        for path in sorted((cache / name).rglob("*")):
            if path.is_file() and path.suffix != ".pyc" and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(cache)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def refresh_stats(cache: Path) -> None:
    """Make mutmut map tests to functions again when the package or the tests changed.

    mutmut 3.8 keeps its map (`mutmut-stats.json`, from tracing the tests once) and only adds
    tests it has not seen: a test that changed, or code that now calls a function it did not,
    leaves the map stale, and a mutant of that function is then run without the test that
    kills it ("survived" or "no tests" by mistake). So when the fingerprint of the package and
    the tests differs from the one the map was made with, the map is deleted (mutmut traces the
    whole selection again on its next run) and every survivor and untested mutant is set back
    to unchecked, except the survivors listed as equivalent; killed verdicts stay (a kill is a
    test that failed)."""
    mutants = cache / "mutants"
    stats = mutants / "mutmut-stats.json"
    stamp = mutants / "stats-fingerprint.txt"
    now = fingerprint(cache)
    if not stats.exists():
        if mutants.exists():
            stamp.write_text(now)
        return
    if stamp.exists() and stamp.read_text() == now:
        return
    stats.unlink()
    reset = _reset_names(cache)
    # a survivor listed as equivalent keeps its verdict: a changed test can only kill it (its
    # entry then goes stale unseen, which hides nothing), and mutmut itself resets every mutant
    # of a function whose code changed (its hash_by_function_name), so a listed name never
    # stands for another mutant. Re-running them cost most of a run (a survivor runs every test)
    equiv = equivalents()
    for meta in mutants.rglob("*.meta"):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name, code in codes.items():
            if STATUS.get(code) in UNDETECTED and name not in equiv:
                codes[name] = None
                reset.add(name)
        meta.write_text(json.dumps(data, indent=4))
    # remembered until re-run, so that --report can still list them
    (mutants / RESET_FILE).write_text(json.dumps(sorted(reset), indent=1))
    stamp.write_text(now)
    print(f"tests or package changed: test map redone, {len(reset)} undetected mutants to re-run")


RESET_FILE = "reset-survivors.json"


def _reset_names(cache: Path) -> set[str]:
    """Survivors set back to unchecked by a refresh of the test map (and not re-run since)."""
    path = cache / "mutants" / RESET_FILE
    return set(json.loads(path.read_text())) if path.exists() else set()


def _mutated_files(cache: Path) -> list[Path]:
    return sorted(p for d in MUTATED_DIRS for p in (cache / PACKAGE / d).glob("*.py"))


def verdicts(cache: Path, module: str) -> dict[str, str]:
    """mutant name -> status, from mutmut's meta file of `module`."""
    meta = cache / "mutants" / f"{module}.meta"
    if not meta.exists():
        return {}
    data = json.loads(meta.read_text())
    return {k: STATUS.get(v, "suspicious") for k, v in data["exit_code_by_key"].items()}


# ---------------------------------------------------------------------------- running


def run_modules(
    cache: Path,
    modules: list[str],
    *,
    retest: bool,
    children: int,
    until: float,
    max_tests: int,
) -> None:
    """Run mutmut once on the mutants of `modules` that have no verdict (and the survivors if
    `retest`). One invocation for all of them: each `mutmut run` first runs every test of the
    mutants it is given once, unmutated (a minute or more here), so one per module cost more
    than the mutants of a small module. mutmut runs the mutants it expects to be fast first."""
    todo = {"not checked", "interrupted"} | (UNDETECTED if retest else set())
    equiv = equivalents()
    names: list[str] = []
    for module in modules:
        mine = sorted(
            n
            for n, s in verdicts(cache, module).items()
            if s in todo and not (s in UNDETECTED and n in equiv)  # listed ones are not re-run
        )
        print(f"{module}: {len(mine)} mutants to run", flush=True)
        names += mine
    if not names:
        print("nothing to run", flush=True)
        return
    left = until - time.time()  # noqa: TID251 (a tool, not the emulator)
    if left < 60:
        print(f"not run ({len(names)} mutants), past --until", flush=True)
        return
    print(f"running {len(names)} mutants", flush=True)
    cmd = ["nice", "-n", "19", sys.executable, "-m", "mutmut", "run"]
    cmd += ["--max-children", str(children), *names]
    (cache / "mutants" / "mutation_cap.py").write_text(CAP_PLUGIN % (RELEVANT,))
    env = dict(os.environ, MUTATION_MAX_TESTS=str(max_tests))
    env["PYTEST_ADDOPTS"] = (env.get("PYTEST_ADDOPTS", "") + " -p mutation_cap").strip()
    proc = subprocess.Popen(cmd, cwd=cache, start_new_session=True, env=env)
    try:
        proc.wait(timeout=left)
    except subprocess.TimeoutExpired:
        print("--until reached, stopping", flush=True)
        _stop(proc)
    except (KeyboardInterrupt, SystemExit):
        _stop(proc)
        raise


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop mutmut and its children (its own process group); their verdicts so far are kept."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def equivalents() -> dict[str, str]:
    """Mutants declared equivalent: name -> why."""
    if not EQUIVALENTS.exists():
        return {}
    data = tomllib.loads(EQUIVALENTS.read_text())
    return {e["mutant"]: e["why"] for e in data.get("equivalent", [])}


def report(cache: Path, modules: list[str]) -> None:
    """Print the score per module and overall, the survivors and stale equivalents."""
    equiv = equivalents()
    total: Counter[str] = Counter()
    survivors: list[str] = []
    print(
        f"\n{'module':<34} {'score':>7} {'w/o eq':>7} {'killed':>7} {'t/o':>4} {'surv':>5} "
        f"{'equiv':>5} {'unchecked':>9} {'other':>5}"
    )
    per_area: dict[str, Counter[str]] = {}
    for module in modules:
        v = verdicts(cache, module)
        c = Counter(v.values())
        eq = sum(1 for n, s in v.items() if s in UNDETECTED and n in equiv)
        survivors += [n for n, s in v.items() if s in UNDETECTED and n not in equiv]
        c["equivalent"] = eq
        total.update(c)
        per_area.setdefault(area_of(module), Counter()).update(c)
        print(_row(module.removeprefix(f"{PACKAGE}/"), c))
    if len(per_area) > 1:
        for area, counts in per_area.items():
            print(_row(f"{area}/ (all its modules)", counts))
    print(_row("overall", total))
    if survivors:
        print(f"\nsurvivors not declared equivalent ({len(survivors)}):")
        for n in sorted(survivors):
            print(f"  {n}")
    reset = _reset_names(cache)
    waiting = sorted(
        n
        for m in modules
        for n, st in verdicts(cache, m).items()
        if st == "not checked" and n in reset and n not in equiv
    )
    if waiting:
        print(
            f"\nsurvived before the test map was redone, not re-run yet ({len(waiting)}; "
            "counted as unchecked):"
        )
        for n in waiting:
            print(f"  {n}")
    known = {n for m in modules for n in verdicts(cache, m)}
    stale = [
        n
        for n in equiv
        if any(n.startswith(m.removesuffix(".py").replace("/", ".") + ".") for m in modules)
        # gone, or now detected (not while it waits to be re-run)
        and (n not in known or verdicts(cache, _module_of(n)).get(n) in DETECTED)
    ]
    if stale:
        print("\nlisted as equivalent but no longer surviving (stale entries):")
        for n in sorted(stale):
            print(f"  {n}")
    print(f"\nmutmut state: {cache} (`cd {cache} && mutmut show NAME`)")


def _module_of(name: str) -> str:
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return "/".join(parts[:i]) + ".py"
    return "/".join(parts[:-1]) + ".py"


def _row(label: str, c: Counter[str]) -> str:
    detected = sum(c[s] for s in DETECTED)
    undetected = sum(c[s] for s in UNDETECTED)
    scored = detected + undetected
    score = f"{100 * detected / scored:.1f}%" if scored else "-"
    net = scored - c["equivalent"]
    score_eq = f"{100 * detected / net:.1f}%" if net else "-"
    unchecked = c["not checked"] + c["interrupted"]
    other = sum(c.values()) - scored - unchecked - c["equivalent"]
    return (
        f"{label:<34} {score:>7} {score_eq:>7} {detected:>7} {c['timeout']:>4} {undetected:>5} "
        f"{c['equivalent']:>5} {unchecked:>9} {other:>5}"
    )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("modules", nargs="*", help="e.g. billing/rating.py, billing.rating, rating")
    ap.add_argument(
        "--all", action="store_true", help="every module: billing (RISK order first), then wire"
    )
    ap.add_argument("--area", choices=AREAS, help="with --all or --report: only this area")
    ap.add_argument("--changed", nargs="?", const="HEAD", metavar="REF", help="git diff REF")
    ap.add_argument("--report", action="store_true", help="print cached figures, run nothing")
    ap.add_argument("--retest", action="store_true", help="re-run survivors too")
    ap.add_argument("--until", metavar="HH:MM", help="stop at this UTC time (today)")
    ap.add_argument("--max-children", type=int, default=1)
    ap.add_argument(
        "--max-tests",
        type=int,
        default=0,
        help="run only N tests per mutant: about its module first",
    )
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    if args.all or (args.report and not args.modules and not args.changed):
        modules = all_modules(args.area)
    elif args.changed:
        modules = changed_modules(args.changed)
    else:
        modules = [module_path(m) for m in args.modules]
    if not modules:
        print("no mutated module to run")
        return 0
    for m in modules:
        if not (ROOT / m).is_file():
            ap.error(f"no such module: {m}")
    until = float("inf")
    if args.until:
        hh, mm = (int(x) for x in args.until.split(":"))
        now = datetime.now(UTC)  # noqa: TID251 (a tool, not the emulator)
        until = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    if not args.report:
        prepare(args.cache)
        run_modules(
            args.cache,
            modules,
            retest=args.retest,
            children=args.max_children,
            until=until,
            max_tests=args.max_tests,
        )
    report(args.cache, modules)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
