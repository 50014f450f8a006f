/* polytc's stub <string.h>. */
#include <stddef.h>
