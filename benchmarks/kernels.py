"""Kernel speed: polytc against naive C, numpy and Polly, on sixteen programs.

    python benchmarks/kernels.py                       # full run (several minutes)
    python benchmarks/kernels.py --quick               # small sizes, a CI smoke run
    python benchmarks/kernels.py --threads 1,2 --only gemm,conv2d

Programs (float32 TC defs): gemm, gemm onto an initial C0 (1000x1100x1200:
sizes no tile divides), the Polybench kernels 2mm, 3mm, atax,
bicg, mvt, syrk and doitgen, conv2d NCHW (3x3, 64->64 channels, batch 4,
56x56 output), an MLP layer (matmul + bias + relu), a matrix-vector product,
a row sum, softmax and layernorm over rows, and transpose-add.  Each runs as

* polytc: ``polytc.compile(text)`` with default options;
* sized: the same with ``specialize=True``: the call's sizes are constants
  in the C (one build per shape), so gcc knows every trip count;
* naive C: the same def with the identity schedule, no parallel loops, no
  tiling, unrolling or vectorization, under ``gcc -O3 -march=native``
  (polytc's own build when its flags are those, else built here);
* numpy: the natural numpy formulation (BLAS matmul, im2col + BLAS for
  conv2d, vector ops), its BLAS limited to the row's thread count;
* Polly: the naive C under ``clang-14 -O3 -march=native -mllvm -polly``,
  where such a clang is installed (Debian: clang-14, libpolly-14-dev).

Sizes make naive C run 0.05-1 s a call, except gemm (1024^3) and conv2d,
whose sizes are those of the issue's targets.  Naive C and Polly are serial
code: they are measured once per program and shown on every thread count's
row.  The kernels that are not loop-heavy are bound by memory: their GB/s
(each input read once, each output written once) is shown against a copy
kernel's (polytc's ``B(i) = A(i)`` over 2 x 256 MiB, bytes read plus
written) measured at the same thread count in the same run.  Every
variant's result is checked against numpy in float64 before it
is timed; a mismatch prints FAIL and makes the exit status 1.  Times are
medians of several repeats; ratios compare figures of the same run.  Machines
are shared and noisy: read ratios, not absolute times.
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Arrays = tuple[Any, ...]
Sizes = dict[str, int]

NAIVE_OPTIONS: dict[str, Any] = {"scheduler": "identity", "parallel": False, "tile": None,
                                 "unroll": None, "vectorize": False}
GCC_FLAGS = ("-O3", "-march=native", "-fopenmp")
POLLY_FLAGS = ("-O3", "-march=native", "-mllvm", "-polly")
VARIANTS = ("polytc", "sized", "naive", "numpy", "polly")
SERIAL = ("naive", "polly")  # serial code: measured once per program


# -- the programs -------------------------------------------------------------

@dataclass(frozen=True)
class Program:
    """A benchmark program: TC text, inputs, its numpy formulation, sizes."""

    name: str
    text: str
    inputs: Callable[[Sizes, np.random.Generator], Arrays]
    numpy: Callable[..., Any]
    full: Sizes
    quick: Sizes
    label: Callable[[Sizes], str]
    flops: Callable[[Sizes], float] | None = None
    loop_heavy: bool = False


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Uniform float32 values in [-1, 1)."""
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


def scalar(value: float) -> np.ndarray:
    return np.array(value, dtype=np.float32)


def square(s: Sizes) -> str:
    values = list(s.values())
    return f"{values[0]}^{len(values)}" if len(set(values)) == 1 else "x".join(map(str, values))


