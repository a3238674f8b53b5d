"""The form decoder (wire/form.py), pinned where the mutation review found it untested. Bodies
are decoded by one of three paths: no `%` or `+` (the SDK's ASCII bodies), a small body with
escapes, and a body past 64 KiB read pair by pair (a product `description` of 5,000 `😀`, which
the SDK sends as 60,000 bytes of `%F0%9F%98%80`, plus a little more). Each path must read the
same pairs and give the same errors: empty pairs skipped, a bare key is `""`, a pair without a
name refused, keys up to 500 and values up to 131,072 characters (docs/reference/limits.md), the
key named decoded, in bracket form, in every error (Stripe's `param`, wire-format.md)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.test_bad_input import assert_envelope, send
from tests.conftest import err_of

EMOJI = "%F0%9F%98%80"  # "😀" percent-encoded: 12 bytes for 1 character
BIG = "😀" * 5_000  # 60,000 bytes percent-encoded
NOTE = "😀" * 500  # 6,000 bytes: with BIG, past 64 KiB
BIG_RAW = "description=" + EMOJI * 5_000 + "&metadata[note]=" + EMOJI * 500
# what a body needs to take each path: nothing (plain ASCII), one escape, 66,000 bytes
PATHS: dict[str, dict[str, str]] = {
    "plain": {},
    "escaped": {"description": "é"},
    "big": {"description": BIG, "name": NOTE},
}
EMPTY_NAME = "Invalid parameter name: a parameter has an empty name."


def _error(r: Any) -> tuple[object, ...]:
    """(HTTP status, type, code, param, message) of a raw error response."""
    e = assert_envelope(r)
    return (r.status_code, e["type"], e.get("code"), e.get("param"), e["message"])


def _sdk_error(exc: pytest.ExceptionInfo[stripe.StripeError]) -> tuple[object, ...]:
    e = err_of(exc)
    return (exc.value.http_status, e["type"], e.get("code"), e.get("param"), e["message"])


def _params(params: dict[str, Any]) -> Any:
    """Parameters the SDK's types do not describe (a key it has no field for), sent as given."""
    return params


def _invalid(message: str, param: str | None = None, code: str | None = None) -> tuple[object, ...]:
    return (400, "invalid_request_error", code, param, message)


# --- a body past 64 KiB reads like a small one ---------------------------------------------------


def test_a_body_past_64_kib_reads_every_pair(client: stripe.StripeClient) -> None:
    """The SDK's own body: the first pair, the big one, `+` for spaces, escaped `=` and `&` in
    keys and values, numeric metadata keys and an array, all read back as sent."""
    meta = {"order id": "6735", "0": "zero", "a=b&c": "x=y&z", "note": NOTE}
    prod = client.v1.products.create(
        {
            "name": "Ada Lovelace",
            "description": BIG,
            "metadata": meta,
            "images": ["https://example.com/a.png", "https://example.com/b.png"],
        }
    )
    for p in (prod, client.v1.products.retrieve(prod.id)):
        assert (p.name, p.description) == ("Ada Lovelace", BIG)
        assert p.metadata.to_dict() == meta
        assert p.images == ["https://example.com/a.png", "https://example.com/b.png"]


def test_a_plus_is_a_space_in_a_body_without_escapes(client: stripe.StripeClient) -> None:
    """`name=Ada+Lovelace&metadata[order]=6735`: no `%`, but the `+` still has to be read."""
    prod = client.v1.products.create({"name": "Ada Lovelace", "metadata": {"order": "6735"}})
    assert (prod.name, prod.metadata.to_dict()) == ("Ada Lovelace", {"order": "6735"})


