"""The lean dispatcher's route table finds what werkzeug's matcher finds (wire/dispatch.py).

The dispatcher serves /v1 and /v2 routes from its own segment tree; a disagreement with the
app's `url_map` would send a request to the wrong view. Every API rule is matched with its
parameters filled by a plain value and by every static segment the routes use (where a static
route and a parameter compete, e.g. `/v1/customers/search` and `/v1/customers/<cid>`), for each
method, on both sides.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.exceptions import HTTPException

from stripe_mock_billing.app import create_app
from stripe_mock_billing.wire import dispatch


def test_route_table_agrees_with_werkzeug() -> None:
    app = create_app()
    table = dispatch._build_table(app.url_map)
    assert table is not None
    adapter = app.url_map.bind("localhost")
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith(("/v1/", "/v2/"))]
    literals = {seg for r in rules for seg in r.rule.split("/") if seg and "<" not in seg}
    checked = 0
    for rule in rules:
        for filler in ("cus_123", *sorted(literals)):
            where = re.sub(r"<[^>]+>", filler, rule.rule)
            for method in ("GET", "POST", "DELETE"):
                try:
                    found: Any = adapter.match(where, method, return_rule=True)
                    expect = (found[0].endpoint, found[1])
                except HTTPException:
                    expect = None
                got = dispatch._walk(table, where[1:].split("/"), 0, method, [])
                assert (got and (got[0].endpoint, got[1])) == expect, (method, where)
                checked += 1
    assert checked > 10_000


def test_dispatcher_uses_the_table() -> None:
    app = create_app()
    client = app.test_client()
    resp = client.get("/v1/customers/cus_missing", headers={"Authorization": "Bearer sk_test_x"})
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "resource_missing"
    dispatcher: Any = app.wsgi_app
    while not isinstance(dispatcher, dispatch.Dispatcher):
        dispatcher = dispatcher.__closure__[0].cell_contents  # the webhooks wrapper's `inner`
    assert dispatcher.table is not None
