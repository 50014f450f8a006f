"""C helpers that generated kernels may use; each is emitted only when used.

Integer ``/`` and ``%`` follow numpy (floor division; division by zero
gives 0), so a kernel never traps.  Builtins that C's libm lacks (TC took
them from CUDA) are implemented here in double precision.
"""
from __future__ import annotations

HEADER = """\
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <math.h>
"""

#: iterations below which a parallel loop that holds no loop and runs inside
#: a sequential one stays on one thread: its work is a few operations per
#: iteration, less than the fork and join of a parallel region (durbin's
#: loops of at most 2,000 iterations ran 2.7x slower on two threads)
MIN_PARALLEL_TRIPS = 16384

HELPERS: dict[str, str] = {
    "POLYTC_FLOORD": """\
static inline int64_t POLYTC_FLOORD(int64_t a, int64_t b)
{ int64_t q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q; }""",
    "POLYTC_MIN": "#define POLYTC_MIN(a, b) ((a) < (b) ? (a) : (b))",
    # MIN_PARALLEL_TRIPS, which -DPOLYTC_MIN_PARALLEL_TRIPS=... overrides
    "POLYTC_MIN_PARALLEL_TRIPS": f"""\
#ifndef POLYTC_MIN_PARALLEL_TRIPS
#define POLYTC_MIN_PARALLEL_TRIPS {MIN_PARALLEL_TRIPS}
#endif""",
    "POLYTC_MAX": "#define POLYTC_MAX(a, b) ((a) > (b) ? (a) : (b))",
    # a specialised size, hidden from the optimiser where it is a stride:
    # gcc turned known strides into permutes (4,092 vpermt2ps in an MLP layer)
    "POLYTC_OPAQUE": """\
#if defined(__GNUC__)
#define POLYTC_OPAQUE(x) __asm__("" : "+r"(x))
#else
#define POLYTC_OPAQUE(x) ((void)0)
#endif""",
    "POLYTC_IDIV": """\
static inline int64_t POLYTC_IDIV(int64_t a, int64_t b)
{ if (b == 0) return 0; if (b == -1) return (int64_t)(0 - (uint64_t)a);
  int64_t q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q; }""",
    "POLYTC_IMOD": """\
static inline int64_t POLYTC_IMOD(int64_t a, int64_t b)
{ if (b == 0 || b == -1) return 0; int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }""",
    "POLYTC_UDIV": """\
static inline uint64_t POLYTC_UDIV(uint64_t a, uint64_t b) { return b ? a / b : 0; }""",
    "POLYTC_UMOD": """\
static inline uint64_t POLYTC_UMOD(uint64_t a, uint64_t b) { return b ? a % b : 0; }""",
    "POLYTC_FMODF": """\
static inline float POLYTC_FMODF(float a, float b)
{ float r = fmodf(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }""",
    "POLYTC_FMOD": """\
static inline double POLYTC_FMOD(double a, double b)
{ double r = fmod(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }""",
    "POLYTC_GATHER": """\
/* the first out-of-range gather of a call: site, index, extent (read and
   cleared by <function>_gather_report) */
static int64_t polytc_gather_report[3];
static inline int64_t POLYTC_GATHER(int64_t index, int64_t extent, int64_t site, int *status)
{ if (index >= 0 && index < extent) return index;
  int none = 0;
  if (__atomic_compare_exchange_n(status, &none, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    polytc_gather_report[0] = site; polytc_gather_report[1] = index;
    polytc_gather_report[2] = extent; }
  return 0; }""",
    "POLYTC_ERFINV": """\
static double POLYTC_ERFINV(double x)
{ if (x <= -1.0) return x == -1.0 ? -INFINITY : NAN;
  if (x >= 1.0) return x == 1.0 ? INFINITY : NAN;
  double w = -log((1.0 - x) * (1.0 + x)), p;
  if (w < 5.0) { w -= 2.5; p = 2.81022636e-08; p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w; p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w; p = -0.00417768164 + p * w; p = 0.246640727 + p * w;
    p = 1.50140941 + p * w; }
  else { w = sqrt(w) - 3.0; p = -0.000200214257; p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w; p = -0.00367342844 + p * w; p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w; p = 0.00943887047 + p * w; p = 1.00167406 + p * w;
    p = 2.83297682 + p * w; }
  double y = p * x;
  for (int k = 0; k < 2; k++)  /* Newton steps on erf(y) = x */
    y -= (erf(y) - x) / (1.1283791670955126 * exp(-y * y));
  return y; }""",
    "POLYTC_I0": """\
static double POLYTC_I0(double x)
{ double t = x * x / 4.0, term = 1.0, sum = 1.0;
  for (int k = 1; k < 1000 && term > 1e-17 * sum; k++) { term *= t / ((double)k * k); sum += term; }
  return sum; }""",
    "POLYTC_I1": """\
static double POLYTC_I1(double x)
{ double t = x * x / 4.0, term = x / 2.0, sum = term;
  for (int k = 1; k < 1000 && fabs(term) > 1e-17 * fabs(sum); k++)
  { term *= t / ((double)k * (k + 1)); sum += term; }
  return sum; }""",
    "POLYTC_ERFCX": """\
static double POLYTC_ERFCX(double x)
{ if (x < 25.0) return exp(x * x) * erfc(x);
  double r = 1.0 / (x * x);  /* asymptotic series */
  return (1.0 - 0.5 * r + 0.75 * r * r) / (x * 1.7724538509055159); }""",
}

#: libm functions that glibc's vector library (libmvec, linked through -lm)
#: has, by the glibc version that added them: gcc calls its vector variants
#: from ``omp simd`` loops where the function is declared ``omp declare
#: simd`` (glibc declares them so only under -ffast-math).  Their results may
#: differ from the scalar functions' in the last bits (at most 4 ulp, glibc's
#: manual), so only TC kernels, whose builtins' precision TC leaves open,
#: declare them (softmax 4096x1024: 11.3 -> 3.5 ms on one thread)
VECTOR_LIBM = {
    22: ("cos", "sin", "log", "exp", "pow"),
    35: ("acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "cosh", "erf",
         "erfc", "exp2", "expm1", "hypot", "log10", "log1p", "log2", "sinh", "tan", "tanh"),
}


def vector_math(used: set[str]) -> str:
    """``omp declare simd`` declarations of the libm functions in ``used``
    (``libm:expf``...) that glibc's libmvec provides, or ''."""
    blocks = []
    for minor, names in VECTOR_LIBM.items():
        lines = []
        for name in names:
            for suffix, ctype in (("f", "float"), ("", "double")):
                if f"libm:{name}{suffix}" in used:
                    params = ", ".join([ctype] * (2 if name in ("pow", "atan2", "hypot") else 1))
                    lines.append(f"#pragma omp declare simd notinbranch\n"
                                 f"{ctype} {name}{suffix}({params});")
        if lines:
            blocks.append(f"#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) "
                          f"&& defined(_OPENMP) && defined(__GLIBC__) && (__GLIBC__ > 2 || "
                          f"__GLIBC_MINOR__ >= {minor})\n" + "\n".join(lines) + "\n#endif")
    return "\n".join(blocks)


#: helpers a helper needs
REQUIRES = {"POLYTC_ERFCINV": ("POLYTC_ERFINV",), "POLYTC_NORMCDFINV": ("POLYTC_ERFINV",)}


def prelude(used: set[str]) -> str:
    """The header and the helpers in ``used``, in a fixed order."""
    parts = [HEADER]
    parts += [code for name, code in HELPERS.items() if name in used]
    return "\n".join(parts) + "\n"
