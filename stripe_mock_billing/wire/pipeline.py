"""The request pipeline every /v1 and /v2 request runs through: its stages, in order.

Order (wire-format.md §9): route known -> auth (key -> namespace) -> Stripe-Version -> rate limit
-> decode parameters -> faults -> idempotency -> take the namespace lock -> the pipeline's
before hooks (test clocks' wall-clock sync) -> the blueprint's gates (an API that does not exist
in the requested version) -> the route validates its typed params and calls model/billing code
-> render -> the pipeline's after hooks (webhook deliveries collected while the lock is held) ->
common headers, idempotency stored, journal -> lock released.

Here: `begin` and `run_before` (everything before the route), `finish` (after it), `release`
(always), and the error responses. Two ways in run these stages on the same request `State`
(wire/state.py): the lean dispatcher for the /v1 and /v2 routes and Flask's hooks for everything
else (both in wire/dispatch.py). Routes reach the request state only through the helpers this
module re-exports from wire/state.py (`p.ns()`, `p.params()`, `p.ctx()`, `p.json_body()`,
`p.api_version()`, `p.method()`, `p.path()`, `p.query_args()`, `p.state()`...), never through
`flask.request` / `g` / `current_app`. A hook other modules add goes through `add_before` /
`add_after` (app-wide) or `gate` (one blueprint): the pipeline owns the order.
"""

from __future__ import annotations

import json
import logging
import time
from operator import itemgetter
from typing import Any, cast

from flask import Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import clock
from ..config import validate_api_version
from ..errors import ApiError, InvalidRequest, RateLimited, StripeError, UnrecognizedURL
from ..limits import loads_json
from ..store import Namespace
from ..stripe_versions import KNOWN_VERSIONS
from . import faults, idempotency, journal
from .auth import authenticate
from .form import Node, decode, flatten
from .render import error_response
from .state import (
    _GATES,
    ERRORS,
    HOOKS,
    INCLUDABLE,
    REFRESH,
    STORE,
    TOKEN_AUTH_ATTR,
    Hooks,
    State,
    add_after,
    add_before,
    api_version,
    ctx,
    current,
    gate,
    header,
    json_body,
    method,
    ns,
    params,
    path,
    query_args,
    raw_params,
    settings,
    state,
    store,
    token_auth,
)

# the helpers routes use as `p.<name>` (wire/state.py), re-exported
__all__ = [
    "ERRORS",
    "HOOKS",
    "INCLUDABLE",
    "REFRESH",
    "STORE",
    "TOKEN_AUTH_ATTR",
    "Hooks",
    "State",
    "add_after",
    "add_before",
    "api_version",
    "begin",
    "ctx",
    "current",
    "finish",
    "gate",
    "header",
    "json_body",
    "method",
    "ns",
    "params",
    "path",
    "query_args",
    "raw_params",
    "release",
    "run_before",
    "settings",
    "state",
    "store",
    "token_auth",
]

log = logging.getLogger("stripe_mock_billing")

_COMMON_TAIL = (("Cache-Control", "no-cache, no-store"), ("Access-Control-Allow-Origin", "*"))


# --- the pipeline -----------------------------------------------------------------------------


def _read_body(s: State) -> bytes:
    body = s.body
    if body is None:
        length = s.environ.get("CONTENT_LENGTH")
        if length and not length.strip().isdecimal():
            # RFC 9112 6.3: an invalid Content-Length is a 400 (werkzeug would read no body and
            # the request would run without its parameters); isdecimal: ASCII digits only in
            # a header's Latin-1 text
            raise InvalidRequest(
                f"Invalid Content-Length header: {length[:20]} is not a number of bytes."
            )
        if s.reader is not None:
            body = s.reader()
        else:
            body = s.environ["wsgi.input"].read(int(length)) if length else b""
        s.body = body
    return body


def _decode_v1(s: State) -> dict[str, Node]:
    env = s.environ
    query = env.get("QUERY_STRING")
    raw = decode(query.encode("latin-1")) if query else {}
    if s.method in ("POST", "DELETE"):  # a DELETE body (`curl -X DELETE -d`) counts too
        body = _read_body(s)
        if body:
            ctype = env.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
            if ctype in ("application/json", "multipart/form-data"):
                raise InvalidRequest(
                    "Invalid request: v1 endpoints take application/x-www-form-urlencoded "
                    f"bodies, not {ctype}."
                )
            if raw:
                raw.update(decode(body))
            else:
                raw = decode(body)
    return raw


