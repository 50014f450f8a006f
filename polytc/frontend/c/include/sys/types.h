/* polytc's stub <sys/types.h>. */
#ifndef POLYTC_STUB_SYS_TYPES_H
#define POLYTC_STUB_SYS_TYPES_H
#include <stddef.h>
typedef long ssize_t;
typedef long off_t;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
#endif
