"""Decoder for Stripe's form encoding with bracket nesting (v1 bodies and query strings).

`a[b][c]=1`, `items[0][price]=x`, `expand[]=customer`, `metadata[0]=x` all decode into nested
dicts whose keys are always strings; `a[]` appends under the next free integer key. Whether a
dict with integer keys is a list (items, expand) or a map (metadata with numeric keys) is decided
later by the typed parameter spec, because only the endpoint knows. Written by hand because
generic decoders turn integer-keyed metadata into lists and mangle `[]`.

Rules: percent-encoded and literal brackets are both accepted; `+` is a space; a repeated key
without brackets keeps the last value (unverified); mixing a scalar and a nested value under one
key, more than `MAX_DEPTH` levels, malformed brackets, a pair with an empty name (`=x`) or
non-UTF-8 are 400 errors. Work is linear in the body's size: every limit (pairs, key length,
depth, value length; limits.py) is checked on the raw bytes before anything is decoded.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from ..errors import InvalidRequest
from ..limits import MAX_FORM_DEPTH, MAX_FORM_PAIRS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH

Node = str | dict[str, "Node"]
MAX_DEPTH = MAX_FORM_DEPTH
MAX_KEYS = MAX_FORM_PAIRS
# a character takes at most 12 raw bytes (`%F0%9F%98%80`): raw lengths past these are too long
_RAW_KEY_MAX = 12 * MAX_KEY_LENGTH
_RAW_VALUE_MAX = 12 * MAX_VALUE_LENGTH
# raw bytes of a key's start that hold its first 101 characters, for `_too_long`'s message
_RAW_HEAD = 12 * 101


def _decode_component(raw: bytes) -> str:
    data = raw if b"%" not in raw and b"+" not in raw else unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8() from None


def _not_utf8() -> InvalidRequest:
    return InvalidRequest("Invalid request: the request body or query string is not valid UTF-8.")


# raw (percent-encoded) parameter name -> its decoded form: names repeat from request to
# request (`payload%5Bvalue%5D`), so each is unquoted once; bounded
_KEYS: dict[bytes, str] = {}
# decoded name -> `split_key`'s parts (read, never changed, by `_insert`); bounded
_PARTS: dict[str, list[str]] = {}


def split_key(key: str) -> list[str]:
    """`items[0][price]` -> `['items', '0', 'price']`; `expand[]` -> `['expand', '']`."""
    head, bracket, _ = key.partition("[")
    if not bracket:
        return [key]
    if not head:
        raise InvalidRequest(f"Invalid parameter name: {_short(key)}")
    if key.count("[") >= MAX_DEPTH:  # before any splitting: linear in the key's length
        raise _too_deep(head)
    parts = [head]
    pos = len(head)
    end = len(key)
    while pos < end:  # one pass, no re-slicing of the rest
        if key[pos] != "[":
            raise InvalidRequest(f"Invalid parameter name: {_short(key)}")
        close = key.find("]", pos + 1)
        if close < 0:
            raise InvalidRequest(f"Invalid parameter name: {_short(key)}")
        parts.append(key[pos + 1 : close])
        pos = close + 1
    return parts


def _short(text: str) -> str:
    """A key as quoted in an error message (an absurd one is cut)."""
    return text if len(text) <= 100 else text[:100] + "..."


def _too_deep(head: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid parameter name: {_short(head)} is nested more than {MAX_DEPTH} levels deep."
    )


def _insert(root: dict[str, Node], key: str, value: str) -> None:
    parts = _PARTS.get(key)
    if parts is None:
        parts = split_key(key)
        if len(_PARTS) < 4096 and len(key) <= 256:
            _PARTS[key] = parts
    last = len(parts) - 1
    if not last:  # a name without brackets
        if isinstance(root.get(key), dict):
            raise _both(parts, 0)
        root[key] = value
        return
    node: dict[str, Node] = root
    # `parts` with each `[]` replaced by the index it took (copied on the first: `parts` is
    # shared through _PARTS), for the name an error quotes
    names = parts
    for i in range(last):  # the hashes on the way down
        part = parts[i]
        if not part and i:
            part = str(len(node))
            names = names.copy() if names is parts else names
            names[i] = part
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        elif isinstance(child, str):
            raise _both(names, i)
        node = child
    part = parts[last]
    if not part and last:
        part = str(len(node))
        names = names.copy() if names is parts else names
        names[last] = part
    if isinstance(node.get(part), dict):
        raise _both(names, last)
    node[part] = value


def _both(names: list[str], i: int) -> InvalidRequest:
    """400 for a key given both as a value and as a hash, named up to its `i`-th part."""
    path = names[0] + "".join(f"[{p}]" for p in names[1 : i + 1])
    return InvalidRequest(
        f"Invalid value for {path}: it is given both as a value and as a hash.", param=path
    )


def decode(raw: bytes | str) -> dict[str, Node]:
    """Decode a form body or query string into nested string-keyed dicts."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    root: dict[str, Node] = {}
    if not raw:
        return root
    if raw.count(b"&") >= MAX_KEYS:  # counted before splitting: no list of a million pairs
        raise InvalidRequest(f"Invalid request: more than {MAX_KEYS} parameters.")
    if b"%" not in raw and b"+" not in raw:  # nothing to unquote: the common case
        done = _decode_plain(raw, root)
        if done:
            return root
        root.clear()
    if len(raw) <= _SPLIT_MAX:
        _decode_split(raw, root)
        return root
    pos, size = 0, len(raw)
    while pos <= size:  # pair by pair, lengths checked before anything is copied
        amp = raw.find(b"&", pos)
        end = size if amp < 0 else amp
        if end > pos:
            eq = raw.find(b"=", pos, end)
            key_end = end if eq < 0 else eq
            if key_end - pos > _RAW_KEY_MAX or (eq >= 0 and end - eq - 1 > _RAW_VALUE_MAX):
                _too_long(raw[pos : min(key_end, pos + _RAW_HEAD)], key_end - pos)
            key = _name(raw[pos:key_end])
            value = _decode_component(raw[eq + 1 : end]) if eq >= 0 else ""
            if len(key) > MAX_KEY_LENGTH or len(value) > MAX_VALUE_LENGTH:
                _check_lengths(key, value)
            _insert(root, key, value)
        if amp < 0:
            break
        pos = amp + 1
    return root


