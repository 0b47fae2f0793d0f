"""The ``batch`` subcommand."""

from __future__ import annotations

import argparse
import sys


def _cmd_batch(args: argparse.Namespace) -> int:
    from nsv_eval.batch.runner import run_batch

    executor = args.executor or ("dask" if args.scheduler else "local")
    res = run_batch(
        args.study,
        args.kommuner,
        data_dir=args.data,
        out_dir=args.out,
        jobs=args.jobs,
        executor=executor,
        scheduler=args.scheduler,
        resume=args.resume,
        params_dir=args.params_dir,
        shared_dir=args.shared,
        notebook_dir=args.notebooks,
        timeout=args.timeout,
        progress=not args.no_progress,
        pdf=args.pdf,
        lang=args.lang,
    )
    t = res.tasks
    n_skip = int((t["action"] == "skipped").sum())
    print(
        f"nsv-eval batch: {len(res.succeeded)} of {len(t)} report(s) ok"
        + (f" ({n_skip} up to date, skipped)" if n_skip else "")
        + f" in {res.seconds:.0f} s; log {res.log}"
    )
    if res.index is not None:
        print(f"overview: {res.index}")
    else:
        print(
            f"overview NOT published: {len(res.index_findings)} disclosure problem(s):",
            file=sys.stderr,
        )
        for f in res.index_findings[:20]:
            print(f"  {f}", file=sys.stderr)
    if res.key_results is not None:
        print(f"key results (kommune x study) in Excel: {res.key_results}")
    if args.pdf:
        print(f"PDFs beside the reports: {res.out_dir}/<kommune>/<NN_study>.pdf")
    table = res.failure_table()
    if table:
        print(table, file=sys.stderr)
        print("Fix the causes, then re-run only these with --resume.", file=sys.stderr)
    return res.exit_code


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand."""
    p = subparsers.add_parser(
        "batch",
        help="run study reports for many kommuner in parallel (local pool or dask)",
        description=(
            "Run study notebooks for many kommuner in parallel: validate every kommune's "
            "parameters first (a bad override fails that kommune only), compute the national "
            "preparation once, execute the notebooks on a local process pool or a dask "
            "cluster, and write <out>/<kommune>/ reports, a log, a state file for --resume, "
            "batch-stamp.json and the overview <out>/index.html. Exit status 1 if any report "
            "failed."
        ),
    )
    p.add_argument(
        "--study", default="all", help="'all' or study names, comma-separated (default: all)"
    )
    p.add_argument(
        "--kommuner",
        required=True,
        help="'all', 'region:1085' (or region:Sjælland) and/or kommune codes, e.g. 326,580",
    )
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: cores)")
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default=None,
        help="local process pool (default) or a dask.distributed cluster",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of an existing dask scheduler (implies --executor dask); without it "
        "--executor dask starts a LocalCluster with --jobs worker processes",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="run only what is missing, failed or out of date (data, parameters, notebook "
        "or nsv-eval version changed)",
    )
    p.add_argument("--data", default="data/prepared", help="prepared data (default: %(default)s)")
    p.add_argument("--out", default="reports", help="reports root (default: %(default)s)")
    p.add_argument(
        "--params",
        "--params-dir",
        dest="params_dir",
        default=None,
        metavar="DIR",
        help="directory with defaults.yaml and kommuner/<code>.yaml (default: ./params)",
    )
    p.add_argument(
        "--shared",
        default=None,
        metavar="DIR",
        help="cache of the shared national preparation (default: <out>/.shared)",
    )
    p.add_argument(
        "--notebooks",
        default=None,
        metavar="DIR",
        help="directory of the study notebooks (default: notebooks/ of nsv-eval)",
    )
    p.add_argument("--timeout", type=float, default=None, help="per-cell time limit in seconds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print every report to <NN_study>.pdf (A4, headless Chromium)",
    )
    p.add_argument(
        "--lang",
        choices=("da", "en"),
        default=None,
        help="report language of every kommune (overrides the 'lang' parameter); studies "
        "not yet translated refuse English before anything runs",
    )
    p.set_defaults(func=_cmd_batch)
