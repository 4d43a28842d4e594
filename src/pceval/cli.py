"""The ``pceval`` command line: ``pceval synth`` and ``pceval report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pceval.errors import PcevalError


def _synth(args: argparse.Namespace) -> int:
    from pceval import synthetic

    data = synthetic.generate(
        n_people=args.people, scenario=args.scenario, seed=args.seed, start=args.start,
        months=args.months, imd_mix=args.imd_mix, inverse_care=args.inverse_care,
        progress=not args.no_progress,
    )
    out = data.write(args.out)
    print(f"wrote {len(data.people):,} people, {len(data.events):,} events "
          f"(scenario {data.params['scenario']!r}, seed {args.seed}) to {out}/")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pceval.report import render_reports

    notebooks = [Path(n) for n in args.notebooks] or None
    paths = render_reports(notebooks, data_dir=Path(args.data), out_dir=Path(args.out),
                           progress=not args.no_progress, pdf=args.pdf)
    for p in paths:
        print(f"rendered {p}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pceval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate synthetic ICB data with known true effects")
    s.add_argument("--people", type=int, default=100_000, help="number of people (default 100,000)")
    s.add_argument("--scenario", default="default", help="scenario name, or 'all' (= default)")
    s.add_argument("--seed", type=int, default=2019)
    s.add_argument("--start", default="2019-01", help="first month, YYYY-MM")
    s.add_argument("--months", type=int, default=72)
    s.add_argument("--imd-mix", default="england", help="england, deprived or affluent")
    s.add_argument("--inverse-care", type=float, default=0.7)
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=_synth)

    r = sub.add_parser("report", help="execute notebooks and render commissioner reports")
    r.add_argument("notebooks", nargs="*", help="notebooks (default: all in notebooks/)")
    r.add_argument("--data", default="synthetic_data", help="synthetic data folder")
    r.add_argument("--out", default="reports", help="output folder")
    r.add_argument("--pdf", action="store_true", help="also write a PDF beside each report")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PcevalError as exc:
        print(f"pceval: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
