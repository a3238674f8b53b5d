"""The form decoder's second look at a parameter name (stripe_mock_billing/wire/form.py
`_decode_split`): a percent-encoded body whose names were all checked before takes a shorter
path, which must decode and refuse exactly as the first look does.

Each test starts from empty name caches (`_KNOWN`, `_KEYS`, `_PARTS` replaced for the test), so
the first decode of a body is the first look at its names and the second decode the second,
whatever other tests decoded before."""

from __future__ import annotations

import pytest

from stripe_mock_billing.errors import InvalidRequest
from stripe_mock_billing.wire import form
from stripe_mock_billing.wire.form import decode


@pytest.fixture(autouse=True)
def fresh_name_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(form, "_KNOWN", {})
    monkeypatch.setattr(form, "_KEYS", {})
    monkeypatch.setattr(form, "_PARTS", {})


def _refused(body: bytes) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as exc:
        decode(body)
    return exc.value


def test_a_name_nested_three_levels_decodes_the_same_the_second_time() -> None:
    body = b"a%5Bb%5D%5Bc%5D=1&x=%41"
    assert decode(body) == {"a": {"b": {"c": "1"}}, "x": "A"}
    assert decode(body) == {"a": {"b": {"c": "1"}}, "x": "A"}


def test_a_name_over_256_characters_decodes_the_same_the_second_time() -> None:
    """Names up to 500 characters are accepted (docs/reference/limits.md); one of 300 is not
    kept for the shorter path, and is decoded in full each time."""
    name = "k" * 300
    body = f"{name}%5Bx%5D=1&{name}2=%41".encode()
    expected = {name: {"x": "1"}, name + "2": "A"}
    assert decode(body) == expected
    assert decode(body) == expected


def test_the_names_kept_for_the_shorter_path_are_bounded() -> None:
    """A client sending ever new names cannot grow the server's memory: at most 4,096 raw names
    are kept, counting each spelling of a name (`n7` and its percent-encoded `%6E7`), and the
    ones past that are still decoded (each in full)."""
    for i in range(2_100):
        assert decode(f"n{i}=%41".encode()) == {f"n{i}": "A"}
        assert decode(f"%6E{i}=%42".encode()) == {f"n{i}": "B"}
    assert len(form._KNOWN) <= 4_096
    assert decode(b"%6E2099=%41&n0=%42") == {"n2099": "A", "n0": "B"}


def test_past_4096_names_a_new_name_decodes_the_same_the_second_time() -> None:
    """Once the caches hold 4,096 names, a new one is neither split once and kept nor taken for
    a known one: it is decoded in full, the same each time."""
    for i in range(4_096):
        decode(f"n{i}=%41".encode())
    assert decode(b"late%5Bx%5D=%41&later=1") == {"late": {"x": "A"}, "later": "1"}
    assert decode(b"late%5Bx%5D=%41&later=1") == {"late": {"x": "A"}, "later": "1"}


def test_a_known_name_given_as_a_value_after_a_hash_is_refused() -> None:
    decode(b"a=1&x=%41")  # `a` seen once
    err = _refused(b"a%5Bb%5D=1&a=%41")
    assert err.message == "Invalid value for a: it is given both as a value and as a hash."
    assert (err.status, err.param) == (400, "a")


def test_a_known_hash_name_after_a_value_is_refused() -> None:
    decode(b"a%5Bb%5D=1&x=%41")  # `a[b]` seen once
    err = _refused(b"a=1&a%5Bb%5D=%41")
    assert err.message == "Invalid value for a: it is given both as a value and as a hash."
    assert (err.status, err.param) == (400, "a")


def test_a_known_field_given_as_a_value_after_a_hash_is_refused() -> None:
    decode(b"a%5Bb%5D=1&x=%41")  # `a[b]` seen once
    err = _refused(b"a%5Bb%5D%5Bc%5D=1&a%5Bb%5D=%41")
    assert err.message == "Invalid value for a[b]: it is given both as a value and as a hash."
    assert (err.status, err.param) == (400, "a[b]")
