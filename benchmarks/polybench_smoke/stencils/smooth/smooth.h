#if defined(MINI_DATASET)
#define TSTEPS 3
#define N 19
#elif defined(SMALL_DATASET)
#define TSTEPS 7
#define N 61
#else
#define TSTEPS 40
#define N 400
#endif
