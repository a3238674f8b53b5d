"""The bracket form decoder: table cases, errors, and round trips of the SDK's own encoder."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from stripe_mock_billing.errors import InvalidRequest
from stripe_mock_billing.wire.form import MAX_DEPTH, MAX_KEYS, decode, flatten, split_key


def sdk_encode(params: dict[str, Any]) -> str:
    """Exactly what stripe-python puts on the wire for a v1 POST body (brackets left literal)."""
    encoded = urlencode(list(_api_encode(params)))
    return encoded.replace("%5B", "[").replace("%5D", "]")


def sdk_query(params: dict[str, Any]) -> str:
    """What stripe-python puts in a GET/DELETE query string (brackets percent-encoded)."""
    return urlencode(list(_api_encode(params)))


def normalize(value: Any, *, list_element: bool = False) -> Any:
    """What the decoder should read back: strings, lists as index-keyed maps, empties dropped.

    SDK quirk: a scalar directly inside a list is sent with `str()` (`True`, `None`), while a
    scalar in a hash is sent as `true`/`false` and a None there is omitted; a list nested
    directly in a list is encoded as a hash of its indices.
    """
    if list_element and (value is None or isinstance(value, bool)):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    in_list = isinstance(value, list) and not list_element
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    out = {}
    for k, v in value.items():
        if v is None and not in_list:
            continue
        n = normalize(v, list_element=in_list)
        if n == {}:
            continue
        out[k] = n
    return out


SPLIT_CASES = [
    ("quantity", ["quantity"]),
    ("recurring[interval]", ["recurring", "interval"]),
    ("items[0][price]", ["items", "0", "price"]),
    ("a[b][c]", ["a", "b", "c"]),
    ("expand[]", ["expand", ""]),
    ("metadata[]", ["metadata", ""]),
]


@pytest.mark.parametrize(("key", "parts"), SPLIT_CASES)
def test_split_key(key: str, parts: list[str]) -> None:
    assert split_key(key) == parts


@pytest.mark.parametrize("key", ["a[b", "a]b[", "[a]", "a[b]c", "a[b]]"])
def test_split_key_malformed(key: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        split_key(key)
    assert exc.value.status == 400
    assert exc.value.message == f"Invalid parameter name: {key}"


DECODE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("quantity=100", {"quantity": "100"}),
    ("a[b][c]=1", {"a": {"b": {"c": "1"}}}),
    (
        "recurring[interval]=month&recurring[usage_type]=metered",
        {"recurring": {"interval": "month", "usage_type": "metered"}},
    ),
    (
        "items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2",
        {"items": {"0": {"price": "p1", "quantity": "2"}, "1": {"price": "p2"}}},
    ),
    (
        "expand[]=customer&expand[]=latest_invoice",
        {"expand": {"0": "customer", "1": "latest_invoice"}},
    ),
    (
        "expand[0]=customer&expand[1]=latest_invoice",
        {"expand": {"0": "customer", "1": "latest_invoice"}},
    ),
    ("metadata[k]=", {"metadata": {"k": ""}}),
    ("metadata=", {"metadata": ""}),
    ("metadata[0]=zero", {"metadata": {"0": "zero"}}),
    (
        "expand%5B%5D=customer&metadata%5Bk%5D=v",
        {"expand": {"0": "customer"}, "metadata": {"k": "v"}},
    ),
    ("name=Ada+Lovelace&email=a%40b.c", {"name": "Ada Lovelace", "email": "a@b.c"}),
    ("name=%E2%82%AC%20%F0%9F%98%80", {"name": "€ 😀"}),
    ("a=1&a=2", {"a": "2"}),  # repeated scalar: last wins (unverified)
    ("a=1&&b=2&", {"a": "1", "b": "2"}),  # empty pairs are skipped
    ("flag", {"flag": ""}),  # a key without '=' is an empty value
    ("v=a%3Db%26c", {"v": "a=b&c"}),
    ("v=a[b]", {"v": "a[b]"}),  # brackets inside a value are data
    ("items[5][price]=x&items[2][price]=y", {"items": {"5": {"price": "x"}, "2": {"price": "y"}}}),
]


@pytest.mark.parametrize(("raw", "expected"), DECODE_CASES)
def test_decode(raw: str, expected: dict[str, Any]) -> None:
    assert decode(raw) == expected
    assert decode(raw.encode()) == expected


@pytest.mark.parametrize(
    "raw", ["a=1&a[b]=2", "a[b]=2&a=1", "a[b]=1&a[b][c]=2", "a[b][c]=1&a[b]=2"]
)
def test_scalar_and_hash_under_one_key_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode(raw)
    assert exc.value.status == 400
    assert "given both as a value and as a hash" in exc.value.message
    assert exc.value.param in ("a", "a[b]")


def test_depth_limit() -> None:
    ok = "a" + "[x]" * (MAX_DEPTH - 1) + "=1"
    assert decode(ok)
    too_deep = "a" + "[x]" * MAX_DEPTH + "=1"
    with pytest.raises(InvalidRequest) as exc:
        decode(too_deep)
    assert exc.value.message == (
        f"Invalid parameter name: a is nested more than {MAX_DEPTH} levels deep."
    )


def test_key_count_limit() -> None:
    assert len(decode("&".join(f"k{i}=1" for i in range(MAX_KEYS)))) == MAX_KEYS
    with pytest.raises(InvalidRequest) as exc:
        decode("&".join(f"k{i}=1" for i in range(MAX_KEYS + 1)))
    assert exc.value.message == f"Invalid request: more than {MAX_KEYS} parameters."


@pytest.mark.parametrize("raw", ["=x&b=1", "b=1&=", "=", "%=x"[1:]])
def test_a_pair_with_an_empty_name_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode(raw)
    assert exc.value.status == 400
    assert exc.value.message == "Invalid parameter name: a parameter has an empty name."


def test_key_length_limit() -> None:
    """Keys up to 500 characters (docs/reference/limits.md); Stripe's longest are ~60."""
    assert decode("metadata[" + "k" * 490 + "]=1")  # 500 characters with the brackets
    with pytest.raises(InvalidRequest) as exc:
        decode("metadata[" + "k" * 491 + "]=1")
    assert exc.value.message.endswith("is longer than 500 characters.")
    with pytest.raises(InvalidRequest):  # percent-encoded past 12 bytes per character
        decode("k" + "%5B" * 2_000 + "=1")


