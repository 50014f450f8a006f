"""The ``polytc`` command line: compile TC files to C, print schedules and
dependences, run kernels on random inputs.

    polytc compile mm.tc -o mm.c [--save-dir out/]
    polytc schedule mm.tc
    polytc deps mm.tc
    polytc run mm.tc --sizes M=512,N=512,K=512
    polytc opt kernel.c -o kernel.opt.c -I include -DN=1000
    polytc plot mm.tc --sizes M=8,N=8,K=8 -o mm.png
    polytc tune mm.tc --sizes M=1024,N=1024,K=1024 --budget 100

``schedule`` and ``deps`` take C files (``.c``) too: their ``#pragma scop`` region.

``FILE`` may be ``-`` for standard input.  Errors in the TC text (every
:class:`~polytc.errors.PolytcError`) print to stderr with their caret excerpt
and exit with status 1, as do unreadable or binary files; bad command lines
(unknown flags, flags that do nothing for the command, such as ``deps
--tile``) exit with status 2.  No input prints a Python traceback.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from typing import Callable, Sequence

import polytc
from polytc import cli_c, cli_commands as commands
from polytc import config
from polytc.errors import PolytcError
from polytc.options import FUSION, SCHEDULERS, TIME_TILINGS
from polytc.plot.command import add_plot_command
from polytc.tuning.command import add_tune_command


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            _refuse(parser, args.command, extra)
    except SystemExit as stop:  # --help, --version, usage errors
        return stop.code if isinstance(stop.code, int) else 1
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except commands.UsageError as error:
        try:
            _subcommands(parser)[args.command].error(str(error))  # usage, message, status 2
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 2
    except commands.UnreadableFileError as error:
        print(f"polytc: {error}", file=sys.stderr)
        return 1
    except PolytcError as error:
        where = "<stdin>" if args.file == "-" else args.file
        print(f"polytc: {where}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"polytc: {error}", file=sys.stderr)
        return 1
    except MemoryError:
        print("polytc: out of memory (try smaller --sizes)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - a bug of ours: never a bare traceback
        print(f"polytc: internal error: {type(error).__name__}: {error} (this is a polytc "
              "bug, please report it; POLYTC_DEBUG=1 prints the traceback)", file=sys.stderr)
        if config.debug_stages():
            traceback.print_exc()
        return 1


def _refuse(parser: argparse.ArgumentParser, command: str, extra: list[str]) -> None:
    """A usage error (status 2) for arguments ``command`` does not take,
    naming the commands a known flag belongs to."""
    commands = _subcommands(parser)
    own = commands[command]
    flag = next((word.split("=")[0] for word in extra if word.startswith("-")), None)
    takers = [name for name, sub in commands.items()
              if flag is not None and flag in sub._option_string_actions]
    if takers:
        names = [repr(t) for t in takers]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        message = f"{flag} does nothing for '{command}' (it is a flag of {listed})"
    elif flag is not None:
        message = f"unknown flag {flag}; 'polytc {command} --help' lists the flags"
    else:
        message = f"unexpected argument {extra[0]!r}"
    own.error(message)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


# -- parsing -------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``polytc`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="polytc", description="Polyhedral scheduling and C code generation for "
        "Tensor Comprehensions.", epilog="Run 'polytc COMMAND --help' for a command's flags.")
    parser.add_argument("--version", action="version", version=f"polytc {polytc.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    source, scheduling, codegen = _source_flags(), _schedule_flags(), _codegen_flags()
    # each command takes the flags that change what it prints (deps --tile is refused)
    common = [source, scheduling, codegen]

    compile_ = sub.add_parser("compile", parents=common, help="compile to C",
                              description="Compile FILE to C (the kernel's c_source).")
    compile_.add_argument("-o", "--output", metavar="OUT.c",
                          help="write the C source here (default: standard output, "
                          "unless --save-dir is given)")
    compile_.add_argument("--save-dir", metavar="DIR", help="export standalone C into DIR: "
                          "NAME.c, NAME.h (the ABI), NAME_main.c (a timing harness) and a "
                          "Makefile (see kernel.save)")
    compile_.add_argument("--name", help="base name of the exported files (default: the "
                          "def's name)")
    compile_.add_argument("--no-harness", action="store_true",
                          help="with --save-dir: no NAME_main.c harness")
    compile_.set_defaults(handler=commands.compile_command)

    schedule = sub.add_parser("schedule", parents=common,
                              help="print the schedule",
                              description="Print the schedule tree, the schedule as an isl "
                              "union map, the loop nest and the summary.")
    schedule.add_argument("--tiled", action="store_true",
                          help="print the tree the C follows (after tiling, register tiling "
                          "and marks: kernel.tiled_schedule) instead of the scheduler's")
    schedule.set_defaults(handler=commands.schedule_command)

    deps = sub.add_parser("deps", parents=[source], help="print the dependences",
                          description="Print the flow, anti and output dependences as isl "
                          "maps.")
    deps.add_argument("--distances", action="store_true",
                      help="also print each dependence's distance and direction vectors")
    deps.set_defaults(handler=commands.deps_command)

    run = sub.add_parser("run", parents=common, help="run on random inputs",
                         description="Run the scheduled kernel and the unscheduled one "
                         "(identity schedule, untiled) on random inputs, check they agree "
                         "and print the median times.")
    run.add_argument("--sizes", type=sizes_option, required=True, metavar="M=512,N=512,...",
                     help="a value for every size symbol of the def")
    run.add_argument("--repeat", type=positive_int, default=5, metavar="N",
                     help="timed calls of each kernel (default 5)")
    run.add_argument("--threads", type=positive_int, metavar="N",
                     help="threads of the calls (default: OMP_NUM_THREADS, else all cores)")
    run.add_argument("--seed", type=int, default=0, help="seed of the random inputs "
                     "(default 0)")
    run.add_argument("--specialize", action="store_true",
                     help="bake the sizes into the scheduled kernel's C as constants")
    run.set_defaults(handler=commands.run_command)
    cli_c.add_opt_command(sub, common)
    add_plot_command(sub, common)
    add_tune_command(sub)
    return parser


def _source_flags() -> argparse.ArgumentParser:
    """The TC file and what selects its program (every command)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE", help="TC source: defs or bare statements "
                        "('-' reads standard input); C source for opt, and .c files for "
                        "schedule and deps")
    common.add_argument("--entry", metavar="NAME", help="the def to use when FILE has several")
    common.add_argument("--dtype", help="element type of bare statements' inputs (float, "
                        "double, int32, ...; default float)")
    common.add_argument("--no-cache", action="store_true",
                        help="bypass the on-disk compile cache")
    cli_c.add_c_flags(common)
    return common


