"""Our own time-iterated stencils, in the shapes of PolyBench's (issue #14):
two sweeps per step in 1-D, 2-D and 3-D (jacobi-1d/2d, heat-3d), in place
in 1-D, 2-D (seidel-2d) and 3-D, several fields updated in turn with a boundary row (fdtd-2d),
and line recurrences alternating direction (adi).  Each is a whole program
in the manner of ``c_kernels.py``: ``main(T, N[, M])`` fills the arrays,
runs the kernel and dumps every array with ``%a``."""
from __future__ import annotations

from c_kernels import CCase

PROLOGUE = '#include "harness.h"\n'

SWEEPS_1D = PROLOGUE + r"""
void kernel(int steps, int n, double U[n], double V[n])
{
  int s, x;
#pragma scop
  for (s = 0; s < steps; s++) {
    for (x = 1; x < n - 1; x++)
      V[x] = 0.25 * U[x - 1] + 0.5 * U[x] + 0.25 * U[x + 1];
    for (x = 1; x < n - 1; x++)
      U[x] = 0.25 * V[x - 1] + 0.5 * V[x] + 0.25 * V[x + 1];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 23), n = size_arg(argc, argv, 2, 301);
  double *U = malloc(sizeof(double) * n), *V = malloc(sizeof(double) * n);
  fill_d(n, U, 1);
  fill_d(n, V, 2);
  kernel(steps, n, U, V);
  dump_d("U", n, U);
  dump_d("V", n, V);
  return 0;
}
"""

SWEEPS_2D = PROLOGUE + r"""
void kernel(int steps, int n, double P[n][n], double Q[n][n])
{
  int s, y, x;
#pragma scop
  for (s = 0; s < steps; s++) {
    for (y = 1; y < n - 1; y++)
      for (x = 1; x < n - 1; x++)
        Q[y][x] = 0.125 * (P[y - 1][x] + P[y + 1][x] + P[y][x - 1] + P[y][x + 1]) + 0.5 * P[y][x];
    for (y = 1; y < n - 1; y++)
      for (x = 1; x < n - 1; x++)
        P[y][x] = 0.125 * (Q[y - 1][x] + Q[y + 1][x] + Q[y][x - 1] + Q[y][x + 1]) + 0.5 * Q[y][x];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 21), n = size_arg(argc, argv, 2, 71);
  double (*P)[n] = malloc(sizeof(double) * n * n), (*Q)[n] = malloc(sizeof(double) * n * n);
  fill_d(n * n, &P[0][0], 3);
  fill_d(n * n, &Q[0][0], 4);
  kernel(steps, n, P, Q);
  dump_d("P", n * n, &P[0][0]);
  dump_d("Q", n * n, &Q[0][0]);
  return 0;
}
"""

SWEEPS_3D = PROLOGUE + r"""
void kernel(int steps, int n, double P[n][n][n], double Q[n][n][n])
{
  int s, z, y, x;
#pragma scop
  for (s = 1; s <= steps; s++) {
    for (z = 1; z < n - 1; z++)
      for (y = 1; y < n - 1; y++)
        for (x = 1; x < n - 1; x++)
          Q[z][y][x] = 0.1 * (P[z - 1][y][x] + P[z + 1][y][x] + P[z][y - 1][x]
                              + P[z][y + 1][x] + P[z][y][x - 1] + P[z][y][x + 1]) + 0.4 * P[z][y][x];
    for (z = 1; z < n - 1; z++)
      for (y = 1; y < n - 1; y++)
        for (x = 1; x < n - 1; x++)
          P[z][y][x] = 0.1 * (Q[z - 1][y][x] + Q[z + 1][y][x] + Q[z][y - 1][x]
                              + Q[z][y + 1][x] + Q[z][y][x - 1] + Q[z][y][x + 1]) + 0.4 * Q[z][y][x];
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 9), n = size_arg(argc, argv, 2, 23);
  double (*P)[n][n] = malloc(sizeof(double) * n * n * n);
  double (*Q)[n][n] = malloc(sizeof(double) * n * n * n);
  fill_d(n * n * n, &P[0][0][0], 5);
  fill_d(n * n * n, &Q[0][0][0], 6);
  kernel(steps, n, P, Q);
  dump_d("P", n * n * n, &P[0][0][0]);
  dump_d("Q", n * n * n, &Q[0][0][0]);
  return 0;
}
"""

IN_PLACE_2D = PROLOGUE + r"""
void kernel(int steps, int n, double G[n][n])
{
  int s, y, x;
#pragma scop
  for (s = 0; s <= steps - 1; s++)
    for (y = 1; y <= n - 2; y++)
      for (x = 1; x <= n - 2; x++)
        G[y][x] = (G[y - 1][x] + G[y][x - 1] + 2.0 * G[y][x] + G[y][x + 1] + G[y + 1][x]
                   + G[y - 1][x + 1] + G[y + 1][x - 1]) / 8.0;
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 19), n = size_arg(argc, argv, 2, 67);
  double (*G)[n] = malloc(sizeof(double) * n * n);
  fill_d(n * n, &G[0][0], 7);
  kernel(steps, n, G);
  dump_d("G", n * n, &G[0][0]);
  return 0;
}
"""

IN_PLACE_1D = PROLOGUE + r"""
void kernel(int steps, int n, double G[n])
{
  int s, x;
#pragma scop
  for (s = 0; s < steps; s++)
    for (x = 1; x < n - 1; x++)
      G[x] = (G[x - 1] + 2.0 * G[x] + G[x + 1]) / 4.0;
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 37), n = size_arg(argc, argv, 2, 301);
  double *G = malloc(sizeof(double) * n);
  fill_d(n, G, 5);
  kernel(steps, n, G);
  dump_d("G", n, G);
  return 0;
}
"""

