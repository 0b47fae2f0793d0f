"""The ``ingest`` and ``schema`` subcommands."""

from __future__ import annotations

import argparse
import sys

from nsv_eval.ingest.core import DEFAULT_MAX_REJECT_SHARE, ingest
from nsv_eval.ingest.cpr import mask_cpr
from nsv_eval.ingest.schemas import KIND_ALIASES, KINDS, schema_text


def _run_ingest(args: argparse.Namespace) -> int:
    result = ingest(
        args.kind,
        args.files,
        args.out,
        mapping=args.mapping,
        log=lambda m: print(mask_cpr(m), flush=True),
        extract_date=args.extract_date,
        max_reject_share=args.max_reject_share,
        layout=args.format,
        pseudonymised_key=args.pseudonymised_key,
    )
    if result.rejected:
        print(
            mask_cpr(
                f"{result.rejected:,} of {result.read:,} rows rejected; see {result.rejects_path}"
            ),
            file=sys.stderr,
        )
    return 0


def _share(text: str) -> float:
    v = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError("give a share between 0 and 1 (or 0%-100%)")
    return v


def add_quality_options(p: argparse.ArgumentParser) -> None:
    """``--max-reject-share`` and ``--extract-date`` (shared by ``ingest`` and ``prepare``)."""
    p.add_argument(
        "--max-reject-share",
        type=_share,
        default=DEFAULT_MAX_REJECT_SHARE,
        metavar="SHARE",
        help="fail (exit 1, after writing everything) when a file has more rejected rows "
        f"than this share (default {DEFAULT_MAX_REJECT_SHARE:g} = "
        # argparse %-formats help texts: the percent sign is written %%
        f"{DEFAULT_MAX_REJECT_SHARE * 100:.0f}%%; 1 = never)",
    )
    p.add_argument(
        "--extract-date",
        default=None,
        metavar="YYYY-MM-DD",
        help="the date the extract was made: later dates are rejected as future_date "
        "(default today)",
    )


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
            "be read or lacks a required column, if OUT holds tables made with another key, "
            "or if more than --max-reject-share of a file's rows are rejected (then the "
            "good rows and the rejects are still written)."
        ),
    )
    p.add_argument("kind", choices=kinds, metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    p.add_argument("files", nargs="+", metavar="FILE", help="input files (concatenated)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--mapping", help="YAML file {kind: {their_name: canonical_name}}")
    add_quality_options(p)
    add_layout_options(p)
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


def add_layout_options(p: argparse.ArgumentParser) -> None:
    """``--format`` and ``--pseudonymised-key`` (shared by ``ingest`` and ``prepare``; moved
    from ``clean/cli.py`` so the ingest CLI does not import the clean layer)."""
    from nsv_eval.ingest.layouts import FORMATS

    p.add_argument(
        "--format",
        choices=FORMATS,
        default="nsv",
        help="layout of the hospital contacts: lpr3 (kontakter + diagnoser), lpr2 "
        "(LPR_ADM + LPR_DIAG) or nsv (the tidy layout; default)",
    )
    p.add_argument(
        "--pseudonymised-key",
        default=None,
        metavar="COLUMN",
        help="a person column that already holds a pseudonym (e.g. PNR on Danmarks "
        "Statistik's research servers): kept as it is, never validated as CPR, never "
        "hashed again; a CPR column of another name is still pseudonymised",
    )
