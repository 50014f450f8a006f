"""Our own C kernels for the C frontend's tests: together they use every
construct the frontend takes (issue #13, point 2).  Each is a whole program:
a kernel with ``#pragma scop`` regions and a ``main`` that fills the arrays
deterministically (``harness.h``), takes sizes from its arguments and dumps
every array written with ``%a``, so the original and the transformed
program can be compared byte for byte."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CCase:
    id: str
    source: str
    sizes: tuple[tuple[int, ...], ...]   # argument sets of main; none multiples of a tile


GEMM = r"""
#include "harness.h"
/* VLA parameters, *= and +=, pre-increment, an imperfect nest */
void kernel(int ni, int nj, int nk, double alpha, double beta,
            double C[ni][nj], double A[ni][nk], double B[nk][nj])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < ni; i++) {
    for (j = 0; j < nj; j++)
      C[i][j] *= beta;
    for (k = 0; k < nk; ++k)
      for (j = 0; j < nj; j++)
        C[i][j] += alpha * A[i][k] * B[k][j];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int ni = size_arg(argc, argv, 1, 37), nj = size_arg(argc, argv, 2, 45);
  int nk = size_arg(argc, argv, 3, 29);
  double (*C)[nj] = malloc(sizeof(double) * ni * nj);
  double (*A)[nk] = malloc(sizeof(double) * ni * nk);
  double (*B)[nj] = malloc(sizeof(double) * nk * nj);
  fill_d(ni * nj, &C[0][0], 1);
  fill_d(ni * nk, &A[0][0], 2);
  fill_d(nk * nj, &B[0][0], 3);
  kernel(ni, nj, nk, 1.5, 1.2, C, A, B);
  dump_d("C", ni * nj, &C[0][0]);
  return 0;
}
"""

#: PolyBench's mvt shape: both sweeps read A along its rows (also compiled alone
#: by tests/tiling and tests/codegen_c)
MVT = r"""void mvt(int n, double x1[n], double x2[n], double y1[n], double y2[n], double A[n][n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      x1[i] = x1[i] + A[i][j] * y1[j];
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      x2[i] = x2[i] + A[j][i] * y2[j];
#pragma endscop
}
"""

STREAMS = r"""
#include "harness.h"
/* matrix-vector sweeps over one matrix (atax, bicg, mvt): fused by blocks of
   rows, each sum in its original order; and t = A x, u = A t, which no
   block of rows may fuse (u's rows read all of t) */
void atax(int m, int n, double A[m][n], double x[n], double y[n], double tmp[m])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    y[i] = 0;
  for (i = 0; i < m; i++) {
    tmp[i] = 0.0;
    for (j = 0; j < n; j++)
      tmp[i] = tmp[i] + A[i][j] * x[j];
    for (j = 0; j < n; j++)
      y[j] = y[j] + A[i][j] * tmp[i];
  }
#pragma endscop
}

void bicg(int m, int n, double A[n][m], double s[m], double q[n], double p[m], double r[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < m; i++)
    s[i] = 0;
  for (i = 0; i < n; i++) {
    q[i] = 0.0;
    for (j = 0; j < m; j++) {
      s[j] = s[j] + r[i] * A[i][j];
      q[i] = q[i] + A[i][j] * p[j];
    }
  }
#pragma endscop
}

