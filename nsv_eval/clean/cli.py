"""The ``prepare`` subcommand: ``nsv-eval prepare --raw DIR --out DIR``."""

from __future__ import annotations

import argparse

from nsv_eval.clean import _db
from nsv_eval.ingest.cli import add_layout_options, add_quality_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "prepare",
        help="ingest every raw extract and build courses, the analysis cube and cohorts",
        description=(
            "Ingest every kind of extract found in --raw (persons, contacts, care, falls, "
            "interventions, rollout, population, survey), chain hospital contacts into "
            "admission courses, flag outcomes, build the analysis cube and the cohorts, and "
            "write manifest.json to --out."
        ),
    )
    p.add_argument("--raw", required=True, help="directory with the raw extracts")
    p.add_argument("--out", required=True, help="output directory (e.g. data/prepared)")
    p.add_argument("--mapping", default=None, help="column-mapping YAML file for ingest")
    p.add_argument(
        "--period",
        nargs=2,
        metavar=("START", "END"),
        default=None,
        help="study period as two ISO dates (first and last day of whole months); "
        "default: the months spanned by the contacts",
    )
    p.add_argument(
        "--memory-limit", default=_db.DEFAULT_MEMORY_LIMIT, help="DuckDB memory limit (4GB)"
    )
    p.add_argument("--threads", type=int, default=_db.DEFAULT_THREADS, help="DuckDB threads")
    add_layout_options(p)
    p.add_argument(
        "--definitions",
        default="official",
        metavar="VARIANTS",
        help="indicator definitions: 'official' (default; hospital stays, the 12-hour rule, "
        "exclusions), 'legacy' (nsv-eval's earlier definitions on chained courses) or "
        "id=variant pairs separated by commas, e.g. readmission=legacy_medical "
        "(list them with `nsv-eval definitions`)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_quality_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from nsv_eval.clean.prepare import prepare
    from nsv_eval.errors import NsvError

    try:
        period = _db.Period.coerce(tuple(args.period)) if args.period else None
    except ValueError as exc:
        raise NsvError(f"--period: {exc}") from exc
    manifest = prepare(
        args.raw,
        args.out,
        mapping=args.mapping,
        progress=not args.quiet,
        period=period,
        memory_limit=args.memory_limit,
        threads=args.threads,
        max_reject_share=args.max_reject_share,
        extract_date=args.extract_date,
        layout=args.format,
        pseudonymised_key=args.pseudonymised_key,
        definitions_choice=_parse_definitions(args.definitions),
    )
    c = manifest["counts"]
    from nsv_eval.ingest.cpr import mask_cpr

    print(
        mask_cpr(
            f"prepared {args.out}: {c['persons']} persons, {c['courses']} courses, "
            f"{c['readmit_index']} index discharges, period {manifest['period']['start']} - "
            f"{manifest['period']['end']}"
        )
    )
    return 0


def _parse_definitions(text: str) -> str | dict[str, str]:
    """``official`` | ``legacy`` | ``id=variant,id=variant`` (a clear error otherwise)."""
    from nsv_eval.errors import NsvError

    text = text.strip()
    if text in ("official", "legacy"):
        return text
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise NsvError(
                f"--definitions: {part!r} is not id=variant (or use 'official' / 'legacy')"
            )
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out
