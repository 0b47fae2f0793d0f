"""The ``ingest`` and ``schema`` subcommands."""

from __future__ import annotations

import argparse
import sys

from nsv_eval.ingest.core import ingest
from nsv_eval.ingest.cpr import mask_cpr
from nsv_eval.ingest.schemas import KIND_ALIASES, KINDS, schema_text


def _run_ingest(args: argparse.Namespace) -> int:
    result = ingest(
        args.kind,
        args.files,
        args.out,
        mapping=args.mapping,
        log=lambda m: print(mask_cpr(m), flush=True),
        layout=args.format,
        pseudonymised_key=args.pseudonymised_key,
    )
    if result.rejected:
        print(
            f"{result.rejected:,} of {result.read:,} rows rejected; see {result.rejects_path}",
            file=sys.stderr,
        )
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    if args.format != "nsv":
        from nsv_eval.ingest.layouts import layout_text

        print(layout_text(args.format))
        return 0
    print(schema_text(args.kind))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ingest`` and ``schema`` to the ``nsv-eval`` command line."""
    kinds = list(KINDS) + list(KIND_ALIASES)
    p = subparsers.add_parser(
        "ingest",
        help="read, validate and pseudonymise one kind of extract",
        description=(
            "Read extracts of one kind (CSV/TSV in Danish conventions, Excel .xlsx, Parquet), "
            "map column names, validate every row, replace CPR numbers by keyed pseudonyms "
            "(key from $NSV_PSEUDO_KEY or $NSV_PSEUDO_KEY_FILE) and write OUT/<table>.parquet, "
            "OUT/rejects-<kind>.csv and OUT/reconciliation.json. Exit code 1 if a file cannot "
            "be read or lacks a required column."
        ),
    )
    p.add_argument("kind", choices=kinds, metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    p.add_argument("files", nargs="+", metavar="FILE", help="input files (concatenated)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--mapping", help="YAML file {kind: {their_name: canonical_name}}")
    from nsv_eval.clean.cli import _layout_args

    _layout_args(p)
    p.set_defaults(func=_run_ingest)

    s = subparsers.add_parser(
        "schema",
        help="show the columns an extract of KIND must have",
        description="Print expected columns, types, whether required, accepted names and meaning.",
    )
    s.add_argument(
        "kind", choices=kinds, metavar="KIND", nargs="?", default="admissions",
        help=f"one of: {', '.join(KINDS)}",
    )  # fmt: skip
    s.add_argument(
        "--format", choices=("nsv", "lpr3", "lpr2"), default="nsv",
        help="show the register layout lpr3 or lpr2 instead of the tidy columns",
    )  # fmt: skip
    s.set_defaults(func=_run_schema)
