"""Emulator-only endpoints: `/healthz` and the `/_mock/*` control API (never under /v1 or /v2)."""

from __future__ import annotations

from flask import Blueprint

from . import __version__
from .wire.render import json_response

control = Blueprint("control", __name__)


@control.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Liveness probe, no auth."""
    return json_response({"status": "ok", "version": __version__})
