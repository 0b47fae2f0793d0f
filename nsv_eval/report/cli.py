"""Subcommands ``run`` (execute and render the study reports) and ``check-disclosure``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nsv_eval.errors import NsvError


def _cmd_run(args: argparse.Namespace) -> int:
    from nsv_eval.report.render import StudyRun, run_studies

    def progress(r: StudyRun) -> None:
        if r.ok:
            print(f"  ok      {r.study:<26} {r.seconds:5.1f} s  {r.html}")
        else:
            label = "REFUSED" if r.status == "disclosure" else "FAILED"
            print(f"  {label:<7} {r.study:<26} {r.seconds:5.1f} s", file=sys.stderr)
            print("          " + (r.error or "").replace("\n", "\n          "), file=sys.stderr)

    print(f"nsv-eval run: kommune {args.kommune}, data {args.data}, reports under {args.out}")
    runs = run_studies(
        args.study,
        args.kommune,
        data_dir=args.data,
        out_dir=args.out,
        params=args.params,
        params_dir=args.params_dir,
        shared_dir=args.shared,
        timeout=args.timeout,
        progress=progress,
        pdf=args.pdf,
        lang=args.lang,
        jobs=args.jobs,
    )
    ok = [r for r in runs if r.ok]
    where = (Path(args.out) / str(args.kommune)).resolve()
    print(f"{len(ok)} of {len(runs)} report(s) written to {where}/")
    for r in ok:
        print(f"  {r.html}")
    pdfs = [r.pdf for r in ok if r.pdf]
    if pdfs:
        print(f"{len(pdfs)} PDF(s):")
        for p in pdfs:
            print(f"  {p}")
    books = [r.xlsx for r in ok if r.xlsx]
    if books:
        print(f"{len(books)} Excel workbook(s) with the reports' tables:")
        for b in books:
            print(f"  {b}")
    if ok:
        import os

        from nsv_eval.report.disclosure import scan_xlsx
        from nsv_eval.report.workbook import KEY_RESULTS_FILE, write_key_results_xlsx

        jsons = sorted(where.glob("[0-9][0-9]_*.json"))
        key_book = where / KEY_RESULTS_FILE
        staged = write_key_results_xlsx(jsons, where / ".work" / f"staged-{KEY_RESULTS_FILE}")
        problems = scan_xlsx(staged)
        if problems:
            staged.unlink()
            key_book.unlink(missing_ok=True)  # an older workbook must not look current
            print(f"{KEY_RESULTS_FILE} NOT written: disclosure problems:", file=sys.stderr)
            for f in problems[:20]:
                print(f"  {f}", file=sys.stderr)
            return 1
        os.replace(staged, key_book)
        print(f"key results of {len(jsons)} report(s) in Excel: {key_book}")
    if len(ok) < len(runs):
        print(
            f"{len(runs) - len(ok)} stud(y/ies) failed; executed notebooks for debugging are "
            f"in {where / '.work'}/",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from nsv_eval.report.disclosure import SCANNED_SUFFIXES, check_disclosure, report_files

    total = 0
    for p in args.paths:
        if not Path(p).exists():
            raise NsvError(f"{p} does not exist")
        found = check_disclosure(p, threshold=args.threshold)
        files = report_files(p)
        for f in found:
            print(str(f))
        total += len(found)
        if not found:
            kinds = ", ".join(
                f"{sum(f.suffix.lower() == s for f in files)} {s[1:].upper()}"
                for s in SCANNED_SUFFIXES
            )
            print(f"OK: {p} ({kinds} file(s)) passed the disclosure check")
    if total:
        print(f"Disclosure check FAILED: {total} problem(s)", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` and ``check-disclosure`` subcommands."""
    from nsv_eval.report.studies import STUDIES

    p = subparsers.add_parser(
        "run",
        help="execute study notebooks and render Danish HTML reports",
        description=(
            "Execute the study notebooks for one kommune with papermill, render "
            "self-contained HTML reports without code, check them for disclosure problems "
            "and write reports/<kommune>/<NN_study>.html and .json. Studies: "
            + ", ".join(f"{s.name} ({s.number:02d})" for s in STUDIES.values())
            + "."
        ),
    )
    p.add_argument("--kommune", type=int, required=True, help="kommune code, e.g. 326")
    p.add_argument(
        "--study",
        default="all",
        help="study name, comma-separated names, or 'all' (default: all available)",
    )
    p.add_argument("--data", default="data/prepared", help="prepared data (default: %(default)s)")
    p.add_argument("--out", default="reports", help="reports root (default: %(default)s)")
    p.add_argument("--params", default=None, help="extra YAML parameter file merged last")
    p.add_argument(
        "--params-dir",
        default=None,
        help="directory with defaults.yaml and kommuner/ (default: ./params or the package's)",
    )
    p.add_argument(
        "--shared",
        default=None,
        help="directory of shared national preparations (caches) used by batches",
    )
    p.add_argument("--timeout", type=float, default=None, help="per-cell time limit in seconds")
    p.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="worker processes computing the slow national work (study 8) beside the "
        "report kernel (default: %(default)s; 0: the notebooks compute it themselves)",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to <NN_study>.pdf (A4, headless Chromium)",
    )
    p.add_argument(
        "--lang",
        choices=("da", "en"),
        default=None,
        help="report language (overrides the 'lang' parameter; studies not yet translated "
        "refuse English)",
    )
    p.set_defaults(func=_cmd_run)

    c = subparsers.add_parser(
        "check-disclosure",
        help="scan rendered HTML reports for CPR numbers and small counts",
        description=(
            "Scan rendered reports (files, or directories searched recursively for HTML, PDF "
            "and xlsx files) for CPR-like numbers, counts of 1-4 and tables that did not "
            "pass the disclosure layer: HTML pages whole, the text of PDFs (pdftotext) and "
            "every cell of Excel workbooks. Exit status 1 if anything is found."
        ),
    )
    c.add_argument("paths", nargs="+", help="HTML, PDF or xlsx file(s), or directories")
    c.add_argument("--threshold", type=int, default=5, help="smallest count that may be shown")
    c.set_defaults(func=_cmd_check)
