"""End-to-end kernel corpus: TC programs compiled by polytc, run on numpy
arrays and compared with numpy references.

Every case is a TC program (full ``def`` or polytc's bare statement form), an
input builder ``build(rng, sizes) -> {name: array}`` (in the kernel's
positional order) and a reference ``ref(inputs) -> array | tuple``.  The
reference fixes the expected shape, dtype and values of each output.

Semantics this corpus pins down (see /work/shared/tc_language.md §11 for the
decisions polytc had to make):

* extents come from TC's range inference (largest interval, floors for
  strided accesses: ``I(2*h + kh)`` gives ``(H - KH) // 2 + 1``);
* non-zero minima use absolute indexing: the extent is ``max + 1`` and
  elements that no statement writes are 0 (``O(i) = A(i-1)`` has N+1 elements,
  ``O[0] == 0``);
* integer ``/`` is floor division (numpy ``//``), ``%`` is numpy ``%``,
  integer division (and modulo) by zero gives 0;
* ``max=!`` starts at the dtype's lowest finite value, ``min=!`` at its largest;
* tensors written but not returned are temporaries;
* one compiled kernel serves every shape (sizes are runtime parameters).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import polytc
from polytc.errors import ArgumentError

F32, F64, I32, I64, U8, BOOL = np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_


# --------------------------------------------------------------------------
# the case table
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    tc: str
    sizes: tuple[dict, dict]          # two size sets; the kernel must serve both
    build: Callable[[np.random.Generator, dict], dict]
    ref: Callable[[dict], Any]
    entry: str | None = None
    dtype: Any = None                 # the ``dtype=`` argument of polytc.compile
    rtol: float = 1e-5
    atol: float = 1e-6


CASES: list[Case] = []


def case(id, tc, sizes, build, ref, **kw):
    CASES.append(Case(id, tc, tuple(sizes), build, ref, **kw))


# float32 reductions: a few dozen to a few hundred terms of magnitude ~1
RED = dict(rtol=1e-4, atol=1e-4)
F64TOL = dict(rtol=1e-12, atol=1e-12)


def rn(rng, *shape, dtype=F32):
    return rng.standard_normal(shape).astype(dtype)


def ru(rng, lo, hi, *shape, dtype=F32):
    return rng.uniform(lo, hi, shape).astype(dtype)


def ri(rng, lo, hi, *shape, dtype=I32):
    """Integers in [lo, hi]."""
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def d(a):
    """float64 copy for accurate references."""
    return np.asarray(a, dtype=F64)


def f32(a):
    return np.asarray(a, dtype=F32)


def conv2d_ref(I, W, stride=1):
    """O(n,m,h,w) = sum_{c,kh,kw} I(n,c,stride*h+kh,stride*w+kw) * W(m,c,kh,kw)."""
    I, W = d(I), d(W)
    N, C, H, Wd = I.shape
    M, _, KH, KW = W.shape
    Ho, Wo = (H - KH) // stride + 1, (Wd - KW) // stride + 1
    O = np.zeros((N, M, Ho, Wo))
    for kh in range(KH):
        for kw in range(KW):
            patch = I[:, :, kh:kh + stride * (Ho - 1) + 1:stride,
                      kw:kw + stride * (Wo - 1) + 1:stride]
            O += np.einsum("nchw,mc->nmhw", patch, W[:, :, kh, kw])
    return O


def pool_ref(I, k, stride, op):
    I = d(I)
    H, W = I.shape[-2:]
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    parts = [I[..., kh:kh + stride * (Ho - 1) + 1:stride, kw:kw + stride * (Wo - 1) + 1:stride]
             for kh in range(k) for kw in range(k)]
    return op(np.stack(parts), axis=0)


# ---- matmul family --------------------------------------------------------

MATMUL_BARE = "C(i,j) +=! A(i,k) * B(k,j)"
MM_SIZES = ({"M": 13, "K": 37, "N": 7}, {"M": 1, "K": 33, "N": 100})

case("matmul_bare", MATMUL_BARE, MM_SIZES,
     lambda r, s: {"A": rn(r, s["M"], s["K"]), "B": rn(r, s["K"], s["N"])},
     lambda x: f32(d(x["A"]) @ d(x["B"])), **RED)

case("matmul_def", """
def matmul(float(M,K) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(m, k) * B(k, n)
}""", MM_SIZES,
     lambda r, s: {"A": rn(r, s["M"], s["K"]), "B": rn(r, s["K"], s["N"])},
     lambda x: f32(d(x["A"]) @ d(x["B"])), **RED)

case("matmul_bare_dtype_float64", MATMUL_BARE, MM_SIZES,
     lambda r, s: {"A": rn(r, s["M"], s["K"], dtype=F64), "B": rn(r, s["K"], s["N"], dtype=F64)},
     lambda x: x["A"] @ x["B"], dtype="float64", **F64TOL)

# bare form, no dtype= given: the arrays' dtype (float64) decides
case("matmul_bare_float64_arrays", MATMUL_BARE, MM_SIZES,
     lambda r, s: {"A": rn(r, s["M"], s["K"], dtype=F64), "B": rn(r, s["K"], s["N"], dtype=F64)},
     lambda x: x["A"] @ x["B"], **F64TOL)

case("matmul_bare_int32", MATMUL_BARE, MM_SIZES,
     lambda r, s: {"A": ri(r, -9, 9, s["M"], s["K"]), "B": ri(r, -9, 9, s["K"], s["N"])},
     lambda x: (x["A"].astype(I64) @ x["B"].astype(I64)).astype(I32), dtype=np.int32)

case("dgemm", """
def dgemm(double(M,K) A, double(K,N) B) -> (C) {
    C(i, j) +=! A(i, k) * B(k, j)
}""", MM_SIZES,
     lambda r, s: {"A": rn(r, s["M"], s["K"], dtype=F64), "B": rn(r, s["K"], s["N"], dtype=F64)},
     lambda x: x["A"] @ x["B"], **F64TOL)

case("batch_matmul", """
def bmm(float(B,M,K) X, float(B,K,N) Y) -> (Z) {
    Z(b, m, n) +=! X(b, m, k) * Y(b, k, n)
}""", ({"B": 3, "M": 13, "K": 7, "N": 11}, {"B": 1, "M": 5, "K": 37, "N": 3}),
     lambda r, s: {"X": rn(r, s["B"], s["M"], s["K"]), "Y": rn(r, s["B"], s["K"], s["N"])},
     lambda x: f32(d(x["X"]) @ d(x["Y"])), **RED)

case("transposed_matmul", """
def tmm(float(K,M) A, float(K,N) B) -> (C) {
    C(m, n) +=! A(k, m) * B(k, n)
}""", MM_SIZES,
     lambda r, s: {"A": rn(r, s["K"], s["M"]), "B": rn(r, s["K"], s["N"])},
     lambda x: f32(d(x["A"]).T @ d(x["B"])), **RED)

case("gemv_bare", "y(i) +=! A(i,j) * x(j)",
     ({"M": 37, "N": 13}, {"M": 5, "N": 101}),
     lambda r, s: {"A": rn(r, s["M"], s["N"]), "x": rn(r, s["N"])},
     lambda x: f32(d(x["A"]) @ d(x["x"])), **RED)

case("gemv_alpha_beta", """
def gemv(float(M,N) A, float(N) x, float(M) yin, float alpha, float beta) -> (y) {
    y(i) = beta * yin(i)
    y(i) += alpha * A(i, j) * x(j)
}""", ({"M": 37, "N": 13}, {"M": 7, "N": 33}),
     lambda r, s: {"A": rn(r, s["M"], s["N"]), "x": rn(r, s["N"]), "yin": rn(r, s["M"]),
                   "alpha": np.array(1.7, dtype=F32), "beta": np.array(-0.3, dtype=F32)},
     lambda x: f32(1.7 * (d(x["A"]) @ d(x["x"])) - 0.3 * d(x["yin"])), **RED)

case("outer_bare", "O(i,j) = X(i) * Y(j)",
     ({"M": 13, "N": 7}, {"M": 1, "N": 37}),
     lambda r, s: {"X": rn(r, s["M"]), "Y": rn(r, s["N"])},
     lambda x: f32(np.outer(d(x["X"]), d(x["Y"]))))

case("transpose_bare", "O(j,i) = A(i,j)",
     ({"M": 13, "N": 7}, {"M": 33, "N": 1}),
     lambda r, s: {"A": rn(r, s["M"], s["N"])},
     lambda x: x["A"].T.copy())

# bare form: inputs in order of first appearance (W, V, U), outputs all written tensors
case("bare_two_statements", """
T(i) +=! W(i,j) * V(j)
O(i) = T(i) + U(i)
""", ({"M": 13, "N": 7}, {"M": 3, "N": 37}),
     lambda r, s: {"W": rn(r, s["M"], s["N"]), "V": rn(r, s["N"]), "U": rn(r, s["M"])},
     lambda x: (f32(d(x["W"]) @ d(x["V"])), f32(d(x["W"]) @ d(x["V"]) + d(x["U"]))), **RED)

case("kronecker", """
def kron(float(M,N) A, float(P,Q) B) -> (O) {
    O(m, p, n, q) = A(m, n) * B(p, q)
}""", ({"M": 3, "N": 5, "P": 7, "Q": 1}, {"M": 1, "N": 6, "P": 3, "Q": 5}),
     lambda r, s: {"A": rn(r, s["M"], s["N"]), "B": rn(r, s["P"], s["Q"])},
     lambda x: f32(np.einsum("mn,pq->mpnq", d(x["A"]), d(x["B"]))))

case("tensordot", """
def tensordot(float(A1,B1,C1) X, float(C1,D1,E1) Y) -> (O) {
    O(a, b, dd, e) +=! X(a, b, c) * Y(c, dd, e)
}""", ({"A1": 3, "B1": 5, "C1": 13, "D1": 7, "E1": 3}, {"A1": 1, "B1": 6, "C1": 5, "D1": 3, "E1": 9}),
     lambda r, s: {"X": rn(r, s["A1"], s["B1"], s["C1"]), "Y": rn(r, s["C1"], s["D1"], s["E1"])},
     lambda x: f32(np.einsum("abc,cde->abde", d(x["X"]), d(x["Y"]))), **RED)

# ---- convolutions and pooling ---------------------------------------------

CONV_SIZES = ({"N": 3, "C": 5, "H": 13, "W": 11, "M": 7, "KH": 3, "KW": 3},
              {"N": 1, "C": 3, "H": 9, "W": 14, "M": 5, "KH": 3, "KW": 5})

case("conv2d", """
def conv(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) {
    O(n, m, h, w) +=! I(n, c, h + kh, w + kw) * W1(m, c, kh, kw)
}""", CONV_SIZES,
     lambda r, s: {"I": rn(r, s["N"], s["C"], s["H"], s["W"]),
                   "W1": rn(r, s["M"], s["C"], s["KH"], s["KW"])},
     lambda x: f32(conv2d_ref(x["I"], x["W1"])), **RED)

# extent of h: largest h with 2*h + KH - 1 <= H - 1, i.e. (H - KH) // 2 + 1
case("conv2d_strided", """
def sconv(float(N,C,H,W) I, float(M,C,KH,KW) W1) -> (O) {
    O(n, m, h, w) +=! I(n, c, 2*h + kh, 2*w + kw) * W1(m, c, kh, kw)
}""", ({"N": 3, "C": 5, "H": 13, "W": 12, "M": 7, "KH": 3, "KW": 3},
       {"N": 1, "C": 3, "H": 17, "W": 10, "M": 5, "KH": 5, "KW": 3}),
     lambda r, s: {"I": rn(r, s["N"], s["C"], s["H"], s["W"]),
                   "W1": rn(r, s["M"], s["C"], s["KH"], s["KW"])},
     lambda x: f32(conv2d_ref(x["I"], x["W1"], stride=2)), **RED)


def _group_conv_ref(x):
    I, W1, B = x["I"], x["W1"], d(x["B"])
    outs = [conv2d_ref(I[:, g], W1[g]) + B[g][None, :, None, None] for g in range(I.shape[1])]
    return f32(np.stack(outs, axis=1))


case("group_conv", """
def group_convolution(float(N,G,C,H,W) I, float(G,F,C,KH,KW) W1, float(G,F) B) -> (O) {
    O(n, g, o, h, w) +=! I(n, g, i, h + kh, w + kw) * W1(g, o, i, kh, kw)
    O(n, g, o, h, w) = O(n, g, o, h, w) + B(g, o)
}""", ({"N": 3, "G": 3, "C": 5, "H": 11, "W": 9, "F": 7, "KH": 3, "KW": 3},
       {"N": 1, "G": 5, "C": 3, "H": 7, "W": 13, "F": 3, "KH": 1, "KW": 5}),
     lambda r, s: {"I": rn(r, s["N"], s["G"], s["C"], s["H"], s["W"]),
                   "W1": rn(r, s["G"], s["F"], s["C"], s["KH"], s["KW"]),
                   "B": rn(r, s["G"], s["F"])},
     _group_conv_ref, **RED)


def _depthwise_ref(x):
    I, W = d(x["I"]), d(x["W1"])
    N, C, H, Wd = I.shape
    _, KH, KW = W.shape
    Ho, Wo = H - KH + 1, Wd - KW + 1
    O = np.zeros((N, C, Ho, Wo))
    for kh in range(KH):
        for kw in range(KW):
            O += I[:, :, kh:kh + Ho, kw:kw + Wo] * W[None, :, kh, kw, None, None]
    return f32(O)


case("depthwise_conv", """
def depthwise(float(N,C,H,W) I, float(C,KH,KW) W1) -> (O) {
    O(n, c, h, w) +=! I(n, c, h + kh, w + kw) * W1(c, kh, kw)
}""", ({"N": 3, "C": 7, "H": 13, "W": 11, "KH": 3, "KW": 3},
       {"N": 1, "C": 5, "H": 9, "W": 10, "KH": 5, "KW": 1}),
     lambda r, s: {"I": rn(r, s["N"], s["C"], s["H"], s["W"]), "W1": rn(r, s["C"], s["KH"], s["KW"])},
     _depthwise_ref, **RED)

POOL_SIZES = ({"N": 3, "C": 5, "H": 13, "W": 11}, {"N": 1, "C": 3, "H": 10, "W": 7})

case("maxpool", """
def maxpool(float(N,C,H,W) I) -> (O) {
    O(n, c, h, w) max=! I(n, c, 2*h + kh, 2*w + kw) where kh in 0:2, kw in 0:2
}""", POOL_SIZES,
     lambda r, s: {"I": rn(r, s["N"], s["C"], s["H"], s["W"]) - 5},
     lambda x: f32(pool_ref(x["I"], 2, 2, np.max)))

case("avgpool", """
def avgpool(float(N,C,H,W) I) -> (O) {
    O(n, c, h, w) +=! I(n, c, 2*h + kh, 2*w + kw) where kh in 0:2, kw in 0:2
    O(n, c, h, w) = O(n, c, h, w) / 4.0
}""", POOL_SIZES,
     lambda r, s: {"I": rn(r, s["N"], s["C"], s["H"], s["W"])},
     lambda x: f32(pool_ref(x["I"], 2, 2, np.mean)), **RED)

case("global_maxpool_negative", """
def gmax(float(N,C,H,W) I) -> (O) {
    O(n, c) max=! I(n, c, h, w)
}""", POOL_SIZES,
     lambda r, s: {"I": -ru(r, 1, 100, s["N"], s["C"], s["H"], s["W"])},
     lambda x: x["I"].max(axis=(2, 3)))

# ---- normalisation, softmax, MLP ------------------------------------------


def _softmax_ref(x):
    I = d(x["I"])
    e = np.exp(I - I.max(axis=1, keepdims=True))
    return f32(e / e.sum(axis=1, keepdims=True))


case("softmax_temporaries", """
def softmax(float(N,D) I) -> (O) {
    mx(n) max=! I(n, d)
    e(n, d) = exp(I(n, d) - mx(n))
    s(n) +=! e(n, d)
    O(n, d) = e(n, d) / s(n)
}""", ({"N": 13, "D": 37}, {"N": 1, "D": 7}),
     lambda r, s: {"I": rn(r, s["N"], s["D"]) * 5},
     _softmax_ref, **RED)


def _layernorm_ref(x):
    X = d(x["X"])
    mu = X.mean(axis=1, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=1, keepdims=True)
    return f32((X - mu) / np.sqrt(var + float(x["eps"])) * d(x["G"]) + d(x["Bt"]))


case("layernorm", """
def layernorm(float(N,D) X, float(D) G, float(D) Bt, float eps) -> (Y) {
    mu(n) +=! X(n, d)
    mu(n) = mu(n) / float(D)
    var(n) +=! (X(n, d) - mu(n)) * (X(n, d) - mu(n))
    var(n) = var(n) / float(D)
    Y(n, d) = (X(n, d) - mu(n)) / sqrt(var(n) + eps) * G(d) + Bt(d)
}""", ({"N": 13, "D": 37}, {"N": 3, "D": 101}),
     lambda r, s: {"X": rn(r, s["N"], s["D"]) * 3 + 1, "G": rn(r, s["D"]), "Bt": rn(r, s["D"]),
                   "eps": np.array(1e-3, dtype=F32)},
     _layernorm_ref, **RED)


def _moments_ref(x):
    I = d(x["I"])
    m = I.mean(axis=1)
    return f32(m), f32(((I - m[:, None]) ** 2).mean(axis=1))


case("moments_two_outputs", """
def moments(float(N,K) I) -> (m, v) {
    m(n) +=! I(n, k)
    m(n) = m(n) / float(K)
    v(n) +=! (I(n, k) - m(n)) * (I(n, k) - m(n))
    v(n) = v(n) / float(K)
}""", ({"N": 7, "K": 37}, {"N": 13, "K": 5}),
     lambda r, s: {"I": rn(r, s["N"], s["K"]) + 2},
     _moments_ref, **RED)


def _batchnorm_ref(x):
    I = d(x["I"])
    mu = I.mean(axis=(0, 2, 3), keepdims=True)
    var = ((I - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    G, Bt = d(x["G"])[None, :, None, None], d(x["Bt"])[None, :, None, None]
    return f32(G * (I - mu) / np.sqrt(var + x["eps"]) + Bt)


# eps passed as a plain Python float
case("batchnorm_python_float_eps", """
def batchnorm(float(N,C,H,W) I, float(C) G, float(C) Bt, float eps) -> (O) {
    mu(c) +=! I(n, c, h, w)
    mu(c) = mu(c) / float(N * H * W)
    v(c) +=! (I(n, c, h, w) - mu(c)) * (I(n, c, h, w) - mu(c))
    v(c) = v(c) / float(N * H * W)
    O(n, c, h, w) = G(c) * (I(n, c, h, w) - mu(c)) / sqrt(v(c) + eps) + Bt(c)
}""", ({"N": 3, "C": 5, "H": 7, "W": 6}, {"N": 1, "C": 3, "H": 13, "W": 9}),
     lambda r, s: {"I": rn(r, s["N"], s["C"], s["H"], s["W"]) * 2 - 1,
                   "G": rn(r, s["C"]), "Bt": rn(r, s["C"]), "eps": 1e-3},
     _batchnorm_ref, **RED)

case("fcrelu", """
def fcrelu(float(B,K) I, float(N,K) W1, float(N) B1) -> (O1) {
    O1(b, n) +=! I(b, k) * W1(n, k)
    O1(b, n) = O1(b, n) + B1(n)
    O1(b, n) = fmax(O1(b, n), 0)
}""", ({"B": 13, "K": 37, "N": 7}, {"B": 1, "K": 5, "N": 33}),
     lambda r, s: {"I": rn(r, s["B"], s["K"]), "W1": rn(r, s["N"], s["K"]), "B1": rn(r, s["N"])},
     lambda x: f32(np.maximum(d(x["I"]) @ d(x["W1"]).T + d(x["B1"]), 0)), **RED)


def _mlp2_ref(x):
    h = np.maximum(d(x["I"]) @ d(x["W1"]).T + d(x["B1"]), 0)
    return f32(h @ d(x["W2"]).T + d(x["B2"]))


case("mlp2_ternary_relu_temporary", """
def mlp2(float(B,K) I, float(H,K) W1, float(H) B1, float(O,H) W2, float(O) B2) -> (Out) {
    hid(b, h) +=! I(b, k) * W1(h, k)
    hid(b, h) = hid(b, h) + B1(h)
    hid(b, h) = hid(b, h) > 0 ? hid(b, h) : 0.0
    Out(b, o) +=! hid(b, h) * W2(o, h)
    Out(b, o) = Out(b, o) + B2(o)
}""", ({"B": 7, "K": 13, "H": 37, "O": 5}, {"B": 3, "K": 33, "H": 7, "O": 11}),
     lambda r, s: {"I": rn(r, s["B"], s["K"]), "W1": rn(r, s["H"], s["K"]), "B1": rn(r, s["H"]),
                   "W2": rn(r, s["O"], s["H"]), "B2": rn(r, s["O"])},
     _mlp2_ref, **RED)

# ---- stencils, shifts, reversal, strided subscripts -----------------------

case("stencil1d_bare", "O(i) = A(i) + A(i+1) + A(i+2)",
     ({"N": 37}, {"N": 3}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(d(x["A"])[:-2] + d(x["A"])[1:-1] + d(x["A"])[2:]))


def _lap_interior(A):
    A = d(A)
    return A[:-2, 1:-1] + A[2:, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] - 4 * A[1:-1, 1:-1]


case("stencil2d_where", """
def lap(float(H,W) A) -> (O) {
    O(i, j) = A(i, j + 1) + A(i + 2, j + 1) + A(i + 1, j) + A(i + 1, j + 2) - 4.0 * A(i + 1, j + 1)
        where i in 0:H-2, j in 0:W-2
}""", ({"H": 13, "W": 11}, {"H": 3, "W": 37}),
     lambda r, s: {"A": rn(r, s["H"], s["W"])},
     lambda x: f32(_lap_interior(x["A"])), **RED)

case("reverse", """
def rev(float(N) A) -> (O) {
    O(i) = A(N - 1 - i)
}""", ({"N": 37}, {"N": 1}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: x["A"][::-1].copy())

# extent: largest i with 3*i + 2 <= N - 1
case("strided_downsample", """
def down(float(N) A) -> (O) {
    O(i) = A(3*i) + A(3*i + 2)
}""", ({"N": 13}, {"N": 37}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(d(x["A"])[0:3 * ((len(x["A"]) - 3) // 3 + 1):3]
                   + d(x["A"])[2:3 * ((len(x["A"]) - 3) // 3 + 1):3]))

case("upsample_division_subscript", """
def up(float(N) A) -> (O) {
    O(i) = A(i / 3) where i in 0:3*N
}""", ({"N": 13}, {"N": 1}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: np.repeat(x["A"], 3))

case("clamped_index_min_max", """
def smooth(float(N) A) -> (O) {
    O(i) = A(max(i - 1, 0)) + A(i) + A(min(i + 1, N - 1))
}""", ({"N": 37}, {"N": 5}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(d(x["A"])[np.maximum(np.arange(len(x["A"])) - 1, 0)] + d(x["A"])
                   + d(x["A"])[np.minimum(np.arange(len(x["A"])) + 1, len(x["A"]) - 1)]))

# ---- non-zero minima: absolute indexing, extent = max + 1, unwritten = 0 ---


def _shift_ref(x):
    A = x["A"]
    O = np.zeros(len(A) + 1, dtype=F32)
    O[1:] = A
    return O


case("nonzero_min_shift", """
def shift(float(N) A) -> (O) {
    O(i) = A(i - 1)
}""", ({"N": 13}, {"N": 37}),
     lambda r, s: {"A": rn(r, s["N"])},
     _shift_ref)


def _tail_ref(x):
    O = (d(x["A"]) * 2).astype(F32)
    O[:3] = 0
    return O


case("nonzero_min_where", """
def tail(float(N) A) -> (O) {
    O(i) = A(i) * 2.0 where i in 3:N
}""", ({"N": 13}, {"N": 37}),
     lambda r, s: {"A": rn(r, s["N"])},
     _tail_ref)


def _lap_shifted_ref(x):
    A = x["A"]
    H, W = A.shape
    O = np.zeros((H - 1, W - 1), dtype=F32)
    O[1:, 1:] = f32(_lap_interior(A))
    return O


case("nonzero_min_stencil2d", """
def lap5(float(H,W) A) -> (O) {
    O(i, j) = A(i - 1, j) + A(i + 1, j) + A(i, j - 1) + A(i, j + 1) - 4.0 * A(i, j)
        where i in 1:H-1, j in 1:W-1
}""", ({"H": 13, "W": 11}, {"H": 7, "W": 34}),
     lambda r, s: {"A": rn(r, s["H"], s["W"])},
     _lap_shifted_ref, **RED)

# ---- integers ---------------------------------------------------------------


def _floordiv(a, b):
    a, b = a.astype(I64), b.astype(I64)
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, 0, a // safe).astype(I32), np.where(b == 0, 0, a % safe).astype(I32)


def _divmod_ref(x):
    A, B = x["A"], x["B"]
    q, r = _floordiv(A, B)
    N = len(A)
    s = (A.astype(I64) // 3 + A.astype(I64) % 5 - N // 7).astype(I32)
    return q, r, s


def _divmod_build(r, s):
    A = ri(r, -50, 50, s["N"])
    B = ri(r, -7, 7, s["N"])
    B[0] = 0                       # division by zero gives 0
    A[1], B[1] = -7, 2             # floor, not truncation: -4 and 1
    A[2], B[2] = 7, -2             # -4 and -1
    return {"A": A, "B": B}


case("int32_div_mod_floor", """
def idivmod(int32(N) A, int32(N) B) -> (Q, R, S) {
    Q(i) = A(i) / B(i)
    R(i) = A(i) % B(i)
    S(i) = A(i) / 3 + A(i) % 5 - N / 7
}""", ({"N": 37}, {"N": 13}),
     _divmod_build, _divmod_ref)

case("int32_rowsum", """
def rowsum(int32(M,N) A) -> (S) {
    S(i) +=! A(i, j) * 3 - 1
}""", ({"M": 13, "N": 37}, {"M": 1, "N": 7}),
     lambda r, s: {"A": ri(r, -1000, 1000, s["M"], s["N"])},
     lambda x: (x["A"].astype(I64) * 3 - 1).sum(axis=1).astype(I32))

case("int32_max_min_reductions", """
def imaxmin(int32(M,N) A) -> (Mx, Mn) {
    Mx(i) max=! A(i, j)
    Mn(i) min=! A(i, j)
}""", ({"M": 13, "N": 37}, {"M": 7, "N": 1}),
     lambda r, s: {"A": ri(r, -100000, -1, s["M"], s["N"])},
     lambda x: (x["A"].max(axis=1), x["A"].min(axis=1)))

case("int64_sum_0d", """
def s64(int64(N) A) -> (S) {
    S +=! A(i)
}""", ({"N": 37}, {"N": 3}),
     lambda r, s: {"A": ri(r, 10**11, 10**12, s["N"], dtype=I64)},
     lambda x: np.array(x["A"].sum(), dtype=I64))

# ---- float64 ------------------------------------------------------------------

case("float64_builtins", """
def dfun(double(N) A, double(N) B) -> (O) {
    O(i) = exp(A(i)) * log(B(i)) + sqrt(B(i)) - tanh(A(i))
}""", ({"N": 37}, {"N": 7}),
     lambda r, s: {"A": ru(r, -2, 2, s["N"], dtype=F64), "B": ru(r, 0.1, 3, s["N"], dtype=F64)},
     lambda x: np.exp(x["A"]) * np.log(x["B"]) + np.sqrt(x["B"]) - np.tanh(x["A"]),
     rtol=1e-13, atol=1e-13)

case("float64_int32_promotion", """
def dip(double(N) A, int32(N) B) -> (O) {
    O(i) = A(i) * B(i) + 0.5
}""", ({"N": 37}, {"N": 7}),
     lambda r, s: {"A": rn(r, s["N"], dtype=F64), "B": ri(r, -100, 100, s["N"])},
     lambda x: x["A"] * x["B"] + 0.5, **F64TOL)

# ---- masks, bools, ternaries ----------------------------------------------------

case("uint8_mask_ternary", """
def masked(float(N) A, uint8(N) M) -> (O) {
    O(i) = M(i) != 0 ? A(i) : 0
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": rn(r, s["N"]), "M": r.choice(np.array([0, 1, 255], dtype=U8), s["N"])},
     lambda x: np.where(x["M"] != 0, x["A"], 0).astype(F32))

