"""The request pipeline every /v1 and /v2 request runs through, as Flask hooks.

Order (wire-format.md §9): route known -> auth (key -> namespace) -> Stripe-Version -> rate limit
-> decode parameters -> idempotency -> take the namespace lock -> the route validates its
typed params and calls model/billing code -> render -> store the response for idempotency.
Routes reach the request state through the helpers at the bottom (`ns()`, `ctx()`, `params()`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from flask import Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import clock
from ..config import Settings, validate_api_version
from ..errors import ApiError, InvalidRequest, RateLimited, StripeError, UnrecognizedURL
from ..ids import random_tail
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

# views that authenticate with a v2 meter-event session token instead of an API key
TOKEN_AUTH_ATTR = "_mock_token_auth"


def _req() -> Request:
    """The current request object itself: one proxy lookup instead of one per attribute use."""
    return cast(Request, cast(Any, request)._get_current_object())


def _g() -> Any:
    """The current `g` object itself (same reason: the hooks run on every request)."""
    return cast(Any, g)._get_current_object()


def token_auth(view: Any) -> Any:
    """Mark a view as authenticated by a meter event session token (the route checks it)."""
    setattr(view, TOKEN_AUTH_ATTR, True)
    return view


def store() -> Store:
    """The app's store."""
    return cast(Store, current_app.extensions["stripe_mock_billing.store"])


def settings() -> Settings:
    """The app's settings."""
    return store().settings


def ns() -> Namespace:
    """The account of the current request."""
    return cast(Namespace, g.ns)


INCLUDABLE = frozenset({"tiers"})


def ctx() -> RenderContext:
    """The render context of the current request."""
    gg = _g()
    raw_expand = gg.raw.get("expand") if not gg.v2 else None
    includes: frozenset[str] = frozenset()
    if isinstance(raw_expand, dict):
        last = {v.rsplit(".", 1)[-1] for v in raw_expand.values() if isinstance(v, str)}
        includes = frozenset(last & INCLUDABLE)
    refresh = current_app.extensions.get(REFRESH)
    return RenderContext(ns=gg.ns, version=gg.version, includes=includes, refresh=refresh)


def api_version() -> str:
    """The Stripe-Version of the current request."""
    return cast(str, g.version)


def raw_params() -> dict[str, Node]:
    """The decoded (not yet validated) v1 parameters."""
    return cast(dict[str, Node], g.raw)


def params(spec: Mapping[str, Param]) -> dict[str, Any]:
    """Validate the request's v1 parameters against `spec`; execution starts after this."""
    gg = _g()
    out = parse(spec, gg.raw)
    if out.get("expand"):
        _check_expand(out["expand"])
    gg.started = True
    return out


def _check_expand(paths: list[str]) -> None:
    """Static `expand[]` check by the route's object type, so a bad path never follows a write.

    The type comes from the matched URL rule: `/v1/<collection>`, `/v1/<collection>/<id>` and
    `/v1/<collection>/<id>/<verb>` render the collection's object (TYPE_BY_COLLECTION); other
    sub-resources check their own paths (e.g. usage records) or only read.
    """
    req = _req()
    rule = req.url_rule.rule if req.url_rule is not None else ""
    parts = rule.split("/")[2:]  # drop "" and "v1"
    if not rule.startswith("/v1/") or req.method == "DELETE":
        return
    params_at = [i for i, seg in enumerate(parts) if seg.startswith("<")]
    if not params_at:
        collection, is_list = "/".join(parts), req.method == "GET"
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
    return cast(dict[str, Any], g.json)


def _is_api(path: str) -> bool:
    return path.startswith(("/v1/", "/v2/")) or path in ("/v1", "/v2")


def _decode_v1() -> dict[str, Node]:
    req = _req()
    raw = decode(req.query_string)
    if req.method in ("POST", "DELETE"):  # a DELETE body (`curl -X DELETE -d`) counts too
        ctype = (req.mimetype or "").lower()
        body = req.get_data(cache=True)
        if ctype in ("application/json", "multipart/form-data") and body:
            raise InvalidRequest(
                "Invalid request: v1 endpoints take application/x-www-form-urlencoded bodies, "
                f"not {ctype}."
            )
        raw.update(decode(body))
    return raw


def _decode_v2() -> dict[str, Any]:
    req = _req()
    body = req.get_data(cache=True)
    if req.method in ("GET", "DELETE") or not body.strip():
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


def _today() -> str:
    """Today's date (UTC, ISO): a Stripe-Version may not be dated after it."""
    return time.strftime("%Y-%m-%d", time.gmtime(clock.real_time()))


