/* polytc's stub <sys/resource.h>. */
#ifndef POLYTC_STUB_SYS_RESOURCE_H
#define POLYTC_STUB_SYS_RESOURCE_H
#include <sys/time.h>
typedef unsigned long rlim_t;
struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; };
struct rusage { struct timeval ru_utime; struct timeval ru_stime; long ru_maxrss; };
#define RUSAGE_SELF 0
#define PRIO_PROCESS 0
#endif