IN_PLACE_3D = PROLOGUE + r"""
void kernel(int steps, int n, double G[n][n][n])
{
  int s, z, y, x;
#pragma scop
  for (s = 0; s < steps; s++)
    for (z = 1; z < n - 1; z++)
      for (y = 1; y < n - 1; y++)
        for (x = 1; x < n - 1; x++)
          G[z][y][x] = (G[z - 1][y][x] + G[z][y - 1][x] + G[z][y][x - 1] + G[z][y][x]
                        + G[z][y][x + 1] + G[z][y + 1][x] + G[z + 1][y][x]) / 7.0;
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 5), n = size_arg(argc, argv, 2, 19);
  double (*G)[n][n] = malloc(sizeof(double) * n * n * n);
  fill_d(n * n * n, &G[0][0][0], 9);
  kernel(steps, n, G);
  dump_d("G", n * n * n, &G[0][0][0]);
  return 0;
}
"""

FIELDS_2D = PROLOGUE + r"""
void kernel(int steps, int nx, int ny, double E[nx][ny], double F[nx][ny], double H[nx][ny],
            double source[steps])
{
  int s, i, j;
#pragma scop
  for (s = 0; s < steps; s++) {
    for (j = 0; j < ny; j++)
      E[0][j] = source[s];
    for (i = 1; i < nx; i++)
      for (j = 0; j < ny; j++)
        E[i][j] = E[i][j] - 0.5 * (H[i][j] - H[i - 1][j]);
    for (i = 0; i < nx; i++)
      for (j = 1; j < ny; j++)
        F[i][j] = F[i][j] - 0.5 * (H[i][j] - H[i][j - 1]);
    for (i = 0; i < nx - 1; i++)
      for (j = 0; j < ny - 1; j++)
        H[i][j] = H[i][j] - 0.75 * (F[i][j + 1] - F[i][j] + E[i + 1][j] - E[i][j]);
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 17), nx = size_arg(argc, argv, 2, 53);
  int ny = size_arg(argc, argv, 3, 61);
  double (*E)[ny] = malloc(sizeof(double) * nx * ny), (*F)[ny] = malloc(sizeof(double) * nx * ny);
  double (*H)[ny] = malloc(sizeof(double) * nx * ny), *source = malloc(sizeof(double) * steps);
  fill_d(nx * ny, &E[0][0], 8);
  fill_d(nx * ny, &F[0][0], 9);
  fill_d(nx * ny, &H[0][0], 10);
  fill_d(steps, source, 11);
  kernel(steps, nx, ny, E, F, H, source);
  dump_d("E", nx * ny, &E[0][0]);
  dump_d("F", nx * ny, &F[0][0]);
  dump_d("H", nx * ny, &H[0][0]);
  return 0;
}
"""

ALTERNATING_LINES = PROLOGUE + r"""
void kernel(int steps, int n, double W[n][n], double L[n][n], double R[n][n])
{
  int s, i, j;
#pragma scop
  for (s = 1; s <= steps; s++) {
    for (i = 1; i < n - 1; i++) {
      L[i][0] = 1.0;
      for (j = 1; j < n - 1; j++)
        L[i][j] = 0.5 * L[i][j - 1] + W[j][i - 1] - 0.25 * W[j][i + 1];
      for (j = n - 2; j >= 1; j--)
        R[j][i] = L[i][j] - 0.5 * R[j + 1][i];
    }
    for (i = 1; i < n - 1; i++) {
      L[i][0] = 1.0;
      for (j = 1; j < n - 1; j++)
        L[i][j] = 0.5 * L[i][j - 1] + R[i - 1][j] - 0.25 * R[i + 1][j];
      for (j = n - 2; j >= 1; j--)
        W[i][j] = L[i][j] - 0.5 * W[i][j + 1];
    }
  }
#pragma endscop
}

int main(int argc, char **argv)
{
  int steps = size_arg(argc, argv, 1, 7), n = size_arg(argc, argv, 2, 37);
  double (*W)[n] = malloc(sizeof(double) * n * n), (*L)[n] = malloc(sizeof(double) * n * n);
  double (*R)[n] = malloc(sizeof(double) * n * n);
  fill_d(n * n, &W[0][0], 12);
  fill_d(n * n, &L[0][0], 13);
  fill_d(n * n, &R[0][0], 14);
  kernel(steps, n, W, L, R);
  dump_d("W", n * n, &W[0][0]);
  dump_d("L", n * n, &L[0][0]);
  dump_d("R", n * n, &R[0][0]);
  return 0;
}
"""

# sizes: the default (no multiple of any tile), one step on the smallest
# domain with an interior, a thin domain over more steps than its width
STENCIL_CASES = (
    CCase("sweeps-1d", SWEEPS_1D, ((), (1, 3), (40, 4))),
    CCase("sweeps-2d", SWEEPS_2D, ((), (1, 3), (13, 4))),
    CCase("sweeps-3d", SWEEPS_3D, ((), (1, 3), (6, 4))),
    CCase("in-place-1d", IN_PLACE_1D, ((), (1, 3), (20, 5))),
    CCase("in-place-2d", IN_PLACE_2D, ((), (1, 3), (11, 4))),
    CCase("in-place-3d", IN_PLACE_3D, ((), (1, 3), (3, 40))),
    CCase("fields-2d", FIELDS_2D, ((), (1, 2, 2), (9, 3, 40))),
    CCase("alternating-lines", ALTERNATING_LINES, ((), (1, 3), (5, 4), (2, 70))),
)