def test_value_length_limit() -> None:
    """Values up to 131,072 characters (128 KiB); Stripe's longest strings have 5,000."""
    assert decode("description=" + "x" * 131_072)
    with pytest.raises(InvalidRequest) as exc:
        decode("description=" + "x" * 131_073)
    assert exc.value.message == (
        "Invalid value for description: it is longer than 131072 characters."
    )
    assert exc.value.param == "description"


def _calls_made(fn: Any, *args: Any) -> int:
    """How many Python and C functions `fn(*args)` calls (a work measure that is not a timer)."""
    import sys

    count = 0

    def prof(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(prof)
    try:
        fn(*args)
    except InvalidRequest:
        pass
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("depth", [11, 1_000, 400_000])
def test_deep_keys_are_rejected_with_bounded_work(depth: int) -> None:
    """Issue 14: `metadata` + N x `[]` was quadratic in N (one copy of the rest per level, 3.7 s
    at 0.8 MB); the limits are now checked before any splitting, so the work does not grow."""
    raw = "metadata" + "[]" * depth + "=1"
    with pytest.raises(InvalidRequest) as exc:
        decode(raw)
    assert exc.value.status == 400
    if depth == 11:
        assert exc.value.message == (
            "Invalid parameter name: metadata is nested more than 10 levels deep."
        )
    assert _calls_made(decode, raw) < 60
    assert _calls_made(split_key, "metadata" + "[x]" * depth) < 20


def test_many_pairs_are_rejected_before_splitting() -> None:
    raw = b"a=1&" * 1_000_000
    assert _calls_made(decode, raw) < 20


@pytest.mark.parametrize("raw", [b"name=\xff\xfe", b"na\xc3me=x", b"name=%FF", b"%C3=x"])
def test_non_utf8_is_rejected(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode(raw)
    assert exc.value.status == 400
    assert "not valid UTF-8" in exc.value.message


def test_flatten_is_inverse_of_decode() -> None:
    raw = "items[0][price]=p&items[0][quantity]=2&metadata[k]=v&name=x"
    assert flatten(decode(raw)) == sorted(
        [("items[0][price]", "p"), ("items[0][quantity]", "2"), ("metadata[k]", "v"), ("name", "x")]
    )


# --- property tests: whatever the SDK encodes, the decoder reads back --------------------------

# Keys the SDK can encode unambiguously: no brackets (the SDK un-escapes them), not empty.
KEYS = st.text(
    alphabet=st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=12,
)
INT_KEYS = st.integers(min_value=0, max_value=120).map(str)
SCALARS = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.none(),
)


def _values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return SCALARS
    inner = _values(depth - 1)
    return st.one_of(
        SCALARS,
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(KEYS, INT_KEYS), inner, max_size=4),
    )


PARAMS = st.dictionaries(KEYS, _values(3), max_size=6)


@settings(max_examples=300, deadline=None)
@given(PARAMS)
def test_decoder_reads_back_the_sdk_body_encoding(params: dict[str, Any]) -> None:
    assert decode(sdk_encode(params)) == normalize(params)


@settings(max_examples=200, deadline=None)
@given(PARAMS)
def test_decoder_reads_back_the_sdk_query_encoding(params: dict[str, Any]) -> None:
    assert decode(sdk_query(params)) == normalize(params)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.one_of(KEYS, INT_KEYS), st.text(max_size=30), max_size=10))
def test_metadata_with_integer_like_keys_stays_a_map(meta: dict[str, str]) -> None:
    got = decode(sdk_encode({"metadata": meta}))
    assert got.get("metadata", {}) == meta


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15), max_size=8)
)
def test_curl_style_appends_read_like_indexed_arrays(values: list[str]) -> None:
    curl = "&".join(f"expand[]={quote(v)}" for v in values)
    indexed = sdk_encode({"expand": values})
    assert decode(curl) == decode(indexed)
    if values:
        assert decode(curl)["expand"] == {str(i): v for i, v in enumerate(values)}


@settings(max_examples=200, deadline=None)
@given(PARAMS)
def test_percent_encoded_and_literal_brackets_decode_alike(params: dict[str, Any]) -> None:
    assert decode(sdk_query(params)) == decode(sdk_encode(params))


@settings(max_examples=200, deadline=None)
@given(PARAMS)
def test_flatten_then_reencode_roundtrips(params: dict[str, Any]) -> None:
    decoded = decode(sdk_encode(params))
    again = "&".join(f"{quote(k, safe='[]')}={quote(v)}" for k, v in flatten(decoded))
    assert decode(again) == decoded
