"""The figures a bench script measured, saved for the docs: one source for docs/benchmarks.md.

A bench script prints its figures as before and also calls `record` for each of them. When the
script exits normally (or calls `save()`), its figures are written to
`bench/results/<script name>.json` together with the command, the date (UTC), the Python version,
`os.cpu_count()`, the load average at start and at end, and the machine note. Then
`python bench/report.py` regenerates docs/benchmarks.md, the only page that quotes figures;
tests/docs/test_benchmarks_page.py fails while that page is stale, and fails for any
`bench/bench_*.py` that records nothing.

Adopting it in a new bench script (`bench/` is on `sys.path` when a script in it runs):

    from _results import record

    def row(label, value, unit, target=None):          # the script's existing printer
        ok = None if target is None else value <= target
        print(f"  {label:<40} {value:10.3f} {unit}")   # printing stays as it was
        record(label, value, unit, target=None if target is None else f"<= {target:g} {unit}",
               ok=ok)

- `label` says what was measured, with the sizes that matter ("v1 meter events, 4 clients");
  whitespace is collapsed, so aligned print labels can be passed as they are.
- `target` is shown as written ("<= 5 ms", ">= 3,000 req/s"); `ok` is the script's own verdict
  (True: OK, False: MISSED, None: no verdict).
- Set `BENCH_MACHINE_NOTE` to describe the machine (e.g. "2-core VM shared with test runs");
  otherwise the platform and CPU model are noted.
- A script that exits through an uncaught exception saves nothing, so a crash does not replace
  the last complete results; a process that records nothing (a helper subprocess) writes
  nothing.
"""

from __future__ import annotations

import atexit
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

_pid = os.getpid()
_started = datetime.datetime.now(datetime.UTC)
_started_perf = time.perf_counter()
_load_start = os.getloadavg()
_figures: list[dict[str, Any]] = []
_dirty = False
_failed = False


def record(
    label: str,
    value: float,
    unit: str,
    target: str | None = None,
    ok: bool | None = None,
) -> None:
    """Collect one figure of the running script (saved at exit, or by `save()`)."""
    global _dirty
    _figures.append(
        {
            "label": " ".join(label.split()),
            "value": float(value),
            "unit": unit,
            "target": target,
            "ok": None if ok is None else bool(ok),
        }
    )
    _dirty = True


def script_name() -> str:
    """The running script's file name (`bench_modes.py`)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv else "")
    return Path(path).name or "interactive"


def command() -> str:
    """The command as run from the repository root."""
    return shlex.join(["python", f"bench/{script_name()}", *sys.argv[1:]])


def machine_note() -> str:
    """`BENCH_MACHINE_NOTE`, else the platform and CPU model."""
    note = os.environ.get("BENCH_MACHINE_NOTE", "").strip()
    if note:
        return note
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return ", ".join(part for part in (platform.platform(terse=True), model) if part)


def save() -> Path | None:
    """Write bench/results/<script>.json with the figures so far; None when nothing recorded."""
    global _dirty
    if not _figures or os.getpid() != _pid:
        return None
    stem = Path(script_name()).stem
    data = {
        "script": script_name(),
        "command": command(),
        "date": _started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(time.perf_counter() - _started_perf, 1),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in _load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "machine": machine_note(),
        "figures": _figures,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{stem}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    _dirty = False
    return path


def _excepthook(*args: Any) -> None:
    global _failed
    _failed = True
    _previous_excepthook(*args)


def _at_exit() -> None:
    if _failed or not _dirty or os.getpid() != _pid:
        return
    path = save()
    if path is not None:  # stderr: the script's printed lines stay exactly as they were
        print(f"figures saved to {path.relative_to(RESULTS_DIR.parents[1])}", file=sys.stderr)


_previous_excepthook = sys.excepthook
sys.excepthook = _excepthook
atexit.register(_at_exit)
