"""TC's value semantics on numpy arrays, written for the reference interpreter.

Deliberately independent of :mod:`polytc.dtypes` and of the C code
generator: type promotion (TC's ``match_types``), integer ``/`` and ``%``
(floor division and modulo, 0 on division by zero, as polytc documents),
C conversions, reduction identities and the C-math builtins, each evaluated
elementwise with numpy (or :mod:`math` in double precision where numpy has
no such function).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
from typing import Callable

import numpy as np

BOOL, F32, F64, I32 = "bool", "float32", "float64", "int32"
_SIGNED = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UNSIGNED = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_FLOATS = {F32: 32, F64: 64}
TYPES = frozenset([BOOL, *_SIGNED, *_UNSIGNED, *_FLOATS])


def canonical(name: str) -> str:
    return {"float": F32, "double": F64}.get(name, name)


def is_float(t: str) -> bool:
    return t in _FLOATS


def is_int(t: str) -> bool:
    return t in _SIGNED or t in _UNSIGNED


def _bits(t: str) -> int:
    return {**_SIGNED, **_UNSIGNED, **_FLOATS}.get(t, 8)


def promote(a: str, b: str) -> str:
    """The type of ``a op b``: int with float is float, the wider float wins,
    ints widen; bool counts as a narrow int (``bool op bool`` is int32);
    signed with unsigned is a signed type twice the unsigned width."""
    if a == b:
        return I32 if a == BOOL else a
    if is_float(a) or is_float(b):
        floats = [t for t in (a, b) if is_float(t)]
        return F64 if F64 in floats else F32
    if BOOL in (a, b):
        other = b if a == BOOL else a
        return other if _bits(other) >= 32 else promote(I32, other)
    if (a in _UNSIGNED) == (b in _UNSIGNED):
        return a if _bits(a) >= _bits(b) else b
    signed, unsigned = (a, b) if a in _SIGNED else (b, a)
    return f"int{max(_bits(signed), min(64, 2 * _bits(unsigned)))}"


def convert(values: np.ndarray, t: str) -> np.ndarray:
    """C's conversion to ``t`` (floats truncate toward zero, ints wrap)."""
    target = np.dtype(t)
    if values.dtype == target:
        return values
    with np.errstate(all="ignore"):
        if t == BOOL:
            return values != 0
        if is_int(t) and values.dtype.kind == "f":
            return np.trunc(values).astype(np.int64).astype(target)
        return values.astype(target)


def identity(op: str, t: str) -> object:
    """The start of a ``!`` reduction: 0, 1, or the lowest/largest finite value."""
    if op == "+":
        return 0
    if op == "*":
        return 1
    if t == BOOL:
        return op == "min"
    info = np.finfo(t) if is_float(t) else np.iinfo(t)
    return info.min if op == "max" else info.max


# -- arithmetic -----------------------------------------------------------------
def arith(op: str, a: np.ndarray, b: np.ndarray, t: str) -> np.ndarray:
    """``a op b`` for ``+ - * / %`` on operands already converted to ``t``."""
    with np.errstate(all="ignore"):
        if op == "+":
            return (a + b).astype(t)
        if op == "-":
            return (a - b).astype(t)
        if op == "*":
            return (a * b).astype(t)
        if is_float(t):
            if op == "/":
                return (a / b).astype(t)
            r = np.fmod(a, b)
            return np.where((r != 0) & ((r < 0) != (b < 0)), r + b, r).astype(t)
        return _int_divmod(op, a, b, t)


def _int_divmod(op: str, a: np.ndarray, b: np.ndarray, t: str) -> np.ndarray:
    """Floor division and modulo in 64 bits; a zero divisor gives 0."""
    wide = np.uint64 if t in _UNSIGNED else np.int64
    a64, b64 = a.astype(wide), b.astype(wide)
    zero = b64 == 0
    safe = np.where(zero, wide(1), b64)
    with np.errstate(all="ignore"):
        if op == "/":
            if wide is np.int64:
                minus_one = safe == -1
                q = np.floor_divide(a64, np.where(minus_one, 1, safe))
                q = np.where(minus_one, -a64, q)
            else:
                q = a64 // safe
            result = np.where(zero, wide(0), q)
        else:
            if wide is np.int64:
                minus_one = safe == -1
                r = np.mod(a64, np.where(minus_one, 1, safe))
                result = np.where(zero | minus_one, 0, r)
            else:
                result = np.where(zero, wide(0), a64 % safe)
    return result.astype(t)


def compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return {"==": np.equal, "!=": np.not_equal, "<": np.less, ">": np.greater,
            "<=": np.less_equal, ">=": np.greater_equal}[op](a, b)


def min_max(op: str, a: np.ndarray, b: np.ndarray, t: str) -> np.ndarray:
    """``min``/``max``: fmin/fmax on floats (a NaN operand loses), C's
    ``a < b ? a : b`` on integers."""
    if is_float(t):
        return (np.fmin if op == "min" else np.fmax)(a, b).astype(t)
    return np.where(a < b, a, b) if op == "min" else np.where(a > b, a, b)


# -- builtins -------------------------------------------------------------------
def _double(fn: Callable[..., float]) -> Callable[..., np.ndarray]:
    """An elementwise function evaluated in double precision."""
    def apply(*args: np.ndarray) -> np.ndarray:
        wide = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
        out = np.empty(wide[0].shape, dtype=np.float64)
        flat = [w.ravel() for w in wide]
        for k in range(out.size):
            try:
                out.flat[k] = fn(*(float(f[k]) for f in flat))
            except (ValueError, OverflowError):
                out.flat[k] = math.nan
        return out
    return apply


