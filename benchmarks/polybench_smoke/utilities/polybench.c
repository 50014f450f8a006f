/* polytc's PolyBench-shaped harness: the timer. */
#include <stdio.h>
#include <sys/time.h>
#include "polybench.h"

static double smoke_started;

static double smoke_now(void)
{
  struct timeval now;
  gettimeofday(&now, NULL);
  return now.tv_sec + now.tv_usec * 1.0e-6;
}

void smoke_timer_start(void) { smoke_started = smoke_now(); }

void smoke_timer_stop_and_print(void) { printf("%0.6f\n", smoke_now() - smoke_started); }
