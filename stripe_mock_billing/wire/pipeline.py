"""The request pipeline every /v1 and /v2 request runs through, and the lean dispatcher.

Order (wire-format.md §9): route known -> auth (key -> namespace) -> Stripe-Version -> rate limit
-> decode parameters -> faults -> idempotency -> take the namespace lock -> the pipeline's
before hooks (test clocks' wall-clock sync) -> the blueprint's gates (an API that does not exist
in the requested version) -> the route validates its typed params and calls model/billing code
-> render -> the pipeline's after hooks (webhook deliveries collected while the lock is held) ->
common headers, idempotency stored, journal -> lock released.

Two ways in, one pipeline:
- `Dispatcher`, installed as `app.wsgi_app` (Flask's documented middleware hook), serves the
  /v1 and /v2 API routes without Flask's per-request machinery (no request or app context, no
  werkzeug Request, no hook registries): the route table is a tree of path segments built from
  the app's `url_map` once (`_build_table`, in werkzeug's matching order); the request state is
  a `State` held in a `ContextVar` (one per thread under threaded servers).
- Anything else (the control API `/_mock/*`, `/healthz`, an unknown URL, a wrong method, a path
  needing werkzeug's normalisation, a chunked or oversized body, a hook or view the dispatcher
  does not know to be lean) falls back to Flask, whose hooks (`before_request`, `after_request`,
  `teardown_request` below) run the same pipeline functions on the same `State`.

Routes and hooks reach the request state only through the helpers below (`ns()`, `ctx()`,
`params()`, `json_body()`, `api_version()`, `method()`, `path()`, `query_args()`, `state()`...),
never through `flask.request` / `g` / `current_app`. A hook other modules add goes through
`add_before` / `add_after` (app-wide) or `gate` (one blueprint): the pipeline owns the order.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, MapAdapter, Rule, UnicodeConverter
from werkzeug.wrappers import Request as WerkzeugRequest

from .. import clock
from ..config import Settings, validate_api_version
from ..errors import ApiError, InvalidRequest, RateLimited, StripeError, UnrecognizedURL
from ..ids import id_tail
from ..limits import loads_json
from ..shapes import RenderContext
from ..store import Namespace, Store
from . import faults, idempotency, journal
from .auth import authenticate
from .form import Node, decode, flatten
from .params import Param, parse
from .render import TYPE_BY_COLLECTION, VERBS, check_expand, error_response

log = logging.getLogger("stripe_mock_billing")

# app.extensions key of the render refresher (`shapes.Refresh`) the app installs: the billing
# engine's, which brings a draft invoice's metered lines up to date before it is read
REFRESH = "stripe_mock_billing.refresh"
STORE = "stripe_mock_billing.store"
ERRORS = "stripe_mock_billing.errors"
# app.extensions key of the pipeline's hook lists (`Hooks`)
HOOKS = "stripe_mock_billing.pipeline_hooks"

# views that authenticate with a v2 meter-event session token instead of an API key
TOKEN_AUTH_ATTR = "_mock_token_auth"
# blueprint name -> gates run before its views (after the pipeline's before hooks)
_GATES: dict[str, list[Callable[[], None]]] = {}
# the Flask request's body limit (app.config["MAX_CONTENT_LENGTH"]): over it, 413
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
_API_PREFIXES = ("/v1/", "/v2/")
_COMMON_TAIL = (("Cache-Control", "no-cache, no-store"), ("Access-Control-Allow-Origin", "*"))


class State:
    """One API request: what the pipeline decided about it, read by routes through helpers."""

    __slots__ = (
        "api",
        "args",
        "body",
        "endpoint",
        "environ",
        "fault",
        "idem_key",
        "json",
        "locked",
        "method",
        "ns",
        "path",
        "raw",
        "reader",
        "refresh",
        "replayed",
        "request_id",
        "requested_version",
        "rule",
        "started",
        "store",
        "store_idem",
        "v2",
        "version",
    )

    def __init__(
        self, environ: dict[str, Any], method: str, path: str, st: Store, refresh: Any
    ) -> None:
        self.environ = environ
        self.method = method
        self.path = path
        self.rule = ""
        self.endpoint = ""
        self.v2 = path.startswith("/v2/")
        self.api = self.v2 or path.startswith("/v1/") or path in ("/v1", "/v2")
        self.request_id = "req_" + id_tail(14)
        self.started = False
        self.idem_key: str | None = None
        self.locked: Namespace | None = None
        self.version = st.settings.api_version  # rendered on errors raised before the check
        self.requested_version: str | None = None
        self.ns: Namespace | None = None
        self.raw: dict[str, Node] = {}
        self.json: dict[str, Any] = {}
        self.replayed = False
        self.fault: str | None = None
        self.store_idem = True
        self.body: bytes | None = None  # read by the pipeline when it decodes parameters
        self.store = st
        self.refresh = refresh
        self.args: MultiDict[str, str] | None = None
        # how the Flask path reads the body (werkzeug's limits and chunked decoding)
        self.reader: Callable[[], bytes] | None = None


_CURRENT: ContextVar[State | None] = ContextVar("stripe_mock_billing.request", default=None)


class Hooks:
    """The pipeline's hooks of one app, in the order they run."""

    __slots__ = ("after", "before")

    def __init__(self) -> None:
        self.before: list[Callable[[], None]] = []
        self.after: list[Callable[[Response], Response]] = []


