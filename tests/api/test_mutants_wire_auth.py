"""API keys and idempotency keys on the wire, pinned where survivors of the first wire mutation
run (issue 15: wire/auth.py, wire/idempotency.py) showed them untested: how a key is masked in a
401, restricted keys on v2, the Authorization header's syntax (RFC 7235 / RFC 7617), which
parameter sets count as the same, and the 24 h a key is kept (wire-format.md §4, §10)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing import clock
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of, make_client, validated

DAY = 24 * 3600


def _customers(server: ThreadedServer, authorization: str) -> requests.Response:
    return validated(
        requests.get(
            server.url + "/v1/customers", headers={"Authorization": authorization}, timeout=10
        )
    )


def _invalid_key(server: ThreadedServer, key: str, violations: list[str]) -> dict[str, Any]:
    """The error of a v1 call made with `key` through the SDK (Stripe's 401)."""
    with pytest.raises(stripe.AuthenticationError) as exc:
        make_client(server.url, key, violations).v1.customers.list()
    assert exc.value.http_status == 401
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    assert "code" not in e and "param" not in e
    return e


# --- API keys (wire-format.md §4) ----------------------------------------------------------------


def test_bearer_undefined_is_an_invalid_key_not_a_missing_one(
    server: ThreadedServer, schema_violations: list[str]
) -> None:
    """A JavaScript client whose key is unset sends `Bearer undefined`; Stripe answers it as an
    invalid key, masked like any other (9 characters: 5 stars and `ined`; captured in
    withspectrum/spectrum#2716: `Invalid API Key provided: *****ined`)."""
    e = _invalid_key(server, "undefined", schema_violations)
    assert e["message"] == "Invalid API Key provided: *****ined"


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk_live_abcd", "sk_live_abcd"),  # 4 characters after the prefix: nothing to hide
        ("sk_live_abcde", "sk_live_*bcde"),  # 5: the first becomes a star
    ],
)
def test_an_invalid_key_keeps_its_prefix_and_last_four_characters(
    server: ThreadedServer, schema_violations: list[str], key: str, masked: str
) -> None:
    """Stripe's masking: the mode prefix is kept, then every character but the last 4 becomes
    one `*` (wire-format.md §4.1)."""
    e = _invalid_key(server, key, schema_violations)
    assert e["message"] == f"Invalid API Key provided: {masked}"


def test_a_restricted_test_key_is_refused_on_v2(
    server: ThreadedServer, schema_violations: list[str]
) -> None:
    """v2 endpoints take secret keys only (wire-format.md §4): the `rk_test_` key that works on
    v1 is a 401 on v2."""
    c = make_client(server.url, "rk_test_" + uuid.uuid4().hex, schema_violations)
    assert c.v1.customers.list().data == []
    with pytest.raises(stripe.AuthenticationError) as exc:
        c.v2.core.event_destinations.list()
    assert exc.value.http_status == 401


def test_basic_auth_password_may_hold_colons(server: ThreadedServer, api_key: str) -> None:
    """`curl -u key:pa:ss`: Basic credentials are `user:password` split at the first colon, the
    user holding no colon (RFC 7617 §2); the key is the user."""
    token = base64.b64encode(f"{api_key}:pa:ss".encode()).decode()
    r = validated(
        requests.post(
            server.url + "/v1/customers",
            data={"name": "colons"},
            headers={"Authorization": f"Basic {token}"},
            timeout=10,
        )
    )
    assert r.status_code == 200
    # the same account as the key alone
    assert [c["name"] for c in _customers(server, f"Bearer {api_key}").json()["data"]] == ["colons"]


def test_bearer_and_the_key_may_be_separated_by_several_spaces(
    server: ThreadedServer, api_key: str
) -> None:
    """`credentials = auth-scheme [ 1*SP token68 ]` (RFC 7235 §2.1): two spaces are one
    separator."""
    assert _customers(server, f"Bearer  {api_key}").status_code == 200


def test_an_authorization_scheme_other_than_bearer_or_basic_is_a_401(
    server: ThreadedServer, api_key: str
) -> None:
    """Stripe takes Bearer and Basic only: `Token <key>` authenticates nothing. The answer is
    Stripe's 401 envelope (`validated`: its message a string, as the schema requires); the
    wording for this case is not captured, so it is not pinned here."""
    r = _customers(server, f"Token {api_key}")
    assert r.status_code == 401
    e = r.json()["error"]
    assert e["type"] == "invalid_request_error"
    assert "code" not in e and "param" not in e
    assert e["message"]


