/* polytc's stub <sys/time.h>. */
#ifndef POLYTC_STUB_SYS_TIME_H
#define POLYTC_STUB_SYS_TIME_H
#include <time.h>
typedef long suseconds_t;
struct timeval { time_t tv_sec; suseconds_t tv_usec; };
struct timezone { int tz_minuteswest; int tz_dsttime; };
#endif