# bodies up to this size are split into pairs at once (a copy of at most this much); larger
# ones are walked pair by pair without copying
_SPLIT_MAX = 64 * 1024


def _decode_split(raw: bytes, root: dict[str, Node]) -> None:
    """`decode`'s general path for a small body: the same checks in the same order."""
    known = _KNOWN
    for chunk in raw.split(b"&"):
        if not chunk:
            continue  # an empty pair (`&&`) is skipped
        raw_key, eq, raw_value = chunk.partition(b"=")
        hit = known.get(raw_key)
        if hit is None:  # a name not seen before, or one that fails a check: every check
            _pair(root, raw_key, eq, raw_value)
            continue
        # a name that passed every check of its own before (decoded, split, not too long)
        if eq and len(raw_value) > _RAW_VALUE_MAX:
            _too_long(raw_key[:_RAW_HEAD], len(raw_key))
        key, parts = hit
        if b"%" in raw_value or b"+" in raw_value:
            value = _decode_component(raw_value)
        else:  # `_decode_component` without the unquoting (an empty value too)
            try:
                value = raw_value.decode("utf-8")
            except UnicodeDecodeError:
                raise _not_utf8() from None
        if len(value) > MAX_VALUE_LENGTH:
            _check_lengths(key, value)
        if len(parts) == 1:  # `name`
            if isinstance(root.get(key), dict):
                raise _both(parts, 0)
            root[key] = value
        elif len(parts) == 2 and parts[1]:  # `name[field]`, as `_insert` sets it
            head, field = parts
            node = root.get(head)
            if node is None:
                root[head] = {field: value}
            elif isinstance(node, str):
                raise _both(parts, 0)
            elif isinstance(node.get(field), dict):
                raise _both(parts, 1)
            else:
                node[field] = value
        else:
            _insert(root, key, value)