def _decode_v2(s: State) -> dict[str, Any]:
    body = _read_body(s)
    if s.method in ("GET", "DELETE") or not body.strip():
        return {}
    return cast(dict[str, Any], loads_json(body))


def _rate_limit(space: Namespace) -> None:
    limit = space.settings.rate_limit
    if limit <= 0:
        return
    now = clock.monotonic()
    recent = [t for t in space.recent_requests if now - t < 1.0]
    if len(recent) >= limit:
        space.recent_requests = recent
        raise RateLimited()
    recent.append(now)
    space.recent_requests = recent


_today_cache: list[Any] = [0, ""]


def _today() -> str:
    """Today's date (UTC, ISO): a Stripe-Version may not be dated after it."""
    now = int(clock.real_time())
    if now // 60 != _today_cache[0]:  # recomputed at most once a minute
        _today_cache[:] = [now // 60, time.strftime("%Y-%m-%d", time.gmtime(now))]
    return _today_cache[1]  # type: ignore[no-any-return]


def _replay_response(s: State, replay: Any, idem_key: str) -> Response:
    resp = Response(replay.body, status=replay.status, content_type="application/json")
    for k, v in replay.headers.items():
        resp.headers[k] = v
    resp.headers["Idempotency-Key"] = idem_key
    resp.headers["Idempotent-Replayed"] = "true"
    s.replayed = True  # read by the journal
    resp.headers["Original-Request"] = replay.request_id
    return resp


def begin(s: State, view: Any) -> Response | None:
    """Auth, version, rate limit, params, faults, idempotency, lock (an API request's start).

    Returns the stored response of an idempotent replay (nothing else runs then)."""
    env = s.environ
    st = s.store
    if getattr(view, TOKEN_AUTH_ATTR, False):
        key = None
    else:
        key = authenticate(env.get("HTTP_AUTHORIZATION"), v2=s.v2)
    requested = env.get("HTTP_STRIPE_VERSION") or st.settings.api_version
    # a released version is served as itself (what validate_api_version answers first), with
    # no need of today's date
    s.version = (
        requested if requested in KNOWN_VERSIONS else validate_api_version(requested, _today())
    )
    # a version newer than the newest known is served as that one, and the response says so
    s.requested_version = requested if s.version != requested else None
    if key is not None:
        s.ns = st.namespace(key, clock.monotonic())
        _rate_limit(s.ns)
    if s.v2:
        s.json = _decode_v2(s)
    else:
        s.raw = _decode_v1(s)
    # control API: injected faults (the account is known here unless a v2 token authenticates)
    faults.inject(s, s.ns if s.ns is not None else journal.request_namespace(s))
    space = s.ns
    idem_key = env.get("HTTP_IDEMPOTENCY_KEY")
    # an empty key is Stripe's 400 too ("length is 0 characters"), so present is what counts
    if space is not None and idem_key is not None and s.method == "POST":
        fp = idempotency.fingerprint(
            s.method,
            s.path,
            flatten(s.raw) if not s.v2 else [("json", json.dumps(s.json, sort_keys=True))],
        )
        replay = idempotency.begin(
            space,
            idem_key,
            fp,
            s.request_id,
            clock.real_time_float(),
            ttl=st.settings.idempotency_ttl,
            max_keys=st.settings.idempotency_max_keys,
        )
        if replay is not None:
            return _replay_response(s, replay, idem_key)
        s.idem_key = idem_key
    if space is not None:
        space.lock.acquire()
        s.locked = space
        if s.method != "GET":
            space.writes += 1  # --data saves this account again (persistence.py)
        # events raised while this request holds the lock name it (domain/events.py `emit`)
        space.origin = (s.request_id, idem_key)
    return None


def run_before(s: State, hooks: Hooks, view: Any) -> Response | None:
    """Everything before the route: `begin`, the before hooks, the blueprint's gates."""
    replay = begin(s, view)
    if replay is not None:
        return replay
    for fn in hooks.before:
        fn()
    for fn in _GATES.get(s.endpoint.rpartition(".")[0], ()):
        fn()
    return None


def _has(items: list[tuple[str, str]], lower_name: str) -> bool:
    # `in` over maps: the names are lowered and compared in C, no Python frame per header
    return lower_name in map(str.lower, map(_NAME, items))


_NAME = itemgetter(0)


def _safe(value: str) -> bool:
    """Whether a client-sent value can go in a header as it is (werkzeug refuses newlines)."""
    return "\n" not in value and "\r" not in value


def finish(s: State, resp: Response) -> Response:
    """Common headers; store the first execution of an idempotency key; the journal.

    Headers are appended to the response's list directly: werkzeug's `Headers` methods
    validate each value and, for a lookup of an absent name, build and catch an exception
    (~1-3 us each). Values a client sent go through werkzeug's checks unless they are safe."""
    headers = resp.headers
    items: list[tuple[str, str]] = headers._list  # type: ignore[attr-defined]
    if s.replayed:
        # a stored answer: its Stripe-Version replaced, the rest appended
        headers.add("Request-Id", s.request_id)
        headers["Stripe-Version"] = s.version
        headers.add("Cache-Control", "no-cache, no-store")
        if s.requested_version:
            headers.add("Stripe-Mock-Requested-Version", s.requested_version)
        headers.add("Access-Control-Allow-Origin", "*")
    elif s.api:
        items.append(("Request-Id", s.request_id))
        items.append(("Stripe-Version", s.version))
        items.append(_COMMON_TAIL[0])
        requested = s.requested_version
        if requested:
            if _safe(requested):
                items.append(("Stripe-Mock-Requested-Version", requested))
            else:
                headers.add("Stripe-Mock-Requested-Version", requested)
        items.append(_COMMON_TAIL[1])
    else:
        items.append(("Request-Id", s.request_id))
    idem_key = s.idem_key
    if idem_key:
        if _safe(idem_key) and not _has(items, "idempotency-key"):
            items.append(("Idempotency-Key", idem_key))
        else:
            headers["Idempotency-Key"] = idem_key
        if not _has(items, "original-request"):
            items.append(("Original-Request", s.request_id))
        space = cast(Namespace, s.ns)
        status = resp.status_code
        v2_failure = s.v2 and status >= 400  # v2 re-executes failed first attempts
        if s.store_idem and not v2_failure and (s.started or status < 400):
            stored = {k: v for k, v in items if k in ("Stripe-Should-Retry", "Stripe-Version")}
            body = resp.response
            data = body[0] if isinstance(body, list) and len(body) == 1 else resp.get_data()
            idempotency.finish(space, idem_key, status, data, stored)
        else:
            idempotency.abandon(space, idem_key)
    journal.record(s, resp)  # control API: request journal
    return resp


def release(s: State) -> None:
    """Release the namespace lock; forget an idempotency claim that never finished."""
    space = s.locked
    if space is not None:
        s.locked = None
        space.origin = None
        space.lock.release()
    idem_key = s.idem_key
    if idem_key and s.ns is not None:
        idempotency.abandon(s.ns, idem_key)


def stripe_error_response(s: State | None, err: StripeError) -> Response:
    """Render any StripeError."""
    if s is None:
        return error_response(err, "req_", v2=False)
    s.store_idem = err.store_idempotent
    return error_response(err, s.request_id, v2=s.v2)


def http_error_response(s: State | None, err: HTTPException, meth: str, where: str) -> Response:
    """Werkzeug errors (404/405 routing, 413 body too large) in Stripe's envelope."""
    if isinstance(err, RequestEntityTooLarge):
        if s is not None:
            s.body = b""  # later readers of the body (the journal) must not read it again
        return stripe_error_response(
            s, StripeError("Request body is too large.", status=413, code="request_too_large")
        )
    if err.code in (404, 405):
        return stripe_error_response(s, UnrecognizedURL(meth, where))
    return stripe_error_response(
        s, StripeError(err.description or "Bad request", status=err.code or 400)
    )


def unexpected_response(
    s: State | None, err: Exception, errors: Any, meth: str, where: str
) -> Response:
    """Any other exception: logged, 500 `api_error`, no traceback in the body."""
    log.exception("unexpected error in %s %s", meth, where)
    errors.append(err)
    return stripe_error_response(s, ApiError())
