"""Validate Stripe API response bodies against Stripe's official OpenAPI specs.

The specs come from :mod:`conformance.schema_source`: the whole official files (current
``2026-05-27.dahlia``, v1 + v2; legacy ``2024-04-10``, pre-basil, v1 only, still has usage
records), checked by sha256, from the cache, ``../shared/openapi`` or the package registries.
A whole spec is narrowed on load to the usage-billing paths (``BILLING_PATH_PREFIXES``, the
same cut as the ``shared/openapi`` subsets, which are used as they are when only they are at
hand): component schemas are identical, and the same operations are validated either way.

This module depends only on the standard library, ``jsonschema`` (>= 4.18) and ``referencing``.
Each spec is loaded once per process, on first use (~0.1 s for a whole file), and rewritten once
for JSON Schema Draft 2020-12:

* ``{type: T, nullable: true}`` becomes ``{type: [T, "null"]}``, and ``null`` is added to the enum
  (Stripe's nullable enums omit it, which a strict OpenAPI 3.0 reading would reject);
* a nullable schema without ``type`` (``anyOf`` + ``nullable``) gets a ``{type: "null"}`` branch;
* the ``oneOf`` of v2 error responses becomes ``anyOf`` (a specific v2 error also matches the
  generic ``v2.error``, so ``oneOf`` always fails).

Typical use::

    from conformance.openapi_check import check
    problems = check("GET", "/v1/billing/meters/mtr_1", 200, body, "2025-03-31.basil")
    assert not problems, problems
"""

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .schema_source import SHARED_ENV, SchemaUnavailable, find_spec_dir, how_to_get, locate

__all__ = [
    "BILLING_PATH_PREFIXES",
    "CURRENT_SUBSET",
    "ENV_VAR",
    "LEGACY_SUBSET",
    "SchemaValidator",
    "SpecNotFound",
    "UnknownOperation",
    "check",
    "find_spec_dir",
    "in_billing_scope",
    "is_legacy_version",
    "validator_for_version",
]

ENV_VAR = SHARED_ENV
CURRENT_SUBSET = "usage-billing-current.json"
LEGACY_SUBSET = "usage-billing-legacy.json"
#: First API version of the "basil" release, which removed usage records and invoices/upcoming.
BASIL_CUTOVER = "2025-03-31"

#: The usage-billing surface, as cut for the subsets (``shared/openapi/README.md``, "What each
#: subset contains"): the paths equal to or under these prefixes. A whole spec is narrowed to them
#: on load, so it validates exactly the operations its subset does (other paths raise
#: UnknownOperation, as with the subsets); component schemas are the same in both.
BILLING_PATH_PREFIXES = (
    "/v1/billing/alerts",
    "/v1/billing/credit_balance_summary",
    "/v1/billing/credit_balance_transactions",
    "/v1/billing/credit_grants",
    "/v1/billing/meter_event_adjustments",
    "/v1/billing/meter_events",
    "/v1/billing/meters",
    "/v1/customers",
    "/v1/events",
    "/v1/invoiceitems",
    "/v1/invoices",
    "/v1/prices",
    "/v1/products",
    "/v1/subscription_items",
    "/v1/subscriptions",
    "/v1/test_helpers/test_clocks",
    "/v1/webhook_endpoints",
    "/v2/billing/meter_event_adjustments",
    "/v2/billing/meter_event_session",
    "/v2/billing/meter_event_stream",
    "/v2/billing/meter_events",
)

_SPEC_URI = "urn:stripe-openapi-spec"
_METHODS = ("get", "post", "delete", "put", "patch")
_VERSION_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.[a-z]+)?$")
_MAX_MESSAGE = 400


class UnknownOperation(LookupError):
    """The (method, path[, status]) combination is not described by the spec."""

    def __init__(self, method: str, path: str, spec: str, detail: str = "") -> None:
        self.method, self.path, self.spec = method, path, spec
        msg = f"{method.upper()} {path} is not an operation in {spec}"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class SpecNotFound(FileNotFoundError):
    """No verified Stripe OpenAPI spec is at hand (see conformance.schema_source)."""


