"""Rendering: objects, lists with pagination, `expand`, and the v1/v2 error envelopes.

Models render themselves into wire dicts through `render(ctx)`; everything generic about the
wire shape (lists, expansion, errors, JSON) happens here and only here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Response
from werkzeug.datastructures import Headers

from ..errors import InvalidRequest, ResourceMissing, StripeError
from ..shapes import Renderable, RenderContext, list_body

# object type -> fields holding an id that `expand[]` may replace with the object
EXPANDABLE: dict[str, frozenset[str]] = {
    "customer": frozenset({"test_clock"}),
    "product": frozenset({"default_price"}),
    "price": frozenset({"product"}),
    "plan": frozenset({"product"}),
    "subscription": frozenset({"customer", "latest_invoice", "test_clock"}),
    "subscription_item": frozenset(),
    "invoice": frozenset({"customer", "subscription", "test_clock"}),
    "line_item": frozenset({"invoice", "subscription", "subscription_item"}),
    "invoiceitem": frozenset({"customer", "invoice", "subscription", "subscription_item"}),
    # the official schema lists no expandable id fields on these two (x-expandableFields)
    "usage_record_summary": frozenset(),
    "usage_record": frozenset(),
    "billing.meter_event_summary": frozenset(),
    "test_helpers.test_clock": frozenset(),
    "billing.credit_grant": frozenset({"customer", "test_clock"}),
    "billing.credit_balance_transaction": frozenset({"credit_grant", "test_clock"}),
    "billing.credit_balance_summary": frozenset({"customer"}),
    "billing.alert": frozenset(),  # usage_threshold.meter / filters: not expandable here
    "billing.alert_triggered": frozenset(),
    "payment_method": frozenset({"customer"}),
}
MAX_EXPAND_DEPTH = 4
# the object an expandable id field names (for checking `expand[]` before a write)
EXPAND_TARGET: dict[str, str] = {
    "customer": "customer",
    "product": "product",
    "price": "price",
    "default_price": "price",
    "latest_invoice": "invoice",
    "invoice": "invoice",
    "subscription": "subscription",
    "subscription_item": "subscription_item",
    "test_clock": "test_helpers.test_clock",
    "credit_grant": "billing.credit_grant",
}
# fully described types: object type -> fields rendered inline (`list:` = a list object of them)
# and "includable" fields that only render when expanded. Types not listed here are only checked
# while rendering.
EMBEDDED: dict[str, dict[str, str]] = {
    "customer": {},
    "product": {},
    "price": {"tiers": "includable"},
    "subscription": {"items": "list:subscription_item"},
    "subscription_item": {"price": "price"},
    "invoice": {"lines": "list:line_item"},
    "line_item": {"price": "price"},  # acacia renders the price inline; basil has none
    "test_helpers.test_clock": {},
    "usage_record": {},
    "invoiceitem": {},
    "billing.meter": {},
    "billing.meter_event": {},
    "billing.meter_event_adjustment": {},
    "webhook_endpoint": {},
    "billing.credit_grant": {},
    "billing.credit_balance_transaction": {},
    "billing.alert": {},
    "payment_method": {},
}
# `/v1/<collection>` -> the object type its create/retrieve/update/list and verbs render
TYPE_BY_COLLECTION: dict[str, str] = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "subscriptions": "subscription",
    "subscription_items": "subscription_item",
    "invoices": "invoice",
    "invoiceitems": "invoiceitem",
    "test_helpers/test_clocks": "test_helpers.test_clock",
    "billing/meters": "billing.meter",
    "billing/meter_events": "billing.meter_event",
    "billing/meter_event_adjustments": "billing.meter_event_adjustment",
    "webhook_endpoints": "webhook_endpoint",
    "billing/credit_grants": "billing.credit_grant",
    "billing/credit_balance_transactions": "billing.credit_balance_transaction",
    "billing/alerts": "billing.alert",
    "payment_methods": "payment_method",
}
# POST `/v1/<collection>/<id>/<verb>` actions that render the collection's object
VERBS = frozenset(
    {
        "activate",
        "advance",
        "archive",
        "attach",
        "deactivate",
        "detach",
        "expire",
        "finalize",
        "mark_uncollectible",
        "pay",
        "reactivate",
        "send",
        "void",
    }
)


# one encoder for every response: `json.dumps` with non-default options builds a new one per call
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
try:  # ~10x faster, same bytes for what we render (see `dumps`)
    from orjson import dumps as _fast_dumps
except ImportError:  # pragma: no cover (a base dependency, absent only on exotic platforms)
    _fast_dumps = None


def dumps(body: Mapping[str, Any]) -> bytes:
    """Compact JSON bytes (UTF-8, non-ASCII characters unescaped, key order kept).

    orjson writes the same bytes as the standard encoder for str/int/bool/None/dict/list (and
    their subclasses): control characters escaped the same way, non-ASCII left as UTF-8. What it
    refuses (non-string keys, integers past 64 bits, other types) goes to the standard encoder.
    Floats (meter summaries' finite aggregates) are the shortest round-trip form in both, but
    the exponent may be written differently (`1e+16` / `1e16`): the same JSON number.

    orjson's bytes keep the buffer it wrote into (4 KiB for a 300-byte answer, 8 KiB for a
    customer): a copy the exact size is what is returned, since the request journal and the
    idempotency cache keep answers (1,000 per account), and a request that grows the heap by a
    page pays a page fault (`bench/bench_cpu.py`)."""
    if _fast_dumps is not None:
        try:
            return bytes(memoryview(_fast_dumps(body)))
        except TypeError:
            pass
    return _ENCODER.encode(body).encode("utf-8")


_new_response = Response.__new__
_new_headers = Headers.__new__
_STATUS_LINES: dict[int, str] = {}


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    """A JSON response with Stripe's content type.

    The same object `Response(data, status=status, content_type="application/json")` builds,
    assembled directly: werkzeug's constructor validates and re-parses every header (~5 us)."""
    data = dumps(body)
    line = _STATUS_LINES.get(status)
    if line is None:
        line = Response(status=status).status
        _STATUS_LINES[status] = line
    headers = _new_headers(Headers)
    headers._list = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    resp = _new_response(Response)
    resp.headers = headers
    resp._status = line
    resp._status_code = status
    resp.direct_passthrough = False
    resp._on_close = []
    resp.response = [data]
    return resp


