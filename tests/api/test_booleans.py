"""v1 booleans: `true`/`false`, and `True`/`False` as stripe-python 11.x form-encodes them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import validated


def _post(server: Any, key: str, path: str, body: str) -> requests.Response:
    r = requests.post(
        server.url + path,
        data=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=10,
    )
    return validated(r)


@pytest.mark.parametrize(
    ("wire", "expected"), [("true", True), ("True", True), ("false", False), ("False", False)]
)
def test_v1_boolean_spellings(server: Any, api_key: str, wire: str, expected: bool) -> None:
    r = _post(server, api_key, "/v1/products", f"name=x&active={wire}")
    assert r.status_code == 200
    assert r.json()["active"] is expected


@pytest.mark.parametrize("wire", ["TRUE", "1", "yes", "tRue"])
def test_other_spellings_are_invalid(server: Any, api_key: str, wire: str) -> None:
    r = _post(server, api_key, "/v1/products", f"name=x&active={wire}")
    assert r.status_code == 400
    e = r.json()["error"]
    assert (e["type"], e["param"], e["message"]) == (
        "invalid_request_error",
        "active",
        f"Invalid boolean: {wire}",
    )
    assert "code" not in e
    listed = validated(
        requests.get(
            server.url + "/v1/products", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        )
    ).json()
    assert listed["data"] == []