GEMM = """def gemm(float(M,K) A, float(K,N) B) -> (C) {
    C(i, j) +=! A(i, k) * B(k, j)
}"""
GEMM_C0 = """def gemm_c0(float(M,K) A, float(K,N) B, float(M,N) C0) -> (C) {
    C(i, j) = C0(i, j)
    C(i, j) += A(i, k) * B(k, j)
}"""
MM2 = """def mm2(float(NI,NK) A, float(NK,NJ) B, float(NJ,NL) C, float(NI,NL) D,
            float alpha, float beta) -> (E) {
    T(i, j) +=! alpha * A(i, k) * B(k, j)
    E(i, l) = beta * D(i, l)
    E(i, l) += T(i, j) * C(j, l)
}"""
MM3 = """def mm3(float(NI,NK) A, float(NK,NJ) B, float(NJ,NM) C, float(NM,NL) D) -> (G) {
    E(i, j) +=! A(i, k) * B(k, j)
    F(j, l) +=! C(j, m) * D(m, l)
    G(i, l) +=! E(i, j) * F(j, l)
}"""
ATAX = """def atax(float(M,N) A, float(N) x) -> (y) {
    t(i) +=! A(i, j) * x(j)
    y(j) +=! A(i, j) * t(i)
}"""
BICG = """def bicg(float(N,M) A, float(N) r, float(M) p) -> (s, q) {
    s(j) +=! r(i) * A(i, j)
    q(i) +=! A(i, j) * p(j)
}"""
MVT = """def mvt(float(N,N) A, float(N) x1in, float(N) x2in, float(N) v1, float(N) v2)
        -> (x1, x2) {
    x1(i) = x1in(i)
    x1(i) += A(i, j) * v1(j)
    x2(i) = x2in(i)
    x2(i) += A(j, i) * v2(j)
}"""
# Polybench's syrk updates the lower triangle only; TC ranges cannot depend
# on indices, so this one updates the whole matrix.
SYRK = """def syrk(float(N,M) A, float(N,N) Cin, float alpha, float beta) -> (C) {
    C(i, j) = beta * Cin(i, j)
    C(i, j) += alpha * A(i, k) * A(j, k)
}"""
DOITGEN = """def doitgen(float(R,Q,P) A, float(P,P) C4) -> (O) {
    O(r, q, p) +=! A(r, q, s) * C4(s, p)
}"""
CONV2D = """def conv2d(float(N,C,H,W) I, float(M,C,KH,KW) Wt) -> (O) {
    O(n, m, h, w) +=! I(n, c, h + kh, w + kw) * Wt(m, c, kh, kw)
}"""
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i, n) +=! X(i, k) * W(n, k)
    Y(i, n) = fmax(Y(i, n) + b(n), 0)
}"""
SOFTMAX = """def softmax(float(N,D) I) -> (O) {
    mx(n) max=! I(n, d)
    e(n, d) = exp(I(n, d) - mx(n))
    s(n) +=! e(n, d)
    O(n, d) = e(n, d) / s(n)
}"""
GEMV = """def gemv(float(M,N) A, float(N) x) -> (y) {
    y(i) +=! A(i, j) * x(j)
}"""
ROWSUM = """def rowsum(float(M,N) S) -> (r) {
    r(i) +=! S(i, j)
}"""
LAYERNORM = """def layernorm(float(N,D) X, float(D) G, float(D) Bt) -> (Y) {
    mu(n) +=! X(n, d)
    mu(n) = mu(n) / float(D)
    var(n) +=! (X(n, d) - mu(n)) * (X(n, d) - mu(n))
    var(n) = var(n) / float(D)
    Y(n, d) = (X(n, d) - mu(n)) / sqrt(var(n) + 1e-5) * G(d) + Bt(d)
}"""
COPY = """def copy(float(N) A) -> (B) {
    B(i) = A(i)
}"""
COPY_ELEMENTS = 64 * 1024 * 1024  # 256 MiB each way: far beyond any cache
TRANSPOSE_ADD = """def transpose_add(float(N,N) A, float(N,N) B) -> (C) {
    C(i, j) = A(i, j) + B(j, i)
}"""


def conv2d_numpy(I: np.ndarray, W: np.ndarray) -> np.ndarray:
    """im2col + one batched BLAS matmul, NCHW in and out."""
    n, c, _, _ = I.shape
    m, _, kh, kw = W.shape
    windows = sliding_window_view(I, (kh, kw), axis=(2, 3))  # n, c, ho, wo, kh, kw
    ho, wo = windows.shape[2:4]
    cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    out: np.ndarray = np.matmul(W.reshape(m, c * kh * kw), cols).reshape(n, m, ho, wo)
    return out


def softmax_numpy(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def layernorm_numpy(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    out: np.ndarray = (x - mu) / np.sqrt(var + 1e-5) * g + b
    return out


def conv_label(s: Sizes) -> str:
    return f"{s['N']}x{s['C']}->{s['M']}x{s['H'] - 2}^2"


PROGRAMS: tuple[Program, ...] = (
    Program("gemm", GEMM, lambda s, g: (rand(g, s["M"], s["K"]), rand(g, s["K"], s["N"])),
            lambda A, B: A @ B,
            {"M": 1024, "N": 1024, "K": 1024}, {"M": 128, "N": 128, "K": 128}, square,
            lambda s: 2.0 * s["M"] * s["N"] * s["K"], loop_heavy=True),
    Program("gemm-c0", GEMM_C0, lambda s, g: (rand(g, s["M"], s["K"]), rand(g, s["K"], s["N"]),
                                              rand(g, s["M"], s["N"])),
            lambda A, B, C0: C0 + A @ B,
            {"M": 1000, "N": 1100, "K": 1200}, {"M": 100, "N": 110, "K": 120},
            lambda s: f"{s['M']}x{s['N']}x{s['K']}",
            lambda s: 2.0 * s["M"] * s["N"] * s["K"], loop_heavy=True),
    Program("2mm", MM2, lambda s, g: (rand(g, s["NI"], s["NK"]), rand(g, s["NK"], s["NJ"]),
                                      rand(g, s["NJ"], s["NL"]), rand(g, s["NI"], s["NL"]),
                                      scalar(1.5), scalar(1.2)),
            lambda A, B, C, D, alpha, beta: (alpha * A @ B) @ C + beta * D,
            {"NI": 512, "NJ": 512, "NK": 512, "NL": 512},
            {"NI": 96, "NJ": 80, "NK": 72, "NL": 64}, square,
            lambda s: 2.0 * s["NI"] * s["NJ"] * (s["NK"] + s["NL"]), loop_heavy=True),
    Program("3mm", MM3, lambda s, g: (rand(g, s["NI"], s["NK"]), rand(g, s["NK"], s["NJ"]),
                                      rand(g, s["NJ"], s["NM"]), rand(g, s["NM"], s["NL"])),
            lambda A, B, C, D: (A @ B) @ (C @ D),
            {"NI": 448, "NJ": 448, "NK": 448, "NL": 448, "NM": 448},
            {"NI": 64, "NJ": 72, "NK": 80, "NL": 88, "NM": 96}, square,
            lambda s: 2.0 * (s["NI"] * s["NJ"] * s["NK"] + s["NJ"] * s["NL"] * s["NM"]
                             + s["NI"] * s["NL"] * s["NJ"]), loop_heavy=True),
    Program("atax", ATAX, lambda s, g: (rand(g, s["M"], s["N"]), rand(g, s["N"])),
            lambda A, x: A.T @ (A @ x),
            {"M": 4000, "N": 4000}, {"M": 300, "N": 400}, square,
            lambda s: 4.0 * s["M"] * s["N"]),
    Program("bicg", BICG, lambda s, g: (rand(g, s["N"], s["M"]), rand(g, s["N"]),
                                        rand(g, s["M"])),
            lambda A, r, p: (r @ A, A @ p),
            {"N": 4000, "M": 4000}, {"N": 400, "M": 300}, square,
            lambda s: 4.0 * s["M"] * s["N"]),
    Program("mvt", MVT, lambda s, g: (rand(g, s["N"], s["N"]), rand(g, s["N"]), rand(g, s["N"]),
                                      rand(g, s["N"]), rand(g, s["N"])),
            lambda A, x1, x2, y1, y2: (x1 + A @ y1, x2 + A.T @ y2),
            {"N": 4000}, {"N": 400}, lambda s: f"N={s['N']}",
            lambda s: 4.0 * s["N"] * s["N"]),
    Program("syrk", SYRK, lambda s, g: (rand(g, s["N"], s["M"]), rand(g, s["N"], s["N"]),
                                        scalar(1.5), scalar(1.2)),
            lambda A, C, alpha, beta: alpha * (A @ A.T) + beta * C,
            {"N": 768, "M": 768}, {"N": 120, "M": 100}, square,
            lambda s: 2.0 * s["N"] * s["N"] * s["M"], loop_heavy=True),
    Program("doitgen", DOITGEN, lambda s, g: (rand(g, s["R"], s["Q"], s["P"]),
                                              rand(g, s["P"], s["P"])),
            lambda A, C4: (A.reshape(-1, A.shape[2]) @ C4).reshape(A.shape),
            {"R": 128, "Q": 128, "P": 128}, {"R": 20, "Q": 24, "P": 28}, square,
            lambda s: 2.0 * s["R"] * s["Q"] * s["P"] * s["P"], loop_heavy=True),
    Program("conv2d", CONV2D, lambda s, g: (rand(g, s["N"], s["C"], s["H"], s["H"]),
                                            rand(g, s["M"], s["C"], 3, 3)),
            conv2d_numpy,
            {"N": 4, "C": 64, "M": 64, "H": 58}, {"N": 1, "C": 16, "M": 16, "H": 18},
            conv_label,
            lambda s: 2.0 * s["N"] * s["M"] * s["C"] * 9 * (s["H"] - 2) ** 2, loop_heavy=True),
    Program("mlp", MLP, lambda s, g: (rand(g, s["B"], s["K"]), rand(g, s["N"], s["K"]),
                                      rand(g, s["N"])),
            lambda X, W, b: np.maximum(X @ W.T + b, 0),
            {"B": 256, "K": 1024, "N": 1024}, {"B": 64, "K": 96, "N": 80}, square,
            lambda s: 2.0 * s["B"] * s["N"] * s["K"] + 2.0 * s["B"] * s["N"]),
    Program("gemv", GEMV, lambda s, g: (rand(g, s["M"], s["N"]), rand(g, s["N"])),
            lambda A, x: A @ x, {"M": 8000, "N": 8000}, {"M": 300, "N": 401}, square,
            lambda s: 2.0 * s["M"] * s["N"]),
    Program("rowsum", ROWSUM, lambda s, g: (rand(g, s["M"], s["N"]),),
            lambda S: S.sum(axis=1), {"M": 4096, "N": 4096}, {"M": 300, "N": 401}, square,
            lambda s: 1.0 * s["M"] * s["N"]),
    Program("softmax", SOFTMAX, lambda s, g: (rand(g, s["N"], s["D"]) * 4,),
            softmax_numpy, {"N": 4096, "D": 1024}, {"N": 256, "D": 200}, square),
    Program("layernorm", LAYERNORM, lambda s, g: (rand(g, s["N"], s["D"]) * 3 + 1,
                                                  rand(g, s["D"]), rand(g, s["D"])),
            layernorm_numpy, {"N": 4096, "D": 1024}, {"N": 256, "D": 200}, square),
    Program("transpose-add", TRANSPOSE_ADD,
            lambda s, g: (rand(g, s["N"], s["N"]), rand(g, s["N"], s["N"])),
            lambda A, B: A + B.T, {"N": 4096}, {"N": 300}, lambda s: f"N={s['N']}"),
)


def select(only: Sequence[str] | None) -> list[Program]:
    """The programs named in ``only`` (all when None), in suite order."""
    if not only:
        return list(PROGRAMS)
    wanted = {name.strip().replace("_", "-") for name in only if name.strip()}
    known = {p.name for p in PROGRAMS}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(f"unknown program(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(sorted(known))}")
    return [p for p in PROGRAMS if p.name in wanted]


# -- the numpy side: reference, BLAS threads ------------------------------------

def as_tuple(value: Any) -> tuple[np.ndarray, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def reference(program: Program, inputs: Arrays) -> tuple[np.ndarray, ...]:
    """The numpy formulation evaluated in float64."""
    wide = tuple(np.asarray(a, dtype=np.float64) for a in inputs)
    return as_tuple(program.numpy(*wide))


class BlasThreads:
    """Sets OpenBLAS's thread count: through threadpoolctl when installed,
    else through OpenBLAS's own ``*_set_num_threads`` found in this process."""

    def __init__(self) -> None:
        self._limit: Callable[[int], Any] | None = None
        self._set: Callable[[int], None] | None = None
        self._get: Callable[[], int] | None = None
        self.how = "not controlled (no threadpoolctl, OpenBLAS not found)"
        try:
            import threadpoolctl
            self._limit = lambda n: threadpoolctl.threadpool_limits(n, user_api="blas")
            self.how = "set with threadpoolctl"
        except ImportError:
            functions = _openblas_functions()
            if functions is not None:
                self._set, self._get = functions
                self.how = "set with openblas_set_num_threads"

    @contextmanager
    def limit(self, threads: int) -> Iterator[None]:
        if self._limit is not None:
            with self._limit(threads):
                yield
        elif self._set is not None and self._get is not None:
            before = self._get()
            self._set(threads)
            try:
                yield
            finally:
                self._set(before)
        else:
            yield