@pytest.mark.parametrize(
    "body",
    [
        "&&name=Widget&&unit_label&" + BIG_RAW + "&&",
        "unit_label&name=Widget&" + BIG_RAW,
        "name=Widget&" + BIG_RAW + "&unit_label",
        "&&name=Widget&&unit_label&description=%C3%A9&&",
        "unit_label&name=Widget&description=%C3%A9",
        "name=Widget&description=%C3%A9&unit_label",
    ],
    ids=[
        "big-empty-pairs-around",
        "big-bare-key-first",
        "big-bare-key-last",
        "escaped-empty-pairs-around",
        "escaped-bare-key-first",
        "escaped-bare-key-last",
    ],
)
def test_empty_pairs_are_skipped_and_a_bare_key_is_empty(
    server: ThreadedServer, api_key: str, body: str
) -> None:
    """`&&` is no pair; `unit_label` without `=` is `unit_label=`, which sets it to null."""
    r = send(server, api_key, "POST", "/v1/products", body)
    assert r.status_code == 200, r.text[:300]
    prod = r.json()
    assert (prod["name"], prod["unit_label"]) == ("Widget", None)
    if "%F0" in body:
        assert (prod["description"], prod["metadata"]) == (BIG, {"note": NOTE})
    else:
        assert (prod["description"], prod["metadata"]) == ("é", {})


def test_a_big_body_with_a_scalar_and_a_hash_under_one_key_names_it(
    server: ThreadedServer, api_key: str
) -> None:
    r = send(
        server, api_key, "POST", "/v1/products", f"name=W&{BIG_RAW}&metadata[a]=1&metadata[a][b]=2"
    )
    assert _error(r) == _invalid(
        "Invalid value for metadata[a]: it is given both as a value and as a hash.", "metadata[a]"
    )


@pytest.mark.parametrize("extra", ["&description=%C3%A9", "&" + BIG_RAW], ids=["escaped", "big"])
def test_a_value_may_hold_a_literal_equals_sign(
    server: ThreadedServer, api_key: str, extra: str
) -> None:
    """`curl -d 'metadata[eq]=a=b'` sends the `=` as is: the first `=` ends the name."""
    r = send(server, api_key, "POST", "/v1/products", "name=W&metadata[eq]=a=b" + extra)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["metadata"]["eq"] == "a=b"


# --- a pair without a name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["=x&name=W", "name=W&=x", "name=W&=x&description=%C3%A9", "=x&name=W&" + BIG_RAW],
    ids=["plain", "plain-last", "escaped", "big"],
)
def test_a_pair_without_a_name_is_refused_in_every_path(
    server: ThreadedServer, api_key: str, body: str
) -> None:
    r = send(server, api_key, "POST", "/v1/products", body)
    assert _error(r) == _invalid(EMPTY_NAME)
    assert send(server, api_key, "GET", "/v1/products").json()["data"] == []


