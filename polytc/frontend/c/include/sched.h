/* polytc's stub <sched.h>. */
#ifndef POLYTC_STUB_SCHED_H
#define POLYTC_STUB_SCHED_H
#include <sys/types.h>
struct sched_param { int sched_priority; };
typedef struct { unsigned long polytc_stub_bits[16]; } cpu_set_t;
#define SCHED_OTHER 0
#define SCHED_FIFO 1
#define SCHED_RR 2
#endif
