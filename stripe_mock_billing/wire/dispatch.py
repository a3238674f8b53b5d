"""The two ways into the pipeline: the lean dispatcher, and Flask's hooks for everything else.

`install` makes a `Dispatcher` the app's `app.wsgi_app` (Flask's documented middleware hook).
It routes through a tree of path segments built from the app's `url_map` once (`_build_table`,
in werkzeug's matching order, checked against werkzeug's matcher by `_agrees`), makes the
request's `State` (wire/state.py) and runs the pipeline's stages (wire/pipeline.py) around the
view. Anything it cannot serve exactly as Flask would (the control API, `/healthz`, an unknown
URL, a wrong method, a path needing werkzeug's normalisation, a chunked or oversized body, a
hook or view it does not know to be lean) goes to Flask, whose hooks (`before_request`,
`after_request`, `teardown_request` and the error handlers below) run the same stages on the same
`State`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, cast

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, MapAdapter, Rule, UnicodeConverter

from ..errors import StripeError, UnrecognizedURL
from ..store import Store
from .pipeline import (
    finish,
    http_error_response,
    release,
    run_before,
    stripe_error_response,
    unexpected_response,
)
from .state import _CURRENT, ERRORS, HOOKS, REFRESH, STORE, Hooks, State, state

# the Flask request's body limit (app.config["MAX_CONTENT_LENGTH"]): over it, 413
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
_API_PREFIXES = ("/v1/", "/v2/")


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
    """Flask hook: the pipeline's after hooks, then `finish`; an exception there is a 500
    `api_error` (logged and kept for the adapters to re-raise), as on the lean path."""
    s = state()
    try:
        for fn in reversed(current_app.extensions[HOOKS].after):
            resp = fn(resp)
        return finish(s, resp)
    except Exception as err:
        req = _flask_request()
        errors = current_app.extensions[ERRORS]
        return finish(s, unexpected_response(s, err, errors, req.method, req.path))


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

        # an app context teardown runs after every request Flask serves: the lean path has none
        app_hooks_lean = not hooks_of(None) and not app.teardown_appcontext_funcs
        views: dict[str, Any] = {}
        for rule in url_map.iter_rules():
            if not rule.rule.startswith(_API_PREFIXES) or rule.host is not None:
                continue
            view = app.view_functions.get(rule.endpoint)
            # Flask runs the hooks of the view's blueprint and of every blueprint enclosing it
            names = rule.endpoint.split(".")[:-1]
            scopes = [".".join(names[: i + 1]) for i in range(len(names))]
            if app_hooks_lean and _is_lean(view) and not any(hooks_of(b) for b in scopes):
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
        if length and (not length.isdecimal() or int(length) > self.max_length):
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