def _openblas_functions() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """OpenBLAS's set- and get-threads functions from the libraries this
    process loaded (Linux; numpy's wheels prefix their names)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = sorted({line.split()[-1] for line in maps.splitlines()
                    if "openblas" in line.lower() and line.split()[-1].startswith("/")})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return (lambda n, f=setter: f(int(n))), (lambda f=getter: int(f()))
    return None


# -- compilers ------------------------------------------------------------------

def polly_compiler() -> str | None:
    """``clang-14`` (or ``clang``) when it compiles with ``-mllvm -polly``."""
    for name in ("clang-14", "clang"):
        path = shutil.which(name)
        if path and _compiles([path, *POLLY_FLAGS]):
            return path
    return None


def _compiles(command: list[str]) -> bool:
    with tempfile.TemporaryDirectory(prefix="polytc-bench-probe-") as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text("void f(float *a, long n) { for (long i = 0; i < n; i++) "
                          "a[i] *= 2; }\n")
        result = subprocess.run([*command, "-fPIC", "-shared", str(source), "-o",
                                 str(Path(tmp) / "probe.so")], capture_output=True)
        return result.returncode == 0


def polytc_builds_naive_flags() -> bool:
    """Whether polytc's own toolchain is gcc with -O3 -march=native."""
    from polytc.codegen_c import build
    chain = build.toolchain()
    is_gcc = "clang" not in chain.version.lower() and "clang" not in chain.command[0]
    return is_gcc and "-O3" in chain.flags and "-march=native" in chain.flags


