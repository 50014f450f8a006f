/* polytc's stub <stdbool.h>. */
#ifndef POLYTC_STUB_STDBOOL_H
#define POLYTC_STUB_STDBOOL_H
#define bool _Bool
#define true 1
#define false 0
#endif