""" + MVT + r"""
void twice(int n, double A[n][n], double x[n], double t[n], double u[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++) {
    t[i] = 0.0;
    for (j = 0; j < n; j++)
      t[i] += A[i][j] * x[j];
  }
  for (i = 0; i < n; i++) {
    u[i] = 0.0;
    for (j = 0; j < n; j++)
      u[i] += A[i][j] * t[j];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int m = size_arg(argc, argv, 1, 37), n = size_arg(argc, argv, 2, 29);
  int k = m > n ? m : n;
  double (*A)[n] = malloc(sizeof(double) * m * n), (*B)[m] = malloc(sizeof(double) * n * m);
  double (*S)[k] = malloc(sizeof(double) * k * k);
  double *v[10];
  for (int w = 0; w < 10; w++) {
    v[w] = malloc(sizeof(double) * k);
    fill_d(k, v[w], 20 + w);
  }
  fill_d(m * n, &A[0][0], 11);
  fill_d(n * m, &B[0][0], 12);
  fill_d(k * k, &S[0][0], 13);
  atax(m, n, A, v[0], v[1], v[2]);
  bicg(m, n, B, v[3], v[4], v[5], v[6]);
  mvt(k, v[7], v[8], v[0], v[3], S);
  twice(k, S, v[1], v[5], v[9]);
  dump_d("y", n, v[1]);
  dump_d("tmp", m, v[2]);
  dump_d("s", m, v[3]);
  dump_d("q", n, v[4]);
  dump_d("x1", k, v[7]);
  dump_d("x2", k, v[8]);
  dump_d("t", k, v[5]);
  dump_d("u", k, v[9]);
  return 0;
}
"""

TRIANGULAR = r"""
#include "harness.h"
/* triangular loops, in-place updates, <= bounds, sqrt; two regions */
void cholesky(int n, double A[n][n])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++) {
      for (k = 0; k < j; k++)
        A[i][j] -= A[i][k] * A[j][k];
      A[i][j] /= A[j][j];
    }
    for (k = 0; k < i; k++)
      A[i][i] -= A[i][k] * A[i][k];
    A[i][i] = sqrt(A[i][i]);
  }
#pragma endscop
}

void syrk(int n, int m, double alpha, double beta, double C[n][n], double A[n][m])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j <= i; j++)
      C[i][j] *= beta;
    for (k = 0; k < m; k++)
      for (j = 0; j <= i; j++)
        C[i][j] += alpha * A[i][k] * A[j][k];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 41), m = size_arg(argc, argv, 2, 23);
  double (*A)[n] = malloc(sizeof(double) * n * n);
  double (*C)[n] = malloc(sizeof(double) * n * n);
  double (*B)[m] = malloc(sizeof(double) * n * m);
  fill_d(n * n, &A[0][0], 4);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      A[i][j] = i == j ? n + 1.0 : 0.01 * (A[i][j] + A[j][i]);
  fill_d(n * n, &C[0][0], 5);
  fill_d(n * m, &B[0][0], 6);
  cholesky(n, A);
  syrk(n, m, 1.5, 1.2, C, B);
  dump_d("A", n * n, &A[0][0]);
  dump_d("C", n * n, &C[0][0]);
  return 0;
}
"""

CHAINS = r"""
#include "harness.h"
/* loops with no parallel member whose inner loop is a chain of dependent
   operations (trisolv's, lu's and ludcmp's sums, not reassociated; ludcmp's
   in a written scalar): the tiles' rows run together in it, each sum in its
   original order */
void trisolv(int n, double L[n][n], double x[n], double b[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++) {
    x[i] = b[i];
    for (j = 0; j < i; j++)
      x[i] -= L[i][j] * x[j];
    x[i] = x[i] / L[i][i];
  }
#pragma endscop
}

void lu(int n, double A[n][n])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++) {
      for (k = 0; k < j; k++)
        A[i][j] -= A[i][k] * A[k][j];
      A[i][j] /= A[j][j];
    }
    for (j = i; j < n; j++)
      for (k = 0; k < i; k++)
        A[i][j] -= A[i][k] * A[k][j];
  }
#pragma endscop
}

