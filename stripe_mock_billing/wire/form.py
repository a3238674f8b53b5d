"""Decoder for Stripe's form encoding with bracket nesting (v1 bodies and query strings).

`a[b][c]=1`, `items[0][price]=x`, `expand[]=customer`, `metadata[0]=x` all decode into nested
dicts whose keys are always strings; `a[]` appends under the next free integer key. Whether a
dict with integer keys is a list (items, expand) or a map (metadata with numeric keys) is decided
later by the typed parameter spec, because only the endpoint knows. Written by hand because
generic decoders turn integer-keyed metadata into lists and mangle `[]`.

Rules: percent-encoded and literal brackets are both accepted; `+` is a space; a repeated key
without brackets keeps the last value (unverified); mixing a scalar and a nested value under one
key, more than `MAX_DEPTH` levels, malformed brackets or non-UTF-8 are 400 errors.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from ..errors import InvalidRequest

Node = str | dict[str, "Node"]
MAX_DEPTH = 10
MAX_KEYS = 10_000


def _decode_component(raw: bytes) -> str:
    data = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(
            "Invalid request: the request body or query string is not valid UTF-8."
        ) from None


def split_key(key: str) -> list[str]:
    """`items[0][price]` -> `['items', '0', 'price']`; `expand[]` -> `['expand', '']`."""
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    parts = [head]
    rest = "[" + rest
    while rest:
        if not rest.startswith("["):
            raise InvalidRequest(f"Invalid parameter name: {key}")
        close = rest.find("]")
        if close < 0:
            raise InvalidRequest(f"Invalid parameter name: {key}")
        parts.append(rest[1:close])
        rest = rest[close + 1 :]
    if not head:
        raise InvalidRequest(f"Invalid parameter name: {key}")
    return parts


def _insert(root: dict[str, Node], key: str, value: str) -> None:
    parts = split_key(key)
    if len(parts) > MAX_DEPTH:
        raise InvalidRequest(
            f"Invalid parameter name: {parts[0]} is nested more than {MAX_DEPTH} levels deep."
        )
    node: dict[str, Node] = root
    path = parts[0]
    for i, part in enumerate(parts):
        if part == "" and i > 0:
            part = str(len(node))
        last = i == len(parts) - 1
        if i > 0:
            path = f"{path}[{part}]"
        if last:
            if isinstance(node.get(part), dict):
                raise InvalidRequest(
                    f"Invalid value for {path}: it is given both as a value and as a hash.",
                    param=path,
                )
            node[part] = value
        else:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            elif isinstance(child, str):
                raise InvalidRequest(
                    f"Invalid value for {path}: it is given both as a value and as a hash.",
                    param=path,
                )
            node = child


def decode(raw: bytes | str) -> dict[str, Node]:
    """Decode a form body or query string into nested string-keyed dicts."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    root: dict[str, Node] = {}
    if not raw:
        return root
    pairs = raw.split(b"&")
    if len(pairs) > MAX_KEYS:
        raise InvalidRequest(f"Invalid request: more than {MAX_KEYS} parameters.")
    for pair in pairs:
        if not pair:
            continue
        k, _, v = pair.partition(b"=")
        key = _decode_component(k)
        if not key:
            continue
        _insert(root, key, _decode_component(v))
    return root


def flatten(node: Node, prefix: str = "") -> list[tuple[str, str]]:
    """Inverse of `decode` up to ordering: `[('items[0][price]', 'x'), ...]`, sorted."""
    out: list[tuple[str, str]] = []
    if isinstance(node, str):
        return [(prefix, node)]
    for k, v in node.items():
        out.extend(flatten(v, f"{prefix}[{k}]" if prefix else k))
    out.sort()
    return out
