"""Emulator-only endpoints: `/healthz` and the `/_mock/*` control API (never under /v1 or /v2).

Every `/_mock/*` call is authenticated like the real API, by the account's secret test key in
the `Authorization` header, and acts on that account only, so each test controls its own
namespace. Bodies are JSON objects (form encoding is accepted too); errors use Stripe's v1
envelope (400 with `code`/`param`/`message`).

- `POST /_mock/reset`: forget the account (objects, settings, journal, faults).
- `GET /_mock/journal?method=&path=&since=`: the account's requests, oldest first
  (journal.py); `DELETE /_mock/journal` clears it.
- `POST /_mock/faults` `{kind, method, path, times, latency_ms, status, reason, should_retry}`,
  `GET /_mock/faults`, `DELETE /_mock/faults[/<id>]` (faults.py).
- `GET /_mock/settings`, `POST /_mock/settings` `{name: value, ...}`: the account's switches
  (config.AccountSettings), validated as a whole before any is applied.
- `GET /_mock/clock`: the account's wall clock (real time + `clock_offset`).
- `GET /_mock/snapshot`, `POST /_mock/snapshot`: export / import the account's state
  (snapshot/encode.py, snapshot/decode.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from flask import Blueprint, Response, current_app, request

from . import __version__, clock, snapshot
from .config import AccountSettings
from .delivery import STRIPE_RETRY_SCHEDULE
from .domain import versions
from .errors import ApiError, ResourceMissing, invalid_value, unknown_params
from .limits import loads_json, parse_int
from .store import Namespace, Store
from .wire import faults, journal
from .wire.auth import authenticate
from .wire.form import decode
from .wire.render import json_response

control = Blueprint("control", __name__)

# bounds of integer account settings; clock_offset may be negative (the app runs ahead)
HUNDRED_YEARS = 100 * 366 * 86400
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "clock_offset": (-HUNDRED_YEARS, HUNDRED_YEARS),
    "dunning_smart_tries": (1, 8),  # Stripe: at most 8 tries
    "dunning_smart_window_days": (1, 60),  # Stripe: 1 week .. 2 months
    "webhook_timeout_ms": (1, 600_000),
    "max_advance_periods": (1, 1_000_000),
}
DEFAULT_BOUNDS = (0, 10**9)
# string settings with a fixed set of values
CHOICES: dict[str, tuple[str, ...]] = {
    "dunning_mode": ("custom", "smart"),
    "dunning_after_final": ("cancel", "unpaid", "past_due"),
    "dunning_invoice_after_final": ("uncollectible", "open"),
    "webhook_delivery": ("synchronous", "background"),
}
# named values of list settings: `webhook_retry_schedule="stripe"` is Stripe's test-mode schedule
LIST_PRESETS: dict[str, dict[str, list[int]]] = {
    "webhook_retry_schedule": {"stripe": STRIPE_RETRY_SCHEDULE},
}
# list-of-integer settings: (most entries, lowest value, highest value)
LIST_BOUNDS: dict[str, tuple[int, int, int]] = {
    "dunning_retry_days": (8, 1, 60),
    "webhook_retry_schedule": (20, 0, 30 * 86400),  # seconds after each failed attempt
}


def _int_list(name: str, value: Any) -> list[int]:
    """A list of integers (JSON array or comma-separated string) within LIST_BOUNDS."""
    if name in LIST_PRESETS and isinstance(value, str) and value in LIST_PRESETS[name]:
        return list(LIST_PRESETS[name][value])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")] if value.strip() else []
    if not isinstance(value, list):
        raise invalid_value(name, f"Invalid {name}: must be a list of integers.")
    most, lo, hi = LIST_BOUNDS.get(name, (100, 0, 10**9))
    out: list[int] = []
    for v in value:
        if isinstance(v, str):
            v = parse_int(v) if v.isdigit() else v
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise invalid_value(
                name, f"Invalid {name}: every entry must be an integer between {lo} and {hi}."
            )
        out.append(v)
    if len(out) > most:
        raise invalid_value(name, f"Invalid {name}: at most {most} entries.")
    return out


@control.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Liveness probe, no auth."""
    return json_response({"status": "ok", "version": __version__})


def _store() -> Store:
    st: Store = current_app.extensions["stripe_mock_billing.store"]
    return st


def _account() -> Namespace:
    """The account named by the Authorization header (401/403 like the real API)."""
    key = authenticate(request.headers.get("Authorization"), v2=False)
    return _store().namespace(key, clock.monotonic())


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if (request.mimetype or "").lower() == "application/json":
        return cast(dict[str, Any], loads_json(raw))
    return dict(decode(raw))


def _list(items: list[dict[str, Any]], url: str) -> Response:
    return json_response({"object": "list", "data": items, "has_more": False, "url": url})


@control.post("/_mock/reset")
def reset_account() -> Response:
    """Forget everything about the account, settings included."""
    key = authenticate(request.headers.get("Authorization"), v2=False)
    _store().reset(key)
    return json_response({"object": "_mock.reset", "reset": True})


# --- journal -----------------------------------------------------------------------------