void ludcmp(int n, double A[n][n], double b[n], double x[n], double y[n])
{
  int i, j, k;
  double w;
#pragma scop
  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++) {
      w = A[i][j];
      for (k = 0; k < j; k++)
        w -= A[i][k] * A[k][j];
      A[i][j] = w / A[j][j];
    }
    for (j = i; j < n; j++) {
      w = A[i][j];
      for (k = 0; k < i; k++)
        w -= A[i][k] * A[k][j];
      A[i][j] = w;
    }
  }
  for (i = 0; i < n; i++) {
    w = b[i];
    for (j = 0; j < i; j++)
      w -= A[i][j] * y[j];
    y[i] = w;
  }
  for (i = n - 1; i >= 0; i--) {
    w = y[i];
    for (j = i + 1; j < n; j++)
      w -= A[i][j] * x[j];
    x[i] = w / A[i][i];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 45);
  double (*L)[n] = malloc(sizeof(double) * n * n), (*A)[n] = malloc(sizeof(double) * n * n);
  double *x = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n);
  fill_d(n * n, &L[0][0], 31);
  fill_d(n * n, &A[0][0], 32);
  fill_d(n, b, 33);
  for (int i = 0; i < n; i++) {
    L[i][i] = 2.0 + i % 3;
    A[i][i] = n + 1.0;
  }
  double (*U)[n] = malloc(sizeof(double) * n * n);
  double *u = malloc(sizeof(double) * n), *v = malloc(sizeof(double) * n);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      U[i][j] = A[i][j];
  trisolv(n, L, x, b);
  lu(n, A);
  ludcmp(n, U, b, u, v);
  dump_d("x", n, x);
  dump_d("A", n * n, &A[0][0]);
  dump_d("U", n * n, &U[0][0]);
  dump_d("u", n, u);
  dump_d("v", n, v);
  return 0;
}
"""

DOWNWARD = r"""
#include "harness.h"
/* downward loops, strides, i = i + c */
void kernel(int n, double x[n], double y[n], double L[n][n], double b[n])
{
  int i, j;
#pragma scop
  for (i = n - 1; i >= 0; i--) {
    x[i] = b[i];
    for (j = i + 1; j < n; j++)
      x[i] -= L[j][i] * x[j];
    x[i] = x[i] / L[i][i];
  }
  for (i = 0; i < n; i += 3)
    y[i] = x[i] * 2.0;
  for (i = n - 2; i > 0; i -= 2)
    y[i] = y[i + 1] + x[i - 1];
  for (j = 1; j < n; j = j + 2)
    y[j] += 1.0;
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 43);
  double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
  double *b = malloc(sizeof(double) * n);
  double (*L)[n] = malloc(sizeof(double) * n * n);
  fill_d(n, x, 7);
  fill_d(n, y, 8);
  fill_d(n, b, 9);
  fill_d(n * n, &L[0][0], 10);
  for (int i = 0; i < n; i++)
    L[i][i] = 2.0 + i;
  kernel(n, x, y, L, b);
  dump_d("x", n, x);
  dump_d("y", n, y);
  return 0;
}
"""

BRANCHES = r"""
#include "harness.h"
/* affine if / else, ?: on data (nussinov), a char array, int data */
void kernel(int n, char seq[n], int table[n][n])
{
  int i, j, k;
#pragma scop
  for (i = n - 1; i >= 0; i--) {
    for (j = i + 1; j < n; j++) {
      if (j - 1 >= 0)
        table[i][j] = table[i][j] > table[i][j - 1] ? table[i][j] : table[i][j - 1];
      if (i + 1 < n)
        table[i][j] = table[i][j] > table[i + 1][j] ? table[i][j] : table[i + 1][j];
      if (j - 1 >= 0 && i + 1 < n) {
        if (i < j - 1)
          table[i][j] = table[i][j] > table[i + 1][j - 1] + (seq[i] + seq[j] == 3 ? 1 : 0)
              ? table[i][j] : table[i + 1][j - 1] + (seq[i] + seq[j] == 3 ? 1 : 0);
        else
          table[i][j] = table[i][j] > table[i + 1][j - 1] ? table[i][j] : table[i + 1][j - 1];
      }
      for (k = i + 1; k < j; k++)
        table[i][j] = table[i][j] > table[i][k] + table[k + 1][j]
            ? table[i][j] : table[i][k] + table[k + 1][j];
    }
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 45);
  char *seq = malloc(n);
  int (*table)[n] = malloc(sizeof(int) * n * n);
  for (int i = 0; i < n; i++)
    seq[i] = (char)((i * 7 + 3) % 4);
  for (int i = 0; i < n * n; i++)
    (&table[0][0])[i] = 0;
  kernel(n, seq, table);
  dump_i("table", n * n, &table[0][0]);
  return 0;
}
"""

AFFINE = r"""
#include "harness.h"
/* min, max, floord, ceild in bounds; C's truncating / and % by constants
   on negative values; ?: in a value and in a subscript */