# --------------------------------------------------------------------------- spec rewriting


def _rewrite(schema: Any) -> None:
    """Rewrite one OpenAPI 3.0 schema (and its subschemas) in place for Draft 2020-12."""
    if not isinstance(schema, dict):
        return
    for prop in (schema.get("properties") or {}).values():
        _rewrite(prop)
    for key in ("items", "additionalProperties", "not"):
        _rewrite(schema.get(key))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or ():
            _rewrite(sub)
    if schema.pop("nullable", False) is not True:
        return
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return
    validating = [k for k in schema if k not in ("description", "title") and not k.startswith("x-")]
    if validating == ["anyOf"]:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]
    else:  # generic form, e.g. {$ref, nullable}: move the constraints into a branch
        inner = {k: schema.pop(k) for k in validating}
        schema["anyOf"] = [inner, {"type": "null"}]


def _prepare(doc: dict[str, Any]) -> None:
    """Rewrite every component schema and every response schema of the document in place."""
    for schema in doc.get("components", {}).get("schemas", {}).values():
        _rewrite(schema)
    for item in doc.get("paths", {}).values():
        for method in _METHODS:
            for response in (item.get(method) or {}).get("responses", {}).values():
                for media in (response.get("content") or {}).values():
                    schema = media.get("schema")
                    if isinstance(schema, dict) and "oneOf" in schema and "anyOf" not in schema:
                        schema["anyOf"] = schema.pop("oneOf")
                    _rewrite(schema)


def in_billing_scope(template: str) -> bool:
    """True for a path template of the usage-billing surface (BILLING_PATH_PREFIXES)."""
    return any(template == p or template.startswith(p + "/") for p in BILLING_PATH_PREFIXES)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class _Loaded:
    """A spec parsed and rewritten once; shared by every SchemaValidator on the same file."""

    doc: dict[str, Any]
    registry: Registry
    # template -> tuple of segments (None for a {param} segment), bucketed by segment count
    templates: dict[int, list[tuple[str, tuple[str | None, ...]]]]
    validators: dict[str, Draft202012Validator] = field(default_factory=dict)


_LOADED: dict[Path, _Loaded] = {}
_LOCK = threading.Lock()


def _load(spec_file: Path) -> _Loaded:
    with _LOCK:
        loaded = _LOADED.get(spec_file)
        if loaded is None:
            with spec_file.open(encoding="utf-8") as fh:
                doc = json.load(fh)
            paths = doc.get("paths", {})
            doc["paths"] = {t: item for t, item in paths.items() if in_billing_scope(t)}
            _prepare(doc)
            registry: Registry = Registry().with_resource(
                _SPEC_URI, DRAFT202012.create_resource(doc)
            )
            templates: dict[int, list[tuple[str, tuple[str | None, ...]]]] = {}
            for template in doc.get("paths", {}):
                segs = tuple(
                    None if s.startswith("{") and s.endswith("}") else s
                    for s in template.strip("/").split("/")
                )
                templates.setdefault(len(segs), []).append((template, segs))
            for bucket in templates.values():  # literal segments first, leftmost first
                bucket.sort(key=lambda t: tuple(s is None for s in t[1]))
            loaded = _LOADED[spec_file] = _Loaded(doc, registry, templates)
        return loaded


# --------------------------------------------------------------------------- validation


def _format_error(err: ValidationError) -> str:
    msg = f"{err.json_path}: {err.message}"
    if err.validator in ("anyOf", "oneOf") and err.context:
        closest = best_match(err.context)
        if closest is not None:
            msg = (
                f"{err.json_path}: matches none of the allowed schemas; "
                f"closest: {closest.json_path}: {closest.message}"
            )
    return msg if len(msg) <= _MAX_MESSAGE else msg[: _MAX_MESSAGE - 1] + "…"


