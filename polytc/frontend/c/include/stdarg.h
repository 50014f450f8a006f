/* polytc's stub <stdarg.h>. */
#ifndef POLYTC_STUB_STDARG_H
#define POLYTC_STUB_STDARG_H
typedef void *va_list;
#endif
