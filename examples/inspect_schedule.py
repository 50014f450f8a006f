"""Inspecting every stage as isl objects: the program, its dependences, the
schedule as a tree, as a union map and as a loop nest, and a schedule of our
own, checked for legality.

    python examples/inspect_schedule.py
"""
import islpy as isl
import numpy as np

import polytc
from polytc.poly import IllegalScheduleError, check, loop_nest

MLP = """
def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}
"""


def block(schedule: isl.Schedule) -> str:
    """The schedule tree in isl's block (multi-line YAML) style."""
    printer = isl.Printer.to_str(schedule.get_ctx()).set_yaml_style(isl.yaml_style.BLOCK)
    return printer.print_schedule(schedule).get_str()


def maps(union: isl.UnionMap) -> list[isl.Map]:
    listed = union.get_map_list()
    return [listed.get_at(i) for i in range(listed.n_map())]


def main() -> None:
    kernel = polytc.compile(MLP)
    print("== the program: statements, iteration domains, accesses")
    print(kernel.program)
    print("\n== dependences (source instance -> target instance)")
    print(kernel.dependences)

    print("\n== the schedule tree the C follows")
    print(block(kernel.schedule))
    print("== the same schedule as an isl union map, one map per statement")
    for schedule_map in maps(kernel.schedule_map):
        print(" ", schedule_map)
    print("\n== as a loop nest")
    print(loop_nest(kernel.schedule, kernel.program))
    print("\n== summary: bands, permutability, parallel loops, fused groups")
    print(kernel.schedule_summary)

    print("\n== the other schedulers' opinions (untiled)")
    for scheduler in ("isl", "identity"):
        other = polytc.compile(MLP, scheduler=scheduler, tile=None)
        print(f"-- {scheduler}")
        for schedule_map in maps(other.schedule_map):
            print(" ", schedule_map)

    print("\n== a schedule of our own: the epilogue in a second loop nest")
    mine = ("[B, K, N] -> { S0[i, n] -> [0, i, n, 0]; S1[i, n, k] -> [0, i, n, 1 + k];"
            " S2[i, n] -> [1, i, n, 0] }")
    print(check(kernel.program, mine))
    own = polytc.compile(MLP, schedule=mine)
    print(loop_nest(own.schedule, own.program))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 5), dtype=np.float32)
    W = rng.standard_normal((6, 5), dtype=np.float32)
    b = rng.standard_normal(6, dtype=np.float32)
    expected = np.maximum(X @ W.T + b, 0)
    assert np.allclose(own(X, W, b), expected, atol=1e-5)
    assert np.allclose(kernel(X, W, b), expected, atol=1e-5)

    print("\n== an illegal one: the epilogue before the matmul")
    wrong = mine.replace("S2[i, n] -> [1,", "S2[i, n] -> [-1,")
    try:
        polytc.compile(MLP, schedule=wrong)
    except IllegalScheduleError as error:
        print(error)
        print("witness:", error.witness)
    else:
        raise SystemExit("the illegal schedule was accepted")
    print("\nOK: both schedules compute relu(X @ W.T + b)")


if __name__ == "__main__":
    main()
