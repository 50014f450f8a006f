"""The fuzzers, from the command line.

Differential testing of the whole compiler against the reference
interpreter::

    python -m polytc.testing.fuzz --programs 5000 [--seed S] [--out DIR] [--sets K]

compiles each random program under every option set (or ``K`` drawn at
random), prints ``N programs, M option sets, K mismatches`` and writes each
failure, shrunk, to ``DIR`` as ``<name>.tc`` (the TC text) and
``<name>.json`` (sizes, inputs, options, what went wrong);
``--replay DIR/<name>.json`` runs one again.  Frontend fuzzing::

    python -m polytc.testing.fuzz --frontend --seconds 60 [--seed S] [--timeout T]

prints inputs per second and every input that raised something other than
a ``polytc.errors`` exception, hung or crashed.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from polytc.testing.differential import Failure, check, describe, option_sets, shrink
from polytc.testing.frontend_fuzz import fuzz_frontend
from polytc.testing.strategies import TcCase, random_case


def save(out: Path, name: str, case: TcCase, options: dict[str, Any], failure: Failure,
         seed: int) -> Path:
    """Write a reproducer: ``<name>.tc`` and ``<name>.json``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.tc").write_text(case.text + "\n")
    data = {**case.to_json(), "options": options, "seed": seed, "kind": failure.kind,
            "stage": failure.stage, "message": failure.message}
    path = out / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def differential(programs: int, seed: int, sets_per_program: int, out: Path | None,
                 shrink_failures: bool = True, timeout: float | None = 300.0) -> int:
    sets = option_sets()
    rng = random.Random(seed)
    failures: dict[str, int] = {}
    tried: set[str] = set()
    mismatches = compiles = rejected = 0
    start = time.monotonic()
    for n in range(programs):
        case, skipped = random_case(seed * 1_000_003 + n)
        rejected += skipped
        if case is None:
            continue
        chosen = sets if sets_per_program <= 0 else rng.sample(sets, min(sets_per_program,
                                                                         len(sets)))
        for options in chosen:
            compiles += 1
            tried.add(describe(options))
            failure = check(case, options, seed=n, timeout=timeout)
            if failure is None:
                continue
            mismatches += 1
            failures[failure.signature] = failures.get(failure.signature, 0) + 1
            print(f"program {n} [{describe(options)}]: {failure.kind} in {failure.stage}: "
                  f"{failure.message.strip().splitlines()[0][:200]}", flush=True)
            if out is not None and failures[failure.signature] <= 3:
                small, failure = shrink(case, options, failure, timeout=timeout) \
                    if shrink_failures else (case, failure)
                print(f"  saved {save(out, f'fail_{n}_{mismatches}', small, options, failure, n)}",
                      flush=True)
        if (n + 1) % 100 == 0:
            print(f"... {n + 1} programs, {compiles} compiles, {mismatches} mismatches, "
                  f"{time.monotonic() - start:.0f} s", flush=True)
    print(f"{programs} programs, {len(tried)} option sets, {mismatches} mismatches "
          f"({compiles} compiles, {rejected} generated programs rejected by the frontend, "
          f"{time.monotonic() - start:.0f} s)")
    for signature, count in sorted(failures.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d} {signature}")
    return 1 if mismatches else 0


def replay(path: Path) -> int:
    data = json.loads(path.read_text())
    case = TcCase.from_json(data)
    print(case)
    print("options:", describe(data["options"]))
    failure = check(case, data["options"], seed=int(data.get("seed", 0)))
    print("agrees" if failure is None else f"{failure.kind} in {failure.stage}: {failure.message}")
    return 0 if failure is None else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polytc.testing.fuzz",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=0, help="random programs to compile")
    parser.add_argument("--sets", type=int, default=0,
                        help="option sets per program, drawn at random (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="where to save reproducers")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--replay", type=Path, default=None, help="a saved .json reproducer")
    parser.add_argument("--frontend", action="store_true", help="fuzz the frontend instead")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--inputs", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per input (frontend: 5) or per compile and run "
                        "(programs: 300)")
    parser.add_argument("--full", action="store_true",
                        help="frontend fuzzing also schedules and emits C")
    args = parser.parse_args(argv)
    if args.replay is not None:
        return replay(args.replay)
    if args.frontend:
        seconds = args.seconds if args.seconds is not None or args.inputs else 60.0
        report = fuzz_frontend(args.seed, args.inputs, seconds, args.timeout or 5.0,
                               log=lambda line: print(line, flush=True), full=args.full)
        print(report.summary())
        if args.out is not None and report.bugs:
            args.out.mkdir(parents=True, exist_ok=True)
            for n, (message, text) in enumerate(report.bugs):
                (args.out / f"frontend_{n}.tc").write_text(text)
                (args.out / f"frontend_{n}.txt").write_text(message)
        return 1 if report.bugs else 0
    if args.programs <= 0:
        parser.error("give --programs N, --frontend or --replay FILE")
    return differential(args.programs, args.seed, args.sets, args.out, not args.no_shrink,
                        args.timeout or 300.0)


if __name__ == "__main__":
    sys.exit(main())