# --- keys: 500 characters ------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(PATHS))
def test_a_key_of_500_characters_is_read_and_501_are_refused(
    client: stripe.StripeClient, path: str
) -> None:
    """`metadata[` + 490 + `]` is 500 characters: the decoder passes it on (and metadata refuses
    a key over 40); one more is the decoder's 400, naming the key's first 100 characters."""
    extra: dict[str, Any] = PATHS[path]
    key = "k" * 490
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(_params({"name": "W", "metadata": {key: "1"}, **extra}))
    assert _sdk_error(exc) == _invalid(
        f"Invalid key: {key} must be a string under 40 characters",
        "metadata",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(_params({"name": "W", "metadata": {key + "k": "1"}, **extra}))
    assert _sdk_error(exc) == _invalid(
        "Invalid parameter name: metadata[" + "k" * 91 + "... is longer than 500 characters."
    )


@pytest.mark.parametrize("path", ["escaped", "big"])
def test_a_key_of_500_four_byte_characters_is_read_and_501_are_refused(
    client: stripe.StripeClient, path: str
) -> None:
    """500 `😀` take 6,000 bytes percent-encoded: still 500 characters (an unknown parameter);
    501 are too long, named by their first 100 characters, not their escapes."""
    extra: dict[str, Any] = PATHS[path]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(_params({"name": "W", "😀" * 500: "1", **extra}))
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_unknown", "😀" * 500)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create(_params({"name": "W", "😀" * 501: "1", **extra}))
    assert _sdk_error(exc) == _invalid(
        "Invalid parameter name: " + "😀" * 100 + "... is longer than 500 characters."
    )


@pytest.mark.parametrize("path", ["escaped", "big"])
def test_a_key_past_6000_bytes_is_named_decoded(
    server: ThreadedServer, api_key: str, path: str
) -> None:
    """`order+` and 2,001 escaped letters (`%41`, 6,003 bytes) are a 2,007-character key:
    refused, and named as the key it is (`metadata[order AAAA...`), whichever check saw it
    first."""
    extra = {"plain": "", "escaped": "&description=%C3%A9", "big": "&" + BIG_RAW}[path]
    body = "name=W&metadata%5Border+" + "%41" * 2_001 + "%5D=1" + extra
    r = send(server, api_key, "POST", "/v1/products", body)
    assert _error(r) == _invalid(
        "Invalid parameter name: metadata[order " + "A" * 85 + "... is longer than 500 characters."
    )


# --- values: 131,072 characters ------------------------------------------------------------------


@pytest.mark.parametrize("char", ["x", "€", "😀"], ids=["plain", "big", "big-4-byte"])
def test_a_value_of_131072_characters_is_read_and_131073_are_refused(
    client: stripe.StripeClient, char: str
) -> None:
    """131,072 characters reach the parameter (a `description` takes 40,000), even as 131,072
    `😀` (1,572,864 bytes escaped); one more is the decoder's 400, naming the key. A pair
    follows the long one, and is read as usual."""
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"description": char * 131_072, "name": "W"})
    assert _sdk_error(exc) == _invalid(
        f"Invalid string: {char * 10}...{char * 10}; must be at most 40000 characters",
        "description",
        "parameter_invalid_string",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"description": char * 131_073, "name": "W"})
    assert _sdk_error(exc) == _invalid(
        "Invalid value for description: it is longer than 131072 characters.", "description"
    )


def test_a_too_long_value_under_a_500_character_key_is_the_value_error(
    client: stripe.StripeClient,
) -> None:
    """A 500-character key is within its limit: the error is the value's, naming the key."""
    key = "k" * 490
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "W", "metadata": {key: "v" * 131_073}})
    e = err_of(exc)
    assert (exc.value.http_status, e["type"], e.get("code")) == (400, "invalid_request_error", None)
    assert e["message"] == (
        "Invalid value for metadata[" + "k" * 91 + "...: it is longer than 131072 characters."
    )
    assert e["param"].startswith("metadata[kkk")


def test_a_value_past_its_raw_limit_is_named_in_bracket_form(
    server: ThreadedServer, api_key: str
) -> None:
    """Brackets sent escaped (`metadata%5Bk%5D`, as stripe-node and the SDKs' query strings do)
    and a value of 1,572,865 bytes, past what 131,072 characters can take: `param` is
    `metadata[k]`, as for a shorter value."""
    for value in ("v" * 131_073, "v" * 1_572_865):
        r = send(server, api_key, "POST", "/v1/products", "name=W&metadata%5Bk%5D=" + value)
        assert _error(r) == _invalid(
            "Invalid value for metadata[k]: it is longer than 131072 characters.", "metadata[k]"
        )


@pytest.mark.parametrize("extra", ["", "&" + BIG_RAW], ids=["escaped", "big"])
def test_a_too_long_key_that_is_not_utf8_is_a_400(
    server: ThreadedServer, api_key: str, extra: str
) -> None:
    """6,003 bytes of `%FF`: too long and not UTF-8, both 400s (which one comes first is the
    emulator's choice); naming the key must not fail on its bytes."""
    r = send(server, api_key, "POST", "/v1/products", "%FF" * 2_001 + "=1&name=W" + extra)
    status, kind, code, param, _ = _error(r)
    assert (status, kind, code, param) == (400, "invalid_request_error", None, None)


