"""Webhooks in the app: the delivery hooks (`install`) and the `/_mock/webhooks/*` control API.

`install(app)` gives the app a `delivery.Dispatcher` (`app.extensions[DISPATCHER]`), an
`after_request` hook that turns the events a request raised into deliveries while the request
still holds the account's lock, and a WSGI wrapper that sends synchronous deliveries after the
lock is released and before the response leaves (or hands them to a server that can hold the
response back without blocking, loop_server.py).

Control API (authenticated by the account's key, like `/_mock/*`):
- `GET /_mock/webhooks/attempts?event=&endpoint=`: every delivery attempt, oldest first.
- `POST /_mock/webhooks/resend` `{event, endpoint}`: deliver again now (manual resend).
- `POST /_mock/webhooks/faults` `{kind, times, type, endpoint, delay_ms}`; `GET`; `DELETE`.
- `POST /_mock/webhooks/wait` `{timeout}`: until the account's background queue is empty.
- `GET /_mock/webhooks/forwarding`: the CLI's forwarding URL and its signing secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from .control import _account, _body, _list
from .delivery import FAULT_KINDS, JOBS_KEY, Dispatcher, FaultRule
from .domain.event_types import SNAPSHOT_TYPES, THIN_TYPES
from .domain.events import OUTBOX, THIN_OUTBOX
from .errors import InvalidRequest, ResourceMissing, invalid_value, missing_param, unknown_params
from .ids import random_tail
from .limits import parse_int
from .wire import journal, pipeline
from .wire.render import json_response

log = logging.getLogger("stripe_mock_billing")

DISPATCHER = "stripe_mock_billing.webhooks"
_PENDING = "stripe_mock_billing.webhook_pending"
MAX_TIMES = 1_000_000
MAX_DELAY_MS = 600_000
MAX_WAIT = 600

control_webhooks = Blueprint("control_webhooks", __name__)


def dispatcher(app: Flask | None = None) -> Dispatcher:
    """The app's dispatcher."""
    d: Dispatcher = (app or current_app).extensions[DISPATCHER]
    return d


def _collector(d: Dispatcher) -> Callable[[Response], Response]:
    def collect(resp: Response) -> Response:
        """After the write, lock still held: render the request's events for their targets
        (a pipeline after hook: runs on every request, API and control)."""
        s = pipeline.state()
        space = s.locked
        if space is None and s.v2:  # the v2 meter event stream authenticates by token
            space = journal.request_namespace(s)
        if space is None:
            return resp
        ext = space.extensions
        outbox, thin = ext.get(OUTBOX), ext.get(THIN_OUTBOX)
        if not outbox and not thin:
            return resp  # the request raised no event: nothing to deliver
        listening = space.webhook_endpoints or space.event_destinations
        if not listening and d.forward_secret is None:
            with space.lock:  # nothing could receive them: dropped unread
                if outbox:
                    outbox.clear()
                if thin:
                    thin.clear()
            return resp
        try:
            with space.lock:
                deliveries = d.collect(space)
            job = d.dispatch(deliveries)
            if job is not None:
                s.environ[_PENDING] = job
        except Exception:  # delivery never makes an API call fail
            log.exception("collecting webhook deliveries failed")
        return resp

    return collect


def install(app: Flask) -> None:
    """Attach webhook delivery to `app` (after the pipeline: its lock is released first)."""
    d = Dispatcher(app.extensions["stripe_mock_billing.store"])
    app.extensions[DISPATCHER] = d
    pipeline.add_after(app, _collector(d))
    inner = app.wsgi_app

    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        result: Iterable[bytes] = inner(environ, start_response)
        job = environ.pop(_PENDING, None)
        if job is not None:
            waiting = environ.get(JOBS_KEY)
            if waiting is not None:
                waiting.append(job)
            else:
                _run(job)
        return result

    setattr(app, "wsgi_app", wsgi_app)  # noqa: B010 (werkzeug's documented middleware hook)
    app.register_blueprint(control_webhooks)


def _run(job: Callable[[], None]) -> None:
    try:
        job()
    except Exception:
        log.exception("webhook delivery failed")


def run_job(job: Callable[[], None]) -> None:
    """Run a synchronous delivery job handed to a server (never raises)."""
    _run(job)


# --- control API -------------------------------------------------------------------------


def _str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise invalid_value(name, f"Invalid {name}: must be a non-empty string.")
    return value


