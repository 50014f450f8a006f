"""What each ``polytc`` subcommand does (the parser is in :mod:`polytc.cli`)."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import islpy as isl
import numpy as np

import polytc
from polytc import config, dtypes
from polytc.codegen_c.kernel import Kernel
from polytc.errors import ArgumentError, PolytcError
from polytc.poly import loop_nest, summarize


class UnreadableFileError(PolytcError):
    """A file given on the command line is not TC text."""


class UsageError(Exception):
    """Flags that do not go together (status 2, as argparse's usage errors)."""


def compile_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`polytc.compile` options the common flags ask for."""
    flags = vars(args)  # a command without a group of flags keeps the defaults
    options: dict[str, Any] = {
        "scheduler": flags.get("scheduler", "pluto"), "fuse": flags.get("fuse", "smart"),
        "tile": flags.get("tile", "auto"), "unroll": flags.get("unroll", "auto"),
        "parallel": not flags.get("no_parallel", False),
        "vectorize": not flags.get("no_vectorize", False),
        "time_tiling": flags.get("time_tiling", "auto"),
        "reassociate": not flags.get("no_reassociate", False)}
    if args.dtype is not None:
        options["dtype"] = args.dtype
    if flags.get("schedule_file") is not None:
        options["schedule"] = read_text(args.schedule_file)
    if args.no_cache:
        options["cache"] = False
    return options


def read_text(path: str) -> str:
    """The text of ``path``, or standard input for ``-``; a file that is not
    UTF-8 text (a binary) raises :class:`UnreadableFileError`."""
    name = "standard input" if path == "-" else path
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream (tests replace stdin with one)
            return sys.stdin.read()
        data = stream.read()
    else:
        try:
            data = Path(path).read_bytes()
        except IsADirectoryError:
            raise UnreadableFileError(f"{name} is a directory, not a TC file") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise UnreadableFileError(f"{name} is a binary file (a NUL byte at offset {nul}), "
                                  "not TC text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFileError(f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} "
                                  f"at offset {error.start}); TC files are UTF-8") from None


def compile_file(args: argparse.Namespace, **extra: Any) -> Kernel:
    return polytc.compile(read_text(args.file), args.entry, **compile_options(args), **extra)


def inspected(args: argparse.Namespace) -> Any:
    """The kernel of a TC file, or the region of a C file (``.c``), to print."""
    if args.file.endswith(".c"):
        from polytc.cli_c import region_view
        return region_view(args)
    return compile_file(args)


# -- compile, schedule, deps -----------------------------------------------------
def compile_command(args: argparse.Namespace) -> int:
    if (args.name is not None or args.no_harness) and args.save_dir is None:
        print("polytc compile: --name and --no-harness go with --save-dir", file=sys.stderr)
        return 2
    kernel = compile_file(args)
    if args.output is not None and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(kernel.c_source)
        print(f"polytc: wrote {args.output}", file=sys.stderr)
    elif args.output == "-" or args.save_dir is None:
        sys.stdout.write(kernel.c_source)
    if args.save_dir is not None:
        for path in kernel.save(args.save_dir, name=args.name, harness=not args.no_harness):
            print(f"polytc: wrote {path}", file=sys.stderr)
    return 0


def schedule_command(args: argparse.Namespace) -> int:
    given = [flag for flag, value, default in (
        ("--tile", args.tile, "auto"), ("--unroll", args.unroll, "auto"),
        ("--no-parallel", args.no_parallel, False), ("--no-vectorize", args.no_vectorize, False),
        ("--time-tiling", args.time_tiling, "auto"),
        ("--no-reassociate", args.no_reassociate, False))
        if value != default]
    if given and not args.tiled:  # they shape the tiled tree only
        raise UsageError(f"{given[0]} changes only the tree after tiling: add --tiled")
    kernel = inspected(args)
    schedule = kernel.tiled_schedule if args.tiled else kernel.schedule
    printer = isl.Printer.to_str(schedule.get_ctx()).set_yaml_style(isl.yaml_style.BLOCK)
    maps = schedule.get_map().get_map_list()
    print("# schedule tree" + (" after tiling (what the C follows)" if args.tiled else ""))
    print(printer.print_schedule(schedule).get_str().rstrip())
    print("\n# schedule map (statement instance -> time)")
    for i in range(maps.n_map()):
        print(maps.get_at(i))
    print("\n# loop nest")
    print(loop_nest(schedule, kernel.program))
    print("\n# summary")
    print(summarize(schedule, kernel.program))
    alone = kernel.tiled_schedule_one_thread if args.tiled else None
    if alone is not None:
        print("\n# on one thread: its own tiles")
        print(loop_nest(alone, kernel.program))
        print(summarize(alone, kernel.program))
    return 0


def deps_command(args: argparse.Namespace) -> int:
    kernel = inspected(args)
    print(kernel.dependences)
    if args.distances:
        print()
        print(kernel.dependences.distances(program=kernel.program))
    return 0


# -- run ---------------------------------------------------------------------------
def run_command(args: argparse.Namespace) -> int:
    kernel = compile_file(args, specialize=args.specialize)
    options = {**compile_options(args), "scheduler": "identity", "tile": None,
               "unroll": None, "schedule": None}
    reference = polytc.compile(read_text(args.file), args.entry, **options)
    sizes = _bind_sizes(kernel, args.sizes)
    inputs = random_inputs(kernel, sizes, args.seed)
    threads = args.threads if args.threads is not None else config.default_threads()
    shown = ", ".join(f"{n}={v}" for n, v in sizes.items())
    print(f"{kernel}\nsizes {shown or '(none)'}, {threads} thread{'s' * (threads != 1)}")
    results = _tuple(kernel(*inputs, num_threads=threads))
    expected = _tuple(reference(*inputs, num_threads=threads))
    for name, got, want in zip(kernel.outputs, results, expected):
        problem = _difference(got, want)
        if problem:
            print(f"polytc run: output {name} differs from the unscheduled program: "
                  f"{problem}", file=sys.stderr)
            return 1
    fast = _median_time(lambda: kernel(*inputs, num_threads=threads), args.repeat)
    slow = _median_time(lambda: reference(*inputs, num_threads=threads), args.repeat)
    print(f"scheduled:   median {fast * 1e3:.3f} ms over {args.repeat} calls")
    print(f"unscheduled: median {slow * 1e3:.3f} ms over {args.repeat} calls "
          "(identity schedule, untiled)")
    print(f"speedup {slow / fast:.2f}x; outputs agree ({', '.join(kernel.outputs)})"
          if fast > 0 else "outputs agree")
    return 0


def _bind_sizes(kernel: Kernel, given: dict[str, int]) -> dict[str, int]:
    known = kernel.sizes
    unknown = [n for n in given if n not in known]
    missing = [n for n in known if n not in given]
    if unknown or missing:
        parts = ([f"unknown size{'s' * (len(unknown) > 1)} {', '.join(unknown)}"] * bool(unknown)
                 + [f"missing size{'s' * (len(missing) > 1)} {', '.join(missing)}"]
                 * bool(missing))
        raise ArgumentError(f"--sizes: {'; '.join(parts)} (the kernel's sizes are "
                            f"{', '.join(known) or 'none'})")
    return {n: given[n] for n in known}


def random_inputs(kernel: Kernel, sizes: dict[str, int], seed: int) -> list[np.ndarray]:
    """Random arrays of each input's shape and dtype: floats standard normal,
    integers in ``[0, min(16, every extent))`` so that gathers stay in range."""
    rng = np.random.default_rng(seed)
    tensors = kernel.program.inputs
    shapes = [tuple(sizes[d] if isinstance(d, str) else d for d in t.dims) for t in tensors]
    extents = [e for shape in shapes for e in shape if e > 0]
    high = max(1, min(extents + [16]))
    arrays = []
    for tensor, shape in zip(tensors, shapes):
        dtype = dtypes.to_numpy(tensor.dtype)
        if dtype.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype.kind == "b":
            arrays.append(rng.integers(0, 2, shape).astype(dtype))
        else:
            arrays.append(rng.integers(0, high, shape).astype(dtype))
    return arrays


def _tuple(result: Any) -> tuple[np.ndarray, ...]:
    return result if isinstance(result, tuple) else (result,)


def _difference(got: np.ndarray, want: np.ndarray) -> str:
    """Empty when equal (floats: within a tolerance relative to the largest
    value, as reductions may be reordered), else what differs."""
    if got.shape != want.shape:
        return f"shape {got.shape} instead of {want.shape}"
    if got.dtype.kind == "f":
        tolerance = (1e-3 if got.dtype.itemsize <= 4 else 1e-9) * \
            max(1.0, float(np.nanmax(np.abs(want), initial=0.0)))
        bad = ~np.isclose(got, want, rtol=0, atol=tolerance, equal_nan=True)
    else:
        bad = got != want
    if not bad.any():
        return ""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} element(s) differ, e.g. at {index}: {got[index]!r} instead of "
            f"{want[index]!r}")


def _median_time(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
