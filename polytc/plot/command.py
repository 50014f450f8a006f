"""``polytc plot``: draw a picture of a TC file's kernel into an image file.

    polytc plot mm.tc --sizes M=8,N=8,K=8 [--what schedule|domain|deps|fusion]
        [--statement S1] [--dims i,j] [--at k=0] [--depth 2] [--max-points N]
        -o out.png|out.svg|out.pdf

The compile flags common to every subcommand (``--tile``, ``--fuse``,
``--scheduler``, ``--schedule-file``, ...) shape the kernel drawn.  A flag
that does not apply to the picture asked for is refused (status 2) rather
than ignored.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

FORMATS = ("png", "svg", "pdf")
# the flags each picture reads, beyond --sizes and -o
_APPLIES = {
    "schedule": {"statement", "dims", "at", "max_points"},
    "domain": {"statement", "dims", "at", "max_points"},
    "deps": set(),
    "fusion": {"statement", "depth", "max_points"},
}
_DEFAULTS = {"statement": None, "dims": None, "at": None, "depth": None, "max_points": None}


def add_plot_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``plot`` among the subcommands ``sub`` (with the common flags)."""
    from polytc.cli import positive_int, sizes_option
    from polytc.plot import WHAT
    plot = sub.add_parser("plot", parents=[common], help="draw a picture (needs matplotlib)",
                          description="Draw a picture of FILE's kernel: its schedule (tiles, "
                          "order, parallelism), a statement's domain with its dependences, the "
                          "dependence graph, or a fusion verdict.  Needs pip install "
                          "'polytc[plot]'.")
    plot.add_argument("--what", choices=WHAT, default="schedule",
                      help="schedule (default), domain, deps (the dependence graph) or fusion")
    plot.add_argument("--sizes", type=sizes_option, metavar="M=8,N=8,...",
                      help="a value for every size (all pictures but deps)")
    plot.add_argument("--statement", metavar="S1", help="the statement drawn (schedule, "
                      "domain; default the first with the most loops), or the statements "
                      "fused, comma-separated (fusion; default all)")
    plot.add_argument("--dims", metavar="i,j", help="the one or two dimensions drawn "
                      "(schedule, domain; default the first two)")
    plot.add_argument("--at", type=_at_option, metavar="k=0,...", help="fix other "
                      "dimensions (schedule, domain; by default the domain picture "
                      "projects them, the schedule picture takes their smallest value)")
    plot.add_argument("--depth", type=positive_int, metavar="N",
                      help="fusion: how many outer loops the statements share (default 1)")
    plot.add_argument("--max-points", type=positive_int, metavar="N",
                      help="refuse pictures with more points or arrows (default 2500 "
                      "points, 4000 arrows)")
    plot.add_argument("-o", "--output", required=True, metavar="OUT.png",
                      help=f"the image file; its suffix picks the format ({', '.join(FORMATS)})")
    plot.set_defaults(handler=plot_command)


def _at_option(text: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for part in text.split(","):
        name, equals, value = part.partition("=")
        try:
            if not equals or not name.strip().isidentifier():
                raise ValueError
            values[name.strip()] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: expected NAME=INTEGER") from None
    return values


def plot_command(args: argparse.Namespace) -> int:
    """Compile FILE, draw the picture ``--what`` asks for, save it to ``-o``."""
    problem = _usage_problem(args)
    if problem:
        print(f"polytc plot: {problem}", file=sys.stderr)
        return 2
    from polytc.cli_commands import compile_file
    from polytc.plot import style
    style.require()  # before compiling: the missing extra is the first thing to know
    kernel = compile_file(args)
    figure = _draw(kernel, args)
    figure.savefig(args.output)
    print(f"polytc: wrote {args.output}", file=sys.stderr)
    return 0


def _usage_problem(args: argparse.Namespace) -> str:
    suffix = args.output.rsplit(".", 1)[-1].lower() if "." in args.output else ""
    if suffix not in FORMATS:
        return f"-o {args.output}: the file name must end in .{', .'.join(FORMATS)}"
    given = {name for name in _DEFAULTS if getattr(args, name) != _DEFAULTS[name]}
    wrong = sorted(given - _APPLIES[args.what])
    if wrong:
        flags = ", ".join("--" + name.replace("_", "-") for name in wrong)
        return f"{flags} {'does' if len(wrong) == 1 else 'do'} not apply to --what {args.what}"
    if args.what != "deps" and args.sizes is None:
        return f"--what {args.what} needs --sizes (a value for every size, e.g. N=8)"
    if args.what == "deps" and args.sizes is not None:
        return "--sizes does not apply to --what deps (the graph is for every size)"
    if args.dims is not None and not all(d.strip() for d in args.dims.split(",")):
        return f"--dims {args.dims!r}: give one or two dimension names, e.g. i,j"
    return ""


def _draw(kernel: Any, args: argparse.Namespace) -> Any:
    from polytc.plot import plot_dependence_graph, plot_domain, plot_fusion, plot_schedule
    limit = {} if args.max_points is None else {"max_points": args.max_points}
    if args.what == "deps":
        return plot_dependence_graph(kernel)
    if args.what == "fusion":
        if args.max_points is not None:
            limit["max_arrows"] = args.max_points
        statements = args.statement.split(",") if args.statement else None
        return plot_fusion(kernel, statements, args.depth or 1, args.sizes, **limit)
    dims = tuple(d.strip() for d in args.dims.split(",")) if args.dims else None
    if args.what == "domain":
        if args.max_points is not None:
            limit["max_arrows"] = args.max_points
        return plot_domain(kernel, args.statement, args.sizes, dims, args.at, **limit)
    return plot_schedule(kernel, args.sizes, args.statement, dims, args.at, **limit)