def add_before(app: Flask, fn: Callable[[], None]) -> None:
    """Run `fn()` on every API request after the lock is taken, before gates and the route."""
    cast(Hooks, app.extensions[HOOKS]).before.append(fn)


def add_after(app: Flask, fn: Callable[[Response], Response]) -> None:
    """Run `fn(resp)` on every request's response (API and control), lock still held, before
    the common headers, idempotency and the journal."""
    cast(Hooks, app.extensions[HOOKS]).after.append(fn)


def gate(bp: Blueprint, fn: Callable[[], None]) -> None:
    """Run `fn()` before every route of `bp` (after the before hooks): e.g. a version check."""
    _GATES.setdefault(bp.name, []).append(fn)


def token_auth(view: Any) -> Any:
    """Mark a view as authenticated by a meter event session token (the route checks it)."""
    setattr(view, TOKEN_AUTH_ATTR, True)
    return view


# --- helpers: the request state -----------------------------------------------------------


def state() -> State:
    """The current request's state (raises outside a request)."""
    s = _CURRENT.get()
    if s is None:
        raise RuntimeError("no emulator request is being handled")
    return s


def current() -> State | None:
    """The current request's state, or None outside a request."""
    return _CURRENT.get()


def store() -> Store:
    """The app's store."""
    s = _CURRENT.get()
    if s is not None:
        return s.store
    return cast(Store, current_app.extensions[STORE])


def settings() -> Settings:
    """The app's settings."""
    return store().settings


def ns() -> Namespace:
    """The account of the current request."""
    return cast(Namespace, state().ns)


INCLUDABLE = frozenset({"tiers"})


def ctx() -> RenderContext:
    """The render context of the current request."""
    s = state()
    raw_expand = s.raw.get("expand") if not s.v2 else None
    includes: frozenset[str] = frozenset()
    if isinstance(raw_expand, dict):
        last = {v.rsplit(".", 1)[-1] for v in raw_expand.values() if isinstance(v, str)}
        includes = frozenset(last & INCLUDABLE)
    return RenderContext(ns=s.ns, version=s.version, includes=includes, refresh=s.refresh)


def api_version() -> str:
    """The Stripe-Version of the current request."""
    return state().version


def method() -> str:
    """The current request's HTTP method."""
    return state().method


def path() -> str:
    """The current request's path."""
    return state().path


def header(environ_key: str) -> str | None:
    """A request header by its WSGI environ key (`HTTP_AUTHORIZATION`)."""
    return cast(str | None, state().environ.get(environ_key))


def query_args() -> MultiDict[str, str]:
    """The query string as werkzeug parses it (`request.args`), repeated keys kept."""
    s = state()
    if s.args is None:
        s.args = WerkzeugRequest(s.environ).args
    return s.args


def raw_params() -> dict[str, Node]:
    """The decoded (not yet validated) v1 parameters."""
    return state().raw


def params(spec: Mapping[str, Param]) -> dict[str, Any]:
    """Validate the request's v1 parameters against `spec`; execution starts after this."""
    s = state()
    out = parse(spec, s.raw)
    if out.get("expand"):
        _check_expand(s, out["expand"])
    s.started = True
    return out


def _check_expand(s: State, paths: list[str]) -> None:
    """Static `expand[]` check by the route's object type, so a bad path never follows a write.

    The type comes from the matched URL rule: `/v1/<collection>`, `/v1/<collection>/<id>` and
    `/v1/<collection>/<id>/<verb>` render the collection's object (TYPE_BY_COLLECTION); other
    sub-resources check their own paths (e.g. usage records) or only read.
    """
    rule = s.rule
    parts = rule.split("/")[2:]  # drop "" and "v1"
    if not rule.startswith("/v1/") or s.method == "DELETE":
        return
    params_at = [i for i, seg in enumerate(parts) if seg.startswith("<")]
    if not params_at:
        collection, is_list = "/".join(parts), s.method == "GET"
    else:
        first = params_at[0]
        tail = parts[first + 1 :]
        if tail and not (len(tail) == 1 and tail[0] in VERBS):
            return
        collection, is_list = "/".join(parts[:first]), False
    obj_type = TYPE_BY_COLLECTION.get(collection)
    if obj_type is not None:
        check_expand(obj_type, paths, is_list=is_list)