class SchemaValidator:
    """Validates response bodies against one OpenAPI spec file (whole or subset).

    The file is parsed and rewritten on first use and cached per process (shared by every
    instance built on the same file).
    """

    def __init__(self, spec_file: str | os.PathLike[str]) -> None:
        self.spec_file = Path(spec_file).resolve()
        self.name = self.spec_file.name
        self._loaded: _Loaded | None = None

    def __repr__(self) -> str:
        return f"SchemaValidator({str(self.spec_file)!r})"

    @property
    def _spec(self) -> _Loaded:
        if self._loaded is None:
            if not self.spec_file.is_file():
                raise SpecNotFound(f"OpenAPI spec not found: {self.spec_file}")
            self._loaded = _load(self.spec_file)
        return self._loaded

    @property
    def api_version(self) -> str:
        """``info.version`` of the spec, e.g. ``2026-05-27.dahlia``."""
        return str(self._spec.doc.get("info", {}).get("version", ""))

    def load(self) -> "SchemaValidator":
        """Force loading now (otherwise it happens on first use). Returns self."""
        self._spec  # noqa: B018
        return self

    def match_path(self, path: str) -> str | None:
        """Return the spec path template matching a concrete path, or None.

        Literal segments beat ``{param}`` segments, leftmost first, so ``/v1/invoices/upcoming``
        matches ``/v1/invoices/upcoming`` rather than ``/v1/invoices/{invoice}``.
        """
        segs = _split_path(path)
        for template, pattern in self._spec.templates.get(len(segs), ()):
            if all(s if p is None else p == s for p, s in zip(pattern, segs, strict=True)):
                return template
        return None

    def schema_pointer(self, method: str, path: str, status: int) -> str:
        """JSON pointer (inside the spec) to the response schema for (method, path, status)."""
        template = self.match_path(path)
        if template is None:
            raise UnknownOperation(method, path, self.name, "no matching path template")
        operation = self._spec.doc["paths"][template].get(method.lower())
        if not isinstance(operation, dict):
            raise UnknownOperation(method, path, self.name, f"{template} has no {method.upper()}")
        responses = operation.get("responses", {})
        key = str(status)
        if key not in responses:
            key = "200" if 200 <= status < 300 else "default"
        if key not in responses:
            raise UnknownOperation(
                method, path, self.name, f"no response schema for status {status}"
            )
        content = responses[key].get("content", {}).get("application/json")
        if not content or "schema" not in content:
            raise UnknownOperation(method, path, self.name, f"response {key} has no JSON schema")
        parts = ("paths", template, method.lower(), "responses", key, "content", "application/json")
        return "#/" + _pointer(*parts, "schema")

    def validate(
        self, method: str, path: str, status: int, body: Any, *, strict_extra: bool = False
    ) -> list[str]:
        """Return human-readable violations of the body against the response schema (empty = valid).

        Raises UnknownOperation when (method, path) is not in the spec. With ``strict_extra``,
        also reports fields of the top-level object (and of ``data`` items of list bodies) that the
        schema does not declare; the spec itself allows unknown fields in v1 resources.
        """
        spec = self._spec
        pointer = self.schema_pointer(method, path, status)
        validator = spec.validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator({"$ref": _SPEC_URI + pointer}, registry=spec.registry)
            spec.validators[pointer] = validator
        errors = sorted(validator.iter_errors(body), key=lambda e: (e.json_path, e.message))
        problems = [_format_error(e) for e in errors]
        if strict_extra:
            problems.extend(self._extra_fields(pointer, body))
        return problems

    def _resolve(self, schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            node: Any = self._spec.doc
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
        return schema

    def _object_schemas(self, schema: Any) -> Iterator[dict[str, Any]]:
        schema = self._resolve(schema)
        if not isinstance(schema, dict):
            return
        if "properties" in schema:
            yield schema
        for sub in schema.get("anyOf", ()):
            yield from self._object_schemas(sub)

    def _pick(self, schema: Any, obj: dict[str, Any]) -> dict[str, Any] | None:
        candidates = list(self._object_schemas(schema))
        same = [c for c in candidates if obj.get("object") in _enum(c["properties"].get("object"))]
        # e.g. customer vs deleted_customer: both "customer"; the one knowing most keys wins
        return min(
            same or candidates, key=lambda c: len(obj.keys() - c["properties"]), default=None
        )

    def _extra_fields(self, pointer: str, body: Any) -> list[str]:
        if not isinstance(body, dict) or "object" not in body:
            return []
        top = self._pick(self._resolve({"$ref": pointer}), body)
        if top is None:
            return []
        out = _unknown_keys("$", body, top)
        data = body.get("data")
        if body.get("object") in ("list", "search_result") and isinstance(data, list):
            items = (top["properties"].get("data") or {}).get("items")
            for i, item in enumerate(data):
                chosen = self._pick(items, item) if isinstance(item, dict) else None
                if chosen is not None:
                    out.extend(_unknown_keys(f"$.data[{i}]", item, chosen))
        return out


def _unknown_keys(where: str, obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    label = schema.get("x-resourceId") or schema.get("title") or obj.get("object")
    known = schema["properties"]
    return [
        f"{where}: unexpected field {key!r} (not in the {label} schema)"
        for key in obj
        if key not in known
    ]


def _enum(schema: Any) -> list[Any]:
    return list(schema.get("enum", ())) if isinstance(schema, dict) else []


def _split_path(path: str) -> tuple[str, ...]:
    if "://" in path:
        path = urlsplit(path).path
    path = path.split("?", 1)[0].split("#", 1)[0]
    return tuple(path.strip("/").split("/"))


# --------------------------------------------------------------------------- version selection

_BY_FILE: dict[Path, SchemaValidator] = {}


def _validator(spec_file: Path) -> SchemaValidator:
    spec_file = spec_file.resolve()
    with _LOCK:
        return _BY_FILE.setdefault(spec_file, SchemaValidator(spec_file))


def is_legacy_version(api_version: str | None) -> bool:
    """True for API versions before 2025-03-31 (acacia and earlier). None/"" count as current."""
    if not api_version:
        return False
    match = _VERSION_RE.match(api_version.strip())
    if match is None:
        raise ValueError(f"not a Stripe API version: {api_version!r}")
    return match.group(1) < BASIL_CUTOVER


def validator_for_version(api_version: str | None, path: str = "") -> SchemaValidator | None:
    """The validator for an API version: the legacy spec before basil, the current one otherwise.

    Any ``/v2/`` path uses the current spec (v2 is absent from the legacy one). Returns None when
    the needed spec is not at hand (neither cached nor in ``../shared/openapi``); this never
    downloads: ``schema_source.ensure()`` (or ``python -m conformance setup``) does.
    """
    is_v2 = _split_path(path)[0] == "v2" if path else False
    legacy = is_legacy_version(api_version) and not is_v2
    try:
        found = locate("legacy" if legacy else "current")
    except SchemaUnavailable:
        return None
    return None if found is None else _validator(found.path)


def check(
    method: str,
    path: str,
    status: int,
    body: Any,
    api_version: str | None,
    *,
    strict_extra: bool = False,
) -> list[str]:
    """Validate one response with the spec matching ``api_version``; returns violation messages.

    Raises SpecNotFound when the spec is not at hand (so a missing spec never passes silently)
    and UnknownOperation for unknown operations.
    """
    validator = validator_for_version(api_version, path)
    if validator is None:
        raise SpecNotFound("Stripe's OpenAPI schema is not available. " + how_to_get())
    return validator.validate(method, path, status, body, strict_extra=strict_extra)
