"""Compile time: each stage of polytc and the C compiler, per benchmark kernel.

    python benchmarks/compile_times.py                 # every kernel of kernels.py
    python benchmarks/compile_times.py --only gemm,conv2d --repeat 3
    python benchmarks/compile_times.py --sized      # compiled for kernels.py's sizes

Every compile starts from an empty cache directory (cold), with
``POLYTC_TIME_PASSES`` on; the stage times are those polytc logs: the front
end (parse, lower), dependences, scheduling, tiling, ``to_c`` (isl's AST
build and the C printing) and ``build`` (the C compiler).  With ``--repeat``
each figure is the median of that many cold compiles.  ``lines`` counts the
generated C.  ``--sized`` compiles for the sizes ``kernels.py`` times
(``sizes=``, every size a constant, as Tensor Comprehensions compiles per
shape) instead of for any sizes.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

os.environ["POLYTC_TIME_PASSES"] = "1"  # before polytc is imported: it sets its logger up then

STAGES = ("parse", "lower", "dependences", "schedule", "tile", "to_c", "build")
_STAGE_LINE = re.compile(r"^(\S[\w ]*?)\s+([0-9.]+) ms$")


class StageTimes(logging.Handler):
    """Collects the ``stage  12.34 ms`` records polytc logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ms: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = _STAGE_LINE.match(record.getMessage())
        if found:
            stage = found.group(1).strip()
            self.ms[stage] = self.ms.get(stage, 0.0) + float(found.group(2))


def cold_compile(text: str, sizes: dict[str, int] | None = None
                 ) -> tuple[dict[str, float], float, int]:
    """Stage times (ms), the wall time (ms) and the C lines of one compile
    of ``text`` (for ``sizes`` when given) into an empty cache."""
    import polytc
    handler = StageTimes()
    logger = logging.getLogger("polytc")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # imported before POLYTC_TIME_PASSES was set: a test
    saved = os.environ.get("POLYTC_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="polytc-ct-") as cache:
        os.environ["POLYTC_CACHE_DIR"] = cache
        try:
            start = time.perf_counter()
            kernel = polytc.compile(text, cache=False, sizes=sizes)  # nor the in-process memo
            wall = (time.perf_counter() - start) * 1e3
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            if saved is None:
                del os.environ["POLYTC_CACHE_DIR"]
            else:
                os.environ["POLYTC_CACHE_DIR"] = saved
    return handler.ms, wall, kernel.c_source.count("\n")


def bound_sizes(text: str, arrays: Sequence[object]) -> dict[str, int]:
    """The size symbols of ``text``'s def bound from the shapes of ``arrays``
    (its inputs, in order; scalars have none)."""
    import numpy as np
    from polytc import frontend
    definition = frontend.parse(text)[0]
    sizes: dict[str, int] = {}
    for param, array in zip(definition.params, arrays):
        for dim, extent in zip(param.type.dims, np.shape(array)):
            if dim.name is not None:
                sizes[dim.name] = int(extent)
    return sizes


def run(only: Sequence[str] | None, repeat: int,
        sized: bool = False) -> list[tuple[str, dict[str, float], float, int]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    import kernels
    rows = []
    for program in kernels.select(only):
        sizes = bound_sizes(program.text, program.inputs(program.full, np.random.default_rng(0))) \
            if sized else None
        samples = [cold_compile(program.text, sizes) for _ in range(repeat)]
        stages = {stage: statistics.median(s[0].get(stage, 0.0) for s in samples)
                  for stage in STAGES}
        rows.append((program.name, stages, statistics.median(s[1] for s in samples),
                     samples[0][2]))
        print(f"  {program.name}: {rows[-1][2] / 1e3:.2f} s", file=sys.stderr, flush=True)
    return rows


def print_table(rows: list[tuple[str, dict[str, float], float, int]], sized: bool = False) -> None:
    header = f"{'program':<14} {'lines':>6} " + " ".join(f"{s:>11}" for s in STAGES) + \
        f" {'polytc':>9} {'total':>9}"
    what = "for the benchmark's sizes" if sized else "for any sizes"
    print(f"\nmilliseconds per cold compile {what} (polytc = every stage but build)")
    print(header)
    print("-" * len(header))
    for name, stages, wall, lines in rows:
        ours = sum(ms for stage, ms in stages.items() if stage != "build")
        print(f"{name:<14} {lines:>6} " + " ".join(f"{stages[s]:>11.1f}" for s in STAGES)
              + f" {ours:>9.1f} {wall:>9.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=lambda t: t.split(","), default=None,
                        help="comma-separated programs of kernels.py, e.g. gemm,conv2d")
    parser.add_argument("--repeat", type=int, default=1, help="cold compiles per program")
    parser.add_argument("--sized", action="store_true",
                        help="compile for the sizes kernels.py times (sizes=), not for any sizes")
    args = parser.parse_args(argv)
    print_table(run(args.only, max(1, args.repeat), args.sized), args.sized)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
