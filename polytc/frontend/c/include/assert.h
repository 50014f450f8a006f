/* polytc's stub <assert.h>. */
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : polytc_stub_assert_fail(#e))
#endif
