"""Step executor for stripe-python (11.x and 16.x): one JSON request per line on stdin, one JSON
answer per line on stdout. Runs inside the SDK's own venv, so it imports only the stdlib + stripe.

Requests:
  {"cmd": "hello"}
  {"cmd": "client", "api_key": ..., "base": "http://127.0.0.1:PORT", "api_version": null}
  {"cmd": "call", "path": "v1.customers.create", "args": [...], "params": {...},
   "options": {...}, "paging": null | "auto"}
  {"cmd": "raw", "method": "post", "path": "/v1/...", "params": {...}, "options": {...}}
Generic options: idempotency_key, api_version, api_key, headers.
Answers: {"ok": true, "value": <JSON>, "class": "<python class>"} or
         {"ok": false, "error": {"class", "status", "type", "code", "param", "message"}}.
"""

from __future__ import annotations

import json
import sys
import traceback
from decimal import Decimal
from typing import Any

import stripe

CLIENT: Any = None
OPTION_NAMES = {
    "idempotency_key": "idempotency_key",
    "api_version": "stripe_version",
    "api_key": "api_key",
    "headers": "headers",
}


def plain(value: Any) -> Any:
    """The SDK's parsed object as plain JSON data (16.x StripeObject is no dict subclass)."""
    if isinstance(value, stripe.StripeObject) and not isinstance(value, dict):
        return plain(value.to_dict(recursive=True))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def unrecognized(value: Any, out: set[str]) -> set[str]:
    """`object` types the SDK parsed into a plain StripeObject (types it does not know)."""
    if isinstance(value, stripe.StripeObject):
        data = value if isinstance(value, dict) else value._data
        kind = data.get("object")
        if type(value) is stripe.StripeObject and isinstance(kind, str):
            out.add(kind)
        for v in data.values():
            unrecognized(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            unrecognized(v, out)
    return out


def options(generic: dict[str, Any] | None) -> dict[str, Any]:
    """Generic option names -> stripe-python RequestOptions."""
    out = {}
    for key, val in (generic or {}).items():
        if key not in OPTION_NAMES:
            raise ValueError(f"unknown option {key!r}")
        out[OPTION_NAMES[key]] = val
    return out


def make_client(req: dict[str, Any]) -> None:
    """A StripeClient pointed at the proxy for every base address, without retries; the module
    globals (resource-style calls such as `stripe.SubscriptionItem.create_usage_record`) too."""
    global CLIENT
    base = req["base"]
    stripe.api_key = req["api_key"]
    stripe.api_base = base
    stripe.meter_events_api_base = base
    stripe.max_network_retries = 0
    stripe.api_version = req.get("api_version") or _pinned()
    kwargs: dict[str, Any] = {
        "base_addresses": {"api": base, "meter_events": base, "files": base, "connect": base},
        "max_network_retries": 0,
    }
    if req.get("api_version"):
        kwargs["stripe_version"] = req["api_version"]
    CLIENT = stripe.StripeClient(req["api_key"], **kwargs)


def resolve(path: str) -> Any:
    """`v1.customers.create` -> the bound method on the client."""
    obj = CLIENT
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def call(req: dict[str, Any]) -> Any:
    """Call an SDK service method: fn(*args, params, options)."""
    fn = resolve(req["path"])
    args = list(req.get("args") or [])
    if req.get("params") is not None or req.get("options"):
        args.append(req.get("params") or {})
    if req.get("options"):
        args.append(options(req["options"]))
    result = fn(*args)
    if req.get("paging") == "auto":
        items = list(result.auto_paging_iter())
        return [plain(x) for x in items], type(result).__name__, sorted(unrecognized(items, set()))
    return result, type(result).__name__, sorted(unrecognized(result, set()))


def resource(req: dict[str, Any]) -> Any:
    """A resource-style call on the module: `stripe.<Class>.<method>(*args, **params)`."""
    owner: Any = stripe
    *parts, name = req["path"].split(".")
    for part in parts:
        owner = getattr(owner, part)
    params = dict(req.get("params") or {})
    params.update(options(req.get("options")))
    result = getattr(owner, name)(*(req.get("args") or []), **params)
    return result, type(result).__name__, sorted(unrecognized(result, set()))


def raw(req: dict[str, Any]) -> Any:
    """StripeClient.raw_request + deserialize (the SDK's generic path)."""
    kwargs = dict(req.get("params") or {})
    kwargs.update(options(req.get("options")))
    path = req["path"]
    resp = CLIENT.raw_request(req["method"], path, **kwargs)
    mode = "V2" if path.startswith("/v2") else "V1"
    if not resp.body or not resp.body.strip():
        return None
    return CLIENT.deserialize(resp, api_mode=mode)


def error_of(exc: stripe.StripeError) -> dict[str, Any]:
    """The SDK exception, as the SDK classified it."""
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    raw_err = body.get("error")
    err: dict[str, Any] = raw_err if isinstance(raw_err, dict) else {}
    return {
        "class": type(exc).__name__,
        "status": exc.http_status,
        "type": err.get("type"),
        "code": getattr(exc, "code", None) or err.get("code"),
        "param": err.get("param"),
        "message": err.get("message"),
        "sdk_message": str(getattr(exc, "user_message", None) or ""),
    }


def handle(req: dict[str, Any]) -> dict[str, Any]:
    """One request -> one answer."""
    cmd = req.get("cmd")
    if cmd == "hello":
        return {"ok": True, "value": {"sdk_version": stripe.VERSION, "api_version": _pinned()}}
    if cmd == "client":
        make_client(req)
        return {"ok": True, "value": None}
    try:
        if cmd == "call":
            result = call(req)
        elif cmd == "raw":
            result = raw(req)
        elif cmd == "resource":
            result = resource(req)
        else:
            return {"ok": False, "crash": f"unknown cmd {cmd!r}"}
    except stripe.StripeError as exc:
        return {"ok": False, "error": error_of(exc)}
    if isinstance(result, tuple):  # SDK method: report object types the SDK did not know
        value, cls, unknown = result
        return {"ok": True, "value": plain(value), "class": cls, "unrecognized": unknown}
    return {"ok": True, "value": plain(result), "class": type(result).__name__}


def _pinned() -> str:
    from stripe import _api_version

    return str(_api_version._ApiVersion.CURRENT)


def main() -> None:
    """Serve requests until stdin closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception:  # the SDK raised something that is not a StripeError: report it
            answer = {"ok": False, "crash": traceback.format_exc(limit=8)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
