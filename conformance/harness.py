"""The scenario API: `@scenario(...)` registers a flow written once; `T` runs it on one SDK.

A scenario is a Python function taking a `T`. Every `t.call(op, ...)` is one real SDK call made
by the SDK's runner process (see ops.py); the HTTP exchanges it causes are captured by the
recording proxy, each response body is validated against the official OpenAPI schema for its
operation, status and API version, and the SDK's parsed result (or its exception) comes back to
the scenario, which checks values with `t.eq` / `t.check` / `t.fails`. The first failed check
ends the scenario with that check's message as the reason.

Checks whose expected value is an emulator choice where Stripe's behaviour is unverified are
written `emulator_only=True` (or `only_emulator=(...)` on `t.fails`): they run against the
emulator and are skipped against real Stripe. Scenarios that need the emulator's `/_mock`
controls are registered with `emulator_only=True` and skipped against other targets.
LIMITATIONS: the first failed check ends a scenario (later checks of that cell are not run);
node results are plain JSON, so only stripe-python's deserialization into typed classes is checked.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import openapi_check as oc
from .ops import runner_request
from .proxy import Exchange, RecordingProxy
from .runner_client import RunnerProcess
from .sdks import ACACIA, Sdk

UNSET: Any = object()
METER_EVENT_STREAM = "/v2/billing/meter_event_stream"
# API families the OpenAPI subsets leave out on purpose (shared/openapi/README.md "What each
# subset contains"): their bodies are not schema-validated, which the report says
OUTSIDE_SUBSET = ("/v2/core/",)
# added after the legacy subset's 2024-04-10 (credits 2024-10-28, alerts 2024-09-30): an acacia
# response there has no legacy schema (reported unvalidated); basil+ ones use the current subset
NEWER_THAN_LEGACY_SUBSET = (
    "/v1/billing/alerts",
    "/v1/billing/credit_balance_summary",
    "/v1/billing/credit_balance_transactions",
    "/v1/billing/credit_grants",
)


class CheckFailed(Exception):
    """A check of a scenario failed; the message is the reason shown in the table."""


class Skip(Exception):
    """The scenario does not apply to this SDK or target."""


class SdkCrash(CheckFailed):
    """The SDK raised something other than a Stripe error (e.g. could not parse a response)."""


@dataclass
class Scenario:
    """One flow, run on every SDK."""

    name: str
    title: str
    fn: Callable[[T], None]
    area: str
    legacy: bool = False  # every call at 2025-02-24.acacia (current SDKs override per request)
    emulator_only: bool = False  # needs /_mock controls or emulator-specific behaviour
    pending: str | None = None  # feature not in the emulator yet: not run by default
    xfail: dict[str, str] = field(default_factory=dict)  # sdk name or "*" -> known bug


REGISTRY: dict[str, Scenario] = {}


def scenario(
    name: str,
    title: str,
    *,
    area: str,
    legacy: bool = False,
    emulator_only: bool = False,
    pending: str | None = None,
    xfail: str | dict[str, str] | None = None,
) -> Callable[[Callable[[T], None]], Callable[[T], None]]:
    """Register a scenario (module import order = table order)."""

    def wrap(fn: Callable[[T], None]) -> Callable[[T], None]:
        if name in REGISTRY:
            raise ValueError(f"duplicate scenario {name}")
        xf = {"*": xfail} if isinstance(xfail, str) else dict(xfail or {})
        REGISTRY[name] = Scenario(name, title, fn, area, legacy, emulator_only, pending, xf)
        return fn

    return wrap


@dataclass
class Target:
    """Where requests go and what it is."""

    base: str  # the real target's base URL (the proxy forwards there)
    emulator: bool
    shared_key: str | None  # --api-key (real Stripe): every scenario uses it


class T:
    """The context a scenario runs in: one SDK, one account, one proxy."""

    def __init__(
        self,
        sc: Scenario,
        sdk: Sdk,
        runner: RunnerProcess,
        proxy: RecordingProxy,
        target: Target,
        api_key: str,
        validate: bool,
    ) -> None:
        self.scenario, self.sdk, self.runner, self.proxy = sc, sdk, runner, proxy
        self.target = target
        self.api_key = api_key
        self.validate = validate
        self.emulator = target.emulator
        self.flavor = sdk.flavor
        self.python = sdk.kind == "python"
        # the API version every call of this scenario is made with
        self.version = ACACIA if sc.legacy or sdk.legacy else pinned_version(sdk)
        self.legacy_rendering = oc.is_legacy_version(self.version)
        self.last: list[Exchange] = []
        self.failed_step: list[Exchange] = []  # the scenario's last step (kept for the report)
        self.exchanges: list[dict[str, Any]] = []
        self.schema_checked = 0
        self.extra_fields: set[str] = set()
        self.unvalidated: set[str] = set()  # exchanges outside the OpenAPI subsets
        self.notes: list[str] = []
        self.steps = 0
        self._cleanups: list[tuple[str, tuple[Any, ...]]] = []
        self._configure(api_key)

    # ----------------------------------------------------------------- plumbing

    def _configure(self, api_key: str, api_version: str | None = None) -> None:
        answer = self.runner.request(
            {
                "cmd": "client",
                "api_key": api_key,
                "base": self.proxy.url,
                "api_version": api_version,
            }
        )
        if not answer.get("ok"):
            raise CheckFailed(f"runner could not build a client: {answer}")

    def _options(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = {k: v for k, v in options.items() if v is not None}
        if self.scenario.legacy and not self.sdk.legacy:
            opts.setdefault("api_version", ACACIA)  # current SDKs: per-request acacia
        return opts

    def _step(self, what: str, req: dict[str, Any]) -> dict[str, Any]:
        self.proxy.drain()
        answer = self.runner.request(req)
        self.steps += 1
        self.last = self.failed_step = self.proxy.drain()
        for ex in self.last:
            self.exchanges.append(ex.summary())
            self._validate(what, ex)
        if "crash" in answer:
            crash = " | ".join(ln.strip() for ln in answer["crash"].strip().splitlines()[-3:])
            raise SdkCrash(f"{what}: the SDK raised a non-Stripe error: {crash[:500]}")
        return answer

    def _validate(self, what: str, ex: Exchange) -> None:
        if not ex.path.startswith(("/v1/", "/v2/")):
            return
        if not ex.json_ok:
            raise CheckFailed(f"{what}: {ex.method} {ex.path} {ex.status}: body is not JSON")
        self._check_headers(what, ex)
        if not self.validate:
            return
        version = ex.api_version or self.version
        validator = oc.validator_for_version(version, ex.path)
        if validator is None:
            return
        try:
            found = validator.validate(ex.method, ex.path, ex.status, ex.body, strict_extra=True)
            # fields the schema does not declare are allowed by the spec (no
            # additionalProperties: false) and newer versions add fields: reported, not failed
            extra = [f for f in found if ": unexpected field " in f]
            self.extra_fields.update(f"{validator.name}: {f.split(': ', 1)[1]}" for f in extra)
            problems = [f for f in found if f not in extra]
        except oc.UnknownOperation as exc:
            legacy_gap = oc.is_legacy_version(version) and ex.path.startswith(
                NEWER_THAN_LEGACY_SUBSET
            )
            if ex.path.startswith(OUTSIDE_SUBSET) or legacy_gap:
                self.unvalidated.add(f"{ex.method} {'/'.join(ex.path.split('/')[:4])}")
                return
            if ex.status < 400:
                raise CheckFailed(f"{what}: no OpenAPI operation for the exchange: {exc}") from exc
            # an unknown route's error (e.g. 404 Unrecognized request URL): the body must still
            # be the generic error envelope, which every operation's `default` response uses
            method, path = _ERROR_SCHEMA_OF["v2" if ex.path.startswith("/v2/") else "v1"]
            problems = validator.validate(method, path, ex.status, ex.body)
        self.schema_checked += 1
        if problems:
            ex.notes.extend(problems)
            raise CheckFailed(
                f"schema ({validator.name}, {version}): {ex.method} {ex.path} {ex.status}: "
                + "; ".join(problems[:3])
            )

    def _check_headers(self, what: str, ex: Exchange) -> None:
        """Every response carries a `req_` Request-Id and echoes the request's Stripe-Version
        (wire-format.md §5.2). At real Stripe, 401s and the meter-events host are exempt (not
        documented there); auth failures and the invalid-version 400 need not echo the version."""
        exempt = not self.emulator and (ex.status == 401 or ex.path == METER_EVENT_STREAM)
        if exempt:
            return
        where = f"{what}: {ex.method} {ex.path} {ex.status}"
        if not (ex.header("Request-Id") or "").startswith("req_"):
            raise CheckFailed(f"{where}: no req_ Request-Id header")
        sent = ex.req_header("Stripe-Version")
        if sent and _renders_version(ex) and ex.header("Stripe-Version") != sent:
            raise CheckFailed(
                f"{where}: Stripe-Version {ex.header('Stripe-Version')!r} answered to {sent!r}"
            )

    # ----------------------------------------------------------------- SDK calls

    def call(
        self,
        op: str,
        *args: Any,
        params: dict[str, Any] | None = None,
        paging: str | None = None,
        **options: Any,
    ) -> Any:
        """Call the SDK method for `op`; returns the parsed result (a dict, list or None)."""
        req = runner_request(self.flavor, op, args, params, self._options(options), paging)
        answer = self._step(op, req)
        if not answer.get("ok"):
            err = answer.get("error") or {}
            raise CheckFailed(
                f"{op}: unexpected {err.get('class')} {err.get('status')}: "
                f"{err.get('code')} {err.get('param')} {err.get('message')!r}"
            )
        if answer.get("unrecognized"):
            raise CheckFailed(
                f"{op}: the SDK did not recognize object type(s) {answer['unrecognized']} "
                "(parsed into a plain StripeObject)"
            )
        return answer.get("value")

    def resource(self, path: str, *args: Any, params: dict[str, Any] | None = None) -> Any:
        """stripe-python only: a resource-style call (`stripe.<Class>.<method>`) that uses the
        module globals (`stripe.api_key`, `stripe.api_base`); returns (value, python class)."""
        if not self.python:
            raise Skip("resource-style calls are stripe-python's")
        req = {
            "cmd": "resource",
            "path": path,
            "args": list(args),
            "params": params or {},
            "options": self._options({}),
        }
        answer = self._step(path, req)
        if not answer.get("ok"):
            err = answer.get("error") or {}
            raise CheckFailed(f"{path}: unexpected {err.get('class')} {err.get('status')}: {err}")
        if answer.get("unrecognized"):
            raise CheckFailed(f"{path}: the SDK did not recognize {answer['unrecognized']}")
        return answer.get("value"), answer.get("class")

    def fails(
        self,
        op: str,
        *args: Any,
        params: dict[str, Any] | None = None,
        status: int,
        cls: str | None = None,
        type: str | None = "invalid_request_error",
        code: Any = UNSET,
        param: Any = UNSET,
        message: Any = UNSET,
        only_emulator: Iterable[str] = (),
        **options: Any,
    ) -> dict[str, Any]:
        """Call `op` expecting an error; checks the SDK class, HTTP status and the wire error.

        `code=None` / `param=None` mean the field must be absent; UNSET means not checked.
        Field names in `only_emulator` are checked against the emulator only (unverified texts).
        """
        req = runner_request(self.flavor, op, args, params, self._options(options), None)
        answer = self._step(op, req)
        if answer.get("ok"):
            raise CheckFailed(f"{op}: expected HTTP {status} but the call succeeded")
        sdk_err = answer.get("error") or {}
        wire = self._wire_error()
        skip = set() if self.emulator else set(only_emulator)
        if "status" not in skip:
            self.eq(sdk_err.get("status"), status, f"{op}: HTTP status")
        if cls is not None and "cls" not in skip:
            self.eq(sdk_err.get("class"), cls, f"{op}: SDK exception class")
        for name, want in (("type", type), ("code", code), ("param", param), ("message", message)):
            if want is UNSET or name in skip:
                continue
            self.eq(wire.get(name), want, f"{op}: error.{name}")
        self._check_error_links(op, wire)
        return wire

    def _check_error_links(self, op: str, wire: dict[str, Any]) -> None:
        """v1: `doc_url` is the code's page; `request_log_url` names this response's request."""
        ex = self.last[-1]
        if ex.path.startswith("/v2/"):
            return
        code = wire.get("code")
        if code and "doc_url" in wire:
            want = "https://stripe.com/docs/error-codes/" + str(code).replace("_", "-")
            self.eq(wire["doc_url"], want, f"{op}: error.doc_url")
        self.check(
            bool(not code or "doc_url" in wire), f"{op}: error.doc_url missing", emulator_only=True
        )
        log_url = wire.get("request_log_url")
        if log_url and ex.header("Request-Id"):
            self.check(
                str(ex.header("Request-Id")) in log_url,
                f"{op}: request_log_url {log_url!r} does not name {ex.header('Request-Id')}",
            )

    def _wire_error(self) -> dict[str, Any]:
        for ex in reversed(self.last):
            if isinstance(ex.body, dict) and isinstance(ex.body.get("error"), dict):
                return dict(ex.body["error"])
        raise CheckFailed("the error response carried no `error` object")

    def as_key(self, api_key: str) -> None:
        """Switch the runner's client to another API key (e.g. an invalid one)."""
        self._configure(api_key)

    def restore_key(self) -> None:
        """Back to the scenario's own key."""
        self._configure(self.api_key)

    def defer(self, op: str, *args: Any) -> None:
        """Register a cleanup call (run after the scenario, newest first, errors ignored)."""
        self._cleanups.append((op, args))

    def cleanup(self) -> list[str]:
        """Run the cleanups; returns the problems (never raises)."""
        problems: list[str] = []
        failed_step = self.failed_step
        if self._cleanups:
            self._configure(self.api_key)  # the scenario may have ended on another key
        for op, args in reversed(self._cleanups):
            try:
                req = runner_request(self.flavor, op, args, None, self._options({}), None)
                answer = self._step(f"cleanup {op}", req)
                if not answer.get("ok"):
                    problems.append(f"cleanup {op} {args}: {answer.get('error')}")
            except CheckFailed as exc:
                problems.append(f"cleanup {op}: {exc}")
        self._cleanups.clear()
        self.failed_step = failed_step
        return problems

    # ----------------------------------------------------------------- checks

    def eq(self, actual: Any, expected: Any, what: str, *, emulator_only: bool = False) -> None:
        """`actual == expected`, else the scenario fails with `what`."""
        if emulator_only and not self.emulator:
            return
        if actual != expected:
            raise CheckFailed(f"{what}: expected {_short(expected)}, got {_short(actual)}")

    def check(self, cond: bool, what: str, *, emulator_only: bool = False) -> None:
        """`cond` must hold."""
        if emulator_only and not self.emulator:
            return
        if not cond:
            raise CheckFailed(what)

    def eventually(self, check: Callable[[], Any], timeout: float = 120.0) -> Any:
        """Run `check` until it passes: Stripe aggregates meter events asynchronously.

        Against the emulator (instant unless configured otherwise) it runs exactly once.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                return check()
            except CheckFailed:
                if self.emulator or time.monotonic() > deadline:
                    raise
            time.sleep(3.0)

    def skip(self, reason: str) -> None:
        """End the scenario as skipped (not applicable here)."""
        raise Skip(reason)

    def note(self, msg: str) -> None:
        """A remark for the JSON report."""
        self.notes.append(msg)

    def header(self, name: str, index: int = -1) -> str | None:
        """A response header of the last step's exchange (default: the last one)."""
        if not self.last:
            raise CheckFailed(f"no HTTP exchange to read header {name} from")
        return self.last[index].header(name)

    # ----------------------------------------------------------------- time & controls

    def wall_now(self) -> int:
        """Real time (the emulator and Stripe both run on it outside test clocks)."""
        return int(time.time())

    def advance_clock(
        self, clock_id: str, frozen_time: int, timeout: float = 180.0
    ) -> dict[str, Any]:
        """Advance a test clock and poll until it is `ready` at `frozen_time`."""
        clk = self.call("test_clocks.advance", clock_id, params={"frozen_time": frozen_time})
        deadline = time.monotonic() + timeout
        while clk.get("status") != "ready" or clk.get("frozen_time") != frozen_time:
            if clk.get("status") == "internal_failure":
                raise CheckFailed(f"test clock {clock_id} advance failed: internal_failure")
            if time.monotonic() > deadline:
                raise CheckFailed(f"test clock {clock_id} not ready after {timeout:.0f}s")
            time.sleep(0.05 if self.emulator else 2.0)
            clk = self.call("test_clocks.retrieve", clock_id)
        return dict(clk)

    def mock(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call an emulator-only `/_mock` control for this scenario's account."""
        if not self.emulator:
            raise Skip("emulator-only control")
        req = urllib.request.Request(
            self.target.base.rstrip("/") + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None


_PINNED: dict[str, str] = {}
# an operation (present in both subsets) whose `default` response is the generic error envelope
_ERROR_SCHEMA_OF = {"v1": ("GET", "/v1/customers"), "v2": ("POST", "/v2/billing/meter_events")}


def pinned_version(sdk: Sdk) -> str:
    """The API version the SDK pins (filled in by the driver from the runner's hello)."""
    return _PINNED.get(sdk.name, ACACIA if sdk.legacy else "2026-10-28.endive")


def set_pinned(sdk: Sdk, version: str) -> None:
    """Record the SDK's pinned API version."""
    _PINNED[sdk.name] = version


def _renders_version(ex: Exchange) -> bool:
    """False for answers given before the request's version is known to be usable: auth
    failures (401/403) and the invalid-version 400 itself."""
    if ex.status in (401, 403):
        return False
    err = ex.body.get("error") if isinstance(ex.body, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    return not (isinstance(message, str) and message.startswith("Invalid Stripe API version"))


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 300 else text[:297] + "..."