def _schedule_flags() -> argparse.ArgumentParser:
    """What shapes the schedule (compile, schedule, run)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--scheduler", choices=SCHEDULERS, default="pluto",
                        help="pluto (default, our Pluto-style scheduler), isl (isl's "
                        "scheduler) or identity (textual order)")
    common.add_argument("--fuse", type=fuse_option, default="smart", metavar="POLICY",
                        help=f"{'|'.join(FUSION)} (default smart), or statement groups "
                        "such as 'S0,S1;S2'")
    common.add_argument("--schedule-file", metavar="PATH", help="use this schedule (isl "
                        "schedule tree or union map text, as 'polytc schedule' prints); it "
                        "is checked for legality")
    return common


def _codegen_flags() -> argparse.ArgumentParser:
    """What shapes the C after scheduling (compile, run)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tile", type=tile_option, default="auto", metavar="SIZES",
                        help="tile sizes of permutable bands: auto (default), none, 32 (every "
                        "member), 32,32,32 (per member), 256,256,256:32,32,32 (levels)")
    common.add_argument("--unroll", type=unroll_option, default="auto", metavar="FACTORS",
                        help="register tiling: auto (default), none, 4 or 4,2 (per loop)")
    common.add_argument("--no-parallel", action="store_true",
                        help="no OpenMP parallel loops")
    common.add_argument("--no-vectorize", action="store_true", help="no 'omp simd' loops")
    common.add_argument("--no-reassociate", action="store_true",
                        help="keep each reduction's written order (no vectorised reductions; "
                        "the default for C input, see 'opt --reassociate')")
    common.add_argument("--time-tiling", choices=TIME_TILINGS, default="auto",
                        help="a time-iterated stencil's tiles: auto (default: diamonds for 1 or "
                        "3+ space dimensions), wavefront, or diamond (all start at once, where "
                        "dependences allow)")
    return common


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _ints(text: str) -> int | tuple[int, ...]:
    values = tuple(positive_int(part.strip()) for part in text.split(","))
    return values[0] if len(values) == 1 else values


def tile_option(text: str) -> object:
    """``auto``, ``none``, ``32``, ``32,32,32`` or levels ``256,256:32,32``."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    levels = [_ints(level) for level in text.split(":")]
    return levels[0] if len(levels) == 1 else levels


def unroll_option(text: str) -> object:
    """``auto``, ``none``, ``4`` or ``4,2``."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    return _ints(text)


def fuse_option(text: str) -> object:
    """A policy name, or groups ``S0,S1;S2``."""
    if text in FUSION:
        return text
    groups = [tuple(s.strip() for s in group.split(",")) for group in text.split(";")]
    if not ("," in text or ";" in text) or \
            not all(name.isidentifier() for group in groups for name in group):
        raise argparse.ArgumentTypeError(f"{text!r}: give {', '.join(FUSION)} or groups "
                                         "of statements such as 'S0,S1;S2'")
    return groups


def sizes_option(text: str) -> dict[str, int]:
    """``M=512,N=256`` as a dict."""
    sizes: dict[str, int] = {}
    for part in text.split(","):
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise argparse.ArgumentTypeError(f"{part!r}: expected NAME=VALUE")
        try:
            sizes[name] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: {value!r} is not an integer") from None
        if sizes[name] < 0:
            raise argparse.ArgumentTypeError(f"{part!r}: sizes cannot be negative")
    return sizes
