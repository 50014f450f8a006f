"""Graphs the graph-layer tests share, with numpy references.

Each ``*_graph()`` returns a :class:`polytc.Graph`; each ``*_inputs(rng)``
the arrays in the kernel's input order; each ``*_ref(...)`` the expected
outputs.  Sizes are 7, 33, 13 and the like: never multiples of a tile.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import polytc

FC = """def fc(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = Y(i,n) + b(n)
}"""
RELU = "def relu(float(B,N) I) -> (O) { O(i,n) = fmax(I(i,n), 0) }"
CONV = """def conv(float(N,C,H,W) I, float(M,C,KH,KW) Wt) -> (O) {
    O(n,m,h,w) +=! I(n,c,h+kh,w+kw) * Wt(m,c,kh,kw)
}"""
RELU4 = "def relu(float(N,C,H,W) I) -> (O) { O(n,c,h,w) = fmax(I(n,c,h,w), 0) }"
POOL = """def pool(float(N,C,H,W) I) -> (O) {
    O(n,c,h,w) max=! I(n,c,2*h+kh,2*w+kw) where kh in 0:2, kw in 0:2
}"""
SCORES = "def scores(float(L,D) Q, float(S,D) K) -> (A) { A(l,s) +=! Q(l,d) * K(s,d) }"
SOFTMAX = """def softmax(float(N,D) I) -> (O) {
    mx(n) max=! I(n,d)
    e(n,d) = exp(I(n,d) - mx(n))
    s(n) +=! e(n,d)
    O(n,d) = e(n,d) / s(n)
}"""
WEIGHTED = "def weighted(float(L,S) P, float(S,E) V) -> (O) { O(l,e) +=! P(l,s) * V(s,e) }"


def mlp_graph() -> polytc.Graph:
    """matmul -> bias -> relu -> matmul -> bias; sizes B, K, N (hidden), M."""
    g = polytc.Graph("mlp2")
    h = g.op(FC, X=g.input("X", "float(B,K)"), W=g.input("W1"), b=g.input("b1"), name="fc1")
    r = g.op(RELU, I=h)
    y = g.op(FC, X=r, W=g.input("W2", "float(M,N)"), b=g.input("b2", "float(M)"), name="fc2")
    g.output(y, name="Y")
    return g


def mlp_inputs(rng: np.random.Generator, B: int = 7, K: int = 33, N: int = 13,
               M: int = 5) -> list[np.ndarray]:
    shapes = [(B, K), (N, K), (N,), (M, N), (M,)]
    return [rng.standard_normal(s, dtype=np.float32) for s in shapes]


def mlp_ref(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
            b2: np.ndarray) -> np.ndarray:
    return np.maximum(X @ W1.T + b1, 0) @ W2.T + b2


def conv_relu_pool_graph() -> polytc.Graph:
    """conv2d (valid) -> relu -> 2x2 max-pool of stride 2."""
    g = polytc.Graph("conv_relu_pool")
    c = g.op(CONV, I=g.input("X", "float(N,C,H,W)"), Wt=g.input("Wt", "float(M,C,KH,KW)"))
    r = g.op(RELU4, I=c)
    g.output(g.op(POOL, I=r), name="P")
    return g


def conv_relu_pool_inputs(rng: np.random.Generator, N: int = 2, C: int = 3, H: int = 13,
                          W: int = 11, M: int = 4, KH: int = 3,
                          KW: int = 2) -> list[np.ndarray]:
    return [rng.standard_normal((N, C, H, W), dtype=np.float32),
            rng.standard_normal((M, C, KH, KW), dtype=np.float32)]


def conv_relu_pool_ref(X: np.ndarray, Wt: np.ndarray) -> np.ndarray:
    KH, KW = Wt.shape[2:]
    windows = sliding_window_view(X, (KH, KW), axis=(2, 3))
    conv = np.einsum("nchwij,mcij->nmhw", windows, Wt)
    relu = np.maximum(conv, 0)
    n, m, h, w = relu.shape
    h2, w2 = h // 2, w // 2
    return relu[:, :, :2 * h2, :2 * w2].reshape(n, m, h2, 2, w2, 2).max(axis=(3, 5))


def attention_graph() -> polytc.Graph:
    """scores = Q K^T -> softmax over keys -> scores V."""
    g = polytc.Graph("attention")
    a = g.op(SCORES, Q=g.input("Q", "float(L,D)"), K=g.input("Kt", "float(S,D)"))
    p = g.op(SOFTMAX, I=a)
    g.output(g.op(WEIGHTED, P=p, V=g.input("V", "float(S,E)")), name="Out")
    return g


def attention_inputs(rng: np.random.Generator, L: int = 7, S: int = 13, D: int = 33,
                     E: int = 5) -> list[np.ndarray]:
    return [rng.standard_normal((L, D), dtype=np.float32) * 0.2,
            rng.standard_normal((S, D), dtype=np.float32) * 0.2,
            rng.standard_normal((S, E), dtype=np.float32)]


def attention_ref(Q: np.ndarray, K: np.ndarray, V: np.ndarray) -> np.ndarray:
    a = Q @ K.T
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)) @ V
