"""Compile a matrix multiply written in TC, run it, and check it against numpy.

    python examples/matmul.py
"""
import time

import numpy as np

import polytc

MATMUL = """
def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}
"""


def main() -> None:
    start = time.perf_counter()
    kernel = polytc.compile(MATMUL)
    compiled = time.perf_counter() - start

    rng = np.random.default_rng(0)
    A = rng.standard_normal((301, 257), dtype=np.float32)
    B = rng.standard_normal((257, 199), dtype=np.float32)
    start = time.perf_counter()
    C = kernel(A, B)
    ran = time.perf_counter() - start

    error = float(np.max(np.abs(C - A @ B)))
    print(kernel)
    print(f"compiled in {compiled * 1e3:.0f} ms, ran 301x257x199 in {ran * 1e3:.1f} ms")
    print(f"max |C - A @ B| = {error:.2e}")
    print("schedule:", kernel.schedule)
    print("C source:", len(kernel.c_source.splitlines()), "lines; the loop nest:")
    body = kernel.c_source[kernel.c_source.rindex("int polytc_matmul("):]
    print(body)
    if error > 1e-3:
        raise SystemExit("polytc's matmul disagrees with numpy")
    print("OK: matches numpy")


if __name__ == "__main__":
    main()
