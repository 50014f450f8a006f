"""Export a kernel as standalone C (a .c, a .h documenting the ABI, a timing
harness and a Makefile), build it with the C compiler alone, run it on inputs
written from numpy and check its outputs against numpy.

    python examples/export_c.py [DIRECTORY]

Without DIRECTORY the files go to a temporary directory, removed at the end.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import polytc

MLP = """
def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}
"""


def export_and_check(directory: Path) -> None:
    kernel = polytc.compile(MLP)
    for path in kernel.save(directory):
        print("wrote", path)
    header = (directory / "mlp.h").read_text()
    print(header[:header.index("#ifndef")])            # the ABI, as documented

    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        print("no C compiler found: skipping the build")
        return
    if shutil.which("make"):
        command = ["make", f"CC={compiler}"]
    else:
        command = [compiler, "-O3", "-fopenmp", "-o", "mlp", "mlp_main.c", "mlp.c", "-lm"]
    print("$", " ".join(command))
    subprocess.run(command, cwd=directory, check=True)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 48), dtype=np.float32)
    W = rng.standard_normal((32, 48), dtype=np.float32)
    b = rng.standard_normal(32, dtype=np.float32)
    (directory / "in").mkdir(exist_ok=True)
    (directory / "out").mkdir(exist_ok=True)
    for name, array in {"X": X, "W": W, "b": b}.items():
        array.tofile(directory / "in" / f"{name}.bin")   # raw row-major float32
    run = ["./mlp", "B=64", "K=48", "N=32", "-i", "in", "-o", "out", "-r", "10"]
    print("$", " ".join(run))
    result = subprocess.run(run, cwd=directory, check=True, capture_output=True, text=True)
    print(result.stdout, end="")

    Y = np.fromfile(directory / "out" / "Y.bin", np.float32).reshape(64, 32)
    error = float(np.max(np.abs(Y - np.maximum(X @ W.T + b, 0))))
    print(f"max |Y - relu(X @ W.T + b)| = {error:.2e}")
    if error > 1e-4:
        raise SystemExit("the exported kernel disagrees with numpy")
    print("OK: the standalone build matches numpy")


def main() -> None:
    if len(sys.argv) > 1:
        export_and_check(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as directory:
        export_and_check(Path(directory))


if __name__ == "__main__":
    main()
