"""docs/reference/coverage.md is generated from the app's route table (conformance/coverage.py):
a route added or removed without regenerating the page fails here."""

from __future__ import annotations

import pytest

from conformance import coverage


def test_coverage_page_is_current(openapi_schema):
    if openapi_schema.opt_out:
        pytest.skip("schema validation is off: the page's OpenAPI column cannot be checked")
    text = coverage.PAGE.read_text(encoding="utf-8") if coverage.PAGE.is_file() else ""
    assert text == coverage.render(), (
        "docs/reference/coverage.md is stale: run python -m conformance.coverage"
    )


def test_every_served_route_is_listed():
    listed = coverage.PAGE.read_text(encoding="utf-8")
    for method, rule in coverage.routes():
        assert f"| {method} | `{coverage._template(rule)}` |" in listed
