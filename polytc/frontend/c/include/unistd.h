/* polytc's stub <unistd.h>. */
#ifndef POLYTC_STUB_UNISTD_H
#define POLYTC_STUB_UNISTD_H
#include <sys/types.h>
#define _SC_NPROCESSORS_ONLN 84
#endif
