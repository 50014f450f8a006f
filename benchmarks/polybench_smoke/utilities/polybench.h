/* polytc's PolyBench-shaped harness for the smoke run of benchmarks/polybench.py. */
#ifndef SMOKE_POLYBENCH_H
#define SMOKE_POLYBENCH_H
#include <stdio.h>
#include <stdlib.h>

void smoke_timer_start(void);
void smoke_timer_stop_and_print(void);

#ifdef POLYBENCH_TIME
#define smoke_start() smoke_timer_start()
#define smoke_stop() smoke_timer_stop_and_print()
#else
#define smoke_start() ((void)0)
#define smoke_stop() ((void)0)
#endif

#ifdef POLYBENCH_DUMP_ARRAYS
#define smoke_dump(name, n, a) \
  do { fprintf(stderr, "begin dump: %s", name); \
       for (int smoke_k = 0; smoke_k < (n); smoke_k++) \
         fprintf(stderr, "%s%0.2lf ", smoke_k % 20 ? "" : "\n", (double)(a)[smoke_k]); \
       fprintf(stderr, "\nend dump: %s\n", name); } while (0)
#else
#define smoke_dump(name, n, a) ((void)0)
#endif
#endif
