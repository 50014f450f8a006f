"""A fusion-legality study: which statements can share loops, at which
depth, and which dependence forbids more.

    python examples/fusion_study.py

``polytc.poly.fusion_legality(program, statements, depth)`` checks the
schedule that runs ``statements`` in one loop nest sharing their outer
``depth`` loops (in textual order inside, no shifting, no permutation) against
every dependence, and explains a refusal with the dependence, its tensor and
an example pair of instances.
"""
import polytc
from polytc.poly import fusion_legality

PROGRAMS = {
    # a reduction (S1) feeding an elementwise epilogue (S2)
    "mlp": """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
        Y(i,n) +=! X(i,k) * W(n,k)
        Y(i,n) = fmax(Y(i,n) + b(n), 0)
    }""",
    # row-wise reductions and the elementwise ops between them
    "softmax": """def softmax(float(N,D) I) -> (O) {
        mx(n) max=! I(n, d)
        e(n, d) = exp(I(n, d) - mx(n))
        s(n) +=! e(n, d)
        O(n, d) = e(n, d) / s(n)
    }""",
    # a consumer that reads its producer one element ahead
    "blur": """def blur(float(N) A) -> (O) {
        T(i) = A(i) + A(i+1) where i in 0:N-1
        O(i) = T(i) + T(i+1) where i in 0:N-2
    }""",
}

# statement groups to study (S<k> is the k-th statement; a `!` reduction is an
# init statement and an update).  A statement between two members that one
# member reaches goes after the fused nest: S2 + S5 of softmax fails even at
# depth 0 because S4 must run after S2 and before S5; with S4 in the group it
# fuses.
STUDY = {
    "mlp": [("S1", "S2"), ("S0", "S1", "S2")],
    "softmax": [("S1", "S2"), ("S2", "S4"), ("S4", "S5"), ("S2", "S5"),
                ("S2", "S3", "S4", "S5")],
    "blur": [("S0", "S1")],
}


def deepest(program, group):
    """The deepest legal fusion of ``group``, and the verdict one level deeper."""
    limit = min(len(program.statement(s).iterators) for s in group)
    best, refusal = None, None
    for depth in range(limit + 1):
        verdict = fusion_legality(program, group, depth)
        if not verdict.fusable:
            refusal = verdict
            break
        best = verdict
    return best, refusal


def main() -> None:
    for name, text in PROGRAMS.items():
        program = polytc.compile(text).program
        print(f"== {name}")
        for statement in program.statements:
            print(f"  {statement.name}[{', '.join(statement.iterators)}]: {statement.text}")
        for group in STUDY[name]:
            best, refusal = deepest(program, group)
            depth = best.depth if best is not None else "none"
            print(f"  {' + '.join(group)}: deepest legal fusion: {depth}")
            if best is not None:
                print(f"    yes: {best.reason}")
            if refusal is not None:
                print(f"    no:  {refusal.reason}")
                violation = refusal.violations[0]
                print(f"         ({violation.kind} on {violation.tensor}, "
                      f"example {violation.witness})")
        print()
    softmax = polytc.compile(PROGRAMS["softmax"]).program
    assert fusion_legality(softmax, ["S4", "S5"], 1).fusable
    refused = fusion_legality(softmax, ["S4", "S5"], 2)
    assert not refused.fusable and "flow dependence on s" in refused.reason
    print("OK: the study's verdicts are as expected")


if __name__ == "__main__":
    main()