class BuildTimeout(Exception):
    """A baseline compiler ran out of time (Polly on some SCoPs takes minutes)."""


def build_library(source: str, command: Sequence[str], timeout: float | None = None) -> Path:
    """Compile ``source`` with ``command`` into polytc's cache dir (reused by hash)."""
    from polytc.codegen_c import build
    key = hashlib.sha256("\0".join([*command, source]).encode()).hexdigest()[:24]
    target = build.cache_root() / "bench" / f"bench_{key}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    c_file = target.with_suffix(".c")
    c_file.write_text(source)
    fd, partial = tempfile.mkstemp(suffix=".so.part", dir=target.parent)
    os.close(fd)
    try:
        result = subprocess.run([*command, "-fPIC", "-shared", str(c_file), "-o", partial,
                                 "-lm"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.unlink(partial)
        raise BuildTimeout(f"{Path(command[0]).name} took over {timeout:.0f} s") from None
    if result.returncode != 0:
        os.unlink(partial)
        raise RuntimeError(f"{command[0]} failed:\n{result.stderr[-2000:]}")
    os.replace(partial, target)
    return target


# -- variants ---------------------------------------------------------------------

Runner = Callable[[Arrays, int], tuple[np.ndarray, ...]]


def naive_options() -> dict[str, Any]:
    """NAIVE_OPTIONS without the options this polytc does not know yet."""
    from polytc.errors import OptionError
    from polytc.options import Options
    options = dict(NAIVE_OPTIONS)
    for name in ("tile", "unroll", "vectorize"):
        try:
            Options(**{name: options[name]})
        except (OptionError, TypeError):
            del options[name]
    return options


def kernel_runner(kernel: Any) -> Runner:
    return lambda inputs, threads: as_tuple(kernel(*inputs, num_threads=threads))


def built_kernel(text: str, options: dict[str, Any], command: Sequence[str],
                 timeout: float | None = None) -> Any:
    """The def's C (under ``options``) compiled with ``command``, as a polytc Kernel."""
    import polytc
    from polytc import pipeline
    stages = pipeline.run_stages(text, None, polytc.Options(**options))
    path = build_library(stages["c"].source, command, timeout)
    return polytc.Kernel(stages["c"], str(path), lambda: stages)


def make_variants(program: Program, polly: str | None, polly_timeout: float,
                  blas: BlasThreads, report: Report) -> dict[str, Runner]:
    """A runner per variant that builds; a build error is recorded as a FAIL,
    a Polly build that times out as a note."""
    import polytc
    builders: dict[str, Callable[[], Runner]] = {
        "polytc": lambda: kernel_runner(polytc.compile(program.text)),
        "sized": lambda: kernel_runner(polytc.compile(program.text, specialize=True)),
        "naive": lambda: kernel_runner(naive_kernel(program.text)),
    }
    if polly is not None:
        builders["polly"] = lambda: kernel_runner(
            built_kernel(program.text, naive_options(), [polly, *POLLY_FLAGS],
                         polly_timeout))
    runners: dict[str, Runner] = {}
    for name, make in builders.items():
        try:
            runners[name] = make()
        except BuildTimeout as error:
            report.notes.append(f"{program.name} [{name}]: not built, {error}")
            print(f"({name}: {error})", end=" ", flush=True)
        except Exception as error:  # noqa: BLE001 - reported, never hidden
            report.failures.append(fail(program.name, name,
                                        f"build: {type(error).__name__}: {error}"))

    def numpy_runner(inputs: Arrays, threads: int) -> tuple[np.ndarray, ...]:
        with blas.limit(threads):
            return as_tuple(program.numpy(*inputs))
    runners["numpy"] = numpy_runner
    return runners


def naive_kernel(text: str) -> Any:
    import polytc
    options = naive_options()
    if polytc_builds_naive_flags():
        return polytc.compile(text, **options)
    gcc = shutil.which("gcc") or shutil.which("cc") or "cc"
    return built_kernel(text, options, [gcc, *GCC_FLAGS])


def fail(program: str, variant: str, message: str) -> str:
    line = f"FAIL {program} [{variant}]: {message}"
    print(f"\n{'!' * 8} {line}", flush=True)
    return line


# -- checking and timing ------------------------------------------------------------

def check(outputs: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...]) -> str | None:
    """None when ``outputs`` match ``expected`` to float32-reduction accuracy."""
    if len(outputs) != len(expected):
        return f"{len(outputs)} outputs, expected {len(expected)}"
    for index, (got, want) in enumerate(zip(outputs, expected)):
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        try:
            np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want,
                                       rtol=2e-3, atol=2e-4 * scale)
        except AssertionError as error:
            return f"output {index}: " + " ".join(str(error).split())[:300]
    return None