def json_body() -> dict[str, Any]:
    """The v2 JSON body (an object), or a 400."""
    return state().json


# --- the pipeline -----------------------------------------------------------------------------


def _read_body(s: State) -> bytes:
    body = s.body
    if body is None:
        if s.reader is not None:
            body = s.reader()
        else:
            length = s.environ.get("CONTENT_LENGTH")
            body = s.environ["wsgi.input"].read(int(length)) if length else b""
        s.body = body
    return body


def _decode_v1(s: State) -> dict[str, Node]:
    env = s.environ
    raw = decode(env.get("QUERY_STRING", "").encode("latin-1"))
    if s.method in ("POST", "DELETE"):  # a DELETE body (`curl -X DELETE -d`) counts too
        ctype = env.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        body = _read_body(s)
        if ctype in ("application/json", "multipart/form-data") and body:
            raise InvalidRequest(
                "Invalid request: v1 endpoints take application/x-www-form-urlencoded bodies, "
                f"not {ctype}."
            )
        raw.update(decode(body))
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
    return cast(str, _today_cache[1])


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
    s.version = validate_api_version(requested, _today())
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
    if space is not None and idem_key and s.method == "POST":
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
    return any(k.lower() == lower_name for k, _ in items)


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


# --- the Flask path: the same pipeline as Flask hooks ---------------------------------------


def _flask_request() -> Any:
    from flask import request

    return cast(Any, request)._get_current_object()


def before_request() -> Response | None:
    """Flask hook: the pipeline's state for this request, then `run_before` on API routes."""
    from flask import g

    req = _flask_request()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    st = cast(Store, app.extensions[STORE])
    s = State(req.environ, req.method, req.path, st, app.extensions.get(REFRESH))
    g._mock_state_token = _CURRENT.set(s)
    if req.url_rule is not None:
        s.rule = req.url_rule.rule
        s.endpoint = req.endpoint or ""
    if not s.api or req.routing_exception is not None:
        if req.routing_exception is not None:
            raise UnrecognizedURL(req.method, req.path)
        return None
    s.reader = lambda: cast(bytes, req.get_data(cache=True))  # werkzeug's limit: 413
    view = app.view_functions.get(s.endpoint)
    return run_before(s, app.extensions[HOOKS], view)


def after_request(resp: Response) -> Response:
    """Flask hook: the pipeline's after hooks, then `finish`."""
    s = state()
    for fn in reversed(current_app.extensions[HOOKS].after):
        resp = fn(resp)
    return finish(s, resp)


def teardown_request(_exc: BaseException | None) -> None:
    """Flask hook: `release`, and forget the request's state."""
    from flask import g

    s = _CURRENT.get()
    if s is not None:
        release(s)
    token = g.pop("_mock_state_token", None)
    if token is not None:
        _CURRENT.reset(token)


def handle_stripe_error(err: StripeError) -> Response:
    """Flask error handler: any StripeError."""
    return stripe_error_response(_CURRENT.get(), err)


def handle_http_exception(err: HTTPException) -> Response:
    """Flask error handler: werkzeug's HTTP errors."""
    req = _flask_request()
    if isinstance(err, RequestEntityTooLarge):
        setattr(req, "_cached_data", b"")  # noqa: B010 (werkzeug's body cache)
    return http_error_response(_CURRENT.get(), err, req.method, req.path)


def handle_unexpected(err: Exception) -> Response:
    """Flask error handler: any other exception."""
    req = _flask_request()
    errors = current_app.extensions[ERRORS]
    return unexpected_response(_CURRENT.get(), err, errors, req.method, req.path)


# --- the lean path --------------------------------------------------------------------------


def _is_lean(fn: Any) -> bool:
    return str(getattr(fn, "__module__", "")).startswith("stripe_mock_billing.")


