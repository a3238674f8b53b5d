"""Runs the selected scenarios on the selected SDKs against one target and collects results.

One thread per SDK, each with its own runner process and recording proxy; scenarios run one at a
time inside an SDK (so every captured exchange belongs to the current step). Against the
emulator every (scenario, SDK) pair gets a fresh `sk_test_<random>` key, i.e. its own account.
LIMITATIONS: no per-scenario deadline beyond the runner's 180 s per step; a runner that dies is
restarted and only the current cell fails.
"""

from __future__ import annotations

import fnmatch
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import scenarios  # registers every scenario
from .harness import REGISTRY, CheckFailed, Scenario, Skip, T, Target, set_pinned
from .proxy import Exchange, RecordingProxy
from .runner_client import RunnerDied, RunnerProcess
from .sdks import Sdk


@dataclass
class Result:
    """One cell of the table."""

    scenario: str
    title: str
    area: str
    sdk: str
    status: str  # pass | fail | xfail | xpass | pending | skipped
    reason: str = ""
    duration_s: float = 0.0
    steps: int = 0
    schema_checked: int = 0
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_fields: list[str] = field(default_factory=list)
    # the last step's exchanges in full (bodies truncated) when the cell did not pass
    last_step: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunOptions:
    """What to run and how."""

    sdks: list[Sdk]
    target: Target
    validate: bool
    only: list[str] = field(default_factory=list)
    include_pending: bool = False
    jobs: int = 4
    verbose: bool = False


def select(only: list[str]) -> list[Scenario]:
    """The scenarios matching any of the glob patterns (all when none), in table order."""
    chosen = [
        s for s in REGISTRY.values() if not only or any(fnmatch.fnmatch(s.name, p) for p in only)
    ]
    return sorted(chosen, key=lambda s: table_rank(s))


def table_rank(sc: Scenario) -> int:
    """Position of the scenario's module in `scenarios.MODULES` (table order)."""
    module = sc.fn.__module__.rsplit(".", 1)[-1]
    return (
        scenarios.MODULES.index(module) if module in scenarios.MODULES else len(scenarios.MODULES)
    )


def _key(opts: RunOptions) -> str:
    return opts.target.shared_key or ("sk_test_" + uuid.uuid4().hex)


def _run_one(
    sc: Scenario, sdk: Sdk, runner: RunnerProcess, proxy: RecordingProxy, opts: RunOptions
) -> Result:
    res = Result(sc.name, sc.title, sc.area, sdk.name, "pass")
    if sc.pending and not opts.include_pending:
        res.status, res.reason = "pending", sc.pending
        return res
    if sc.emulator_only and not opts.target.emulator:
        res.status, res.reason = "skipped", "emulator-only scenario (uses emulator controls)"
        return res
    started = time.monotonic()
    t: T | None = None
    try:
        t = T(sc, sdk, runner, proxy, opts.target, _key(opts), opts.validate)
        sc.fn(t)
    except Skip as exc:
        res.status, res.reason = "skipped", str(exc)
    except CheckFailed as exc:
        res.status, res.reason = "fail", str(exc)
    except RunnerDied:
        raise
    except Exception as exc:  # a bug in the scenario itself: report it, don't hide it
        res.status = "fail"
        res.reason = f"scenario error: {type(exc).__name__}: {exc}"
        res.notes.append(traceback.format_exc(limit=6))
    finally:
        if t is not None:
            res.notes.extend(t.cleanup())
            res.steps, res.schema_checked = t.steps, t.schema_checked
            res.exchanges, res.notes = t.exchanges, t.notes + res.notes
            res.extra_fields = sorted(t.extra_fields)
            res.notes.extend(
                f"not schema-validated (outside the OpenAPI subsets): {what}"
                for what in sorted(t.unvalidated)
            )
            if res.status == "fail":
                res.last_step = [_full(ex) for ex in t.failed_step]
        res.duration_s = round(time.monotonic() - started, 3)
    # known bugs are the emulator's: against another target a failure is a plain failure
    known = (sc.xfail.get(sdk.name) or sc.xfail.get("*")) if opts.target.emulator else None
    if known and res.status == "fail":
        res.status, res.reason = "xfail", f"known emulator bug: {known} | observed: {res.reason}"
    elif known and res.status == "pass":
        res.status, res.reason = "xpass", f"marked as known bug but passed: {known}"
    return res


def _full(ex: Exchange) -> dict[str, Any]:
    """An exchange with its bodies (truncated) for the report of a failed cell."""
    out = ex.summary()
    out["query"] = ex.query
    out["request_body"] = ex.req_body[:4000]
    out["response_body"] = ex.resp_text[:4000]
    return out


def _run_sdk(sdk: Sdk, chosen: list[Scenario], opts: RunOptions, out: list[Result]) -> None:
    runner = RunnerProcess(sdk)
    proxy = RecordingProxy(opts.target.base).start()
    try:
        hello = runner.request({"cmd": "hello"})["value"]
        set_pinned(sdk, hello["api_version"])
        for sc in chosen:
            try:
                res = _run_one(sc, sdk, runner, proxy, opts)
            except RunnerDied as exc:
                res = Result(sc.name, sc.title, sc.area, sdk.name, "fail", f"runner died: {exc}")
                runner.close()
                runner = RunnerProcess(sdk)
                runner.request({"cmd": "hello"})
            out.append(res)
            if opts.verbose:
                print(f"  {sdk.name:14} {res.status:8} {sc.name} {res.reason[:150]}", flush=True)
    finally:
        runner.close()
        proxy.stop()


def sdk_info(sdk: Sdk) -> dict[str, str]:
    """The SDK version and pinned API version, from its runner."""
    runner = RunnerProcess(sdk)
    try:
        value: dict[str, str] = runner.request({"cmd": "hello"})["value"]
        return value
    finally:
        runner.close()


def run(opts: RunOptions) -> list[Result]:
    """Run every selected scenario on every SDK; results in table order."""
    chosen = select(opts.only)
    results: list[Result] = []
    lock = threading.Lock()
    per_sdk: dict[str, list[Result]] = {s.name: [] for s in opts.sdks}

    def work(sdk: Sdk) -> None:
        out: list[Result] = []
        try:
            _run_sdk(sdk, chosen, opts, out)
        except Exception as exc:  # the SDK could not even start: every cell fails, loudly
            done = {r.scenario for r in out}
            out.extend(
                Result(sc.name, sc.title, sc.area, sdk.name, "fail", f"SDK runner failed: {exc}")
                for sc in chosen
                if sc.name not in done
            )
        with lock:
            per_sdk[sdk.name] = out

    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        list(pool.map(work, opts.sdks))
    order = {sc.name: i for i, sc in enumerate(chosen)}
    for sdk in opts.sdks:
        results.extend(per_sdk[sdk.name])
    results.sort(key=lambda r: order.get(r.scenario, 0))
    return results