@dataclass(frozen=True)
class Timing:
    """Repeats per measurement, and a pause before each (idle BLAS and OpenMP
    threads of the previous variant spin a while and would steal a core)."""

    repeat_min: int
    repeat_max: int
    budget_s: float
    settle_s: float = 0.0


def median_ms(fn: Callable[[], Any], timing: Timing, first_s: float) -> float:
    """Median milliseconds of ``fn``: at least ``repeat_min`` calls, more while
    the ``budget_s`` lasts, at most ``repeat_max``.  ``first_s`` is the time of
    the checked first call: a call that slow counts as one sample (its warm-up
    costs are negligible), which spares a repeat of the slowest baselines."""
    times: list[float] = [first_s] if first_s > timing.budget_s else []
    time.sleep(timing.settle_s)
    while len(times) < timing.repeat_max and \
            (len(times) < timing.repeat_min or sum(times) < timing.budget_s):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


@dataclass
class Row:
    program: Program
    sizes: Sizes
    threads: int
    ms: dict[str, float] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)
    bytes: float = 0.0  # each input read once, each output written once
    copy_gbs: float | None = None  # the copy kernel's GB/s at these threads

    def gbs(self) -> float | None:
        """polytc's GB/s (memory-bound programs only)."""
        ours = self.ms.get("polytc")
        if self.program.loop_heavy or not ours or not self.bytes:
            return None
        return self.bytes / ours / 1e6

    def ratio(self, base: str, ours_name: str = "polytc") -> float | None:
        """``base``'s time over polytc's (above 1: polytc is faster)."""
        ours, theirs = self.ms.get(ours_name), self.ms.get(base)
        return theirs / ours if ours and theirs else None