def test_a_255_character_key_after_many_spaces_is_accepted(server: ThreadedServer) -> None:
    """A key of 255 characters, the longest the emulator accepts (docs/reference/limits.md),
    after `Bearer` and 103 spaces: 364 characters of header, still that key."""
    key = "sk_test_" + uuid.uuid4().hex + "k" * (255 - 8 - 32)
    header = "Bearer" + " " * 103 + key
    assert (len(key), len(header)) == (255, 364)
    assert _customers(server, header).status_code == 200


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_255_character_key_with_a_long_basic_password_is_accepted(
    server: ThreadedServer,
) -> None:
    """Basic auth takes the key as the user; the password is not read (RFC 7617, as curl's
    `-u sk_test_...:` sends). A 255-character key with a 40-character password is a 402-character
    header, and still that key."""
    key = "sk_test_" + uuid.uuid4().hex + "b" * (255 - 8 - 32)
    header = _basic(key, "p" * 40)
    assert len(header) == 402
    assert _customers(server, header).status_code == 200


def test_a_256_character_key_in_a_long_basic_header_is_an_invalid_key(
    server: ThreadedServer,
) -> None:
    """One character past the 255 the emulator accepts (docs/reference/limits.md): Stripe's
    invalid-key 401, the key's first 40 characters masked and `...`."""
    key = "sk_test_" + "c" * 248
    r = _customers(server, _basic(key, "p" * 40))
    assert r.status_code == 401
    e = r.json()["error"]
    assert e["type"] == "invalid_request_error" and "code" not in e and "param" not in e
    assert e["message"] == "Invalid API Key provided: sk_test_" + "*" * 28 + "cccc..."


def test_a_restricted_key_in_a_long_basic_header_is_refused_on_v2(server: ThreadedServer) -> None:
    """A header too long to cache (a 255-character `rk_test_` key with a 40-character password)
    is checked the same way: the key works on v1 and is a 401 on v2 (wire-format.md §4)."""
    key = "rk_test_" + uuid.uuid4().hex + "r" * (255 - 8 - 32)
    header = _basic(key, "p" * 40)
    assert _customers(server, header).status_code == 200
    # not validated: the v2 event destination paths are no operation of the OpenAPI spec at hand
    r = requests.get(
        server.url + "/v2/core/event_destinations", headers={"Authorization": header}, timeout=10
    )
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"


# --- idempotency keys (wire-format.md §10) -------------------------------------------------------


def _post(server: ThreadedServer, key: str, idem: str, body: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
    return validated(
        requests.post(server.url + "/v1/customers", data=body, headers=headers, timeout=10)
    )


def test_a_parameter_named_with_an_equals_sign_is_another_parameter(
    server: ThreadedServer, api_key: str
) -> None:
    """`description=foo=bar` sets description to `foo=bar`; `description%3Dfoo=bar` sends a
    parameter named `description=foo`. Under the same key that is a request with other
    parameters: 400 `idempotency_error`, not a replay of the first."""
    first = _post(server, api_key, "eq-key", "description=foo=bar")
    assert first.status_code == 200 and first.json()["description"] == "foo=bar"
    other = _post(server, api_key, "eq-key", "description%3Dfoo=bar")
    assert other.status_code == 400
    assert "Idempotent-Replayed" not in other.headers
    e = other.json()["error"]
    assert e["type"] == "idempotency_error"
    assert "code" not in e and "param" not in e
    assert e["message"] == (
        "Keys for idempotent requests can only be used with the same parameters they were first "
        "used with. Try using a key other than 'eq-key' if you meant to execute a different "
        "request."
    )


class WallClock:
    """The real-time clock idempotency expiry reads, set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: float) -> None:
        self.now = start
        monkeypatch.setattr(clock, "real_time_float", lambda: self.now)


T0 = 1_800_000_000.0


@pytest.mark.parametrize(("age", "replayed"), [(DAY, True), (DAY + 1, False)])
def test_a_key_is_kept_for_24_hours(
    server: ThreadedServer,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    age: int,
    replayed: bool,
) -> None:
    """Keys are kept for 24 h (docs/reference/limits.md): at exactly 24 h the first answer is
    replayed; a second later the key executes as a new request."""
    wall = WallClock(monkeypatch, T0)
    first = _post(server, api_key, "day-key", "name=x")
    wall.now = T0 + age
    again = _post(server, api_key, "day-key", "name=x")
    assert again.status_code == 200
    assert (again.json()["id"] == first.json()["id"]) is replayed
    assert again.headers.get("Idempotent-Replayed") == ("true" if replayed else None)


def test_an_expired_key_executes_anew_after_the_wall_clock_stepped_back(
    server: ThreadedServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expiry follows each key's own age, even when the wall clock stepped back between two keys
    (an NTP correction), so an older key sits behind a newer one: the newer key, 23 h 59 min old,
    still replays; the older one, 24 h 1 min old, runs again."""
    wall = WallClock(monkeypatch, T0 + 120)
    newer = _post(server, api_key, "newer", "name=newer").json()["id"]
    wall.now = T0  # stepped back 2 minutes
    older = _post(server, api_key, "older", "name=older").json()["id"]
    wall.now = T0 + DAY + 60
    replay = _post(server, api_key, "newer", "name=newer")
    assert (replay.json()["id"], replay.headers["Idempotent-Replayed"]) == (newer, "true")
    fresh = _post(server, api_key, "older", "name=older")
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh.headers
    assert fresh.json()["id"] != older
