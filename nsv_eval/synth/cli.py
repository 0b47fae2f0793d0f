"""``nsv-eval synth``: write a synthetic Denmark in the raw layout."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nsv_eval.errors import NsvError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` subcommand."""
    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic Denmark (raw layout + truth.json)",
        description=(
            "Generate a synthetic Denmark in the raw layout (persons, contacts, care, falls, "
            "interventions, rollout.csv, population, survey) with truth.json stating every "
            "planted effect. The same seed and scale give byte-identical files."
        ),
    )
    p.add_argument(
        "--scale",
        type=float,
        default=0.02,
        help="persons per real resident (default 0.02 ≈ 119,000; 1.0 = all of Denmark)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("data/synthetic"),
        help="output directory (default data/synthetic)",
    )
    p.add_argument("--start-year", type=int, default=2010, help="first year (default 2010)")
    p.add_argument("--end-year", type=int, default=2024, help="last year (default 2024)")
    p.add_argument(
        "--layout",
        choices=("nsv", "lpr3", "lpr2"),
        default="nsv",
        help="hospital contacts as the tidy contacts.parquet (nsv, default) or in the "
        "register's layout: lpr3 (kontakter + diagnoser) or lpr2 (lpr_adm + lpr_diag); "
        "prepare them with --format LAYOUT --pseudonymised-key PNR",
    )
    p.add_argument(
        "--full-scale",
        default=None,
        metavar="SELECTION",
        help="kommuner generated at scale 1.0 (real size) whatever --scale says: "
        "region:1085, 326 or 326,330",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``synth``; prints progress (unless --quiet) and a summary."""
    from nsv_eval.synth import generate

    if not args.quiet:
        print(f"nsv-eval synth: scale {args.scale}, seed {args.seed} -> {args.out}", flush=True)
    t0 = time.perf_counter()
    try:
        truth = generate(
            args.out,
            scale=args.scale,
            seed=args.seed,
            start_year=args.start_year,
            end_year=args.end_year,
            progress=not args.quiet,
            layout=args.layout,
            full_scale=args.full_scale,
        )
    except ValueError as exc:
        raise NsvError(str(exc)) from exc
    except OSError as exc:
        raise NsvError(f"cannot write to {args.out}: {exc}") from exc
    c = truth["counts"]
    secs = time.perf_counter() - t0
    print(
        f"Synthetic Denmark {truth['period']['start']} to {truth['period']['end']} "
        f"(scale {truth['scale']}, seed {truth['seed']}):\n"
        f"  persons   {c['persons']:>12,}  ({c['residents_first_day']:,} on the first day, "
        f"{c['births']:,} births, {c['deaths']:,} deaths)\n"
        f"  contacts  {c['contacts']:>12,}  in {c['courses']:,} admission courses\n"
        f"  index discharges {c['index_discharges']:,}, 30-day readmissions "
        f"{c['readmissions_30d']:,}\n"
        f"  survey respondents {c['survey_respondents']:,}\n"
        f"  time {secs:.1f} s; wrote {args.out}/ (truth.json states every planted effect)"
    )
    return 0