# --- expand ------------------------------------------------------------------------------


def _cannot_expand(path: str) -> InvalidRequest:
    return InvalidRequest(f"This property cannot be expanded ({path}).", param="expand")


def _expand_at(node: Any, parts: list[str], full: str, ctx: RenderContext) -> None:
    if not parts or node is None:
        return
    if isinstance(node, list):
        for el in node:
            _expand_at(el, parts, full, ctx)
        return
    if not isinstance(node, dict):
        raise _cannot_expand(full)
    key, rest = parts[0], parts[1:]
    if key not in node:
        raise _cannot_expand(full)
    val = node[key]
    if not rest and key in ctx.includes:
        return  # an includable field (`tiers`): rendered because it was asked for, even if null
    expandable = key in EXPANDABLE.get(str(node.get("object")), frozenset())
    if isinstance(val, str):
        if not expandable:
            raise _cannot_expand(full)
        obj = ctx.ns.find(val)
        if obj is None:
            return  # a dangling id (deleted object) stays an id
        val = obj.render(ctx)
        node[key] = val
    elif val is None:
        if not expandable:
            raise _cannot_expand(full)  # e.g. `address.city`: null, but never an id
        return
    elif not isinstance(val, dict | list):
        raise _cannot_expand(full)  # a scalar that is not an id
    elif not rest:
        if expandable:
            return  # expanded already by another path (`a.b` then `a`, or `a` twice)
        raise _cannot_expand(full)  # an inline hash or list, not an id
    _expand_at(val, rest, full, ctx)


def _check_path(obj_type: str, path: str, *, is_list: bool) -> None:
    parts = path.split(".")
    if is_list:
        if parts[0] != "data":
            raise _cannot_expand(path)
        parts = parts[1:]
    kind: str | None = obj_type
    for i, part in enumerate(parts):
        if kind is None:
            return  # a type this table does not describe: checked while rendering
        if kind.startswith("list:"):
            if part != "data":
                raise _cannot_expand(path)
            kind = kind[5:]
            continue
        if part in EXPANDABLE.get(kind, frozenset()):
            kind = EXPAND_TARGET.get(part)
            continue
        embedded = EMBEDDED.get(kind)
        if embedded is None:
            return
        inner = embedded.get(part)
        if inner is None or (inner == "includable" and i != len(parts) - 1):
            raise _cannot_expand(path)
        kind = None if inner == "includable" else inner


