"""The fuzzers, from the command line.

Differential testing of the whole compiler against the reference
interpreter::

    python -m polytc.testing.fuzz --programs 5000 [--seed S] [--out DIR] [--sets K] [--large]

compiles each random program under every option set (or ``K`` drawn at
random; ``--jobs`` worker processes, each compile limited to ``--timeout``
seconds), prints ``N programs, M option sets, K mismatches`` and writes each
failure, shrunk, to ``DIR`` as ``<name>.tc`` (the TC text) and
``<name>.json`` (sizes, inputs, options, what went wrong);
``--replay DIR/<name>.json`` runs one again.  ``--large`` runs the programs
at sizes of 33-150 instead of 2-7 (:func:`with_large_sizes`), where the
default tiles, register blocks and packed tiles are whole and partial.  Frontend fuzzing::

    python -m polytc.testing.fuzz --frontend --seconds 60 [--seed S] [--timeout T]

prints inputs per second and every input that raised something other than
a ``polytc.errors`` exception, hung or crashed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polytc.testing.differential import Failure, check, describe, option_sets, shrink
from polytc.testing.frontend_fuzz import fuzz_frontend
from polytc.testing.strategies import TcCase, random_case, with_large_sizes
from polytc.testing.workers import map_calls


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


@dataclass(frozen=True)
class _Task:
    """One program under one option set, for a worker process."""

    index: int
    seed: int
    options: dict[str, Any]
    timeout: float
    large: bool = False


def _case(task: _Task) -> TcCase | None:
    case = random_case(task.seed)[0]
    return with_large_sizes(case, task.seed) if case is not None and task.large else case


def _check(task: _Task) -> Failure | None:
    case = _case(task)
    return None if case is None else check(case, task.options, task.index, task.timeout)


def _shrunk(item: tuple[_Task, Failure]) -> tuple[TcCase, Failure]:
    task, failure = item
    case = _case(task)
    assert case is not None
    return shrink(case, task.options, failure, timeout=task.timeout)


def differential(programs: int, seed: int, sets_per_program: int, out: Path | None,
                 shrink_failures: bool = True, timeout: float = 60.0, jobs: int = 1,
                 large: bool = False) -> int:
    """Compile and compare ``programs`` random programs (``large``: at sizes
    of 33-150); 1 if any disagreed.

    Every (program, option set) runs in a worker process limited to
    ``timeout`` seconds (a hang inside isl's C code is caught too); failures
    are then shrunk, the first three of each kind saved to ``out``."""
    sets = option_sets()
    tasks = []
    for n in range(programs):
        program_seed = seed * 1_000_003 + n
        chosen = sets if sets_per_program <= 0 else \
            random.Random(program_seed).sample(sets, min(sets_per_program, len(sets)))
        tasks += [_Task(n, program_seed, options, timeout, large) for options in chosen]
    failures: list[tuple[_Task, Failure]] = []
    done = [0]
    start = time.monotonic()

    def arrived(task: _Task, status: str, value: Any) -> None:
        done[0] += 1
        failure = value if status == "ok" else Failure(
            "timeout" if status == "timeout" else "crash", "worker", f"{status}: {value}")
        if failure is not None:
            failures.append((task, failure))
            print(f"program {task.index} (seed {task.seed}) [{describe(task.options)}]: "
                  f"{failure.kind} in {failure.stage}: "
                  f"{failure.message.strip().splitlines()[0][:200]}", flush=True)
        if done[0] % 200 == 0:
            print(f"... {done[0]} of {len(tasks)} compiles, {len(failures)} mismatches, "
                  f"{time.monotonic() - start:.0f} s", flush=True)

    map_calls(_check, tasks, jobs, timeout + 30, on_result=arrived)
    signatures: dict[str, int] = {}
    to_save = []
    for task, failure in failures:
        signatures[failure.signature] = signatures.get(failure.signature, 0) + 1
        if out is not None and signatures[failure.signature] <= 3:
            to_save.append((task, failure))
    if to_save:
        shrinkable = [item for item in to_save if shrink_failures and item[1].kind != "timeout"]
        shrunk = {id(item[0]): value for item, status, value in
                  map_calls(_shrunk, shrinkable, jobs, timeout * 40) if status == "ok"}
        for n, (task, failure) in enumerate(to_save):
            case, final = shrunk.get(id(task), (_case(task), failure))
            assert out is not None and case is not None
            path = save(out, f"fail_{task.index}_{n}", case, task.options, final, task.index)
            print(f"saved {path}")
    print(f"{programs} programs, {len(sets)} option sets, {len(failures)} mismatches "
          f"({len(tasks)} compiles, {time.monotonic() - start:.0f} s)")
    for signature, count in sorted(signatures.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d} {signature}")
    return 1 if failures else 0


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
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per core)")
    parser.add_argument("--replay", type=Path, default=None, help="a saved .json reproducer")
    parser.add_argument("--frontend", action="store_true", help="fuzz the frontend instead")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--inputs", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per input (frontend: 5) or per compile and run "
                        "(programs: 60)")
    parser.add_argument("--full", action="store_true",
                        help="frontend fuzzing also schedules and emits C")
    parser.add_argument("--large", action="store_true",
                        help="programs run at sizes of 33-150, not 2-7 (whole and partial "
                        "default tiles and register blocks)")
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
                        args.timeout or 60.0, args.jobs, args.large)


if __name__ == "__main__":
    sys.exit(main())