def before_request() -> Response | None:
    """Route, auth, version, rate limit, params, idempotency, lock."""
    req = _req()
    gg = _g()
    gg.request_id = "req_" + random_tail(14)
    gg.v2 = req.path.startswith("/v2/")
    gg.started = False
    gg.idem_key = None
    gg.locked = None
    if not _is_api(req.path):
        if req.routing_exception is not None:
            raise UnrecognizedURL(req.method, req.path)
        return None
    if req.routing_exception is not None:
        raise UnrecognizedURL(req.method, req.path)
    view = current_app.view_functions.get(req.endpoint or "")
    # headers straight from the WSGI environ: werkzeug's `headers.get` builds and catches a
    # KeyError subclass for every absent header, a measurable share of a request
    env = req.environ
    st = store()
    gg.version = st.settings.api_version  # rendered on errors raised before the check below
    if getattr(view, TOKEN_AUTH_ATTR, False):
        gg.ns = None
        key = None
    else:
        key = authenticate(env.get("HTTP_AUTHORIZATION"), v2=gg.v2)
    requested = env.get("HTTP_STRIPE_VERSION") or st.settings.api_version
    gg.version = validate_api_version(requested, _today())
    # a version newer than the newest known is served as that one, and the response says so
    gg.requested_version = requested if gg.version != requested else None
    if key is not None:
        gg.ns = st.namespace(key, clock.monotonic())
        _rate_limit(gg.ns)
    if gg.v2:
        gg.json = _decode_v2()
        gg.raw = {}
    else:
        gg.raw = _decode_v1()
    # control API: injected faults (the account is known here unless a v2 token authenticates)
    faults.inject(gg.ns if gg.ns is not None else journal.request_namespace())
    space = gg.ns
    idem_key = env.get("HTTP_IDEMPOTENCY_KEY")
    if space is not None and idem_key and req.method == "POST":
        fp = idempotency.fingerprint(
            req.method,
            req.path,
            flatten(gg.raw) if not gg.v2 else [("json", json.dumps(gg.json, sort_keys=True))],
        )
        replay = idempotency.begin(
            space,
            idem_key,
            fp,
            gg.request_id,
            clock.real_time_float(),
            ttl=st.settings.idempotency_ttl,
            max_keys=st.settings.idempotency_max_keys,
        )
        if replay is not None:
            resp = Response(replay.body, status=replay.status, content_type="application/json")
            for k, v in replay.headers.items():
                resp.headers[k] = v
            resp.headers["Idempotency-Key"] = idem_key
            resp.headers["Idempotent-Replayed"] = "true"
            gg.replayed = True  # read by the journal
            resp.headers["Original-Request"] = replay.request_id
            return resp
        gg.idem_key = idem_key
    if space is not None:
        space.lock.acquire()
        gg.locked = space
        if req.method != "GET":
            space.writes += 1  # --data saves this account again (persistence.py)
        # events raised while this request holds the lock name it (domain/events.py `emit`)
        space.origin = (gg.request_id, idem_key)
    return None


def after_request(resp: Response) -> Response:
    """Common headers; store the first execution of an idempotency key."""
    req = _req()
    gg = _g()
    # only this hook sets these, so `add` (no scan for an existing value, no KeyError built
    # and caught by werkzeug) is enough; Stripe-Version may come from a stored replay
    headers = resp.headers
    headers.add("Request-Id", gg.get("request_id") or "req_" + random_tail(14))
    if _is_api(req.path):
        version = gg.get("version") or settings().api_version
        if gg.get("replayed"):
            headers["Stripe-Version"] = version  # replaces the stored one
        else:
            headers.add("Stripe-Version", version)
        headers.add("Cache-Control", "no-cache, no-store")
        if gg.get("requested_version"):
            headers.add("Stripe-Mock-Requested-Version", gg.requested_version)
        headers.add("Access-Control-Allow-Origin", "*")
    idem_key = gg.get("idem_key")
    if idem_key:
        resp.headers["Idempotency-Key"] = idem_key
        resp.headers.setdefault("Original-Request", gg.request_id)
        space = gg.ns
        v2_failure = gg.v2 and resp.status_code >= 400  # v2 re-executes failed first attempts
        if gg.get("store_idem", True) and not v2_failure and (gg.started or resp.status_code < 400):
            stored = {
                k: v
                for k, v in resp.headers.items()
                if k in ("Stripe-Should-Retry", "Stripe-Version")
            }
            idempotency.finish(space, idem_key, resp.status_code, resp.get_data(), stored)
        else:
            idempotency.abandon(space, idem_key)
    journal.record(resp)  # control API: request journal
    return resp


def teardown_request(_exc: BaseException | None) -> None:
    """Release the namespace lock; forget an idempotency claim that never finished."""
    gg = _g()
    space = gg.get("locked")
    if space is not None:
        gg.locked = None
        space.origin = None
        space.lock.release()
    idem_key = gg.get("idem_key")
    if idem_key and gg.get("ns") is not None:
        idempotency.abandon(gg.ns, idem_key)


def handle_stripe_error(err: StripeError) -> Response:
    """Render any StripeError."""
    g.store_idem = err.store_idempotent
    return error_response(err, g.get("request_id", "req_"), v2=bool(g.get("v2")))


def handle_http_exception(err: HTTPException) -> Response:
    """Werkzeug errors (404/405 routing, 413 body too large) in Stripe's envelope."""
    if isinstance(err, RequestEntityTooLarge):
        # later readers of the body (the journal) must not hit the limit again
        setattr(request, "_cached_data", b"")  # noqa: B010 (werkzeug's body cache)
        return handle_stripe_error(
            StripeError("Request body is too large.", status=413, code="request_too_large")
        )
    if err.code in (404, 405):
        return handle_stripe_error(UnrecognizedURL(request.method, request.path))
    return handle_stripe_error(
        StripeError(err.description or "Bad request", status=err.code or 400)
    )


def handle_unexpected(err: Exception) -> Response:
    """Any other exception: logged, 500 `api_error`, no traceback in the body."""
    log.exception("unexpected error in %s %s", request.method, request.path)
    current_app.extensions["stripe_mock_billing.errors"].append(err)
    return handle_stripe_error(ApiError())


def install(app: Flask) -> None:
    """Attach the pipeline hooks and error handlers to `app`."""
    # Flask asks `inspect` whether each hook and view is a coroutine on every request; the answer
    # never changes for a function, so remember it (~1 us per hook per request)
    setattr(app, "ensure_sync", lru_cache(maxsize=None)(app.ensure_sync))  # noqa: B010
    app.before_request(before_request)
    app.after_request(after_request)
    app.teardown_request(teardown_request)
    app.register_error_handler(StripeError, handle_stripe_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
