"""Output: the scenario x SDK table with reasons, the JSON report and the final count line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from .driver import Result

CELL = {
    "pass": "pass",
    "fail": "FAIL",
    "xfail": "xfail",
    "xpass": "XPASS",
    "pending": "pending",
    "skipped": "skip",
}


def table(results: list[Result], sdk_names: list[str]) -> str:
    """A fixed-width table: one row per scenario, one column per SDK; reasons listed below."""
    rows: dict[str, dict[str, Result]] = {}
    for r in results:
        rows.setdefault(r.scenario, {})[r.sdk] = r
    notes: list[str] = []
    note_ids: dict[str, int] = {}
    width = max([len(n) for n in rows] + [8])
    colw = max([len(s) for s in sdk_names] + [9])
    lines = ["scenario".ljust(width) + "  " + "  ".join(s.ljust(colw) for s in sdk_names)]
    lines.append("-" * len(lines[0]))
    for name, cells in rows.items():
        parts = []
        for sdk in sdk_names:
            cell = cells.get(sdk)
            if cell is None:
                parts.append("-".ljust(colw))
                continue
            r = cell
            text = CELL[r.status]
            if r.status != "pass" and r.reason:
                key = f"{r.status}: {r.reason}"
                if key not in note_ids:
                    notes.append(key)
                    note_ids[key] = len(notes)
                text += f" [{note_ids[key]}]"
            parts.append(text.ljust(colw))
        lines.append(name.ljust(width) + "  " + "  ".join(parts).rstrip())
    if notes:
        lines.append("")
        lines.append("Reasons:")
        lines.extend(f"  [{i}] {n}" for i, n in enumerate(notes, 1))
    return "\n".join(lines)


def counts(results: list[Result]) -> Counter[str]:
    """Cells per status."""
    return Counter(r.status for r in results)


def summary_lines(results: list[Result]) -> list[str]:
    """The detail line and the final `N passed, M failed` line."""
    c = counts(results)
    detail = (
        f"{c['pass']} passed, {c['fail']} failed, {c['xfail']} xfailed (known emulator bugs), "
        f"{c['xpass']} xpassed, {c['pending']} pending (feature not landed), "
        f"{c['skipped']} skipped; {sum(r.schema_checked for r in results)} responses "
        f"schema-validated"
    )
    extra = {f for r in results for f in r.extra_fields}
    if extra:
        detail += f"; {len(extra)} response fields not in the schema (see the JSON report)"
    return [detail, f"{c['pass']} passed, {c['fail']} failed"]


def write_json(path: Path, results: list[Result], meta: dict[str, Any]) -> None:
    """The machine-readable report."""
    c = counts(results)
    extra = Counter(f for r in results for f in r.extra_fields)
    doc = {
        **meta,
        "summary": {k: c.get(k, 0) for k in CELL},
        # response fields the OpenAPI subset does not declare (allowed; newer API versions add
        # fields): "<subset>: <where>: unexpected field ..." -> number of cells that saw it
        "fields_not_in_schema": dict(sorted(extra.items())),
        "results": [
            {
                "scenario": r.scenario,
                "title": r.title,
                "area": r.area,
                "sdk": r.sdk,
                "status": r.status,
                "reason": r.reason,
                "duration_s": r.duration_s,
                "steps": r.steps,
                "schema_checked": r.schema_checked,
                "notes": r.notes,
                "exchanges": r.exchanges,
                "last_step": r.last_step,
            }
            for r in results
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
