"""The one gate between user names and C identifiers.

Every tensor, size and index name that reaches the C source comes from a
:class:`NameTable`: it checks that the name is a plain identifier, keeps it
when it is safe, and otherwise mangles it (``u_`` prefix) so that it cannot be
a C keyword, a standard identifier we rely on, a generated name (isl's loop
iterators ``c0, c1, ...``, anything starting with ``polytc_`` in any case,
which the C helpers (``POLYTC_FLOORD``...) and locals use), or another
user name.
"""
from __future__ import annotations

import re

from polytc.errors import PolytcInternalError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_GENERATED = re.compile(r"(c\d+|polytc_.*|u_.*|_.*)\Z", re.IGNORECASE)
C_RESERVED = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
_Imaginary _Noreturn _Static_assert _Thread_local bool true false NULL main errno
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t ptrdiff_t
intptr_t uintptr_t INFINITY NAN FLT_MAX DBL_MAX INT32_MAX INT64_MAX
malloc free calloc aligned_alloc abort exit memset memcpy printf
""".split())


class NameTable:
    """Maps user names to unique, safe C identifiers."""

    def __init__(self) -> None:
        self._c_names: dict[str, str] = {}
        self._used: set[str] = set()

    @staticmethod
    def checked(name: str) -> str:
        """``name`` itself, after checking it is a plain identifier (for names
        that only ever appear behind a generated prefix)."""
        if not _IDENTIFIER.match(name):
            raise PolytcInternalError("naming C identifiers", f"{name!r} is not an identifier")
        return name

    def __call__(self, name: str) -> str:
        """The C identifier for user name ``name`` (the same one every time)."""
        if name in self._c_names:
            return self._c_names[name]
        if not _IDENTIFIER.match(name):
            raise PolytcInternalError("naming C identifiers", f"{name!r} is not an identifier")
        candidate = name
        if name in C_RESERVED or _GENERATED.match(name) or _is_math_function(name):
            candidate = f"u_{name}"
        base, suffix = candidate, 1
        while candidate in self._used:
            candidate = f"{base}_{suffix}"
            suffix += 1
        self._used.add(candidate)
        self._c_names[name] = candidate
        return candidate


def _is_math_function(name: str) -> bool:
    from polytc.frontend.builtins import BUILTINS
    base = name[:-1] if name.endswith(("f", "l")) else name
    return name in BUILTINS or base in BUILTINS or name in ("fabs", "fabsf", "min", "max")
