"""The one gate between user names and C identifiers.

Every tensor, size and index name that reaches the C source comes from a
:class:`NameTable`: it checks that the name is a plain identifier, keeps it
when it is safe, and otherwise mangles it (``u_`` prefix) so that it cannot be
a C keyword (C23 and GNU ones too), a macro or identifier of the headers
the kernel includes or the compiler predefines (``M_PI``, ``INT8_MAX``,
``linux``...), a generated name (isl's loop iterators ``c0, c1, ...``,
anything starting with ``polytc_`` in any case, which the C helpers
(``POLYTC_FLOORD``...) and locals use), or another user name.  Names longer
than 63 characters (C's guaranteed significant length) are shortened with a
hash.
"""
from __future__ import annotations

import hashlib
import re

from polytc.errors import PolytcInternalError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LONGEST = 63
#: all-caps names with an underscore are the macro families of the C headers
#: (INT8_MAX, M_PI, FP_NAN, EXIT_SUCCESS, HUGE_VAL...)
_MACRO_LIKE = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]*\Z")
_GENERATED = re.compile(r"(c\d+|polytc_.*|u_.*|_.*)\Z", re.IGNORECASE)
C_RESERVED = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
_Imaginary _Noreturn _Static_assert _Thread_local bool true false NULL main errno
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t ptrdiff_t
intptr_t uintptr_t INFINITY NAN FLT_MAX DBL_MAX INT32_MAX INT64_MAX
malloc free calloc aligned_alloc abort exit memset memcpy printf
asm typeof typeof_unqual constexpr nullptr alignas alignof static_assert thread_local
linux unix i386 i686 x86_64 sun math_errhandling stdin stdout stderr alloca
NAN INFINITY HUGE MAXFLOAT NFDBITS WNOHANG WUNTRACED WEXITED WSTOPPED WCONTINUED WNOWAIT
DOMAIN SING OVERFLOW UNDERFLOW TLOSS PLOSS EOF BUFSIZ
""".split())


class NameTable:
    """Maps user names to unique, safe C identifiers."""

    def __init__(self) -> None:
        self._c_names: dict[str, str] = {}
        self._used: set[str] = set()

    @staticmethod
    def checked(name: str) -> str:
        """``name`` itself (shortened when long), after checking it is a plain
        identifier (for names that only ever appear behind a generated prefix)."""
        if not _IDENTIFIER.match(name):
            raise PolytcInternalError("naming C identifiers", f"{name!r} is not an identifier")
        return _shortened(name, _LONGEST - len("polytc_"))

    def __call__(self, name: str) -> str:
        """The C identifier for user name ``name`` (the same one every time)."""
        if name in self._c_names:
            return self._c_names[name]
        if not _IDENTIFIER.match(name):
            raise PolytcInternalError("naming C identifiers", f"{name!r} is not an identifier")
        candidate = name
        if name in C_RESERVED or _GENERATED.match(name) or _MACRO_LIKE.match(name) \
                or _is_math_function(name):
            candidate = f"u_{name}"
        candidate = _shortened(candidate, _LONGEST - 8)  # room for suffixes like _e3
        base, suffix = candidate, 1
        while candidate in self._used:
            candidate = f"{base}_{suffix}"
            suffix += 1
        self._used.add(candidate)
        self._c_names[name] = candidate
        return candidate


def _shortened(name: str, limit: int) -> str:
    """``name``, or a ``u_``-prefixed prefix of it and a hash when longer than ``limit``."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"u_{name[:limit - 15]}_{digest}"


def _is_math_function(name: str) -> bool:
    from polytc.frontend.builtins import BUILTINS
    base = name[:-1] if name.endswith(("f", "l")) else name
    return name in BUILTINS or base in BUILTINS or name in ("fabs", "fabsf", "min", "max")


class VerbatimNames(NameTable):
    """User names kept as they are: in C input they name the user's own
    variables, which generated code must reach unchanged (the caller
    chooses generated names that no user name takes)."""

    def __call__(self, name: str) -> str:
        if not _IDENTIFIER.match(name):
            raise PolytcInternalError("naming C identifiers", f"{name!r} is not an identifier")
        return name
