"""The ``nsv-eval`` command line.

Each subcommand lives in the module that owns the idea; that module exposes
``register(subparsers)`` which adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). This file only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nsv_eval import __version__
from nsv_eval.errors import NsvError

# module path -> owner of one or more subcommands (see ARCHITECTURE.md)
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "nsv_eval.synth.cli",  # synth
    "nsv_eval.ingest.cli",  # ingest, schema
    "nsv_eval.clean.cli",  # prepare
    "nsv_eval.report.cli",  # run, check-disclosure
    "nsv_eval.batch",  # batch
    "nsv_eval.definitions.cli",  # definitions
    "nsv_eval.audit",  # audit
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="nsv-eval",
        description="Evaluation workbench for Danish municipal health care.",
    )
    parser.add_argument("--version", action="version", version=f"nsv-eval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for modname in SUBCOMMAND_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:  # a part not built yet in this checkout
            if exc.name and modname.startswith(exc.name):
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nsv-eval``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NsvError as exc:
        from nsv_eval.ingest.cpr import mask_cpr  # no CPR number in any message (paths too)

        print(f"nsv-eval {args.command}: error: {mask_cpr(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
