"""Hostile names: tensor, size, index, temporary, output and def names from
TC text can never inject C (or isl text) nor collide.

Names are drawn from every place a C identifier can clash: C, GNU and C23
keywords, identifiers of the C library, the macros the kernel's own headers
and the compiler define (asked from the compiler itself, so a platform with
other macros is tested against those), isl's keywords, polytc's generated
names, names equal after mangling, and names longer than C guarantees.  Each
is used as a tensor, a size, an index, a temporary and an output, and some
as def names, in kernels that are compiled, run and checked.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import polytc
from polytc.codegen_c.names import C_RESERVED, NameTable
from polytc.codegen_c.prelude import HEADER
from polytc.errors import TcSemanticError, TcSyntaxError
from polytc.frontend.builtins import BUILTINS
from polytc.frontend.lexer import KEYWORDS

KEYWORDS_C = """auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while asm typeof typeof_unqual constexpr nullptr alignas
alignof static_assert thread_local true false NULL""".split()
LIBRARY = """main errno malloc free calloc realloc abort exit memset memcpy printf stdin stdout
stderr size_t ptrdiff_t int64_t int32_t uint8_t intptr_t fd_set u_int uint ulong isnan signbit
sqrtf expf fmaxf tanhf fabsf j0 y1 alloca rand system environ""".split()
ISL = "and or not mod Min MAX Mod floord ceild infty Infty NaN nan rat implies TRUE AND".split()
GENERATED = """polytc_status polytc_nthreads polytc_v POLYTC_FLOORD POLYTC_IDIV polytc_A_e0 c0 c1
C0 c12 u_x u_int u_u_int u_main _x __x omp parallel num_threads schedule nthreads self out
unchecked args named x_1 x_1_1""".split()
LONG = ["x" * 64, "x" * 64 + "y", "x" * 200, "y" * 63, "A" * 100]
COLLIDING = ["x", "u_x", "int", "u_int", "main", "u_main", "M_PI", "u_M_PI"]


def _compiler_macros() -> list[str]:
    """Object-like macros the kernel's headers and the compiler define (no
    leading underscore), as the system compiler reports them."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return []
    result = subprocess.run([cc, "-fopenmp", "-dM", "-E", "-"],
                            input="#define _DEFAULT_SOURCE\n" + HEADER,
                            capture_output=True, text=True, timeout=60)
    names = re.findall(r"^#define ([A-Za-z][A-Za-z0-9_]*)[ \n]", result.stdout, re.M)
    return sorted(set(names))


def _usable(name: str) -> bool:
    """A name TC lets a user write (an identifier, not a TC keyword or builtin)."""
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None and \
        name not in KEYWORDS and name not in BUILTINS and name not in ("min", "max")


NAMES = [n for n in dict.fromkeys(KEYWORDS_C + LIBRARY + ISL + GENERATED + LONG + COLLIDING
                                  + _compiler_macros())
         if _usable(n) and n not in ("A", "N", "O", "R", "d", "i")]
CHUNK = 100
#: the names reach C the same way under every schedule; the identity one is quick
OPTIONS = {"scheduler": "identity"}


def _chunks(names: list[str]) -> list[list[str]]:
    return [names[k:k + CHUNK] for k in range(0, len(names), CHUNK)]


def _safe(k: int) -> str:
    return f"Q{k}q"  # names that are in no list above


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _check(kernel: polytc.Kernel, args: list[np.ndarray], expected: np.ndarray | tuple) -> None:
    got = kernel(*args)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-4)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("names", _chunks(NAMES), ids=lambda c: f"{c[0]}..{c[-1]}"[:40])
def test_names_as_inputs_sizes_indices_temporaries(names: list[str],
                                                   rng: np.random.Generator) -> None:
    n = 5
    arrays = [rng.standard_normal(n).astype(np.float32) for _ in names]
    weights = np.arange(1, len(names) + 1, dtype=np.float32)
    expected = sum(w * a for w, a in zip(weights, arrays))
    # inputs named hostilely
    params = ", ".join(f"float(N) {name}" for name in names)
    body = " + ".join(f"{name}(i) * {w:.1f}" for name, w in zip(names, weights))
    _check(polytc.compile(f"def d({params}) -> (O) {{\n O(i) = {body}\n}}", **OPTIONS),
           arrays, expected)
    # sizes named hostilely, four per def: range inference takes the minimum
    # of the sizes, whose piecewise form grows exponentially with their number
    for start in range(0, len(names), 4):
        group = names[start:start + 4]
        params = ", ".join(f"float({name}) {_safe(k)}" for k, name in enumerate(group))
        group_weights = weights[start:start + len(group)]
        body = " + ".join(f"{_safe(k)}(i) * {w:.1f}" for k, w in enumerate(group_weights))
        group_expected = sum(w * a for w, a in zip(weights[start:start + 4],
                                                   arrays[start:start + 4]))
        _check(polytc.compile(f"def d({params}) -> (O) {{\n O(i) = {body}\n}}", **OPTIONS),
               arrays[start:start + 4], group_expected)
    # indices named hostilely, one statement each
    lines = [f" O({names[0]}) = A({names[0]}) * 1.0"]
    lines += [f" O({name}) += A({name}) * {w:.1f}" for name, w in zip(names[1:], weights[1:])]
    text = "def d(float(N) A) -> (O) {\n" + "\n".join(lines) + "\n}"
    _check(polytc.compile(text, **OPTIONS), [arrays[0]], arrays[0] * weights.sum())
    # temporaries named hostilely (a few: they name buffers like inputs and outputs do)
    temps = names[:20]
    lines = [f" {name}(i) = A(i) + {w:.1f}" for name, w in zip(temps, weights)]
    lines.append(" R(i) = " + " + ".join(f"{name}(i)" for name in temps))
    text = "def d(float(N) A) -> (R) {\n" + "\n".join(lines) + "\n}"
    _check(polytc.compile(text, **OPTIONS), [arrays[0]],
           len(temps) * arrays[0] + weights[:len(temps)].sum())