static int min(int a, int b) { return a < b ? a : b; }
static int max(int a, int b) { return a > b ? a : b; }
static int floord(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int ceild(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

void kernel(int n, int m, double A[n][m], double B[n], double C[2 * n + 8])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    for (j = max(0, i - 3); j < min(m, i + 4); j++)
      A[i][j] = A[i][j] * 0.5 + B[i];
  for (i = -7; i < n; i++)
    C[(i - 5) / 2 + 6] += (double)((i - 5) % 3) + (double)((i * 7 - 3) / 4);
  for (i = 0; i <= floord(n - 1, 3) && i < m; i++)
    for (j = ceild(i, 2); j < n; j++)
      A[j][i] -= 1.0f / 3;
  for (i = 0; i < n; i++)
    B[i] = i % 2 == 0 ? B[i] : -B[i];
  for (i = 0; i < n; i++)
    B[i] += A[i][i > m - 1 ? m - 1 : i];
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 38), m = size_arg(argc, argv, 2, 27);
  double (*A)[m] = malloc(sizeof(double) * n * m);
  double *B = malloc(sizeof(double) * n), *C = malloc(sizeof(double) * (2 * n + 8));
  fill_d(n * m, &A[0][0], 11);
  fill_d(n, B, 12);
  fill_d(2 * n + 8, C, 13);
  kernel(n, m, A, B, C);
  dump_d("A", n * m, &A[0][0]);
  dump_d("B", n, B);
  dump_d("C", 2 * n + 8, C);
  return 0;
}
"""

STENCILS = r"""
#include "harness.h"
/* time loops: two sweeps per step (jacobi-1d), in place (seidel-2d) */
void kernel(int tsteps, int n, double A[n], double B[n], double S[n][n])
{
  int t, i, j;
#pragma scop
  for (t = 0; t < tsteps; t++) {
    for (i = 1; i < n - 1; i++)
      B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1]);
    for (i = 1; i < n - 1; i++)
      A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1]);
  }
  for (t = 0; t <= tsteps - 1; t++)
    for (i = 1; i <= n - 2; i++)
      for (j = 1; j <= n - 2; j++)
        S[i][j] = (S[i - 1][j - 1] + S[i - 1][j] + S[i - 1][j + 1] + S[i][j - 1] + S[i][j]
                   + S[i][j + 1] + S[i + 1][j - 1] + S[i + 1][j] + S[i + 1][j + 1]) / 9.0;
#pragma endscop
}

int main(int argc, char **argv)
{
  int tsteps = size_arg(argc, argv, 1, 5), n = size_arg(argc, argv, 2, 37);
  double *A = malloc(sizeof(double) * n), *B = malloc(sizeof(double) * n);
  double (*S)[n] = malloc(sizeof(double) * n * n);
  fill_d(n, A, 14);
  fill_d(n, B, 15);
  fill_d(n * n, &S[0][0], 16);
  kernel(tsteps, n, A, B, S);
  dump_d("A", n, A);
  dump_d("B", n, B);
  dump_d("S", n * n, &S[0][0]);
  return 0;
}
"""

SCALARS = r"""
#include "harness.h"
/* written scalars: privatised (temp2 per (i, j), sum per k, acc in two live
   ranges), kept (a recurrence, values read after the region, a value from
   before the region) */
void kernel(int m, int n, double alpha, double beta, double C[m][n], double A[m][m],
            double B[m][n], double r[n], double y[n], double out[3])
{
  int i, j, k;
  double temp2, acc, sum, alpha2, beta2, last, carry;
  carry = 0.125;
#pragma scop
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      temp2 = 0;
      for (k = 0; k < i; k++) {
        C[k][j] += alpha * B[i][j] * A[i][k];
        temp2 += B[k][j] * A[i][k];
      }
      C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + alpha * temp2;
    }
  beta2 = 1.0;
  alpha2 = -r[0];
  for (k = 1; k < n; k++) {
    beta2 = (1 - alpha2 * alpha2) * beta2;
    sum = 0.0;
    for (i = 0; i < k; i++)
      sum += r[k - i - 1] * y[i];
    alpha2 = -(r[k] + sum) / beta2;
    y[k] = alpha2;
  }
  for (i = 0; i < m; i++) {
    acc = 0.0;
    for (j = 0; j < n; j++) {
      acc = 0.5 * acc + B[i][j];
      B[i][j] = acc;
    }
  }
  for (j = 0; j < n; j++) {
    acc = 0.0;
    for (i = m - 1; i >= 0; i--) {
      acc = 0.25 * acc + C[i][j];
      C[i][j] = acc;
    }
  }
  last = 0.0;
  for (i = 0; i < m; i++)
    last += B[i][0];
  for (i = 0; i < n; i++) {
    y[i] += carry;
    carry = y[i] * 0.5;
  }