case("uint8_masked_matmul", """
def mmm(float(M,K) A, float(K,N) B, uint8(M,K) Mk) -> (C) {
    C(i, j) +=! (Mk(i, k) != 0) ? A(i, k) * B(k, j) : 0.0
}""", MM_SIZES,
     lambda r, s: {"A": rn(r, s["M"], s["K"]), "B": rn(r, s["K"], s["N"]),
                   "Mk": r.choice(np.array([0, 1, 7], dtype=U8), (s["M"], s["K"]))},
     lambda x: f32(np.where(x["Mk"] != 0, d(x["A"]), 0) @ d(x["B"])), **RED)

case("bool_logic", """
def logic(bool(N) P, bool(N) Q, float(N) A) -> (O, R, G) {
    O(i) = (P(i) && !Q(i)) ? A(i) : -A(i)
    R(i) = P(i) || Q(i)
    G(i) = A(i) > 0.5 && P(i)
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"P": r.random(s["N"]) < 0.5, "Q": r.random(s["N"]) < 0.5, "A": rn(r, s["N"])},
     lambda x: (np.where(x["P"] & ~x["Q"], x["A"], -x["A"]).astype(F32),
                x["P"] | x["Q"], (x["A"] > 0.5) & x["P"]))

case("bool_count", """
def count(bool(M,N) P) -> (C) {
    C(i) +=! int32(P(i, j))
}""", ({"M": 13, "N": 37}, {"M": 5, "N": 3}),
     lambda r, s: {"P": r.random((s["M"], s["N"])) < 0.3},
     lambda x: x["P"].sum(axis=1).astype(I32))

case("triangular_ternary", """
def tril(float(N,N) A) -> (O) {
    O(i, j) = (j <= i) ? A(i, j) : 0.0
}""", ({"N": 13}, {"N": 1}),
     lambda r, s: {"A": rn(r, s["N"], s["N"])},
     lambda x: np.tril(x["A"]))

case("triangular_cumsum", """
def cumsum(float(N) A) -> (O) {
    O(i) +=! (j <= i) ? A(j) : 0.0 where i in 0:N
}""", ({"N": 37}, {"N": 7}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(np.cumsum(d(x["A"]))), **RED)

case("triangular_matmul", """
def trmm(float(M,M) L, float(M,N) B) -> (C) {
    C(i, j) +=! (k <= i) ? L(i, k) * B(k, j) : 0.0
}""", ({"M": 13, "N": 7}, {"M": 37, "N": 3}),
     lambda r, s: {"L": rn(r, s["M"], s["M"]), "B": rn(r, s["M"], s["N"])},
     lambda x: f32(np.tril(d(x["L"])) @ d(x["B"])), **RED)

# ---- domains beyond boxes: where ranges naming other indices, conditions ------

case("syrk_lower_where", """
def syrk(float(N,K) A) -> (C) {
    C(i, j) +=! A(i, k) * A(j, k) where j in 0:i+1
}""", ({"N": 13, "K": 7}, {"N": 1, "K": 37}),
     lambda r, s: {"A": rn(r, s["N"], s["K"])},
     lambda x: f32(np.tril(d(x["A"]) @ d(x["A"]).T)), **RED)

# the rows of the triangle move its lanes: a partial block's padded lanes
# once landed in the block's box (wrong from N = 70 with the default blocks)
case("lower_gemm_where", """
def lower(float(N,K) A, float(K,N) B) -> (C) {
    C(i, j) +=! A(i, k) * B(k, j) where j in 0:i+1
}""", ({"N": 75, "K": 9}, {"N": 13, "K": 20}),
     lambda r, s: {"A": rn(r, s["N"], s["K"]), "B": rn(r, s["K"], s["N"])},
     lambda x: f32(np.tril(d(x["A"]) @ d(x["B"]))), **RED)

case("trmm_where", """
def trmm(float(M,M) L, float(M,N) B) -> (C) {
    C(i, j) +=! L(i, k) * B(k, j) where k in 0:i+1
}""", ({"M": 13, "N": 7}, {"M": 37, "N": 3}),
     lambda r, s: {"L": rn(r, s["M"], s["M"]), "B": rn(r, s["M"], s["N"])},
     lambda x: f32(np.tril(d(x["L"])) @ d(x["B"])), **RED)


def _causal_softmax_ref(x):
    S = d(x["S"])
    lower = np.tril(np.ones(S.shape, dtype=bool))
    e = np.where(lower, np.exp(S - np.max(np.where(lower, S, -np.inf), axis=1, keepdims=True)), 0)
    return f32(e / e.sum(axis=1, keepdims=True))


case("causal_softmax_where", """
def causal(float(N,N) S) -> (O) {
    mx(i) max=! S(i, j) where j in 0:i+1
    e(i, j) = exp(S(i, j) - mx(i)) where j in 0:i+1
    s(i) +=! e(i, j) where j in 0:i+1
    O(i, j) = e(i, j) / s(i) where j in 0:i+1
}""", ({"N": 13}, {"N": 1}),
     lambda r, s: {"S": rn(r, s["N"], s["N"])}, _causal_softmax_ref, **RED)

case("cumsum_where", """
def cumsum(float(N) A) -> (O) {
    O(i) +=! A(j) where i in 0:N, j in 0:i+1
}""", ({"N": 37}, {"N": 1}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(np.cumsum(d(x["A"]))), **RED)

case("strided_window_where", """
def window(float(N) A) -> (O) {
    O(i) +=! A(j) where j in 2*i:2*i+3
}""", ({"N": 37}, {"N": 4}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32([d(x["A"])[2 * i:2 * i + 3].sum() for i in range((len(x["A"]) - 3) // 2 + 1)]),
     **RED)

case("triangle_conditions", """
def tri(float(N,N) A) -> (L, X, D) {
    L(i, j) = A(i, j) where j <= i
    X(i, j) = A(i, j) where i + j < N
    D(i, j) = A(i, j) where i != j
}""", ({"N": 13}, {"N": 2}),
     lambda r, s: {"A": rn(r, s["N"], s["N"])},
     lambda x: (np.tril(x["A"]), np.fliplr(np.triu(np.fliplr(x["A"]))),
                x["A"] - np.diag(np.diag(x["A"]))))

def _band_ref(A):
    """O(i, k) = 2 A(i, k) for k in [i, min(M, i + 3)): min(M, N + 2) columns."""
    N, M = A.shape
    O = np.zeros((N, min(M, N + 2)))
    for i in range(N):
        O[i, i:min(M, i + 3)] = 2 * d(A[i, i:min(M, i + 3)])
    return f32(O)


case("band_where_plain", """
def band(float(N,M) A) -> (O) {
    O(i, k) = A(i, k) * 2.0 where k in i:min(M, i + 3), i in 0:N
}""", ({"N": 13, "M": 7}, {"N": 3, "M": 37}),
     lambda r, s: {"A": rn(r, s["N"], s["M"])}, lambda x: _band_ref(x["A"]))

# ---- size conditions: reads in bounds for some sizes, checked at each call ----

case("head_needs_size", """
def head(float(N) A, float(N,D) B) -> (O, P) {
    O(i) = A(i) * 2.0 where i in 0:5
    P(i) = B(i, 0) + B(i, D - 1)
}""", ({"N": 7, "D": 3}, {"N": 5, "D": 1}),
     lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["N"], s["D"])},
     lambda x: (f32(d(x["A"][:5]) * 2), f32(d(x["B"][:, 0]) + d(x["B"][:, -1]))))

case("diag_where", """
def diag(float(N) dg) -> (O) {
    O(i, j) = (i == j) ? dg(i) : 0.0 where j in 0:N
}""", ({"N": 13}, {"N": 1}),
     lambda r, s: {"dg": rn(r, s["N"])},
     lambda x: np.diag(x["dg"]))

case("concat_where_ternary", """
def concat(float(M,K) A, float(M,N) B) -> (O) {
    O(i, j) = (j < K) ? A(i, j) : B(i, j - K) where j in 0:(K+N)
}""", ({"M": 7, "K": 13, "N": 5}, {"M": 3, "K": 1, "N": 37}),
     lambda r, s: {"A": rn(r, s["M"], s["K"]), "B": rn(r, s["M"], s["N"])},
     lambda x: np.concatenate([x["A"], x["B"]], axis=1))

# ---- scalars, constant extents, several defs -------------------------------

case("scalar_0d_array", """
def axpy(float alpha, float(N) X, float(N) Y) -> (O) {
    O(i) = alpha * X(i) + Y(i)
}""", ({"N": 37}, {"N": 1}),
     lambda r, s: {"alpha": np.array(0.75, dtype=F32), "X": rn(r, s["N"]), "Y": rn(r, s["N"])},
     lambda x: f32(0.75 * d(x["X"]) + d(x["Y"])))

case("scalar_python_float_call_syntax", """
def axmy(float(N) X, float alpha, float(N) Y) -> (O) {
    O(i) = alpha() * X(i) - Y(i)
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"X": rn(r, s["N"]), "alpha": -1.25, "Y": rn(r, s["N"])},
     lambda x: f32(-1.25 * d(x["X"]) - d(x["Y"])))