@pytest.mark.parametrize("names", _chunks(NAMES[::-1]), ids=lambda c: f"{c[0]}..{c[-1]}"[:40])
def test_names_as_outputs(names: list[str], rng: np.random.Generator) -> None:
    a = rng.standard_normal(4).astype(np.float32)
    lines = [f" {name}(i) = A(i) * {k + 1}.0" for k, name in enumerate(names)]
    text = f"def d(float(N) A) -> ({', '.join(names)}) {{\n" + "\n".join(lines) + "\n}"
    _check(polytc.compile(text, **OPTIONS), [a],
           tuple(a * (k + 1) for k in range(len(names))))


@pytest.mark.parametrize("name", ["main", "free", "int", "polytc_status", "v", "nthreads",
                                  "FLOORD", "M_PI", "linux", "and", "x" * 80, "c0"])
def test_def_names(name: str, rng: np.random.Generator) -> None:
    a = rng.standard_normal(3).astype(np.float32)
    text = f"def {name}(float(N) A) -> (O) {{ O(i) = A(i) + 1.0 }}\n" \
           f"def other(float(N) A) -> (O) {{ O(i) = A(i) }}"
    kernel = polytc.compile(text, entry=name)
    _check(kernel, [a], a + 1)
    assert re.search(r"int (polytc_\w+)\(", kernel.c_source)


def test_name_table_gives_distinct_safe_identifiers() -> None:
    table = NameTable()
    pool = NAMES + [n.upper() for n in NAMES] + [f"{n}_1" for n in NAMES]
    c_names = [table(name) for name in pool]
    assert len(set(c_names)) == len(set(pool))
    macros = set(_compiler_macros())
    for name, c_name in zip(pool, c_names):
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", c_name), c_name
        assert c_name not in C_RESERVED and c_name not in macros, (name, c_name)
        assert c_name not in KEYWORDS_C, (name, c_name)
        assert not re.fullmatch(r"(polytc_.*|c\d+)", c_name, re.I), (name, c_name)
        assert table(name) == c_name  # stable


@pytest.mark.parametrize("text", [
    "def f(float(N) A\u00e9) -> (O) { O(i) = A\u00e9(i) }",
    "def f(float(N) \u0391) -> (O) { O(i) = \u0391(i) }",
    "O(i) = A(i) + B\u200b(i)",
    "O(i) = A(i); system(\"rm -rf /\")",
    "O(i) = A(i) /* */ + 1",
    "def f(float(N) A) -> (O) { O(i) = A(i) } #include <stdio.h>\n@",
    "O(i) = A(i) + `x`",
    "O\\\n(i) = A(i)",
    "def f(float(N) A) -> (O) { O(i) = A(i) \"*/ int x; /*\" }",
], ids=["latin", "greek", "zero-width", "semicolon", "comment", "preprocessor", "backtick",
        "backslash", "quotes"])
def test_non_identifiers_never_reach_c(text: str) -> None:
    with pytest.raises(TcSyntaxError):
        polytc.compile(text)


def test_entry_is_a_name_not_code() -> None:
    text = "def f(float(N) A) -> (O) { O(i) = A(i) }\ndef g(float(N) A) -> (O) { O(i) = A(i) }"
    for entry in ("f; int x", "f(", "polytc_f", "", "f\n"):
        with pytest.raises(TcSemanticError):
            polytc.compile(text, entry=entry)


def test_inputs_named_like_call_keywords_can_be_passed_by_name() -> None:
    kernel = polytc.compile("def f(float(N) self, float(N) args) -> (O) "
                            "{ O(i) = self(i) - args(i) }")
    a, b = np.ones(3, np.float32), np.arange(3, dtype=np.float32)
    np.testing.assert_array_equal(kernel(self=a, args=b), a - b)
    np.testing.assert_array_equal(kernel(a, b), a - b)
