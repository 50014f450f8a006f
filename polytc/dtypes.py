"""TC scalar types: names, numpy and C equivalents, promotion, identities."""
from __future__ import annotations

import numpy as np

#: canonical type names, in TC's spelling
BOOL, FLOAT32, FLOAT64, INT32, INT64 = "bool", "float32", "float64", "int32", "int64"

_ALIASES = {"float": FLOAT32, "double": FLOAT64}
_INTS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINTS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_FLOATS = {FLOAT32: 32, FLOAT64: 64}
SUPPORTED = frozenset([BOOL, *_INTS, *_UINTS, *_FLOATS])

C_TYPES = {BOOL: "bool", FLOAT32: "float", FLOAT64: "double",
           **{t: f"{t}_t" for t in _INTS}, **{t: f"{t}_t" for t in _UINTS}}


def canonical(name: str) -> str:
    """``float`` -> ``float32``, ``double`` -> ``float64``; others unchanged."""
    return _ALIASES.get(name, name)


def is_float(t: str) -> bool:
    return t in _FLOATS


def is_integral(t: str) -> bool:
    return t in _INTS or t in _UINTS


def is_unsigned(t: str) -> bool:
    return t in _UINTS


def bits(t: str) -> int:
    return {**_INTS, **_UINTS, **_FLOATS}.get(t, 8)


def to_numpy(t: str) -> np.dtype:
    return np.dtype(canonical(t))


def from_numpy(dtype: object) -> str:
    """TC name of a numpy dtype; ``ValueError`` if TC has no such type."""
    name = np.dtype(dtype).name  # type: ignore[call-overload]
    if name not in SUPPORTED:
        raise ValueError(f"numpy dtype {name} has no TC equivalent")
    return name


def promote(a: str, b: str) -> str:
    """TC's ``match_types``: the type of an arithmetic result on ``a`` and ``b``."""
    if a == b:
        return INT32 if a == BOOL else a
    if is_float(a) or is_float(b):
        return max((t for t in (a, b) if is_float(t)), key=bits)
    if a == BOOL:
        return promote(INT32, b) if bits(b) < 32 else b
    if b == BOOL:
        return promote(a, INT32) if bits(a) < 32 else a
    if is_unsigned(a) == is_unsigned(b):
        return max((a, b), key=bits)
    signed, unsigned = (a, b) if not is_unsigned(a) else (b, a)
    width = max(bits(signed), min(64, 2 * bits(unsigned)))
    return f"int{width}"


def narrows(source: str, target: str) -> bool:
    """True when assigning ``source`` to ``target`` loses range or precision."""
    if source == target or source == BOOL:
        return False
    if is_float(source):
        return not is_float(target) or bits(target) < bits(source)
    if is_float(target):
        return False
    if target == BOOL:
        return True
    if is_unsigned(source) == is_unsigned(target):
        return bits(target) < bits(source)
    if is_unsigned(source):
        return bits(target) <= bits(source)
    return True


def identity(op: str, t: str) -> int | float | bool:
    """The identity of reduction ``op`` (``+ * max min``) in type ``t``.

    ``max`` starts from the lowest finite value (not -inf), as TC did.
    """
    if op == "+":
        return False if t == BOOL else (0.0 if is_float(t) else 0)
    if op == "*":
        return True if t == BOOL else (1.0 if is_float(t) else 1)
    if t == BOOL:
        return op == "min"
    info = np.finfo(to_numpy(t)) if is_float(t) else np.iinfo(to_numpy(t))
    value = info.min if op == "max" else info.max
    return float(value) if is_float(t) else int(value)
