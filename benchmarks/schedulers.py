"""Pluto vs isl: scheduling time, and how often they agree.

    python benchmarks/schedulers.py            # full run (a few minutes)
    python benchmarks/schedulers.py --quick    # a smoke run

(a) Median time of ``pluto_schedule`` and ``isl_schedule`` (fuse="smart")
on matmul, an MLP layer (matmul + bias + relu) and a 10-statement def
(two MLP layers, softmax, a layernorm-like tail), with targets for Pluto.
Dependences are computed once, outside the timing.

(b) Agreement on a corpus: the programs of tests/test_kernels.py plus
programs drawn from tests/poly/strategies.py with a fixed seed.  Per program
and fusion policy both schedulers run and their summaries are compared:

* fusion: equal ``fused_groups``;
* parallel members: equal number of coincident band members (all bands);
* outer band: equal member count and coincident flags of the outermost band
  over each statement (the depth and parallelism of the loops that fusion
  shares).

Cases where they differ are listed with each schedule's one-line gist:
the bands in pre-order as ``{statements}[members]``, a parallel member
marked ``*``, an inner band indented by ``>``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "poly")]

from polytc.frontend import to_program  # noqa: E402
from polytc.poly import dependences, isl_schedule, pluto_schedule, summarize  # noqa: E402

MATMUL = """def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}"""
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i, n) +=! X(i, k) * W(n, k)
    Y(i, n) = fmax(Y(i, n) + b(n), 0)
}"""
TEN = """def ten(float(B,K) X, float(H,K) W1, float(H) b1, float(O,H) W2, float(O) b2,
            float(O) g) -> (Z) {
    H1(i, h) +=! X(i, k) * W1(h, k)
    H1(i, h) = fmax(H1(i, h) + b1(h), 0)
    Y(i, o) +=! H1(i, h) * W2(o, h)
    Y(i, o) = Y(i, o) + b2(o)
    mx(i) max=! Y(i, o)
    e(i, o) = exp(Y(i, o) - mx(i))
    s(i) +=! e(i, o)
    P(i, o) = e(i, o) / s(i)
    mean(i) +=! P(i, o)
    Z(i, o) = (P(i, o) - mean(i) / O) * g(o)
}"""
TIMED = [("matmul", MATMUL, 0.2), ("mlp layer (3 stmts)", MLP, 0.3),
         ("10-statement def", TEN, 1.5)]
POLICIES = ("smart", "max", "none")


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timings(repeat: int) -> None:
    print("(a) scheduling time, fuse='smart' (median of %d; dependences excluded)" % repeat)
    print(f"  {'program':<22} {'stmts':>5} {'pluto':>9} {'isl':>9} {'pluto target':>13}")
    for name, text, target in TIMED:
        program = to_program(text)
        deps = dependences(program)
        pluto = median_time(lambda: pluto_schedule(program, deps, fuse="smart"), repeat)
        isl = median_time(lambda: isl_schedule(program, deps, fuse="smart"), repeat)
        verdict = "ok" if pluto <= target else "SLOW"
        print(f"  {name:<22} {len(program.statements):>5} {pluto:>8.3f}s {isl:>8.3f}s "
              f"{target:>6.1f}s {verdict:>5}")
    print()


# -- agreement -----------------------------------------------------------------
@dataclass
class Facts:
    groups: tuple
    parallel: int
    outer: tuple
    gist: str


def facts(schedule, program) -> Facts:  # type: ignore[no-untyped-def]
    summary = summarize(schedule, program)
    parallel = sum(sum(band.coincident) for band in summary.bands)
    outer = []
    for statement in summary.statements:
        top = next((b for b in summary.bands if statement in b.statements), None)
        outer.append((statement, top.n_member if top else 0,
                      tuple(top.coincident) if top else ()))
    parts = []
    for band in summary.bands:
        members = ",".join(m + ("*" if c else "") for m, c in zip(band.members, band.coincident))
        parts.append(">" * band.level + "{" + ",".join(band.statements) + "}[" + members + "]")
    return Facts(summary.fused_groups, parallel, tuple(outer), " ".join(parts))


