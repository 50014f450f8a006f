"""TC's C-math builtins: name -> number of arguments (tc/lang/builtins.h)."""
from __future__ import annotations

BUILTINS: dict[str, int] = {
    **{name: 1 for name in (
        "acos acosh asin asinh atan atanh cbrt ceil cos cosh cospi cyl_bessel_i0 "
        "cyl_bessel_i1 erf erfc erfcinv erfcx erfinv exp exp10 exp2 expm1 fabs floor "
        "j0 j1 lgamma log log10 log1p log2 logb normcdf normcdfinv rcbrt round rsqrt "
        "sin sinh sinpi sqrt tan tanh tgamma trunc y0 y1").split()},
    **{name: 2 for name in (
        "atan2 copysign fdim fdivide fmax fmin fmod hypot nextafter pow remainder "
        "rhypot").split()},
    "fma": 3, "norm3d": 3, "rnorm3d": 3, "norm4d": 4, "rnorm4d": 4,
}