@dataclass
class Report:
    """What a run measured: table rows, correctness failures, notes."""

    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def measure(program: Program, sizes: Sizes, threads: Sequence[int], runners: dict[str, Runner],
            timing: Timing, report: Report, copy_gbs: dict[int, float] | None = None) -> None:
    """Check then time every variant at every thread count; serial variants once."""
    inputs = program.inputs(sizes, np.random.default_rng(0))
    expected = reference(program, inputs)
    moved = float(sum(a.nbytes for a in inputs)
                  + sum(e.size * np.dtype(np.float32).itemsize for e in expected))
    serial: dict[str, float] = {}
    serial_bad: set[str] = set()
    for count in threads:
        row = Row(program, sizes, count, bytes=moved, copy_gbs=(copy_gbs or {}).get(count))
        for name in VARIANTS:
            runner = runners.get(name)
            if runner is None:
                continue
            if name in SERIAL and name in serial:
                row.ms[name] = serial[name]
                row.bad |= serial_bad & {name}
                continue
            try:
                start = time.perf_counter()
                outputs = runner(inputs, count)
                first_s = time.perf_counter() - start
                problem = check(outputs, expected)
            except Exception as error:  # noqa: BLE001 - a crash is a result too
                report.failures.append(fail(program.name, name, f"{type(error).__name__}: "
                                            f"{error} (threads={count})"))
                continue
            if problem is not None:
                report.failures.append(fail(program.name, name,
                                            f"{problem} (threads={count})"))
                row.bad.add(name)
            del outputs
            row.ms[name] = median_ms(lambda: runner(inputs, count), timing, first_s)
            if name in SERIAL:
                serial[name] = row.ms[name]
                serial_bad |= row.bad & {name}
        report.rows.append(row)


# -- printing -------------------------------------------------------------------------

HEADER = (f"{'program':<13} {'size':<15} {'thr':>3} {'polytc':>9} {'sized':>9} {'naive C':>9} "
          f"{'numpy':>9} {'polly':>9} {'GFLOP/s':>7} {'vs naive':>8} {'vs numpy':>8} "
          f"{'sized/np':>8} {'GB/s':>6} {'%copy':>6}")


def cell(row: Row, name: str) -> str:
    value = row.ms.get(name)
    if value is None:
        return f"{'-':>9}"
    mark = "!" if name in row.bad else ""
    return f"{value:>{9 - len(mark)}.2f}{mark}"


def ratio_text(value: float | None) -> str:
    return f"{value:>7.2f}x" if value is not None else f"{'-':>8}"


def format_row(row: Row) -> str:
    ours = row.ms.get("polytc")
    gflops = (f"{row.program.flops(row.sizes) / ours / 1e6:>7.2f}"
              if row.program.flops and ours else f"{'-':>7}")
    return (f"{row.program.name:<13} {row.program.label(row.sizes):<15.15} {row.threads:>3} "
            f"{cell(row, 'polytc')} {cell(row, 'sized')} {cell(row, 'naive')} "
            f"{cell(row, 'numpy')} {cell(row, 'polly')} {gflops} "
            f"{ratio_text(row.ratio('naive'))} {ratio_text(row.ratio('numpy'))} "
            f"{ratio_text(row.ratio('numpy', 'sized'))} {bandwidth_text(row)}")


def bandwidth_text(row: Row) -> str:
    gbs = row.gbs()
    if gbs is None:
        return f"{'-':>6} {'-':>6}"
    share = f"{100 * gbs / row.copy_gbs:>5.0f}%" if row.copy_gbs else f"{'-':>6}"
    return f"{gbs:>6.1f} {share}"


def print_table(report: Report) -> None:
    print()
    print("median ms per call; vs naive = naive C time / polytc time (speedup); "
          "vs numpy = numpy time / polytc time; sized/np = numpy time / sized time; "
          "GB/s = polytc's bytes read and written / time (memory-bound programs), "
          "%copy = that of the copy kernel's GB/s at the same threads; '!' = wrong result")
    print(HEADER)
    print("-" * len(HEADER))
    for row in report.rows:
        print(format_row(row))