case("constant_extents", """
def cext(float(3,N) A, float(N,5) B) -> (O) {
    O(r, c) +=! A(r, n) * B(n, c)
}""", ({"N": 37}, {"N": 1}),
     lambda r, s: {"A": rn(r, 3, s["N"]), "B": rn(r, s["N"], 5)},
     lambda x: f32(d(x["A"]) @ d(x["B"])), **RED)

MULTI_DEF = """
def add(float(N) A, float(N) B) -> (O) {
    O(i) = A(i) + B(i)
}
def mul(float(N) A, float(N) B) -> (O) {
    O(i) = A(i) * B(i)
}
def affine(float(N) A, float(N) B, float s) -> (O) {
    O(i) = s * A(i) - B(i)
}
"""
for _entry, _ref in [("mul", lambda x: f32(d(x["A"]) * d(x["B"]))),
                     ("add", lambda x: f32(d(x["A"]) + d(x["B"])))]:
    case(f"multi_def_{_entry}", MULTI_DEF, ({"N": 37}, {"N": 13}),
         lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["N"])}, _ref, entry=_entry)
case("multi_def_affine", MULTI_DEF, ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["N"]), "s": np.array(3.5, dtype=F32)},
     lambda x: f32(3.5 * d(x["A"]) - d(x["B"])), entry="affine")