#pragma endscop
  out[0] = last;
  out[1] = beta2;
  out[2] = carry;
}

int main(int argc, char **argv)
{
  int m = size_arg(argc, argv, 1, 33), n = size_arg(argc, argv, 2, 39);
  double (*C)[n] = malloc(sizeof(double) * m * n), (*B)[n] = malloc(sizeof(double) * m * n);
  double (*A)[m] = malloc(sizeof(double) * m * m);
  double *r = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n), out[3];
  fill_d(m * n, &C[0][0], 17);
  fill_d(m * n, &B[0][0], 18);
  fill_d(m * m, &A[0][0], 19);
  for (int i = 0; i < n; i++)
    r[i] = 0.5 / (i + 2.0);
  fill_d(n, y, 20);
  kernel(m, n, 1.5, 1.2, C, A, B, r, y, out);
  dump_d("C", m * n, &C[0][0]);
  dump_d("B", m * n, &B[0][0]);
  dump_d("y", n, y);
  dump_d("out", 3, out);
  return 0;
}
"""

ARRAYS = r"""
#include "harness.h"
/* written arrays the caller passes: privatised with their last values copied
   back (sum per (r, q) as in doitgen; w, whose last writes come from two
   statements and from an earlier q for the elements a later q skips), kept
   (v: its loop t stays sequential through u; x: read before it is written);
   two regions */
void kernel(int nr, int nq, int np, int tsteps, double A[nr][nq][np], double C4[np][np],
            double sum[np], double w[np], double u[np], double v[np], double x[np])
{
  int r, q, p, s, t;
#pragma scop
  for (r = 0; r < nr; r++)
    for (q = 0; q < nq; q++) {
      for (p = 0; p < np; p++) {
        sum[p] = 0.0;
        for (s = 0; s < np; s++)
          sum[p] += A[r][q][s] * C4[s][p];
      }
      for (p = 0; p < np; p++)
        A[r][q][p] = sum[p];
    }
#pragma endscop
#pragma scop
  for (q = 0; q < nq; q++) {
    w[0] = 0.5 * q;
    for (p = 1; p < np - q % 3; p++)
      w[p] = w[p - 1] * 0.5 + C4[q % 3][p];
    for (p = 0; p < np - q % 3; p++)
      A[0][q][p] += w[p];
  }
  for (t = 0; t < tsteps; t++) {
    for (p = 0; p < np; p++)
      v[p] = u[p] * 0.5 + 1.0;
    for (p = 1; p < np; p++)
      u[p] = v[p - 1] + v[p] * 0.25;
  }
  for (q = 0; q < nq; q++)
    for (p = 0; p < np; p++) {
      C4[q % 3][p] += x[p];
      x[p] = C4[q % 3][p] * 0.5;
    }
#pragma endscop
}

int main(int argc, char **argv)
{
  int nr = size_arg(argc, argv, 1, 5), nq = size_arg(argc, argv, 2, 7);
  int np = size_arg(argc, argv, 3, 37), tsteps = size_arg(argc, argv, 4, 3);
  double (*A)[nq][np] = malloc(sizeof(double) * nr * nq * np);
  double (*C4)[np] = malloc(sizeof(double) * np * np);
  double *sum = malloc(sizeof(double) * np), *w = malloc(sizeof(double) * np);
  double *u = malloc(sizeof(double) * np), *v = malloc(sizeof(double) * np);
  double *x = malloc(sizeof(double) * np);
  fill_d(nr * nq * np, &A[0][0][0], 28);
  fill_d(np * np, &C4[0][0], 29);
  fill_d(np, sum, 30);
  fill_d(np, w, 31);
  fill_d(np, u, 32);
  fill_d(np, v, 33);
  fill_d(np, x, 34);
  kernel(nr, nq, np, tsteps, A, C4, sum, w, u, v, x);
  dump_d("A", nr * nq * np, &A[0][0][0]);
  dump_d("C4", np * np, &C4[0][0]);
  dump_d("sum", np, sum);
  dump_d("w", np, w);
  dump_d("u", np, u);
  dump_d("v", np, v);
  dump_d("x", np, x);
  return 0;
}
"""

TYPES = r"""
#include "harness.h"
/* float and int data, math calls and their f variants, mixed float/double,
   C's integer /, %, >>, &, iterators and sizes as values, casts */