def targets(report: Report, cores: int) -> list[tuple[str, bool | None, str]]:
    """The issue #4 targets: (what, passed or None when not measured, figures)."""
    rows = report.rows
    one = [r for r in rows if r.threads == 1]
    out: list[tuple[str, bool | None, str]] = []

    def single(name: str) -> Row | None:
        return next((r for r in one if r.program.name == name), None)

    gemm = single("gemm")
    if gemm is not None and gemm.ratio("numpy") is not None:
        value = gemm.ratio("numpy")
        assert value is not None
        note = "" if gemm.sizes == {"M": 1024, "N": 1024, "K": 1024} else " (not 1024^3)"
        out.append(("gemm 1 thread >= 0.7x numpy", value >= 0.7, f"{value:.2f}x{note}"))
        sized = gemm.ratio("numpy", "sized")
        if sized is not None:
            out.append(("  the same, sizes specialised", sized >= 0.7, f"{sized:.2f}x{note}"))
    else:
        out.append(("gemm 1 thread >= 0.7x numpy", None, "not measured"))
    convs = [r for r in rows if r.program.name == "conv2d" and r.ratio("numpy") is not None]
    for r in convs:
        value = r.ratio("numpy") or 0.0
        out.append((f"conv2d {r.threads} thr >= numpy im2col+BLAS", value >= 1.0,
                    f"{value:.2f}x"))
        sized = r.ratio("numpy", "sized")
        if sized is not None:
            out.append(("  the same, sizes specialised", sized >= 1.0, f"{sized:.2f}x"))
    out.append(_all_at_least("every kernel >= naive C (1 thread)", one, 1.0))
    heavy = [r for r in one if r.program.loop_heavy]
    out.append(_all_at_least("loop-heavy kernels >= 5x naive C (1 thread)", heavy, 5.0))
    for name in ("gemm", "conv2d"):
        out.append(_scaling(name, rows, cores))
    return out


def _all_at_least(what: str, rows: list[Row], factor: float,
                  base: str = "naive") -> tuple[str, bool | None, str]:
    """Whether every row's ``base`` time over polytc's is at least ``factor``."""
    pairs = [(r.program.name, r.ratio(base)) for r in rows if r.ratio(base) is not None]
    if not pairs:
        return what, None, "not measured"
    low = [f"{name} {value:.2f}x" for name, value in pairs if value is not None and value < factor]
    worst = min(value for _, value in pairs if value is not None)
    return what, not low, ("below: " + ", ".join(low)) if low else f"lowest {worst:.2f}x"


def _scaling(name: str, rows: list[Row], cores: int) -> tuple[str, bool | None, str]:
    what = f"{name} 2 threads >= 1.8x 1 thread"
    times = {r.threads: r.ms.get("polytc") for r in rows if r.program.name == name}
    if cores < 2:
        return what, None, "fewer than 2 cores"
    if not times.get(1) or not times.get(2):
        return what, None, "needs --threads with 1 and 2"
    value = times[1] / times[2]  # type: ignore[operator]
    return what, value >= 1.8, f"{value:.2f}x"


MATRIX_VECTOR = ("gemv", "mvt", "atax", "bicg", "rowsum")
ROW_CHAINS = ("softmax", "layernorm")
BLAS3 = ("gemm-c0", "2mm", "3mm", "doitgen", "mlp")


def targets_16(report: Report) -> list[tuple[str, bool | None, str]]:
    """The issue #16 targets measured by this run (ratios of this run)."""
    out: list[tuple[str, bool | None, str]] = []

    def rows(names: Sequence[str], threads: Sequence[int]) -> list[Row]:
        return [r for r in report.rows if r.program.name in names and r.threads in threads]

    for count in sorted({r.threads for r in report.rows} & {1, 2}):
        out.append(_numpy_at_least(f"matrix-vector >= 0.9x numpy ({count} thr)",
                                   rows(MATRIX_VECTOR, [count]), 0.9))
        measured = [r for r in rows(MATRIX_VECTOR, [count]) if r.gbs() and r.copy_gbs]
        low = [f"{r.program.name} {100 * (r.gbs() or 0) / (r.copy_gbs or 1):.0f}%"
               for r in measured if (r.gbs() or 0) < 0.8 * (r.copy_gbs or 0)]
        out.append((f"matrix-vector >= 80% of copy GB/s ({count} thr)",
                    None if not measured else not low,
                    ("below: " + ", ".join(low)) if low else
                    "not measured" if not measured else "all"))
    out.append(_numpy_at_least("softmax, layernorm >= 1.5x numpy (1 thr)",
                               rows(ROW_CHAINS, [1]), 1.5))
    out.append(_numpy_at_least("gemm-c0, 2mm, 3mm, doitgen, mlp >= 0.85x numpy (1 thr)",
                               rows(BLAS3, [1]), 0.85))
    out.append(_numpy_at_least("gemm >= 0.9x numpy (1 thr)", rows(["gemm"], [1]), 0.9))
    out.append(_numpy_at_least("conv2d >= 1.5x numpy (1 thr)", rows(["conv2d"], [1]), 1.5))
    return out