def _libm(name: str) -> Callable[[float], float]:
    library = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    function = getattr(library, name)
    function.restype, function.argtypes = ctypes.c_double, [ctypes.c_double]
    return lambda x: float(function(x))


def _erfinv(x: float) -> float:
    if x <= -1.0 or x >= 1.0:
        return math.copysign(math.inf, x) if abs(x) == 1.0 else math.nan
    y = 0.0  # Newton on erf(y) = x, started from a logarithmic guess
    if x != 0.0:
        w = -math.log((1.0 - x) * (1.0 + x))
        y = math.copysign(math.sqrt(w), x) * 0.9
    for _ in range(60):
        step = (math.erf(y) - x) / (2.0 / math.sqrt(math.pi) * math.exp(-y * y))
        y -= step
        if abs(step) <= 1e-16 * max(1.0, abs(y)):
            break
    return y


def _erfcx(x: float) -> float:
    if x < 25.0:
        return math.exp(x * x) * math.erfc(x)
    r = 1.0 / (x * x)
    return (1.0 - 0.5 * r + 0.75 * r * r - 1.875 * r ** 3) / (x * math.sqrt(math.pi))


def _bessel_i(order: int) -> Callable[[float], float]:
    def series(x: float) -> float:
        term = (x / 2.0) ** order / math.factorial(order)
        total, k = term, 0
        while abs(term) > 1e-18 * abs(total) and k < 2000:
            k += 1
            term *= (x * x / 4.0) / (k * (k + order))
            total += term
        return total
    return series


def _round(x: np.ndarray) -> np.ndarray:
    """C ``round``: halfway cases away from zero."""
    wide = x.astype(np.float64)
    return np.where(wide >= 0, np.floor(wide + 0.5), np.ceil(wide - 0.5))


def _logb(x: np.ndarray) -> np.ndarray:
    mantissa, exponent = np.frexp(x.astype(np.float64))
    out = (exponent - 1).astype(np.float64)
    with np.errstate(all="ignore"):
        out = np.where(x == 0, -np.inf, out)
        out = np.where(np.isinf(x), np.inf, out)
    return np.where(np.isnan(x), np.nan, out)


def _fdim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.where(a > b, a - b, np.zeros_like(a))
    return np.where(np.isnan(a) | np.isnan(b), np.nan, out)


_SQRT2 = math.sqrt(2.0)
_UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin, "asinh": np.arcsinh,
    "atan": np.arctan, "atanh": np.arctanh, "cbrt": np.cbrt, "ceil": np.ceil,
    "cos": np.cos, "cosh": np.cosh, "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1,
    "fabs": np.abs, "floor": np.floor, "log": np.log, "log10": np.log10,
    "log1p": np.log1p, "log2": np.log2, "sin": np.sin, "sinh": np.sinh, "sqrt": np.sqrt,
    "tan": np.tan, "tanh": np.tanh, "trunc": np.trunc, "round": _round, "logb": _logb,
    "erf": _double(math.erf), "erfc": _double(math.erfc), "lgamma": _double(math.lgamma),
    "tgamma": _double(math.gamma), "erfinv": _double(_erfinv),
    "erfcinv": _double(lambda x: _erfinv(1.0 - x)), "erfcx": _double(_erfcx),
    "normcdf": _double(lambda x: 0.5 * math.erfc(-x / _SQRT2)),
    "normcdfinv": _double(lambda x: _SQRT2 * _erfinv(2.0 * x - 1.0)),
    "cyl_bessel_i0": _double(_bessel_i(0)), "cyl_bessel_i1": _double(_bessel_i(1)),
    "cospi": _double(lambda x: math.cos(math.pi * x)),
    "sinpi": _double(lambda x: math.sin(math.pi * x)),
    "exp10": lambda x: np.power(x.dtype.type(10), x),
    "rsqrt": lambda x: 1 / np.sqrt(x), "rcbrt": lambda x: 1 / np.cbrt(x),
}
_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "atan2": np.arctan2, "copysign": np.copysign, "fdim": _fdim,
    "fdivide": np.true_divide, "fmax": np.fmax, "fmin": np.fmin, "fmod": np.fmod,
    "hypot": np.hypot, "nextafter": np.nextafter, "pow": np.power,
    "remainder": _double(math.remainder), "rhypot": lambda a, b: 1 / np.hypot(a, b),
}


def builtin(name: str, args: list[np.ndarray], t: str) -> np.ndarray:
    """C-math builtin ``name`` on ``args`` (already of type ``t``), in ``t``."""
    with np.errstate(all="ignore"):
        if name in ("j0", "j1", "y0", "y1"):
            out = _double(_libm(name))(args[0])
        elif name in _UNARY:
            out = _UNARY[name](args[0])
        elif name in _BINARY:
            out = _BINARY[name](args[0], args[1])
        elif name == "fma":
            wide = [a.astype(np.float64) for a in args]
            out = wide[0] * wide[1] + wide[2]
        elif name in ("norm3d", "norm4d", "rnorm3d", "rnorm4d"):
            norm = np.sqrt(sum(a.astype(np.float64) ** 2 for a in args))
            out = norm if name.startswith("norm") else 1 / norm
        else:
            raise KeyError(f"unknown builtin {name!r}")
        return np.asarray(out).astype(t)
