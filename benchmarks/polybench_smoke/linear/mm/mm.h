#if defined(MINI_DATASET)
#define NI 13
#define NJ 17
#define NK 11
#elif defined(SMALL_DATASET)
#define NI 45
#define NJ 38
#define NK 51
#else
#define NI 220
#define NJ 190
#define NK 230
#endif