def _numpy_at_least(what: str, rows: list[Row], factor: float) -> tuple[str, bool | None, str]:
    return _all_at_least(what, rows, factor, base="numpy")


def print_targets(report: Report, cores: int) -> None:
    for title, found in (("issue #4 targets (polytc, default options)", targets(report, cores)),
                         ("issue #16 targets (polytc, default options)", targets_16(report))):
        print()
        print(title)
        for what, passed, figures in found:
            status = {True: "pass", False: "FAIL", None: "n/a"}[passed]
            print(f"  {status:<5} {what:<47} {figures}")


# -- main ---------------------------------------------------------------------------------

def cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def load() -> str:
    """The 1-minute load average: above 0.5 or so, other processes share the
    cores and multi-thread figures suffer most."""
    try:
        return f"load average {os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "load unknown"


def run(only: Sequence[str] | None = None, quick: bool = False,
        threads: Sequence[int] | None = None, polly: bool = True,
        sizes: dict[str, Sizes] | None = None) -> Report:
    """Build, check and time the selected programs; print progress and notes.

    ``sizes`` overrides a program's sizes by name (for tests)."""
    counts = list(threads) if threads else sorted({1, cores()})
    timing = Timing(3, 5, 0.2) if quick else Timing(3, 11, 1.5, settle_s=0.1)
    report = Report()
    blas = BlasThreads()
    clang = polly_compiler() if polly else None
    report.setup = [
        f"threads: {', '.join(map(str, counts))} of {cores()} cores ({load()}); "
        f"numpy BLAS threads {blas.how}",
        f"naive C: {'polytc build' if polytc_builds_naive_flags() else 'gcc'} "
        f"with {' '.join(naive_flags())}",
        f"polly: {clang} {' '.join(POLLY_FLAGS)}" if clang else
        "polly: not installed" if polly else "polly: skipped"]
    copy_gbs = {} if quick else copy_bandwidth(counts, timing)
    if copy_gbs:
        report.setup.append("copy kernel: " + ", ".join(
            f"{gbs:.1f} GB/s on {count} thread(s)" for count, gbs in copy_gbs.items()))
    for line in report.setup:
        print(line, flush=True)
    for program in select(only):
        chosen = (sizes or {}).get(program.name) or (program.quick if quick else program.full)
        print(f"  {program.name} {program.label(chosen)} ...", end=" ", flush=True)
        start = time.perf_counter()
        runners = make_variants(program, clang, 10.0 if quick else 300.0, blas, report)
        measure(program, chosen, counts, runners, timing, report, copy_gbs)
        print(f"{time.perf_counter() - start:.1f} s", flush=True)
    return report


def copy_bandwidth(counts: Sequence[int], timing: Timing) -> dict[int, float]:
    """GB/s (bytes read plus written) of polytc's copy kernel over
    COPY_ELEMENTS float32s, per thread count."""
    import polytc
    kernel = polytc.compile(COPY)
    source = np.ones(COPY_ELEMENTS, dtype=np.float32)
    target = np.empty_like(source)
    found = {}
    for count in counts:
        kernel(source, out=target, num_threads=count)
        ms = median_ms(lambda: kernel(source, out=target, num_threads=count), timing, 0.0)
        found[count] = 2 * source.nbytes / ms / 1e6
    return found


def naive_flags() -> tuple[str, ...]:
    if polytc_builds_naive_flags():
        from polytc.codegen_c import build
        return build.toolchain().flags
    return GCC_FLAGS


def parse_threads(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads {text!r}: give counts like 1,2") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"--threads {text!r}: counts must be >= 1")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--threads", type=parse_threads, default=None,
                        help="thread counts, e.g. 1,2 (default: 1 and all cores)")
    parser.add_argument("--only", type=lambda t: t.split(","), default=None,
                        help="comma-separated programs, e.g. gemm,conv2d")
    parser.add_argument("--no-polly", action="store_true", help="skip the Polly column")
    args = parser.parse_args(argv)
    os.environ.setdefault("POLYTC_CACHE_DIR", tempfile.mkdtemp(prefix="polytc-bench-"))
    report = run(args.only, args.quick, args.threads, polly=not args.no_polly)
    print_table(report)
    print_targets(report, cores())
    for note in report.notes:
        print(f"note: {note}")
    if report.failures:
        print(f"\n{len(report.failures)} FAILURE(S):")
        for line in report.failures:
            print(f"  {line}")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    began = time.perf_counter()
    status = main()
    print(f"(benchmarks took {time.perf_counter() - began:.1f} s)", file=sys.stderr)
    sys.exit(status)
