/* Test harness of polytc's C frontend tests: deterministic inputs, exact dumps. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

static void fill_d(int n, double *a, int seed)
{
  for (int i = 0; i < n; i++)
    a[i] = (double)((i * 7919 + seed * 104729) % 2003) / 1009.0 - 0.9;
}

static void fill_f(int n, float *a, int seed)
{
  for (int i = 0; i < n; i++)
    a[i] = (float)((i * 7919 + seed * 104729) % 2003) / 1009.0f - 0.9f;
}

static void fill_i(int n, int *a, int seed)
{
  for (int i = 0; i < n; i++)
    a[i] = (i * 7919 + seed * 104729) % 2003 - 1000;
}

static void dump_d(const char *name, int n, const double *a)
{
  printf("%s", name);
  for (int i = 0; i < n; i++)
    printf(" %a", a[i]);
  printf("\n");
}

static void dump_f(const char *name, int n, const float *a)
{
  printf("%s", name);
  for (int i = 0; i < n; i++)
    printf(" %a", (double)a[i]);
  printf("\n");
}

static void dump_i(const char *name, int n, const int *a)
{
  printf("%s", name);
  for (int i = 0; i < n; i++)
    printf(" %d", a[i]);
  printf("\n");
}

static int size_arg(int argc, char **argv, int k, int otherwise)
{
  return argc > k ? atoi(argv[k]) : otherwise;
}
