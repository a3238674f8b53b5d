"""The state of one API request, and the helpers routes and hooks read it through.

A `State` is made per request by either way into the pipeline (wire/dispatch.py's lean
dispatcher, or the Flask hooks there) and held in a `ContextVar`, so threaded
servers each see their own. Routes reach it only through the helpers below (`ns()`, `params()`,
`ctx()`, `json_body()`, `api_version()`, `method()`, `path()`, `header()`, `query_args()`,
`state()`), which wire/pipeline.py re-exports for them (`from ..wire import pipeline as p`).
Hooks other modules add go through `add_before` / `add_after` (app-wide) or `gate` (one
blueprint): the pipeline owns the order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, cast

from flask import Blueprint, Flask, Response
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request as WerkzeugRequest

from ..config import Settings
from ..ids import id_tail
from ..shapes import RenderContext
from ..store import Namespace, Store
from .form import Node
from .params import Param, parse
from .render import TYPE_BY_COLLECTION, VERBS, check_expand

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
    """The app's store (routes only: the request state holds it)."""
    return state().store


def settings() -> Settings:
    """The app's settings."""
    return store().settings


def ns() -> Namespace:
    """The account of the current request."""
    return state().ns  # type: ignore[return-value]  # routes run after begin() sets it


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


# the one DELETE that renders its object: a subscription's cancel (Stripe's takes `expand[]`);
# the others answer `{id, object, deleted}` stubs, which have nothing to expand
_DELETE_RENDERS = "/v1/subscriptions/<sid>"


def _check_expand(s: State, paths: list[str]) -> None:
    """Static `expand[]` check by the route's object type, so a bad path never follows a write.

    The type comes from the matched URL rule: `/v1/<collection>`, `/v1/<collection>/<id>` and
    `/v1/<collection>/<id>/<verb>` render the collection's object (TYPE_BY_COLLECTION); other
    sub-resources check their own paths (e.g. usage records) or only read.
    """
    rule = s.rule
    parts = rule.split("/")[2:]  # drop "" and "v1"
    if not rule.startswith("/v1/") or (s.method == "DELETE" and rule != _DELETE_RENDERS):
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