def test_a_value_past_its_raw_limit_under_a_key_of_6000_bytes_is_the_value_error(
    server: ThreadedServer, api_key: str
) -> None:
    """500 `😀` (6,000 bytes escaped) are a key within its 500 characters: a value of 1,572,865
    bytes is the value's error, not the key's."""
    body = "name=W&" + EMOJI * 500 + "=" + "v" * 1_572_865
    e = assert_envelope(send(server, api_key, "POST", "/v1/products", body))
    assert e["message"] == (
        "Invalid value for " + "😀" * 100 + "...: it is longer than 131072 characters."
    )
    assert e["param"].startswith("😀" * 100)


@pytest.mark.parametrize(
    "body", [b"name=W&description=\xff", b"name=W&description=%FF", b"name=%FF&" + BIG_RAW.encode()]
)
def test_a_body_that_is_not_utf8_is_a_400(
    server: ThreadedServer, api_key: str, body: bytes
) -> None:
    r = send(server, api_key, "POST", "/v1/products", body)
    assert _error(r) == _invalid(
        "Invalid request: the request body or query string is not valid UTF-8."
    )


@pytest.mark.parametrize("extra", ["", "&description=%C3%A9"], ids=["plain", "escaped"])
def test_a_malformed_key_is_quoted_whole_up_to_100_characters(
    server: ThreadedServer, api_key: str, extra: str
) -> None:
    """An unclosed bracket: the key is quoted as sent when it has 100 characters, and cut to
    its first 100 and `...` when it has 101."""
    key = "m" * 97 + "[kk"
    r = send(server, api_key, "POST", "/v1/products", f"name=W&{key[1:]}=1{extra}")
    assert _error(r) == _invalid("Invalid parameter name: " + key[1:])
    r = send(server, api_key, "POST", "/v1/products", f"name=W&{key}=1{extra}")
    assert _error(r) == _invalid("Invalid parameter name: " + key)
    r = send(server, api_key, "POST", "/v1/products", f"name=W&{key}k=1{extra}")
    assert _error(r) == _invalid("Invalid parameter name: " + key + "...")


# --- the escaped path: conflicts named, `[]` inside a key ----------------------------------------


@pytest.mark.parametrize(
    ("pairs", "name"),
    [
        ("metadata[k]=v&metadata=x", "metadata"),  # a hash, then a value under its bare name
        ("metadata[1]=x&metadata[][b]=y", "metadata[1]"),  # `[]` takes index 1: a value there
        ("metadata[a][b]=1&metadata[a][b][c]=2", "metadata[a][b]"),  # three levels deep
        ("metadata[1][b]=1&metadata[]=x", "metadata[1]"),  # a last `[]` takes index 1: a hash
    ],
)
def test_a_key_given_as_a_value_and_as_a_hash_is_named_with_escapes(
    server: ThreadedServer, client: stripe.StripeClient, api_key: str, pairs: str, name: str
) -> None:
    """A body with an escape (`%C3%A9`) is read by the general path; a key given both as a value
    and as a hash is a 400 naming it in bracket form, a `[]` by the index it took, and nothing
    is created."""
    r = send(server, api_key, "POST", "/v1/products", f"name=W&description=%C3%A9&{pairs}")
    assert _error(r) == _invalid(
        f"Invalid value for {name}: it is given both as a value and as a hash.", name
    )
    assert client.v1.products.list().data == []


def test_an_empty_bracket_inside_a_key_is_the_next_element(
    server: ThreadedServer, client: stripe.StripeClient, api_key: str
) -> None:
    """`items[][price]=...` (escaped here, as `items%5B%5D%5Bprice%5D`) appends an element each
    time it is given: the same key twice is a subscription with two items, in order (and the
    second request reads the key as the first did)."""
    cus = client.v1.customers.create({"name": "Ada"})
    prices = [
        client.v1.prices.create(
            {
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": "month"},
                "product_data": {"name": f"Plan {amount}"},
            }
        ).id
        for amount in (1000, 2000)
    ]
    for _ in range(2):
        items = "&".join(f"items%5B%5D%5Bprice%5D={p}" for p in prices)
        r = send(server, api_key, "POST", "/v1/subscriptions", f"customer={cus.id}&{items}")
        assert r.status_code == 200, r.text[:300]
        assert [i["price"]["id"] for i in r.json()["items"]["data"]] == prices
