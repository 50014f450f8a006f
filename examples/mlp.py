"""A 2-layer MLP as a graph of TC ops, compiled to one fused C function.

    python examples/mlp.py

Two ``fc`` ops (matmul + bias) with a ``relu`` between them are chained by
naming how outputs feed inputs; the graph becomes one TC def, scheduled
jointly, so the hidden activations are temporaries inside one loop nest.
The result is checked against numpy, and the fused schedule is printed
together with what the contraction analysis finds for the intermediates.
"""
import time

import numpy as np

import polytc
from polytc.graph import contractions

FC = """def fc(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = Y(i,n) + b(n)
}"""
RELU = "def relu(float(B,N) I) -> (O) { O(i,n) = fmax(I(i,n), 0) }"


def build() -> polytc.Graph:
    g = polytc.Graph("mlp2")
    x = g.input("X", "float(B,K)")                      # sizes named here are the graph's
    hidden = g.op(FC, X=x, W=g.input("W1"), b=g.input("b1"), name="fc1")  # W1: float(N,K)
    active = g.op(RELU, I=hidden)                      # I's sizes come from fc1's output
    y = g.op(FC, X=active, W=g.input("W2", "float(M,N)"), b=g.input("b2", "float(M)"),
             name="fc2")
    g.output(y, name="Y")
    return g


def main() -> None:
    graph = build()
    print("the graph as one TC def:\n" + graph.lower().text)
    start = time.perf_counter()
    kernel = graph.compile(fuse="smart")
    print(f"{kernel}\ncompiled in {(time.perf_counter() - start) * 1e3:.0f} ms")

    rng = np.random.default_rng(0)
    B, K, N, M = 301, 257, 129, 67
    X = rng.standard_normal((B, K), dtype=np.float32)
    W1 = (rng.standard_normal((N, K)) / np.sqrt(K)).astype(np.float32)
    b1 = rng.standard_normal(N, dtype=np.float32)
    W2 = (rng.standard_normal((M, N)) / np.sqrt(N)).astype(np.float32)
    b2 = rng.standard_normal(M, dtype=np.float32)
    start = time.perf_counter()
    Y = kernel(X, W1, b1, W2, b2)
    ran = time.perf_counter() - start
    expected = np.maximum(X @ W1.T + b1, 0) @ W2.T + b2
    error = float(np.max(np.abs(Y - expected)))
    print(f"ran {B}x{K} -> {N} -> {M} in {ran * 1e3:.2f} ms; max |Y - numpy| = {error:.2e}")

    print("\nfused schedule:\n" + str(kernel.schedule_summary))
    print("\nstatements per op:", graph.lower().statements_by_op(kernel.program))
    print("\ncontraction of the intermediates under this schedule:")
    for contraction in contractions(kernel.program, kernel.schedule).values():
        print("  " + str(contraction))
    if error > 1e-3:
        raise SystemExit("the MLP graph disagrees with numpy")
    print("OK: matches numpy")


if __name__ == "__main__":
    main()
