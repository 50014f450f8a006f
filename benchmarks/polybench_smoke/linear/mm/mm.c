/* mm: C = beta C + alpha A B, with a scalar accumulator per element. */
#include <polybench.h>
#include "mm.h"

static void kernel_mm(int ni, int nj, int nk, double alpha, double beta,
                      double C[NI][NJ], double A[NI][NK], double B[NK][NJ])
{
  int i, j, k;
  double acc;
#pragma scop
  for (i = 0; i < ni; i++)
    for (j = 0; j < nj; j++) {
      acc = 0.0;
      for (k = 0; k < nk; k++)
        acc += A[i][k] * B[k][j];
      C[i][j] = beta * C[i][j] + alpha * acc;
    }
#pragma endscop
}

int main(void)
{
  double (*C)[NJ] = malloc(sizeof(double) * NI * NJ);
  double (*A)[NK] = malloc(sizeof(double) * NI * NK);
  double (*B)[NJ] = malloc(sizeof(double) * NK * NJ);
  for (int i = 0; i < NI; i++)
    for (int j = 0; j < NJ; j++)
      C[i][j] = (double)((i * j + 1) % NI) / NI;
  for (int i = 0; i < NI; i++)
    for (int k = 0; k < NK; k++)
      A[i][k] = (double)(i * (k + 1) % NK) / NK;
  for (int k = 0; k < NK; k++)
    for (int j = 0; j < NJ; j++)
      B[k][j] = (double)(k * (j + 2) % NJ) / NJ;
  smoke_start();
  kernel_mm(NI, NJ, NK, 1.5, 1.2, C, A, B);
  smoke_stop();
  smoke_dump("C", NI * NJ, &C[0][0]);
  free(C);
  free(A);
  free(B);
  return 0;
}
