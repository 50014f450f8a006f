"""Compile time: each stage of polytc and the C compiler, per benchmark kernel.

    python benchmarks/compile_times.py                 # every kernel of kernels.py
    python benchmarks/compile_times.py --only gemm,conv2d --repeat 3

Every compile starts from an empty cache directory (cold), with
``POLYTC_TIME_PASSES`` on; the stage times are those polytc logs: the front
end (parse, lower), dependences, scheduling, tiling, ``to_c`` (isl's AST
build and the C printing) and ``build`` (the C compiler).  With ``--repeat``
each figure is the median of that many cold compiles.  ``lines`` counts the
generated C.
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


def cold_compile(text: str) -> tuple[dict[str, float], float, int]:
    """Stage times (ms), the wall time (ms) and the C lines of one compile
    of ``text`` into an empty cache."""
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
            kernel = polytc.compile(text, cache=False)  # nor the in-process memo of the C
            wall = (time.perf_counter() - start) * 1e3
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            if saved is None:
                del os.environ["POLYTC_CACHE_DIR"]
            else:
                os.environ["POLYTC_CACHE_DIR"] = saved
    return handler.ms, wall, kernel.c_source.count("\n")


def run(only: Sequence[str] | None, repeat: int) -> list[tuple[str, dict[str, float], float, int]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import kernels
    rows = []
    for program in kernels.select(only):
        samples = [cold_compile(program.text) for _ in range(repeat)]
        stages = {stage: statistics.median(s[0].get(stage, 0.0) for s in samples)
                  for stage in STAGES}
        rows.append((program.name, stages, statistics.median(s[1] for s in samples),
                     samples[0][2]))
        print(f"  {program.name}: {rows[-1][2] / 1e3:.2f} s", file=sys.stderr, flush=True)
    return rows


def print_table(rows: list[tuple[str, dict[str, float], float, int]]) -> None:
    header = f"{'program':<14} {'lines':>6} " + " ".join(f"{s:>11}" for s in STAGES) + \
        f" {'polytc':>9} {'total':>9}"
    print("\nmilliseconds per cold compile (polytc = every stage but build)")
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
    args = parser.parse_args(argv)
    print_table(run(args.only, max(1, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
