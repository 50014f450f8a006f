/* polytc's stub <stdio.h>: types and macros only; polytc's parser needs no prototypes. */
#ifndef POLYTC_STUB_STDIO_H
#define POLYTC_STUB_STDIO_H
#include <stddef.h>
#include <stdarg.h>
typedef struct polytc_stub_FILE FILE;
typedef long fpos_t;
extern FILE *stdin, *stdout, *stderr;
#define EOF (-1)
#define BUFSIZ 8192
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif
