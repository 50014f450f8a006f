/* polytc's stub <errno.h>. */
#ifndef POLYTC_STUB_ERRNO_H
#define POLYTC_STUB_ERRNO_H
extern int errno;
#define EDOM 33
#define ERANGE 34
#endif