void kernel(int n, float X[n][n], float Y[n], double Z[n], int I[n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      X[i][j] = expf(-X[i][j]) * powf(2.0f, X[j][i]) + sqrtf(fabsf(X[i][j])) * 0.1f;
  for (i = 0; i < n; i++) {
    Y[i] = (float)(Z[i] * 0.33333) + Y[i] / 3;
    Z[i] = sqrt(fabs(Z[i])) + pow(Z[i], 2) + exp(-Z[i]) + floor(Z[i] * 10.0) + fmax(Z[i], 0.1);
    I[i] = I[i] / 7 + I[i] % 5 - (I[i] >> 2) + (I[i] & 3);
    I[i] += i * 3 - n;
    Z[i] += (double)n / 3 + i / 2;
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 35);
  float (*X)[n] = malloc(sizeof(float) * n * n), *Y = malloc(sizeof(float) * n);
  double *Z = malloc(sizeof(double) * n);
  int *I = malloc(sizeof(int) * n);
  fill_f(n * n, &X[0][0], 21);
  fill_f(n, Y, 22);
  fill_d(n, Z, 23);
  fill_i(n, I, 24);
  kernel(n, X, Y, Z, I);
  dump_f("X", n * n, &X[0][0]);
  dump_f("Y", n, Y);
  dump_d("Z", n, Z);
  dump_i("I", n, I);
  return 0;
}
"""

GLOBALS = r"""
#include "harness.h"
/* constant-size and global arrays, a region inside an outer loop, chained
   assignment, -=, /=, ++ and -- on data, statements outside any loop */
#define N 40
double G[N][N];
static double H[N];

void kernel(int n, int steps, double V[N])
{
  int t, i, j;
  double a, b, c;
  for (t = 0; t < steps; t++) {
#pragma scop
    a = b = 0.5 * t;
    c = a + 1.0;
    for (i = 0; i < n; i++) {
      H[i] -= V[i] * c;
      H[i] /= 2.0;
      V[i]++;
      for (j = 0; j < n; j++)
        G[i][j] = G[i][j] * b + H[j] - t;
    }
    for (i = n - 1; i >= 1; i--) {
      V[i] -= V[i - 1];
      V[i]--;
    }
#pragma endscop
    V[0] += 1.0;
  }
}

int main(int argc, char **argv)
{
  int n = size_arg(argc, argv, 1, 37), steps = size_arg(argc, argv, 2, 3);
  double V[N];
  fill_d(N * N, &G[0][0], 25);
  fill_d(N, H, 26);
  fill_d(N, V, 27);
  kernel(n, steps, V);
  dump_d("G", N * N, &G[0][0]);
  dump_d("H", N, H);
  dump_d("V", N, V);
  return 0;
}
"""

CASES = (
    CCase("gemm", GEMM, ((), (130, 17, 141))),
    CCase("triangular", TRIANGULAR, ((), (3, 1))),
    CCase("streams", STREAMS, ((), (9, 20), (1, 1), (16, 8))),
    CCase("chains", CHAINS, ((), (1,), (8,), (133,))),
    CCase("downward", DOWNWARD, ((), (2,))),
    CCase("branches", BRANCHES, ((), (3,))),
    CCase("affine", AFFINE, ((), (5, 2))),
    CCase("stencils", STENCILS, ((), (1, 3))),
    CCase("scalars", SCALARS, ((), (1, 2))),
    CCase("arrays", ARRAYS, ((), (3, 2, 70, 1), (1, 9, 3, 4))),
    CCase("types", TYPES, ((), (2,))),
    CCase("globals", GLOBALS, ((), (40, 1))),
)