@control.get("/_mock/journal")
def list_journal() -> Response:
    """The account's journal, oldest first, filtered by `method`, `path` (glob) and `since`."""
    space = _account()
    args = request.args
    since_raw = args.get("since", "0")
    since = parse_int(since_raw)
    if since is None or since < 0:
        raise invalid_value("since", f"Invalid integer: {since_raw}", "parameter_invalid_integer")
    unknown = sorted(k for k in args if k not in ("method", "path", "since"))
    if unknown:
        raise unknown_params(unknown)
    found = journal.entries(space, method=args.get("method"), path=args.get("path"), since=since)
    return _list([e.to_json() for e in found], "/_mock/journal")


@control.delete("/_mock/journal")
def clear_journal() -> Response:
    """Forget the account's journal."""
    journal.clear(_account())
    return json_response({"object": "_mock.journal", "cleared": True})


# --- faults ------------------------------------------------------------------------------


@control.post("/_mock/faults")
def create_fault() -> Response:
    """Arm a fault rule for the next `times` matching requests."""
    space = _account()
    rule = faults.parse_rule(_body())
    faults.add(space, rule)
    return json_response(rule.to_json())


@control.get("/_mock/faults")
def list_faults() -> Response:
    """Rules still armed, oldest first."""
    return _list([f.to_json() for f in faults.active(_account())], "/_mock/faults")


@control.delete("/_mock/faults")
def clear_faults() -> Response:
    """Disarm every rule."""
    removed = faults.remove(_account())
    return json_response({"object": "_mock.faults", "deleted": removed})


@control.delete("/_mock/faults/<fault_id>")
def delete_fault(fault_id: str) -> Response:
    """Disarm one rule."""
    if not faults.remove(_account(), fault_id):
        raise ResourceMissing("fault", fault_id)
    return json_response({"id": fault_id, "object": "_mock.fault", "deleted": True})


# --- settings and clock ------------------------------------------------------------------


def _coerce_setting(name: str, value: Any, current: Any) -> Any:
    if isinstance(current, list):
        return _int_list(name, value)
    if isinstance(current, bool):
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise invalid_value(name, f"Invalid boolean: {value}")
        return value
    if isinstance(current, int):
        if isinstance(value, str):
            parsed = parse_int(value.strip())
            value = parsed if parsed is not None else value[:100]
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_value(name, f"Invalid integer: {value}", "parameter_invalid_integer")
        lo, hi = INT_BOUNDS.get(name, DEFAULT_BOUNDS)
        if not lo <= value <= hi:
            raise invalid_value(name, f"Invalid {name}: must be between {lo} and {hi}.")
        return value
    if not isinstance(value, str) or not value:
        raise invalid_value(name, f"Invalid {name}: must be a non-empty string.")
    if name == "api_version":
        versions.validate(value)
    if name in CHOICES and value not in CHOICES[name]:
        raise invalid_value(name, f"Invalid {name}: must be one of {', '.join(CHOICES[name])}.")
    return value


def validate_settings(current: AccountSettings, body: dict[str, Any]) -> dict[str, Any]:
    """Coerced new values for the settings in `body`, or a 400 naming the first bad one."""
    known = {f.name for f in dataclasses.fields(AccountSettings)}
    unknown = sorted(k for k in body if k not in known)
    if unknown:
        raise unknown_params(unknown)
    return {k: _coerce_setting(k, v, getattr(current, k)) for k, v in body.items()}


def _settings_body(space: Namespace) -> dict[str, Any]:
    return {"object": "_mock.account_settings", **dataclasses.asdict(space.settings)}


@control.get("/_mock/settings")
def get_settings() -> Response:
    """The account's behaviour switches."""
    return json_response(_settings_body(_account()))


@control.post("/_mock/settings")
def update_settings() -> Response:
    """Change some switches; all are validated before any is applied."""
    space = _account()
    body = _body()
    with space.lock:
        changes = validate_settings(space.settings, body)
        space.settings = dataclasses.replace(space.settings, **changes)
        space.writes += 1
        return json_response(_settings_body(space))


@control.get("/_mock/clock")
def get_clock() -> Response:
    """The account's wall clock: real time plus its `clock_offset` (drift)."""
    space = _account()
    return json_response(
        {
            "object": "_mock.clock",
            "now": clock.wall_now(space),
            "real_time": clock.real_time(),
            "clock_offset": space.settings.clock_offset,
        }
    )


# --- snapshots ---------------------------------------------------------------------------


@control.get("/_mock/snapshot")
def export_snapshot() -> Response:
    """The account's state as JSON."""
    space = _account()
    with space.lock:
        try:
            body = snapshot.export_state(space)
        except snapshot.SnapshotError as exc:
            raise ApiError(f"The account cannot be exported: {exc}") from exc
    return json_response(body)


@control.post("/_mock/snapshot")
def import_snapshot() -> Response:
    """Replace the account's state with an exported snapshot (all or nothing)."""
    space = _account()
    body = _body()
    snapshot.import_state(space, body)
    return json_response({"object": "_mock.snapshot_import", "imported": True})
