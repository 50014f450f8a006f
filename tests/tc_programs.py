"""TC programs that several test modules use."""

MATMUL = "def mm(float(M,K) A, float(K,N) B) -> (C) { C(m,n) +=! A(m,k) * B(k,n) }"
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}"""
SOFTMAX = """def softmax(float(N,D) I) -> (O) {
    mx(n) max=! I(n, d)
    e(n, d) = exp(I(n, d) - mx(n))
    s(n) +=! e(n, d)
    O(n, d) = e(n, d) / s(n)
}"""
STENCIL = """def blur(float(N) A) -> (O) {
    T(i) = A(i) + A(i+1) where i in 0:N-1
    O(i) = T(i) + T(i+1) where i in 0:N-2
}"""
# B(i, j) reads B(i-1, j+1): a dependence of distance (1, -1)
RECURRENCE = """def rec(float(N,M) A) -> (B) {
    B(i,j) = A(i,j)
    B(i,j) += B(i-1,j+1) where i in 1:N, j in 0:M-1
}"""
# C(i) reads B(N-1-i): fusing the two loops reverses half of the dependences
REVERSE = """def rev(float(N) A) -> (C) {
    B(i) = A(i) * 2.0
    C(i) = B(N - 1 - i)
}"""
