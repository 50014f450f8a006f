/* polytc's stub <inttypes.h>. */
#include <stdint.h>
