"""conv2d -> relu -> 2x2 max-pool as a graph of TC ops, one C function.

    python examples/conv_relu_pool.py

Each op is written for itself (its own size names); the graph binds the
relu's and the pool's input sizes to the conv's output extents
(``H - KH + 1``), checks they agree, and lowers the three ops to one def
that the scheduler fuses.  Checked against numpy.
"""
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import polytc
from polytc.graph import contractions

CONV = """def conv(float(N,C,H,W) I, float(M,C,KH,KW) Wt) -> (O) {
    O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * Wt(m,c,kh,kw)
}"""
RELU = "def relu(float(N,C,H,W) I) -> (O) { O(n,c,h,w) = fmax(I(n,c,h,w), 0) }"
POOL = """def pool(float(N,C,H,W) I) -> (O) {
    O(n,c,h,w) max=! I(n,c,2*h+kh,2*w+kw) where kh in 0:2, kw in 0:2
}"""


def build() -> polytc.Graph:
    g = polytc.Graph("conv_relu_pool")
    conv = g.op(CONV, I=g.input("X", "float(N,C,H,W)"), Wt=g.input("Wt", "float(M,C,KH,KW)"))
    relu = g.op(RELU, I=conv)
    g.output(g.op(POOL, I=relu), name="P")
    return g


def reference(X: np.ndarray, Wt: np.ndarray) -> np.ndarray:
    KH, KW = Wt.shape[2:]
    conv = np.einsum("nchwij,mcij->nmhw", sliding_window_view(X, (KH, KW), axis=(2, 3)), Wt)
    relu = np.maximum(conv, 0)
    n, m, h, w = relu.shape
    return relu[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, m, h // 2, 2, w // 2, 2).max(
        axis=(3, 5))


def main() -> None:
    graph = build()
    print("the graph as one TC def:\n" + graph.lower().text)
    start = time.perf_counter()
    kernel = graph.compile(fuse="smart")
    print(f"{kernel}\ncompiled in {(time.perf_counter() - start) * 1e3:.0f} ms")
    print("output extents:", kernel.output_extents)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 16, 67, 45), dtype=np.float32)
    Wt = (rng.standard_normal((32, 16, 3, 3)) / 12).astype(np.float32)
    start = time.perf_counter()
    P = kernel(X, Wt)
    ran = time.perf_counter() - start
    expected = reference(X, Wt)
    error = float(np.max(np.abs(P - expected)))
    print(f"ran X{list(X.shape)} * Wt{list(Wt.shape)} -> P{list(P.shape)} in "
          f"{ran * 1e3:.2f} ms; max |P - numpy| = {error:.2e}")
    print("\nfused schedule:\n" + str(kernel.schedule_summary))
    print("\ncontraction of the intermediates under this schedule:")
    for contraction in contractions(kernel.program, kernel.schedule).values():
        print("  " + str(contraction))
    if P.shape != expected.shape or error > 1e-3:
        raise SystemExit("the conv -> relu -> pool graph disagrees with numpy")
    print("OK: matches numpy")


if __name__ == "__main__":
    main()
