"""The command line's C input: ``polytc opt`` and ``.c`` files for
``polytc schedule`` / ``polytc deps``.

    polytc opt IN.c -o OUT.c [-I DIR]... [-D NAME[=VALUE]]... [--tile ...]
               [--fuse ...] [--scheduler ...] [--no-parallel] [--reassociate]

``opt`` rewrites every ``#pragma scop`` region of ``IN.c`` (of the function
``--entry`` names, when given) and keeps the rest of the file.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from polytc.c_pipeline import iterator_prefix, options_of, region_stages, rewrite
from polytc.codegen_c.kernel import StageViews
from polytc.frontend.c import only_region, read_unit, region_program, select_regions


def add_opt_command(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    """Register ``polytc opt`` with the subcommands ``sub``."""
    opt = sub.add_parser("opt", parents=common, help="optimise a C file's scop regions",
                         description="Rewrite every '#pragma scop' ... '#pragma endscop' "
                         "region of a C file (source to source); the rest of the file is "
                         "kept byte for byte.")
    opt.add_argument("-o", "--output", metavar="OUT.c",
                     help="write the rewritten file here (default: standard output)")
    opt.add_argument("--reassociate", action="store_true",
                     help="allow reordering reductions: a loop that only accumulates "
                     "is vectorised with one partial sum per vector lane (results then "
                     "differ from the original's in rounding)")
    opt.set_defaults(handler=opt_command)


def add_c_flags(common: argparse.ArgumentParser) -> None:
    """``-I`` and ``-D``, passed to the C preprocessor of C input."""
    common.add_argument("-I", dest="include_dirs", action="append", default=[],
                        metavar="DIR", help="C input: an include directory, as cc -I")
    common.add_argument("-D", dest="defines", action="append", default=[],
                        metavar="NAME[=VALUE]", help="C input: a macro, as cc -D")


def c_options(args: argparse.Namespace) -> dict[str, Any]:
    from polytc.cli_commands import compile_options
    options = compile_options(args)
    options.pop("dtype", None)  # C input has its declared types
    # C input keeps its reductions' order unless asked (opt --reassociate)
    options["reassociate"] = bool(getattr(args, "reassociate", False)) \
        and not getattr(args, "no_reassociate", False)
    return options


def opt_command(args: argparse.Namespace) -> int:
    if args.file == "-":
        source: str = sys.stdin.read()
        unit = read_unit(source, defines=args.defines, include_dirs=args.include_dirs,
                         filename="<stdin>")
    else:
        unit = read_unit(args.file, defines=args.defines, include_dirs=args.include_dirs)
    opts = options_of(c_options(args))
    text, _ = rewrite(unit, select_regions(unit, args.entry), opts)
    if args.output is None or args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"polytc: wrote {args.output}", file=sys.stderr)
    return 0


class RegionView(StageViews):
    """What ``polytc schedule`` and ``polytc deps`` print of one C region."""

    def __init__(self, stages: dict[str, Any]) -> None:
        self.stages = stages

    def _stage(self, name: str) -> Any:
        return self.stages[name]


def region_view(args: argparse.Namespace) -> RegionView:
    """The region of a C file (the only one, or ``--entry``'s function's)."""
    unit = read_unit(args.file, defines=args.defines, include_dirs=args.include_dirs)
    region = only_region(unit, args.entry)
    return RegionView(region_stages(unit, region, region_program(unit, region),
                                    options_of(c_options(args)), iterator_prefix(unit)))
