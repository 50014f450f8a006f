"""A gallery of polytc's pictures and research tools (needs matplotlib:
pip install 'polytc[plot]').

    python examples/pictures.py [OUTPUT_DIRECTORY]

writes PNG and SVG pictures (and a Graphviz DOT file) into OUTPUT_DIRECTORY,
a new temporary directory when none is given, and prints what it wrote:

* a matrix multiply's tiles, their order and which run in parallel;
* a recurrence B(i,j) += B(i-1,j+1): its domain with the (1, -1) dependence,
  its distance vectors, then skewed and tiled by hand (polytc.poly.transform)
  into a wavefront of tiles, checked against numpy;
* an MLP layer's dependence graph (also as DOT text) and the legal fusion of
  its matmul with its bias + relu;
* an illegal fusion, the violated dependence and its witness pair.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import polytc
from polytc import plot
from polytc.poly import transform

GEMM = "def mm(float(M,K) A, float(K,N) B) -> (C) { C(m,n) +=! A(m,k) * B(k,n) }"
RECURRENCE = """def rec(float(N,M) A) -> (B) {
    B(i,j) = A(i,j)
    B(i,j) += B(i-1,j+1) where i in 1:N, j in 0:M-1
}"""
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}"""
REVERSE = """def rev(float(N) A) -> (C) {
    B(i) = A(i) * 2.0
    C(i) = B(N - 1 - i)
}"""


def save(figure: object, directory: Path, name: str) -> list[Path]:
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    for path in paths:
        figure.savefig(path)  # type: ignore[attr-defined]
    return paths


def recurrence_reference(a: np.ndarray) -> np.ndarray:
    """numpy's answer, a row at a time: row i needs only row i - 1."""
    b = a.copy()
    for i in range(1, b.shape[0]):
        b[i, :-1] += b[i - 1, 1:]
    return b


def gallery(directory: Path) -> list[Path]:
    written: list[Path] = []
    gemm = polytc.compile(GEMM, tile=4)
    written += save(gemm.plot("schedule", sizes={"M": 10, "N": 9, "K": 4}), directory,
                    "gemm_tiles")

    rec = polytc.compile(RECURRENCE, scheduler="identity")
    print(rec.dependences.distances(program=rec.program))
    written += save(plot.plot_domain(rec, "S1", {"N": 7, "M": 8}), directory, "rec_domain")
    skewed = transform.skew(rec.schedule, "S1", 1, 0, 1, deps=rec.dependences)  # j + i
    tiled = transform.tile(skewed, "S1", (3, 3), deps=rec.dependences)
    print(transform.describe(tiled))
    a = np.random.default_rng(0).standard_normal((11, 13)).astype(np.float32)
    kernel = polytc.compile(RECURRENCE, schedule=str(tiled), tile=None)
    assert np.allclose(kernel(a), recurrence_reference(a), atol=1e-5)
    written += save(plot.plot_schedule(rec, {"N": 9, "M": 9}, "S1", schedule=tiled),
                    directory, "rec_skewed_tiles")

    mlp = polytc.compile(MLP)
    written += save(mlp.plot("deps"), directory, "mlp_graph")
    dot = directory / "mlp_graph.dot"
    dot.write_text(mlp.dependence_graph_dot())
    written.append(dot)
    written += save(plot.plot_fusion(mlp, ["S1", "S2"], 2, {"B": 4, "N": 5, "K": 3}),
                    directory, "mlp_fusion")
    written += save(plot.plot_fusion(polytc.compile(REVERSE), ["S0", "S1"], 1, {"N": 8}),
                    directory, "illegal_fusion")
    return written


def main() -> None:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(tempfile.mkdtemp(prefix="polytc-pictures-"))
    directory.mkdir(parents=True, exist_ok=True)
    for path in gallery(directory):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
