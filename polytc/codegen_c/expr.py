"""Printing expressions: isl AST expressions (loop bounds, extents) to C or
Python, and statement bodies (:mod:`polytc.program` trees) to C."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.errors import PolytcInternalError

_OP = isl.ast_expr_op_type
# islpy's stubs omit the members named after Python keywords.
_AND, _OR = getattr(_OP, "and_"), getattr(_OP, "or_")
_BINARY_C = {_OP.add: "+", _OP.sub: "-", _OP.mul: "*", _OP.eq: "==", _OP.le: "<=",
             _OP.lt: "<", _OP.ge: ">=", _OP.gt: ">", _AND: "&&", _OP.and_then: "&&",
             _OR: "||", _OP.or_else: "||", _OP.div: "/", _OP.pdiv_q: "/",
             _OP.pdiv_r: "%", _OP.zdiv_r: "%"}
_BINARY_PY = {**_BINARY_C, _AND: "and", _OP.and_then: "and", _OR: "or",
              _OP.or_else: "or", _OP.div: "//", _OP.pdiv_q: "//"}


def ast_expr(expr: isl.AstExpr, name_of: Callable[[str], str], lang: str = "c",
             used: set[str] | None = None) -> str:
    """``expr`` in C (``lang='c'``) or Python (``'py'``); ids go through ``name_of``.

    In C, ``min``/``max``/``floord`` use the prelude helpers, recorded in ``used``.
    """
    kind = expr.get_type()
    if kind == isl.ast_expr_type.id:
        return name_of(expr.get_id().get_name())
    if kind == isl.ast_expr_type.int:
        return str(expr.get_val().to_python())
    op = expr.get_op_type()
    args = [ast_expr(expr.get_op_arg(i), name_of, lang, used)
            for i in range(expr.get_op_n_arg())]
    table = _BINARY_C if lang == "c" else _BINARY_PY
    if op == _OP.minus:
        return f"(-{args[0]})"
    if op in table and len(args) == 2:
        return f"({args[0]} {table[op]} {args[1]})"
    if op in (_OP.min, _OP.max):
        fn = "min" if op == _OP.min else "max"
        if lang == "py":
            return f"{fn}({', '.join(args)})"
        if used is not None:
            used.add(f"POLYTC_{fn.upper()}")
        result = args[0]
        for arg in args[1:]:
            result = f"POLYTC_{fn.upper()}({result}, {arg})"
        return result
    if op == _OP.fdiv_q:
        if lang == "py":
            return f"({args[0]} // {args[1]})"
        if used is not None:
            used.add("POLYTC_FLOORD")
        return f"POLYTC_FLOORD({args[0]}, {args[1]})"
    if op in (_OP.cond, _OP.select):
        if lang == "py":
            return f"({args[1]} if {args[0]} else {args[2]})"
        return f"({args[0]} ? {args[1]} : {args[2]})"
    raise PolytcInternalError("printing an isl AST expression", f"operation {op}")


_LIBM_FLOAT = frozenset("""acos acosh asin asinh atan atanh cbrt ceil cos cosh erf erfc exp
exp2 expm1 fabs floor lgamma log log10 log1p log2 logb round sin sinh sqrt tan tanh tgamma trunc
atan2 copysign fdim fmax fmin fmod hypot nextafter pow remainder fma""".split())
_POSIX_DOUBLE = frozenset(("j0", "j1", "y0", "y1"))
#: in ``used`` before the name of each libm function a body calls
LIBM_PREFIX = "libm:"
_HELPER_DOUBLE = {"erfinv": "POLYTC_ERFINV", "erfcx": "POLYTC_ERFCX",
                  "cyl_bessel_i0": "POLYTC_I0", "cyl_bessel_i1": "POLYTC_I1"}
_NARROW = frozenset(("bool", "int8", "int16", "uint8", "uint16"))
#: operators of C input printed as C's own (truncating integer ``/`` and ``%``)
C_OPERATORS = {"/t": "/", "%t": "%", "&": "&", "|": "|", "^": "^", "<<": "<<", ">>": ">>"}


@dataclass(frozen=True)
class Layout:
    """How a tensor is addressed in C: its name and its extents as C text;
    ``native``: as C declares it (``T[i][j]``, a scalar ``T``)."""

    c_name: str
    extents: tuple[str, ...]
    native: bool = False

    def element(self, indices: list[str]) -> str:
        """``T[offset]``, row-major (native: ``T[i][j]``)."""
        if self.native:
            return self.c_name + "".join(f"[{strip_parens(text)}]" for text in indices)
        offset = ""
        for dim, text in enumerate(indices):
            offset = text if dim == 0 else f"({offset}) * {self.extents[dim]} + {text}"
        return f"{self.c_name}[{offset or '0'}]"


@dataclass(frozen=True)
class Promotion:
    """A block of a tensor held in a local array: element ``x`` of the tensor
    is ``local[x - offsets]``, row-major over ``sizes`` with the tensor's
    dimensions in ``order`` (default: the tensor's; ``sizes`` in that order)."""

    tensor: str
    local: str
    offsets: tuple[str, ...]
    sizes: tuple[int, ...]
    store: bool
    order: tuple[int, ...] | None = None
    # per dimension, C for the block's size where ``sizes`` only bounds it
    extents: tuple[str, ...] | None = None

    def element(self, indices: list[str]) -> str:
        """The local element holding tensor element ``indices``."""
        positions = [f"({text} - {origin})" for text, origin in zip(indices, self.offsets)]
        return self.at(positions if self.order is None else [positions[d] for d in self.order])

    def at(self, positions: list[str]) -> str:
        """The local element at ``positions`` within the block."""
        offset = ""
        for dim, text in enumerate(positions):
            offset = text if dim == 0 else f"({offset}) * {self.sizes[dim]} + {text}"
        return f"{self.local}[{offset or '0'}]"


#: a read as the body printer meets it: the tensor and its subscripts
ReadKey = tuple[str, tuple[ir.Expr, ...]]


def read_key(read: ir.Read) -> ReadKey:
    return read.tensor, read.indices


class BodyPrinter:
    """Prints statement bodies to C.  Index variables print as the locals the
    emitter binds; sizes as function parameters."""

    def __init__(self, name_of: Callable[[str], str], layouts: dict[str, Layout],
                 used: set[str]) -> None:
        self.name_of = name_of
        self.layouts = layouts
        self.used = used
        self.promoted: dict[str, Promotion] = {}
        # reads served by a packed tile of their own (syrk's ``A(j, k)``,
        # where ``A(i, k)`` is read in place), before ``promoted``
        self.promoted_reads: dict[ReadKey, Promotion] = {}
        # per promoted tensor, the element the statement being printed
        # writes (its index texts) and that element's place in the block as
        # isl prints it for the statement's loops (``c15``, where the text
        # ``w - o`` hides from gcc that it is a constant per unrolled lane)
        self.exact: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # contracted temporaries: per dimension their buffer keeps, (the
        # dimension, its extent in C, whether it is indexed modulo that
        # extent: a window of a few indices per iteration of the loops
        # outside the buffer); their accesses are only valid inside their
        # ``contract`` mark (``active``)
        self.contracted: dict[str, tuple[tuple[int, str, bool], ...]] = {}
        self.active: set[str] = set()
        # each distinct gather (tensor, dimension, index expression, the
        # tensor the index is read from when it is one plain read, else ""):
        # its site number, which an out-of-range index reports
        self.gathers: dict[tuple[str, int, str, str], int] = {}

    def element(self, tensor: str, indices: list[str]) -> str:
        """The C element of ``tensor`` at ``indices`` (full-rank index
        texts), in its full or its contracted buffer."""
        layout = self.layouts[tensor]
        kept = self.contracted.get(tensor)
        if kept is None:
            return layout.element(indices)
        if tensor not in self.active:
            raise PolytcInternalError(
                "generating C", f"access to contracted temporary {tensor} outside its loop nest")
        return Layout(layout.c_name, tuple(extent for _, extent, _ in kept)).element(
            [f"(({indices[k]}) % {extent})" if modular else indices[k]
             for k, extent, modular in kept])

    def access(self, tensor: str, indices: tuple[ir.Expr, ...]) -> str:
        """``T[offset]`` with row-major linearisation; gathered dimensions are
        checked against their extent at run time."""
        layout = self.layouts[tensor]
        texts = []
        for dim, index in enumerate(indices):
            text = self.index(index)
            if any(isinstance(node, ir.Read) for node in ir.walk(index)):
                self.used.add("POLYTC_GATHER")
                plain = index.arg if isinstance(index, ir.Cast) else index
                source = plain.tensor if isinstance(plain, ir.Read) else ""
                site = self.gathers.setdefault((tensor, dim, ir.to_text(index), source),
                                               len(self.gathers))
                text = f"POLYTC_GATHER({text}, {layout.extents[dim]}, {site}, &polytc_status)"
            texts.append(text)
        served = self.promoted_reads.get((tensor, tuple(indices)))
        if served is not None:
            return served.element(texts)
        if tensor in self.promoted:
            exact = self.exact.get(tensor)
            if exact is not None and exact[0] == tuple(texts):
                return self.promoted[tensor].at(list(exact[1]))
            return self.promoted[tensor].element(texts)
        return self.element(tensor, texts)

    def index(self, expr: ir.Expr) -> str:
        """An integral subscript, evaluated in int64 with floor division."""
        if isinstance(expr, ir.Var):
            return self.name_of(expr.name)
        if isinstance(expr, ir.Const):
            return str(int(expr.value))
        if isinstance(expr, ir.Cast) and dtypes.is_integral(expr.dtype):
            return self.index(expr.arg)
        if isinstance(expr, ir.Unary) and expr.op == "-":
            return f"(-{self.index(expr.arg)})"
        if isinstance(expr, ir.Binary) and expr.op in ("+", "-", "*"):
            return f"({self.index(expr.lhs)} {expr.op} {self.index(expr.rhs)})"
        if isinstance(expr, ir.Binary) and expr.op in ("/", "%", "min", "max"):
            helper = {"/": "POLYTC_IDIV", "%": "POLYTC_IMOD", "min": "POLYTC_MIN",
                      "max": "POLYTC_MAX"}[expr.op]
            self.used.add(helper)
            return f"{helper}({self.index(expr.lhs)}, {self.index(expr.rhs)})"
        return f"((int64_t)({self.expr(expr)}))"

    def expr(self, expr: ir.Expr) -> str:
        if isinstance(expr, ir.Const):
            return expr.text or literal(expr.value, expr.dtype)
        if isinstance(expr, ir.Var):
            return f"(({dtypes.C_TYPES.get(expr.dtype, 'int32_t')}){self.name_of(expr.name)})"
        if isinstance(expr, ir.Read):
            return self.access(expr.tensor, expr.indices)
        if isinstance(expr, ir.Cast):
            return f"(({dtypes.C_TYPES[expr.dtype]})({self.expr(expr.arg)}))"
        if isinstance(expr, ir.Unary):
            return self.narrow(f"({expr.op}{self.expr(expr.arg)})", expr.dtype)
        if isinstance(expr, ir.Select):
            return f"({self.expr(expr.cond)} ? {self.expr(expr.then)} : {self.expr(expr.other)})"
        if isinstance(expr, ir.Call):
            return self.call(expr)
        assert isinstance(expr, ir.Binary)
        return self.binary(expr)

    def narrow(self, text: str, dtype: str) -> str:
        """C computes sub-int types in int: bring results back to TC's type."""
        return f"(({dtypes.C_TYPES[dtype]}){text})" if dtype in _NARROW else text

    def binary(self, expr: ir.Binary) -> str:
        a, b, t = self.expr(expr.lhs), self.expr(expr.rhs), expr.dtype
        operand = expr.lhs.dtype
        if expr.op in ("min", "max"):
            if dtypes.is_float(t):
                return f"f{expr.op}{'f' if t == dtypes.FLOAT32 else ''}({a}, {b})"
            self.used.add(f"POLYTC_{expr.op.upper()}")
            return f"POLYTC_{expr.op.upper()}({a}, {b})"
        if expr.op in C_OPERATORS:  # C input: C's own operator, as written
            return f"({a} {C_OPERATORS[expr.op]} {b})"
        if expr.op in ("/", "%") and not dtypes.is_float(operand):
            unsigned = dtypes.is_unsigned(operand) or operand == dtypes.BOOL
            helper = {("/", False): "POLYTC_IDIV", ("%", False): "POLYTC_IMOD",
                      ("/", True): "POLYTC_UDIV", ("%", True): "POLYTC_UMOD"}[expr.op, unsigned]
            self.used.add(helper)
            return f"(({dtypes.C_TYPES[t]}){helper}({a}, {b}))"
        if expr.op == "%":
            helper = "POLYTC_FMODF" if t == dtypes.FLOAT32 else "POLYTC_FMOD"
            self.used.add(helper)
            return f"{helper}({a}, {b})"
        return self.narrow(f"({a} {expr.op} {b})", t)

    def call(self, expr: ir.Call) -> str:
        args = [self.expr(a) for a in expr.args]
        single = expr.dtype == dtypes.FLOAT32
        suffix = "f" if single else ""
        one, pi = ("1.0f", "3.14159265358979323846f") if single else ("1.0", "3.14159265358979323846")
        fn = expr.fn
        if fn in _LIBM_FLOAT:
            self.used.add(f"{LIBM_PREFIX}{fn}{suffix}")
            return f"{fn}{suffix}({', '.join(args)})"
        x = args[0]
        simple = {
            "cospi": f"cos{suffix}({pi} * {x})", "sinpi": f"sin{suffix}({pi} * {x})",
            "exp10": f"pow{suffix}(10, {x})", "rsqrt": f"({one} / sqrt{suffix}({x}))",
            "rcbrt": f"({one} / cbrt{suffix}({x}))",
            "normcdf": f"(0.5{suffix} * erfc{suffix}(-({x}) * 0.70710678118654752{suffix}))",
        }
        if fn in simple:
            return simple[fn]
        if fn == "fdivide":
            return f"({args[0]} / {args[1]})"
        if fn == "rhypot":
            return f"({one} / hypot{suffix}({args[0]}, {args[1]}))"
        if fn in ("norm3d", "norm4d", "rnorm3d", "rnorm4d"):
            norm = f"sqrt{suffix}({' + '.join(f'({a}) * ({a})' for a in args)})"
            return norm if fn.startswith("norm") else f"({one} / {norm})"
        ctype = dtypes.C_TYPES[expr.dtype]
        if fn in _POSIX_DOUBLE:
            return f"(({ctype}){fn}((double)({x})))"
        if fn in _HELPER_DOUBLE:
            self.used.add(_HELPER_DOUBLE[fn])
            return f"(({ctype}){_HELPER_DOUBLE[fn]}((double)({x})))"
        self.used.add("POLYTC_ERFINV")
        if fn == "erfcinv":
            return f"(({ctype})POLYTC_ERFINV(1.0 - (double)({x})))"
        if fn == "normcdfinv":
            return f"(({ctype})(1.4142135623730951 * POLYTC_ERFINV(2.0 * (double)({x}) - 1.0)))"
        raise PolytcInternalError("printing a builtin call", fn)


def strip_parens(text: str) -> str:
    """``(a + b)`` -> ``a + b`` when the parentheses enclose the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and position < len(text) - 1:
            return text
    return text[1:-1]


def literal(value: int | float | bool, dtype: str) -> str:
    """A C literal of type ``dtype``."""
    if dtype == dtypes.BOOL:
        return "true" if value else "false"
    if dtypes.is_float(dtype):
        text = repr(float(value))
        if text in ("inf", "-inf", "nan"):
            text = {"inf": "INFINITY", "-inf": "(-INFINITY)", "nan": "NAN"}[text]
            return text
        return text + ("f" if dtype == dtypes.FLOAT32 else "")
    value = int(value)
    ctype = dtypes.C_TYPES[dtype]
    if -2**31 < value < 2**31:
        return str(value) if dtype == dtypes.INT32 else f"(({ctype}){value})"
    if value == -2**63:
        return "((int64_t)(-9223372036854775807LL - 1))"
    suffix = "ULL" if value > 0 else "LL"
    return f"(({ctype}){value}{suffix})"