def corpus(generated: int) -> list[tuple[str, str, str | None, str | None]]:
    """(name, text, entry, dtype) of the kernel corpus and generated programs."""
    import test_kernels
    cases = [(c.id, c.tc, c.entry, None if c.dtype is None else str(getattr(c.dtype, "__name__",
                                                                            c.dtype)))
             for c in test_kernels.CASES]
    if generated:
        from hypothesis import HealthCheck, Phase, given, seed, settings
        import strategies
        drawn: list[str] = []

        @seed(20261125)
        @settings(max_examples=generated, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategies.programs())
        def collect(program: strategies.GenProgram) -> None:
            drawn.append(program.text)
        collect()
        cases += [(f"gen{n:02d}", text, None, None) for n, text in enumerate(drawn)]
    return cases


def agreement(generated: int, policies: tuple[str, ...]) -> None:
    cases = corpus(generated)
    print(f"(b) agreement of pluto and isl on {len(cases)} programs "
          f"({len(cases) - generated} kernel-corpus + {generated} generated)")
    rows = []
    differences = []
    errors = []
    pluto_times: list[float] = []
    for policy in policies:
        counts = {"programs": 0, "fusion": 0, "parallel": 0, "outer": 0, "all": 0}
        for name, text, entry, dtype in cases:
            try:
                program = to_program(text, entry, dtype=dtype)
                deps = dependences(program)
            except Exception as error:  # not a scheduling question
                errors.append(f"{name}: frontend {type(error).__name__}: {error}")
                continue
            results = {}
            for scheduler, fn in (("pluto", pluto_schedule), ("isl", isl_schedule)):
                start = time.perf_counter()
                try:
                    results[scheduler] = facts(fn(program, deps, fuse=policy), program)
                except Exception as error:
                    errors.append(f"{name} [{policy}] {scheduler}: {type(error).__name__}: "
                                  f"{str(error)[:200]}")
                if scheduler == "pluto":
                    pluto_times.append(time.perf_counter() - start)
            if len(results) < 2:
                continue
            p, i = results["pluto"], results["isl"]
            same = {"fusion": p.groups == i.groups, "parallel": p.parallel == i.parallel,
                    "outer": p.outer == i.outer}
            counts["programs"] += 1
            for key, value in same.items():
                counts[key] += value
            counts["all"] += all(same.values())
            if not all(same.values()):
                differences.append((policy, name, [k for k, v in same.items() if not v], p, i))
        rows.append((policy, counts))
    print(f"  {'fuse':<6} {'programs':>8} {'fusion':>12} {'parallel':>12} {'outer band':>12} "
          f"{'all three':>12}")
    for policy, c in rows:
        n = max(1, c["programs"])
        cells = [f"{c[k]:>4} ({100 * c[k] / n:3.0f}%)" for k in ("fusion", "parallel", "outer",
                                                                  "all")]
        print(f"  {policy:<6} {c['programs']:>8} " + " ".join(f"{x:>12}" for x in cells))
    if pluto_times:
        print(f"  pluto time per program: median {statistics.median(pluto_times):.3f}s, "
              f"max {max(pluto_times):.3f}s")
    print()
    print(f"  differences ({len(differences)}); 'par' = parallel members:")
    for policy, name, what, p, i in differences:
        print(f"  [{policy}] {name}: differ in {', '.join(what)}")
        print(f"      pluto (par {p.parallel}): {p.gist}")
        print(f"      isl   (par {i.parallel}): {i.gist}")
    if errors:
        print(f"\n  errors ({len(errors)}):")
        for line in errors:
            print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, smart only")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    timings(3 if args.quick else 11)
    agreement(10 if args.quick else 40, ("smart",) if args.quick else POLICIES)
    print(f"\ntotal {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