# raw (percent-encoded) parameter name -> (its decoded form, `split_key`'s parts), for names
# that passed every check of their own once (UTF-8, not empty, not too long, well-formed
# brackets, not too deep): `_decode_split` then only checks the value; bounded
_KNOWN: dict[bytes, tuple[str, list[str]]] = {}


def _name(raw_key: bytes) -> str:
    """A pair's name decoded (through `_KEYS`); 400 for an empty one."""
    key = _KEYS.get(raw_key)
    if key is None:
        key = _decode_component(raw_key)
        if len(_KEYS) < 4096 and len(raw_key) <= 256:
            _KEYS[raw_key] = key
    if not key:
        # `=x`: Stripe has no parameter without a name (an empty pair `&&` is skipped)
        raise InvalidRequest("Invalid parameter name: a parameter has an empty name.")
    return key


def _pair(root: dict[str, Node], raw_key: bytes, eq: bytes, raw_value: bytes) -> None:
    """One pair with every check, in `decode`'s order; remembers a name that passes them."""
    if len(raw_key) > _RAW_KEY_MAX or (eq and len(raw_value) > _RAW_VALUE_MAX):
        _too_long(raw_key[:_RAW_HEAD], len(raw_key))
    key = _name(raw_key)
    value = _decode_component(raw_value) if eq else ""
    if len(key) > MAX_KEY_LENGTH or len(value) > MAX_VALUE_LENGTH:
        _check_lengths(key, value)
    _insert(root, key, value)
    parts = _PARTS.get(key)  # `_insert` split it (and kept the parts, for a short name)
    if parts is not None and len(raw_key) <= 256 and len(_KNOWN) < 4096:
        _KNOWN[raw_key] = (key, parts)


def _decode_plain(raw: bytes, root: dict[str, Node]) -> bool:
    """`decode` of a body with no `%` or `+`: the same pairs, errors and checks, with no
    unquoting. False (nothing decided) when it is not UTF-8: the general path then reports
    whichever problem comes first."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    for pair in text.split("&"):
        if not pair:
            continue  # an empty pair (`&&`) is skipped
        key, _, value = pair.partition("=")
        if not key:
            raise InvalidRequest("Invalid parameter name: a parameter has an empty name.")
        if len(key) > MAX_KEY_LENGTH or len(value) > MAX_VALUE_LENGTH:
            _check_lengths(key, value)
        if "[" in key:
            _insert(root, key, value)
        elif isinstance(root.get(key), dict):
            raise InvalidRequest(
                f"Invalid value for {key}: it is given both as a value and as a hash.", param=key
            )
        else:
            root[key] = value
    return True


def _too_long(head: bytes, key_len: int) -> None:
    """400 for a pair whose raw (percent-encoded) key or value is past any decoded limit; the
    key is named decoded, as `_check_lengths` names it (`metadata[k]`, not `metadata%5Bk%5D`)."""
    name = _short(unquote_to_bytes(head.replace(b"+", b" ")).decode("utf-8", "replace"))
    if key_len > _RAW_KEY_MAX:
        raise InvalidRequest(
            f"Invalid parameter name: {name} is longer than {MAX_KEY_LENGTH} characters."
        )
    raise InvalidRequest(
        f"Invalid value for {name}: it is longer than {MAX_VALUE_LENGTH} characters.",
        param=name,
    )


def _check_lengths(key: str, value: str) -> None:
    """400 for a decoded key or value over its limit."""
    name = _short(key)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"Invalid parameter name: {name} is longer than {MAX_KEY_LENGTH} characters."
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidRequest(
            f"Invalid value for {name}: it is longer than {MAX_VALUE_LENGTH} characters.",
            param=name,
        )


def flatten(node: Node, prefix: str = "") -> list[tuple[str, str]]:
    """Inverse of `decode` up to ordering: `[('items[0][price]', 'x'), ...]`, sorted."""
    out: list[tuple[str, str]] = []
    if isinstance(node, str):
        return [(prefix, node)]
    for k, v in node.items():
        out.extend(flatten(v, f"{prefix}[{k}]" if prefix else k))
    out.sort()
    return out
