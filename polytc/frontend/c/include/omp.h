/* polytc's stub <omp.h>. */
#ifndef POLYTC_STUB_OMP_H
#define POLYTC_STUB_OMP_H
typedef struct polytc_stub_omp_lock omp_lock_t;
#endif