# ---- where lets, exists ----------------------------------------------------

case("where_let_value", """
def lets(float(N,M) A) -> (O) {
    O(i, j) = x * x - x where x = A(i, M - 1 - j) * 2.0
}""", ({"N": 7, "M": 13}, {"N": 1, "M": 37}),
     lambda r, s: {"A": rn(r, s["N"], s["M"])},
     lambda x: f32((2 * d(x["A"])[:, ::-1]) ** 2 - 2 * d(x["A"])[:, ::-1]))

case("where_let_index", """
def pairs(float(N) A) -> (O) {
    O(i) = A(k) + A(k + 1) where k = 2 * i
}""", ({"N": 13}, {"N": 37}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(d(x["A"])[0:2 * (len(x["A"]) // 2):2] + d(x["A"])[1:2 * (len(x["A"]) // 2):2]))

case("where_exists", """
def ex(float(N) A, float(M) B) -> (O) {
    O(i) = A(i) * 2.0 where exists B(i + 1)
}""", ({"N": 37, "M": 13}, {"N": 100, "M": 34}),
     lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["M"])},
     lambda x: f32(2 * d(x["A"])[:len(x["B"]) - 1]))

# ---- reductions --------------------------------------------------------------

case("prod_reduction", """
def prod(float(M,N) A) -> (O) {
    O(i) *=! A(i, j)
}""", ({"M": 13, "N": 37}, {"M": 3, "N": 7}),
     lambda r, s: {"A": ru(r, 0.8, 1.2, s["M"], s["N"])},
     lambda x: f32(np.prod(d(x["A"]), axis=1)), rtol=1e-5, atol=1e-7)

case("max_reduction_all_negative", "O(i) max=! A(i,j)",
     ({"M": 13, "N": 37}, {"M": 5, "N": 1}),
     lambda r, s: {"A": -ru(r, 1, 1e6, s["M"], s["N"])},
     lambda x: x["A"].max(axis=1))

case("min_reduction_all_positive", "O(i) min=! A(i,j)",
     ({"M": 13, "N": 37}, {"M": 5, "N": 1}),
     lambda r, s: {"A": ru(r, 1e30, 3e38, s["M"], s["N"])},
     lambda x: x["A"].min(axis=1))

case("frobenius_0d_bare", "S +=! A(i,j) * A(i,j)",
     ({"M": 13, "N": 37}, {"M": 1, "N": 3}),
     lambda r, s: {"A": rn(r, s["M"], s["N"])},
     lambda x: np.array((d(x["A"]) ** 2).sum(), dtype=F32), **RED)

case("accumulate_without_bang", """
def accum(float(M,N) A, float(M) B) -> (O) {
    O(i) = B(i)
    O(i) += A(i, j)
}""", ({"M": 13, "N": 37}, {"M": 7, "N": 1}),
     lambda r, s: {"A": rn(r, s["M"], s["N"]), "B": rn(r, s["M"]) * 10},
     lambda x: f32(d(x["B"]) + d(x["A"]).sum(axis=1)), **RED)

case("inplace_multiply", """
def imul(float(N) A, float(N) B) -> (O) {
    O(i) = A(i) + 1.0
    O(i) *= B(i)
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["N"])},
     lambda x: f32((d(x["A"]) + 1) * d(x["B"])))


def _argmin_ref(x):
    S = x["S"]
    return S.min(axis=-1), np.argmin(S, axis=-1).astype(I32)


case("argmin_batched", """
def argmin(float(B,N) S) -> (v, idx) {
    v(b) min=! S(b, r)
    idx(b) min=! (S(b, r) == v(b)) ? r : N
}""", ({"B": 13, "N": 37}, {"B": 1, "N": 7}),
     lambda r, s: {"S": rn(r, s["B"], s["N"])},
     lambda x: (x["S"].min(axis=1), np.argmin(x["S"], axis=1).astype(I32)))

case("argmin_0d", """
def argmin0(float(N) S) -> (v, idx) {
    v min=! S(r)
    idx min=! (S(r) == v) ? r : N
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"S": rn(r, s["N"])},
     lambda x: (np.array(x["S"].min(), dtype=F32), np.array(np.argmin(x["S"]), dtype=I32)))

# ---- casts, min/max, builtins, index values ----------------------------------

case("casts", """
def casts(float(N) A) -> (I, F, D) {
    I(i) = int32(A(i))
    F(i) = float(I(i)) * 0.5
    D(i) = double(A(i)) * 3
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": ru(r, -50, 50, s["N"])},
     lambda x: (x["A"].astype(I32), f32(x["A"].astype(I32) * 0.5), d(x["A"]) * 3),
     rtol=1e-12, atol=0)

case("min_max_operators", """
def mnmx(float(N) A, float(N) B, int32(N) C) -> (O, P) {
    O(i) = min(A(i), B(i)) + max(A(i), 0.25)
    P(i) = max(min(C(i), 5), -5)
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["N"]), "C": ri(r, -20, 20, s["N"])},
     lambda x: (f32(np.minimum(d(x["A"]), d(x["B"])) + np.maximum(d(x["A"]), 0.25)),
                np.clip(x["C"], -5, 5).astype(I32)))

case("builtins", """
def bi(float(N) A, float(N) B) -> (O) {
    O(i) = exp(A(i)) + log(B(i)) + sqrt(B(i)) + tanh(A(i)) + fabs(A(i))
         + pow(B(i), 1.5) + fmax(A(i), B(i)) - fmin(A(i), 0.25)
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": ru(r, -2, 2, s["N"]), "B": ru(r, 0.5, 2, s["N"])},
     lambda x: f32(np.exp(d(x["A"])) + np.log(d(x["B"])) + np.sqrt(d(x["B"])) + np.tanh(d(x["A"]))
                   + np.abs(d(x["A"])) + d(x["B"]) ** 1.5 + np.maximum(d(x["A"]), d(x["B"]))
                   - np.minimum(d(x["A"]), 0.25)), rtol=1e-5, atol=1e-5)

_erf = np.vectorize(math.erf)


def _builtins_extra_ref(x):
    A, B = d(x["A"]), d(x["B"])
    fm = d(np.fmod(x["A"] * F32(3), x["B"]))
    return f32(np.floor(A) + np.ceil(A) + np.sin(A) * np.cos(B) + np.arctan2(A, B) + np.hypot(A, B)
               + fm + np.copysign(B, A) + 1 / np.sqrt(B) + _erf(A) + np.log1p(B) + np.expm1(A)
               + np.exp2(A) + np.log2(B) + np.cbrt(A))


case("builtins_extra", """
def bi2(float(N) A, float(N) B) -> (O) {
    O(i) = floor(A(i)) + ceil(A(i)) + sin(A(i)) * cos(B(i)) + atan2(A(i), B(i)) + hypot(A(i), B(i))
         + fmod(A(i) * 3.0, B(i)) + copysign(B(i), A(i)) + rsqrt(B(i)) + erf(A(i))
         + log1p(B(i)) + expm1(A(i)) + exp2(A(i)) + log2(B(i)) + cbrt(A(i))
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": ru(r, -2, 2, s["N"]), "B": ru(r, 0.5, 2, s["N"])},
     _builtins_extra_ref, rtol=1e-5, atol=1e-5)

case("index_and_size_values", """
def iota(float(N,M) A) -> (O, K) {
    O(i, j) = A(i, j) + float(i) * 0.5 - float(j) + float(N)
    K(i) = i * M - N where i in 0:N
}""", ({"N": 13, "M": 7}, {"N": 1, "M": 37}),
     lambda r, s: {"A": rn(r, s["N"], s["M"])},
     lambda x: (f32(d(x["A"]) + np.arange(x["A"].shape[0])[:, None] * 0.5
                    - np.arange(x["A"].shape[1])[None, :] + x["A"].shape[0]),
                (np.arange(x["A"].shape[0]) * x["A"].shape[1] - x["A"].shape[0]).astype(I32)))

case("index_values_exists", """
def iv(float(N) A) -> (O) {
    O(i) = float(i) + float(N) where exists A(i)
}""", ({"N": 37}, {"N": 1}),
     lambda r, s: {"A": rn(r, s["N"])},
     lambda x: f32(np.arange(len(x["A"])) + len(x["A"])))

# ---- gathers, temporaries ----------------------------------------------------

case("embedding_gather", """
def emb(float(V,D) LUT, int32(B) I) -> (O) {
    O(b, d) = LUT(I(b), d)
}""", ({"V": 37, "D": 7, "B": 13}, {"V": 5, "D": 33, "B": 1}),
     lambda r, s: {"LUT": rn(r, s["V"], s["D"]), "I": ri(r, 0, s["V"] - 1, s["B"])},
     lambda x: x["LUT"][x["I"]])

case("embedding_bag_offset", """
def bag(float(V,D) LUT, int32(B,L) I) -> (O) {
    O(b, d) +=! LUT(I(b, l) + 1, d)
}""", ({"V": 37, "D": 7, "B": 13, "L": 3}, {"V": 5, "D": 11, "B": 1, "L": 9}),
     lambda r, s: {"LUT": rn(r, s["V"], s["D"]), "I": ri(r, 0, s["V"] - 2, s["B"], s["L"])},
     lambda x: f32(d(x["LUT"])[x["I"] + 1].sum(axis=1)), **RED)

case("temporary_not_returned", """
def tmp(float(N) A, float(N) B) -> (O) {
    t(i) = A(i) * B(i)
    O(i) = t(i) + A(i)
}""", ({"N": 37}, {"N": 13}),
     lambda r, s: {"A": rn(r, s["N"]), "B": rn(r, s["N"])},
     lambda x: f32(d(x["A"]) * d(x["B"]) + d(x["A"])))


# --------------------------------------------------------------------------
# machinery
# --------------------------------------------------------------------------

_KERNELS: dict = {}


def kernel_for(c: Case):
    key = (c.tc, c.entry, c.dtype)
    if key not in _KERNELS:
        kw = {} if c.dtype is None else {"dtype": c.dtype}
        _KERNELS[key] = polytc.compile(c.tc, entry=c.entry, **kw)
    return _KERNELS[key]


def inputs_for(c: Case, which: int) -> dict:
    rng = np.random.default_rng(zlib.crc32(c.id.encode()) * 10 + which)
    return c.build(rng, c.sizes[which])


def expected(c: Case, inputs: dict) -> tuple:
    want = c.ref(inputs)
    return want if isinstance(want, tuple) else (want,)


def check(c: Case, got, want: tuple, label: str = "") -> None:
    if len(want) == 1:
        assert not isinstance(got, tuple), f"{c.id}: one output expected, got a tuple"
        got = (got,)
    else:
        assert isinstance(got, tuple) and len(got) == len(want), \
            f"{c.id}: expected a tuple of {len(want)} outputs, got {type(got).__name__}"
    for n, (g, w) in enumerate(zip(got, want)):
        what = f"{c.id}{label} output {n}"
        w = np.asarray(w)
        if w.ndim == 0 and isinstance(g, np.generic):
            g = np.asarray(g)
        assert isinstance(g, np.ndarray), f"{what}: not an ndarray ({type(g).__name__})"
        assert g.shape == w.shape, f"{what}: shape {g.shape}, expected {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype}, expected {w.dtype}"
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=c.rtol, atol=c.atol, err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


def _ids(cases):
    return [c.id for c in cases]


def test_corpus_is_large_and_ids_unique():
    assert len(CASES) >= 45
    assert len(set(_ids(CASES))) == len(CASES)


@pytest.mark.parametrize("c", CASES, ids=_ids(CASES))
def test_kernel(c: Case):
    k = kernel_for(c)
    x = inputs_for(c, 0)
    check(c, k(*x.values()), expected(c, x))


@pytest.mark.parametrize("c", CASES, ids=_ids(CASES))
def test_kernel_two_size_sets(c: Case):
    """One compiled kernel serves every shape: sizes are runtime parameters."""
    k = kernel_for(c)
    x0, x1 = inputs_for(c, 0), inputs_for(c, 1)
    check(c, k(*x1.values()), expected(c, x1), " [sizes 1]")
    check(c, k(*x0.values()), expected(c, x0), " [sizes 0]")
    check(c, k(*x1.values()), expected(c, x1), " [sizes 1 again]")


@pytest.mark.parametrize("c", CASES, ids=_ids(CASES))
def test_kernel_does_not_modify_inputs(c: Case):
    k = kernel_for(c)
    x = inputs_for(c, 0)
    saved = {n: np.array(v, copy=True) for n, v in x.items()}
    k(*x.values())
    for n, v in x.items():
        np.testing.assert_array_equal(np.asarray(v), saved[n], err_msg=f"{c.id}: input {n} modified")
        if isinstance(v, np.ndarray):
            assert v.dtype == saved[n].dtype and v.shape == saved[n].shape


@pytest.mark.parametrize("c", CASES, ids=_ids(CASES))
def test_kernel_named_inputs(c: Case):
    k = kernel_for(c)
    x = inputs_for(c, 0)
    check(c, k(**x), expected(c, x), " [named]")


@pytest.mark.parametrize("cid", ["matmul_def", "conv2d", "softmax_temporaries", "argmin_batched",
                                 "triangular_cumsum"])
def test_num_threads_does_not_change_results(cid):
    c = next(c for c in CASES if c.id == cid)
    k = kernel_for(c)
    x = inputs_for(c, 1)
    want = expected(c, x)
    for t in (1, 3):
        check(c, k(*x.values(), num_threads=t), want, f" [num_threads={t}]")


def test_argument_errors():
    c = next(c for c in CASES if c.id == "matmul_def")
    k = kernel_for(c)
    A, B = rn(np.random.default_rng(0), 13, 37), rn(np.random.default_rng(1), 37, 7)
    with pytest.raises(ArgumentError):            # mismatched K
        k(A, B[:-1])
    with pytest.raises(ArgumentError):            # wrong rank
        k(A, B[:, 0].copy())
    with pytest.raises(ArgumentError):            # wrong dtype
        k(A.astype(I32), B.astype(I32))
    with pytest.raises(ArgumentError):            # wrong number of inputs
        k(A)
    c = next(c for c in CASES if c.id == "constant_extents")
    k = kernel_for(c)
    with pytest.raises(ArgumentError):            # constant extent 3 violated
        k(np.zeros((4, 7), F32), np.zeros((7, 5), F32))
