"""The test session's schema gate: response validation that cannot switch itself off.

`tests/conftest.py` builds one `SchemaGate` per pytest process. Every response a
`ValidatingClient` sees asks the gate for its validator; the first ask obtains Stripe's official
OpenAPI specs (`conformance.schema_source.ensure`: cache, `../shared/openapi`, else PyPI + npm
once). When they cannot be had, the gate says why and how to get them, and the session fails.
The only way around is the explicit opt-out: `--no-schema` or `STRIPE_MOCK_BILLING_NO_SCHEMA=1`.

At the end the session prints how many responses were validated; with `CI=true` a run that
validated none fails (unless opted out). Under pytest-xdist each worker counts its own responses
and the controller adds them up (`to_output` / `merge`).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from conformance import schema_source
from conformance.openapi_check import SchemaValidator, validator_for_version
from conformance.schema_source import NO_SCHEMA_ENV, SchemaUnavailable

__all__ = ["OUTPUT_KEY", "SchemaGate", "SchemaUnavailable"]

OUTPUT_KEY = "stripe_mock_billing_schema"
_TRUE = ("1", "true", "yes", "on")


class SchemaGate:
    """Obtains the specs on first use, hands out validators, counts validated responses."""

    def __init__(self, *, opt_out: str | None, ci: bool) -> None:
        self.opt_out = opt_out  # why validation is off ("--no-schema", ...), None when it is on
        self.ci = ci
        self.validated = 0
        self.versions: set[str] = set()
        self.error: str | None = None
        self.log: list[str] = []  # what obtaining the specs did (fetches, unpacking)
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, no_schema_option: bool = False) -> SchemaGate:
        """A gate for this process: the opt-out from the option or the environment, CI from $CI."""
        opt_out = None
        if no_schema_option:
            opt_out = "--no-schema"
        elif schema_source.opted_out():
            opt_out = f"{NO_SCHEMA_ENV}={os.environ.get(NO_SCHEMA_ENV, '').strip()}"
        ci = os.environ.get("CI", "").strip().lower() in _TRUE
        return cls(opt_out=opt_out, ci=ci)

    # ----------------------------------------------------------------- obtaining and counting

    def ensure(self) -> None:
        """Obtain both specs (fetching once if needed); SchemaUnavailable when impossible."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if self.error is not None:
                raise SchemaUnavailable(self.error)
            try:
                schema_source.ensure(fetch=True, log=self.log.append)
            except SchemaUnavailable as exc:
                self.error = str(exc)
                raise
            self._ready = True

    def validator(self, api_version: str | None, path: str) -> SchemaValidator | None:
        """The validator for a response; None only when opted out. Raises SchemaUnavailable."""
        if self.opt_out:
            return None
        self.ensure()
        validator = validator_for_version(api_version, path)
        if validator is None:  # vanished after ensure(): never pass silently
            self.error = f"the spec for {api_version} {path} vanished. {schema_source.how_to_get()}"
            raise SchemaUnavailable(self.error)
        return validator

    def counted(self, validator: SchemaValidator) -> None:
        """One more response validated with ``validator``."""
        with self._lock:
            self.validated += 1
            self.versions.add(validator.api_version)

    # ----------------------------------------------------------------- xdist

    def to_output(self) -> dict[str, Any]:
        """What a worker sends to the controller."""
        return {
            "validated": self.validated,
            "versions": sorted(self.versions),
            "error": self.error,
            "log": list(self.log),
        }

    def merge(self, data: dict[str, Any] | None) -> None:
        """Add a worker's counts."""
        if not data:
            return
        with self._lock:
            self.validated += int(data.get("validated") or 0)
            self.versions.update(data.get("versions") or ())
            self.error = self.error or data.get("error")
            self.log.extend(line for line in data.get("log") or () if line not in self.log)

    # ----------------------------------------------------------------- the verdict

    def failure(self) -> str | None:
        """Why the session must fail (None when it need not)."""
        if self.opt_out:
            return None
        if self.error:
            return self.error
        if self.ci and self.validated == 0:
            return (
                "CI=true and 0 responses were validated against Stripe's OpenAPI schema: "
                "schema validation must not switch itself off in CI "
                f"(opt out explicitly with --no-schema or {NO_SCHEMA_ENV}=1)"
            )
        return None

    def summary(self) -> list[tuple[str, bool]]:
        """Lines for the end of the session, each with `is it bad`."""
        lines = [(f"schema: {line}", False) for line in self.log]
        n = self.validated
        noun = "response" if n == 1 else "responses"
        if self.opt_out:
            lines.append(
                (
                    f"schema: validation OFF ({self.opt_out}): {n:,} {noun} validated against "
                    "Stripe's OpenAPI",
                    True,
                )
            )
            return lines
        versions = sorted(self.versions, reverse=True)  # current first
        what = f" ({', '.join(versions)})" if versions else ""
        lines.append((f"schema: {n:,} {noun} validated against Stripe's OpenAPI{what}", n == 0))
        reason = self.failure()
        if reason:
            lines.append((f"schema: FAILED: {reason}", True))
        return lines
