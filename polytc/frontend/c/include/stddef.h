/* polytc's stub <stddef.h>: only what a parser needs (see polytc/frontend/c/preprocess.py). */
#ifndef POLYTC_STUB_STDDEF_H
#define POLYTC_STUB_STDDEF_H
typedef unsigned long size_t;
typedef long ptrdiff_t;
typedef int wchar_t;
#define NULL ((void *)0)
#define offsetof(type, member) ((size_t)&((type *)0)->member)
#endif
