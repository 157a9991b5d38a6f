"""The ``geocover`` command line: ``run``, ``demo``, ``validate``, ``audit``, ``compare``, ``site`` and ``batch``.

Exit codes: 0 success, 1 some batch units failed (the others written), 2 bad input (every problem listed,
nothing written).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import get_args

from geocover import __version__
from geocover.config import SitingConfig
from geocover.errors import InputError
from geocover.render.i18n import LANGS

MODELS = get_args(SitingConfig.model_fields["model"].annotation)
CANDIDATE_RULES = get_args(SitingConfig.model_fields["candidate_rule"].annotation)
METHODS = get_args(SitingConfig.model_fields["method"].annotation)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>)")
    parser.add_argument(
        "--export-network", action="store_true",
        help="add network_nodes and network_edges layers to results.gpkg",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--lenient", action="store_true", help="drop bad facility rows, list them and go on")
    parser.add_argument("--lang", choices=LANGS, help="language of the map and report (default: map.lang, en)")
    parser.add_argument("--offline", action="store_true", help="no base-map tiles: the map needs no network")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``geocover`` command."""
    parser = argparse.ArgumentParser(
        prog="geocover",
        description="Who can reach care, and where to build next: travel-time coverage per zone.",
    )
    parser.add_argument("--version", action="version", version=f"geocover {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a scenario config end to end")
    run.add_argument("config", type=Path, help="scenario YAML file")
    _add_run_options(run)
    demo = commands.add_parser("demo", help="run the embedded Helsinki demo (offline)")
    _add_run_options(demo)
    audit = commands.add_parser("audit", help="audit a scenario against its plan's standards (audit.csv/xlsx)")
    audit.add_argument("config", type=Path, help="scenario YAML file with a standards: section")
    audit.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>)")
    audit.add_argument("--quiet", action="store_true", help="no progress bar")
    audit.add_argument("--parent-plan", help="a preset of the plan above it: also write plan_conflicts.csv")
    audit.add_argument("--lang", choices=LANGS, help="language of the summary printed (default: map.lang, en)")
    compare = commands.add_parser("compare", help="the scenario against its plan: zone tables side by side")
    compare.add_argument("config", type=Path, help="scenario YAML file with a plan: section")
    compare.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>)")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--lang", choices=LANGS, help="language of the summary printed (default: map.lang, en)")
    batch = commands.add_parser("batch", help="every unit (e.g. county) as a Dask task, merged into one output")
    batch.add_argument("config", type=Path, help="scenario YAML file with a batch: section")
    batch.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>)")
    batch.add_argument("--workers", type=int, help="worker processes of the local cluster (default: batch.workers)")
    batch.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    batch.add_argument("--force", action="store_true", help="rerun the units already finished")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    batch.add_argument("--lang", choices=LANGS, help="language of the maps and report (default: map.lang, en)")
    batch.add_argument("--offline", action="store_true", help="no base-map tiles: the maps need no network")
    batch.add_argument("--no-report", action="store_true", help="no print map and report (PDF pages per zone)")
    site = commands.add_parser("site", help="propose new sites; outputs before and after them")
    site.add_argument("config", type=Path, help="scenario YAML file (a siting: section is optional)")
    site.add_argument("--model", choices=MODELS, help="mclp, lscp, pmedian or ambulance (default: siting.model)")
    site.add_argument("--k", type=int, help="number of new sites (mclp, pmedian, ambulance)")
    site.add_argument("--target-share", type=float, help="share of people to cover, 0-1 (lscp, ambulance)")
    site.add_argument("--threshold", type=float, dest="threshold_minutes", help="cover within, minutes")
    site.add_argument("--candidates", choices=CANDIDATE_RULES, dest="candidate_rule", help="candidate rule")
    site.add_argument("--candidates-file", type=Path, dest="candidates", help="point file of candidate sites")
    site.add_argument("--method", choices=METHODS, help="solver (default: auto by size)")
    site.add_argument("--out", type=Path, help="output folder (default: maps/<scenario name>)")
    site.add_argument("--quiet", action="store_true", help="no progress bar")
    site.add_argument("--lang", choices=LANGS, help="language of the maps and report (default: map.lang, en)")
    site.add_argument("--offline", action="store_true", help="no base-map tiles: the maps need no network")
    serve = commands.add_parser("serve", help="a live planning workspace in the browser (add, move, close facilities)")
    serve.add_argument("config", type=Path, help="scenario YAML file")
    serve.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default: 8765)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser (servers, tests)")
    validate = commands.add_parser("validate", help="load and summarise every layer; compute nothing")
    validate.add_argument("config", type=Path, help="scenario YAML file")
    return parser


def _print_done(summary: str, outputs: dict[str, Path], lang: str | None) -> None:
    """The command's summary, then each file written (in ``lang``, English when None)."""
    from geocover.summaries import sentence

    print(summary)
    for path in outputs.values():
        print(sentence("wrote", lang or "en", path=path))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``geocover`` console script."""
    args = build_parser().parse_args(argv)
    from geocover import api

    if argv is None:
        # From the command line, a terminated run unwinds like Ctrl-C: its temporary output folder and lock go.
        signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))

    try:
        if args.command == "validate":
            print(api.validate(args.config))
            return 0
        if args.command == "serve":
            from geocover.serve.app import serve

            serve(args.config, port=args.port, browser=not args.no_browser)
            return 0
        if args.command == "batch":
            outputs, summary, failed = api.batch(
                args.config, out=args.out, workers=args.workers, scheduler=args.scheduler, force=args.force,
                progress=not args.quiet, lang=args.lang, offline=args.offline, report=not args.no_report,
            )
            _print_done(summary, outputs, args.lang)
            if failed:
                print(f"geocover: {len(failed)} unit(s) failed: {', '.join(failed)} (see INCOMPLETE.txt)",
                      file=sys.stderr)
                return 1
            return 0
        if args.command == "site":
            outputs, summary = api.site(
                args.config, out=args.out, progress=not args.quiet, lang=args.lang, offline=args.offline,
                model=args.model, k=args.k, target_share=args.target_share,
                threshold_minutes=args.threshold_minutes, candidate_rule=args.candidate_rule,
                candidates=args.candidates, method=args.method,
            )
            _print_done(summary, outputs, args.lang)
            return 0
        if args.command in ("audit", "compare"):
            extra = {"parent_plan": args.parent_plan} if args.command == "audit" and args.parent_plan else {}
            verb = api.audit if args.command == "audit" else api.compare
            outputs, summary = verb(args.config, out=args.out, progress=not args.quiet, lang=args.lang, **extra)
            _print_done(summary, outputs, args.lang)
            return 0
        config = api.demo_config() if args.command == "demo" else args.config
        outputs, summary = api.run(
            config, out=args.out, export_network=args.export_network, progress=not args.quiet,
            lenient=args.lenient, lang=args.lang, offline=args.offline,
        )
    except InputError as error:
        print(f"geocover: {error}", file=sys.stderr)
        return 2
    _print_done(summary, outputs, args.lang)
    return 0


if __name__ == "__main__":
    sys.exit(main())
