"""Differential fuzzing of the C frontend's rewrites: random stencil programs.

    python -m polytc.testing.cfuzz --programs 200 [--seed S] [--out DIR]

Each random program is a whole C file: a ``kernel`` whose ``#pragma scop``
region runs 1-, 2- or 3-D sweeps (most of them inside a time loop), each
statement a weighted sum of neighbours of one to three arrays, written into
one of them (in place or not), and a ``main`` that fills the arrays, calls
the kernel at the sizes of its arguments and prints every element with
``%a``.  The original is built with the C compiler on its own, the rewrite
(:func:`polytc.transform_c` under options drawn at random: time tiling,
small tiles, fusion policies, schedulers) with OpenMP; the rewrite must print
the same bits at one and two threads, at sizes that no tile divides, thin
ones included (polytc reorders no operation of a point).  A mismatch, a
failed build, an internal error or an exception other than a
``polytc.errors`` refusal is a failure; with ``--out`` each is saved as ``<name>.c``, ``<name>.opt.c`` and
``<name>.json`` (options, sizes, what went wrong).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polytc.errors import PolytcError, PolytcInternalError

#: flags of both builds; the rewrite adds -fopenmp and THREADED_ALWAYS
FLAGS = ("-O3", "-ffp-contract=off")
#: the rewrite's code runs threaded and tiled at the fuzzer's small sizes:
#: loops of few iterations still fork, data within L1 still take the tiles
THREADED_ALWAYS = ("-DPOLYTC_MIN_PARALLEL_TRIPS=0", "-DPOLYTC_ORIGINAL_WITHIN=0")
#: widest neighbour offset, and so the margin of every loop
REACH = 2
ARRAY_NAMES = ("A", "B", "C")
ITERATORS = ("i", "j", "k")
COEFFICIENTS = ("0.125", "0.25", "0.5", "0.3", "0.2", "1.5", "-0.75")
#: transform_c options drawn per program (the first: the defaults)
OPTION_SETS: tuple[dict[str, Any], ...] = (
    {}, {"time_tiling": "diamond"}, {"time_tiling": "wavefront"}, {"tile": 2}, {"tile": 3},
    {"tile": 5, "time_tiling": "diamond"}, {"fuse": "max"}, {"fuse": "none"},
    {"scheduler": "isl"}, {"tile": None}, {"unroll": None}, {"vectorize": False},
)


@dataclass(frozen=True)
class CProgram:
    """A random program: its C, its dimensions and the sizes to run it at."""

    source: str
    dims: int
    sizes: tuple[tuple[int, int], ...]   # (T, n) argument pairs of main


@dataclass
class Report:
    programs: int = 0
    runs: int = 0
    refused: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.programs} programs, {self.runs} runs, {self.refused} refused, "
                f"{len(self.failures)} failures")


def random_program(rng: random.Random) -> CProgram:
    """A random stencil program (see the module's docstring)."""
    dims = rng.choice((1, 1, 2, 2, 2, 3))
    arrays = ARRAY_NAMES[:rng.randint(1, 3)]
    timed = rng.random() < 0.8
    statements = [_statement(rng, dims, arrays) for _ in range(rng.randint(1, 3))]
    loops = ITERATORS[:dims]
    body = []
    for text in statements:
        body.append(_nest(loops, text, "    " if timed else "  "))
    region = "\n".join(body)
    if timed:
        region = f"  for (t = 0; t < T; t++) {{\n{region}\n  }}"
    extent = "][".join(["n"] * dims)
    params = ", ".join(f"double {name}[{extent}]" for name in arrays)
    count = " * ".join(["(long)n"] * dims)
    fills = "\n".join(f"  double *{name} = malloc(sizeof(double) * {count});\n"
                      f"  fill({count}, {name}, {seed});"
                      for seed, name in enumerate(arrays, 1))
    casts = ", ".join(f"(void *){name}" for name in arrays)
    dumps = "\n".join(f'  dump("{name}", {count}, {name});' for name in arrays)
    source = f"""#include <stdio.h>
#include <stdlib.h>

static void fill(long count, double *a, int seed)
{{
  for (long k = 0; k < count; k++)
    a[k] = (double)((k * 7 + seed * 13) % 17) / 16.0 - 0.5 + 0.25 * seed;
}}

static void dump(const char *name, long count, const double *a)
{{
  for (long k = 0; k < count; k++)
    printf("%s %ld %a\\n", name, k, a[k]);
}}

void kernel(int T, int n, {params})
{{
  int t, {", ".join(loops)};
#pragma scop
{region}
#pragma endscop
}}

int main(int argc, char **argv)
{{
  int T = atoi(argv[1]), n = atoi(argv[2]);
{fills}
  kernel(T, n, {casts});
{dumps}
  return 0;
}}
"""
    largest = {1: 41, 2: 15, 3: 9}[dims]
    sizes = ((rng.randint(1, 7), rng.randint(2 * REACH + 1, largest)),
             (1, 2 * REACH + 1), (rng.randint(2, 5), rng.randint(2 * REACH + 1, largest)))
    return CProgram(source, dims, sizes)


def _statement(rng: random.Random, dims: int, arrays: tuple[str, ...]) -> str:
    """``X[..] = c * Y[..] + ...`` (or ``+=``) over the loops' iterators."""
    target = rng.choice(arrays)
    terms = []
    for _ in range(rng.randint(1, 5)):
        coefficient = rng.choice(COEFFICIENTS)
        terms.append(f"{coefficient} * {rng.choice(arrays)}{_subscript(rng, dims)}")
    if rng.random() < 0.2:
        terms[-1] = f"{terms[-1]} * {rng.choice(arrays)}{_subscript(rng, dims)}"
    op = "+=" if rng.random() < 0.2 else "="
    return f"{target}{_subscript(rng, dims, offset=rng.random() < 0.15)} {op} {' + '.join(terms)};"


def _subscript(rng: random.Random, dims: int, offset: bool = True) -> str:
    parts = []
    for d in range(dims):
        shift = rng.randint(-REACH, REACH) if offset else 0
        parts.append(ITERATORS[d] + (f" + {shift}" if shift > 0 else
                                     f" - {-shift}" if shift < 0 else ""))
    return "".join(f"[{p}]" for p in parts)


def _nest(loops: tuple[str, ...], statement: str, indent: str) -> str:
    lines = []
    for depth, name in enumerate(loops):
        lines.append(f"{indent}{'  ' * depth}for ({name} = {REACH}; {name} < n - {REACH}; "
                     f"{name}++)")
    lines.append(f"{indent}{'  ' * len(loops)}{statement}")
    return "\n".join(lines)


def _build(cc: str, source: Path, exe: Path, openmp: bool) -> str | None:
    flags = [*FLAGS, "-fopenmp", *THREADED_ALWAYS] if openmp else list(FLAGS)
    done = subprocess.run([cc, *flags, str(source), "-o", str(exe), "-lm"],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else done.stderr[-1500:]


def _run(exe: Path, sizes: tuple[int, int], threads: int) -> str:
    done = subprocess.run([str(exe), *map(str, sizes)], capture_output=True, text=True,
                          timeout=120, env={"OMP_NUM_THREADS": str(threads), "PATH": ""})
    return done.stdout if done.returncode == 0 else f"exit {done.returncode}: {done.stderr}"


def check(program: CProgram, rewritten: str, work: Path, cc: str) -> str | None:
    """What differs between ``program`` and its rewrite ``rewritten`` (at
    each of its sizes, one and two threads), or None."""
    original, optimised = work / "original.c", work / "rewritten.c"
    original.write_text(program.source)
    optimised.write_text(rewritten)
    for path, exe, openmp in ((original, work / "original", False),
                              (optimised, work / "rewritten", True)):
        error = _build(cc, path, exe, openmp)
        if error is not None:
            return f"build of {path.name} failed: {error}"
    for sizes in program.sizes:
        expected = _run(work / "original", sizes, 1)
        for threads in (1, 2):
            found = _run(work / "rewritten", sizes, threads)
            if found != expected:
                return f"T={sizes[0]} n={sizes[1]}, {threads} thread(s): " + _first_difference(
                    expected, found)
    return None


def _first_difference(expected: str, found: str) -> str:
    for want, got in zip(expected.splitlines(), found.splitlines()):
        if want != got:
            return f"expected {want!r}, got {got!r}"
    return f"{len(expected.splitlines())} lines expected, {len(found.splitlines())} printed"


def fuzz(programs: int, seed: int, out: Path | None = None,
         log: Any = None) -> Report:
    """Rewrite ``programs`` random programs (from ``seed``) and compare."""
    from polytc import transform_c
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise RuntimeError("no C compiler (gcc or cc) on PATH")
    report = Report()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="polytc-cfuzz-") as scratch:
        work = Path(scratch)
        for number in range(programs):
            program = random_program(rng)
            options = rng.choice(OPTION_SETS)
            report.programs += 1
            name = f"cfuzz_{seed}_{number}"
            problem: str | None
            try:
                rewritten = transform_c(program.source, filename=f"{name}.c", **options)
            except PolytcInternalError as error:  # a bug, not a refusal
                rewritten, problem = "", f"{type(error).__name__}: {error}"
            except PolytcError:
                report.refused += 1
                continue
            except Exception as error:  # noqa: BLE001 - a crash is what we look for
                rewritten, problem = "", f"{type(error).__name__}: {error}"
            else:
                problem = check(program, rewritten, work, cc)
                report.runs += 1
            if problem is not None:
                failure = {"name": name, "options": options, "sizes": program.sizes,
                           "problem": problem}
                report.failures.append(failure)
                if out is not None:
                    _save(out, name, program, rewritten, failure)
            if log is not None:
                log(f"{name}: {problem or 'ok'} {options}")
    return report


def _save(out: Path, name: str, program: CProgram, rewritten: str,
          failure: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.c").write_text(program.source)
    (out / f"{name}.opt.c").write_text(rewritten)
    (out / f"{name}.json").write_text(json.dumps(failure, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polytc.testing.cfuzz",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, required=True, help="random programs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="where to save failures")
    parser.add_argument("--verbose", action="store_true", help="a line per program")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = fuzz(args.programs, args.seed, args.out,
                  log=(lambda line: print(line, flush=True)) if args.verbose else None)
    for failure in report.failures:
        print(f"FAIL {failure['name']} {failure['options']}: {failure['problem']}")
    print(f"{report.summary()} in {time.perf_counter() - start:.0f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