def check_expand(obj_type: str, paths: Sequence[str], *, is_list: bool = False) -> None:
    """Reject unexpandable `expand[]` paths before the request changes anything."""
    for path in paths:
        _check_depth(path)
        _check_path(obj_type, path, is_list=is_list)


def _check_depth(path: str) -> None:
    # every segment is a level, `data` too: Stripe refuses `data.items.data.price.product`
    # ("when listing charges, data.payment_intent.customer.default_source is the deepest allowed")
    if len(path.split(".")) > MAX_EXPAND_DEPTH:
        raise InvalidRequest(
            f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
            f"Property: {path}",
            param="expand",
            code="property_expansion_max_depth",
        )


def expand(body: dict[str, Any], paths: Sequence[str], ctx: RenderContext) -> dict[str, Any]:
    """Replace ids with objects along each dotted `expand[]` path (at most 4 levels)."""
    for path in paths:
        _check_depth(path)
        _expand_at(body, path.split("."), path, ctx)
    return body


def render_one(
    obj: Renderable, ctx: RenderContext, expand_paths: Sequence[str] | None = None
) -> Response:
    """Render a model (with `expand[]`) as the response body."""
    return json_response(expand(obj.render(ctx), expand_paths or (), ctx))


# --- lists -------------------------------------------------------------------------------


def page(
    objs: Sequence[Any],
    params: Mapping[str, Any],
    *,
    noun: str,
    key: Callable[[Any], str] = lambda o: str(o.id),
) -> tuple[list[Any], bool]:
    """Cut one page out of `objs` (already in list order) by limit/starting_after/ending_before."""
    limit = params.get("limit") or 10
    after, before = params.get("starting_after"), params.get("ending_before")
    if after:
        idx = next((i for i, o in enumerate(objs) if key(o) == after), None)
        if idx is None:
            raise ResourceMissing(noun, after, param="starting_after", in_path=False)
        rest = objs[idx + 1 :]
        return list(rest[:limit]), len(rest) > limit
    if before:
        idx = next((i for i, o in enumerate(objs) if key(o) == before), None)
        if idx is None:
            raise ResourceMissing(noun, before, param="ending_before", in_path=False)
        head = objs[:idx]
        return list(head[max(0, len(head) - limit) :]), len(head) > limit
    return list(objs[:limit]), len(objs) > limit


def render_list(
    objs: Sequence[Renderable],
    params: Mapping[str, Any],
    ctx: RenderContext,
    *,
    url: str,
    noun: str,
) -> Response:
    """A paginated, expanded list of models, newest first as given."""
    chunk, more = page(objs, params, noun=noun)
    body = list_body([o.render(ctx) for o in chunk], url, more)
    return json_response(expand(body, params.get("expand") or (), ctx))


# --- errors ------------------------------------------------------------------------------


def error_body(err: StripeError, request_id: str, *, v2: bool) -> dict[str, Any]:
    """Stripe's error envelope (wire-format.md §7 for v1, §8 for v2)."""
    inner: dict[str, Any] = {"type": err.type}
    if v2:
        inner["code"] = err.code or err.type
        inner["message"] = err.message
        return {"error": inner}
    if err.code:
        inner["code"] = err.code
        inner["doc_url"] = "https://stripe.com/docs/error-codes/" + err.code.replace("_", "-")
    decline = getattr(err, "decline_code", None)
    if decline:
        inner["decline_code"] = decline
    inner["message"] = err.message
    if err.param:
        inner["param"] = err.param
    inner.update(getattr(err, "extra", None) or {})
    inner["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
    return {"error": inner}


def error_response(err: StripeError, request_id: str, *, v2: bool) -> Response:
    """The full error response, with Stripe's status and headers."""
    resp = json_response(error_body(err, request_id, v2=v2), err.status)
    for k, v in err.headers.items():
        resp.headers[k] = v
    if err.should_retry is not None:
        resp.headers["Stripe-Should-Retry"] = "true" if err.should_retry else "false"
    return resp