def _int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name, default)
    if isinstance(value, str):
        parsed = parse_int(value.strip())
        value = parsed if parsed is not None else value[:100]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_value(name, f"Invalid integer: {value}", "parameter_invalid_integer")
    if not lo <= value <= hi:
        raise invalid_value(name, f"Invalid {name}: must be between {lo} and {hi}.")
    return value


@control_webhooks.get("/_mock/webhooks/attempts")
def list_attempts() -> Response:
    """Every delivery attempt of the account, oldest first (`event`, `endpoint` filters)."""
    space = _account()
    unknown = sorted(k for k in request.args if k not in ("event", "endpoint"))
    if unknown:
        raise unknown_params(unknown)
    found = dispatcher().attempts(
        space, request.args.get("event") or None, request.args.get("endpoint") or None
    )
    return _list([a.to_json() for a in found], "/_mock/webhooks/attempts")


@control_webhooks.post("/_mock/webhooks/resend")
def resend() -> Response:
    """Deliver an event to an endpoint again, now."""
    space = _account()
    body = _body()
    unknown = sorted(k for k in body if k not in ("event", "endpoint"))
    if unknown:
        raise unknown_params(unknown)
    for name in ("event", "endpoint"):
        if name not in body:
            raise missing_param(name)
    event, endpoint = str(_str(body, "event")), str(_str(body, "endpoint"))
    if event not in space.events:
        raise ResourceMissing("event", event, param="event", in_path=False)
    attempt = dispatcher().resend(space, event, endpoint)
    if attempt is None:
        raise InvalidRequest(
            f"Event {event} was never delivered to {endpoint}: nothing to resend.",
            param="endpoint",
        )
    return json_response(attempt.to_json())


@control_webhooks.post("/_mock/webhooks/faults")
def create_fault() -> Response:
    """Arm a delivery fault for the next `times` deliveries (of `type`, to `endpoint`)."""
    space = _account()
    body = _body()
    known = ("kind", "times", "type", "endpoint", "delay_ms")
    unknown = sorted(k for k in body if k not in known)
    if unknown:
        raise unknown_params(unknown)
    if "kind" not in body:
        raise missing_param("kind")
    kind = body["kind"]
    if kind not in FAULT_KINDS:
        raise invalid_value("kind", f"Invalid kind: must be one of {', '.join(FAULT_KINDS)}")
    type_ = _str(body, "type")
    if type_ is not None and type_ not in SNAPSHOT_TYPES | THIN_TYPES:
        raise invalid_value(
            "type", f"Invalid type: {type_} is not an event type the emulator emits."
        )
    rule = FaultRule(
        id="whfault_" + random_tail(14),
        kind=kind,
        times=_int(body, "times", 1, 1, MAX_TIMES),
        type=type_,
        endpoint=_str(body, "endpoint"),
        delay_ms=_int(body, "delay_ms", 1000 if kind == "delay" else 0, 0, MAX_DELAY_MS),
    )
    dispatcher().add_fault(space, rule)
    return json_response(rule.to_json())


@control_webhooks.get("/_mock/webhooks/faults")
def list_faults() -> Response:
    """Delivery faults still armed."""
    rules = dispatcher().faults(_account())
    return _list([r.to_json() for r in rules], "/_mock/webhooks/faults")


@control_webhooks.delete("/_mock/webhooks/faults")
def clear_faults() -> Response:
    """Disarm every delivery fault."""
    removed = dispatcher().clear_faults(_account())
    return json_response({"object": "_mock.webhook_faults", "deleted": removed})


@control_webhooks.post("/_mock/webhooks/wait")
def wait_idle() -> Response:
    """Wait (at most `timeout` seconds, default 10) until no background delivery is pending."""
    space = _account()
    body = _body()
    unknown = sorted(k for k in body if k != "timeout")
    if unknown:
        raise unknown_params(unknown)
    timeout = _int(body, "timeout", 10, 0, MAX_WAIT)
    idle = dispatcher().wait_idle(space, float(timeout))
    return json_response({"object": "_mock.webhook_queue", "idle": idle})


@control_webhooks.get("/_mock/webhooks/forwarding")
def forwarding() -> Response:
    """The forwarding target (`--forward-to`) and its signing secret, if forwarding is on."""
    _account()
    d = dispatcher()
    st = d.settings
    return json_response(
        {
            "object": "_mock.webhook_forwarding",
            "url": st.forward_to,
            "events": list(st.forward_events) or ["*"],
            "api_key": st.forward_key,
            "secret": d.forward_secret,
        }
    )