class _Node:
    """One path segment of the lean route table: static children, one parameter child, and the
    rules ending here by method."""

    __slots__ = ("ends", "param", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.ends: dict[str, tuple[Rule, tuple[str, ...]]] = {}


_LEAN_METHODS = frozenset({"GET", "POST", "DELETE"})
_PARAM = re.compile(r"<(?:string:)?([A-Za-z_][A-Za-z0-9_]*)>")


def _build_table(url_map: Map) -> _Node | None:
    """The app's routes as a segment tree, or None when a rule is beyond it (a converter other
    than the default string one, a parameter inside a segment, a trailing slash, two rules for
    one path and method): werkzeug's matcher is used then."""
    root = _Node()
    for rule in url_map.iter_rules():
        text = rule.rule
        parts = text[1:].split("/")
        if not text.startswith(_API_PREFIXES):
            if parts[0] and "<" not in parts[0] and parts[0] not in ("v1", "v2"):
                continue  # cannot match an API path (`/_mock/...`, `/static/<path:...>`)
            return None
        node, names = root, []
        for seg in parts:
            if "<" in seg:
                m = _PARAM.fullmatch(seg)
                conv = rule._converters.get(m.group(1)) if m else None
                if type(conv) is not UnicodeConverter or conv.regex != "[^/]{1,}":
                    return None
                names.append(m.group(1))  # type: ignore[union-attr]
                if node.param is None:
                    node.param = _Node()
                node = node.param
            elif seg:
                node = node.static.setdefault(seg, _Node())
            else:
                return None
        for meth in _LEAN_METHODS.intersection(rule.methods or ()):  # HEAD is looked up as GET
            if meth in node.ends:
                return None
            node.ends[meth] = (rule, tuple(names))
    return root


def _walk(node: _Node, segs: list[str], i: int, meth: str, values: list[str]) -> Any:
    """Static segments before parameters, backtracking, as werkzeug's matcher does."""
    if i == len(segs):
        hit = node.ends.get(meth)
        return None if hit is None else (hit[0], dict(zip(hit[1], values, strict=True)))
    child = node.static.get(segs[i])
    if child is not None:
        found = _walk(child, segs, i + 1, meth, values)
        if found is not None:
            return found
    if node.param is not None:
        values.append(segs[i])
        found = _walk(node.param, segs, i + 1, meth, values)
        if found is not None:
            return found
        values.pop()
    return None


# the route sets already checked by `_agrees` (every app of a process has the same ones)
_AGREED: dict[tuple[Any, ...], bool] = {}


def _agrees(table: _Node, adapter: MapAdapter, url_map: Map) -> bool:
    """Whether the tree finds what werkzeug finds for every API rule (parameters filled with a
    plain value), once per set of routes. The tree is werkzeug's own matching order (its state
    machine merges the parameter parts of equal converters, tries static transitions first and
    backtracks), so this is a check of the building, not of the order."""
    rules = [r for r in url_map.iter_rules() if r.rule.startswith(_API_PREFIXES)]
    key = tuple((r.rule, r.endpoint, tuple(sorted(r.methods or ()))) for r in rules)
    known = _AGREED.get(key)
    if known is not None:
        return known
    ok = True
    for rule in rules:
        where = re.sub(r"<[^>]+>", "x0", rule.rule)
        for meth in _LEAN_METHODS:
            try:
                expect: Any = adapter.match(where, meth, return_rule=True)
                expect = (expect[0].endpoint, expect[1])
            except HTTPException:
                expect = None
            got = _walk(table, where[1:].split("/"), 0, meth, [])
            ok = ok and (got and (got[0].endpoint, got[1])) == expect
    _AGREED[key] = ok
    return ok


class Dispatcher:
    """`app.wsgi_app`: /v1 and /v2 API routes served without Flask's per-request machinery.

    Routes come from the app's `url_map` (bound once, on the first request); a request the
    table cannot serve exactly as Flask would goes to Flask (`fallback`)."""

    def __init__(self, app: Flask, fallback: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.fallback = fallback
        self.adapter: MapAdapter | None = None
        self.table: _Node | None = None
        self.static: dict[tuple[str, str], tuple[Rule, Any]] = {}
        self.views: dict[str, Any] = {}
        self.hooks: Hooks = app.extensions[HOOKS]
        self.st: Store = app.extensions[STORE]
        self.errors: Any = app.extensions[ERRORS]
        self.refresh: Any = None
        self.max_length = MAX_CONTENT_LENGTH

    def _prepare(self) -> MapAdapter:
        """Bind the route table once; decide which endpoints are lean (no Flask state read)."""
        app = self.app
        url_map: Map = app.url_map
        adapter = url_map.bind("localhost")
        own = {before_request, after_request, teardown_request}
        registries = (
            app.before_request_funcs,
            app.after_request_funcs,
            app.teardown_request_funcs,
            app.url_value_preprocessors,
        )

        def hooks_of(bp: str | None) -> list[Any]:
            return [f for reg in registries for f in reg.get(bp, ()) if f not in own]

        app_hooks_lean = not hooks_of(None)
        views: dict[str, Any] = {}
        for rule in url_map.iter_rules():
            if not rule.rule.startswith(_API_PREFIXES) or rule.host is not None:
                continue
            view = app.view_functions.get(rule.endpoint)
            bp = rule.endpoint.rpartition(".")[0] or None
            if app_hooks_lean and _is_lean(view) and not hooks_of(bp):
                views[rule.endpoint] = view
        self.views = views
        self.refresh = app.extensions.get(REFRESH)
        table = _build_table(url_map)
        self.table = table if table is not None and _agrees(table, adapter, url_map) else None
        limit = app.config.get("MAX_CONTENT_LENGTH")
        self.max_length = limit if limit is not None else sys.maxsize
        self.adapter = adapter
        # as Flask does on its first request: routes and hooks added from now on are refused,
        # so the table above stays the app's
        app._got_first_request = True
        return adapter

    def _route(self, meth: str, where: str) -> tuple[Rule, Any] | None:
        key = (meth, where)
        hit = self.static.get(key)
        if hit is not None:
            return hit
        adapter = self.adapter or self._prepare()
        table = self.table
        if table is not None:
            found = _walk(table, where[1:].split("/"), 0, "GET" if meth == "HEAD" else meth, [])
            if found is None:
                return None  # unknown URL or wrong method: Flask answers those
            rule, args = found
        else:
            try:
                rule, args = cast(
                    tuple[Rule, Any],
                    adapter.match(where, "GET" if meth == "HEAD" else meth, return_rule=True),
                )
            except HTTPException:  # unknown URL, wrong method, a redirect: Flask answers those
                return None
        if rule.endpoint not in self.views:
            return None
        if not rule.arguments and len(self.static) < 1024:
            self.static[key] = (rule, args)
        return rule, args

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        where = environ.get("PATH_INFO") or ""
        meth = environ.get("REQUEST_METHOD", "GET")
        if (
            not where.startswith(_API_PREFIXES)
            or meth not in ("GET", "POST", "DELETE", "HEAD")
            or not where.isascii()
            or where.endswith("/")
            or "//" in where
            or environ.get("wsgi.input_terminated")
        ):
            return self.fallback(environ, start_response)
        found = self._route(meth, where)  # binds the table (and reads the limit) first
        if found is None:
            return self.fallback(environ, start_response)
        length = environ.get("CONTENT_LENGTH")
        if length and (not length.isdigit() or int(length) > self.max_length):
            return self.fallback(environ, start_response)  # werkzeug's 413 (or 400)
        rule, args = found
        s = State(environ, meth, where, self.st, self.refresh)
        s.rule = rule.rule
        s.endpoint = endpoint = rule.endpoint
        view = self.views[endpoint]
        token = _CURRENT.set(s)
        try:
            try:
                resp = run_before(s, self.hooks, view)
                if resp is None:
                    resp = view(**args) if args else view()
                if not isinstance(resp, Response):
                    raise TypeError(f"view {endpoint} returned {type(resp).__name__}")
            except StripeError as err:
                resp = stripe_error_response(s, err)
            except HTTPException as err:
                resp = http_error_response(s, err, meth, where)
            except Exception as err:
                resp = unexpected_response(s, err, self.errors, meth, where)
            try:
                for fn in reversed(self.hooks.after):
                    resp = fn(resp)
                resp = finish(s, resp)
            except Exception as err:
                resp = finish(s, unexpected_response(s, err, self.errors, meth, where))
        finally:
            release(s)
            _CURRENT.reset(token)
        start_response(resp._status, resp.headers._list)  # type: ignore[attr-defined]
        if meth == "HEAD":
            return []
        body = resp.response
        return body if isinstance(body, list) else [resp.get_data()]


def install(app: Flask) -> None:
    """Attach the pipeline to `app`: its hook lists, the Flask hooks and error handlers of the
    fallback path, and the lean dispatcher as `app.wsgi_app`."""
    # Flask asks `inspect` whether each hook and view is a coroutine on every request; the answer
    # never changes for a function, so remember it (~1 us per hook per request)
    setattr(app, "ensure_sync", lru_cache(maxsize=None)(app.ensure_sync))  # noqa: B010
    app.extensions[HOOKS] = Hooks()
    app.before_request(before_request)
    app.after_request(after_request)
    app.teardown_request(teardown_request)
    app.register_error_handler(StripeError, handle_stripe_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
    dispatcher = Dispatcher(app, app.wsgi_app)
    setattr(app, "wsgi_app", dispatcher)  # noqa: B010 (Flask's documented middleware hook)
