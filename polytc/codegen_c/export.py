"""Standalone C export: a kernel's C source, a header documenting its ABI,
an optional ``main`` harness and a Makefile, built with ``cc`` alone.

``save(cfunction, directory)`` writes, for ``name`` (the def's name unless
given):

* ``<name>.c`` -- exactly :attr:`Kernel.c_source`;
* ``<name>.h`` -- the prototype, each argument explained, return codes, and
  ``static inline`` functions giving every tensor's shape from the sizes;
* ``<name>_main.c`` (``harness=True``) -- see :mod:`polytc.codegen_c.harness`;
* ``Makefile`` -- ``make`` builds the harness (or ``lib<name>.so``);
  ``CFLAGS`` defaults to ``-O3 -fopenmp``.
"""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Callable

from polytc import dtypes
from polytc.codegen_c.cfunction import CFunction, TensorArg
from polytc.codegen_c.names import NameTable
from polytc.errors import OptionError, PolytcInternalError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def default_name(cfunction: CFunction) -> str:
    """The def's name: the C function's name without ``polytc_``."""
    return cfunction.function.removeprefix("polytc_")


def save(cfunction: CFunction, directory: str | os.PathLike[str], *, name: str | None = None,
         harness: bool = True) -> list[Path]:
    """Write the export files into ``directory`` (created if needed); return their paths."""
    from polytc.codegen_c.harness import harness_source
    name = default_name(cfunction) if name is None else name
    if not _NAME.match(name):
        raise OptionError(f"export name {name!r} must be a C identifier "
                          "(letters, digits, underscores)")
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    files = {f"{name}.c": cfunction.source, f"{name}.h": header(cfunction, name)}
    if harness:
        files[f"{name}_main.c"] = harness_source(cfunction, name)
    files["Makefile"] = makefile(name, harness)
    written = []
    for file_name, text in files.items():
        path = root / file_name
        path.write_text(text)
        written.append(path)
    return written


# -- shapes -------------------------------------------------------------------
def input_extents(tensor: TensorArg, params: tuple[str, ...], sizes: str = "") -> list[str]:
    """C expressions of an input's extents: ``sizes[k]`` when ``sizes`` names
    an array of the sizes, else the size names."""
    return [str(d) if isinstance(d, int) else
            (f"{sizes}[{params.index(d)}]" if sizes else d) for d in tensor.dims]


def output_extents(tensor: TensorArg, params: tuple[str, ...], helpers: str,
                   sizes: str = "") -> list[str]:
    """C expressions of an output's extents (``extent_py`` translated), as
    :func:`input_extents`; they call the header's ``<helpers>_floordiv``,
    ``_floormod``, ``_min`` and ``_max`` and may be negative (meaning 0)."""
    def size(k: int) -> str:
        return f"{sizes}[{k}]" if sizes else params[k]
    return [py_to_c(e, size, helpers) for e in tensor.extent_py]


def py_to_c(text: str, size: Callable[[int], str], helpers: str) -> str:
    """A Python extent expression (in ``p[k]``, see :class:`TensorArg`) as C;
    floor division and modulo call ``<helpers>_floordiv`` / ``_floormod``."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as error:  # pragma: no cover - extent_py is generated
        raise PolytcInternalError("exporting C", f"extent {text!r}: {error}") from None
    return _Translator(size, helpers).expr(tree)


class _Translator:
    _BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
    _COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
                ast.GtE: ">="}

    def __init__(self, size: Callable[[int], str], helpers: str) -> None:
        self.size, self.helpers = size, helpers

    def expr(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int)):
            return str(int(node.value))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, int) \
                and isinstance(node.value, ast.Name) and node.value.id == "p":
            return self.size(node.slice.value)
        if isinstance(node, ast.BinOp):
            left, right = self.expr(node.left), self.expr(node.right)
            if isinstance(node.op, ast.FloorDiv):
                return f"{self.helpers}_floordiv({left}, {right})"
            if isinstance(node.op, ast.Mod):
                return f"{self.helpers}_floormod({left}, {right})"
            if type(node.op) in self._BINARY:
                return f"({left} {self._BINARY[type(node.op)]} {right})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return f"(-{self.expr(node.operand)})"
            if isinstance(node.op, ast.Not):
                return f"(!{self.expr(node.operand)})"
        if isinstance(node, ast.BoolOp):
            op = " && " if isinstance(node.op, ast.And) else " || "
            return "(" + op.join(self.expr(v) for v in node.values) + ")"
        if isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and type(node.ops[0]) in self._COMPARE:
            return (f"({self.expr(node.left)} {self._COMPARE[type(node.ops[0])]} "
                    f"{self.expr(node.comparators[0])})")
        if isinstance(node, ast.IfExp):
            return f"({self.expr(node.test)} ? {self.expr(node.body)} : {self.expr(node.orelse)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("min", "max") and node.args:
            result = self.expr(node.args[0])
            for arg in node.args[1:]:
                result = f"{self.helpers}_{node.func.id}({result}, {self.expr(arg)})"
            return result
        raise PolytcInternalError("exporting C", f"extent expression {ast.dump(node)}")


# -- the header ----------------------------------------------------------------
def header(cfunction: CFunction, name: str) -> str:
    """``<name>.h``: the documented ABI and shape helpers of ``cfunction``."""
    fn, params = cfunction.function, cfunction.params
    guard = f"POLYTC_EXPORT_{name.upper()}_H"
    names = NameTable()
    size_args = [names(p) for p in params]
    input_args = [names(t.name) for t in cfunction.inputs]
    output_args = [names(t.name) for t in cfunction.outputs]
    args = [f"int64_t {p}" for p in size_args]
    args += [f"const {dtypes.C_TYPES[t.dtype]} *{n}" for t, n in zip(cfunction.inputs, input_args)]
    args += [f"{dtypes.C_TYPES[t.dtype]} *{n}" for t, n in zip(cfunction.outputs, output_args)]
    args.append("int polytc_nthreads")  # a generated name: no user name can take it
    prototype = f"int {fn}({', '.join(args)});"
    groups = [g for g in (args[:len(params)], args[len(params):len(params) + len(input_args)],
                          args[len(params) + len(input_args):]) if g]
    wrapped = f"int {fn}(" + ",\n *       ".join(", ".join(g) for g in groups) + ");"

    def shape(t: TensorArg, extents: list[str]) -> str:
        return f"{t.dtype}" + "".join(f"[{e}]" for e in extents) + (" (0-d)" if not extents
                                                                     else "")
    doc = [f"/* {name}.h: the C ABI of {fn}, generated by polytc from TC def "
           f"'{default_name(cfunction)}'.",
           " *",
           f" *   {wrapped}",
           " *",
           " * Arguments, in this order:",
           " *   sizes:   " + (", ".join(f"int64_t {p}" for p in params) or "(none)") +
           " -- the size symbols (>= 0),",
           " *            in the order above; every input extent named by a size must match.",
           " *   inputs:  (read only)"]
    doc += [f" *     {t.name}: {shape(t, input_extents(t, params))}" for t in cfunction.inputs]
    doc += [" *   outputs: (every element is written; elements no statement writes are 0)"]
    doc += [f" *     {t.name}: {shape(t, output_extents(t, params, fn))}" for t in cfunction.outputs]
    doc += [" *   polytc_nthreads: OpenMP threads to use (1 runs sequentially; ignored",
            " *            when the .c is compiled without OpenMP).",
            " * Tensors are dense row-major (C order) arrays of the C type of their dtype,",
            " * at least 16-byte aligned; a 0-d tensor is a pointer to one element.  Outputs",
            " * must not overlap each other or the inputs.  An extent below 0 counts as 0;",
            f" * {fn}_floordiv/_floormod round towards minus infinity, as Python does.",
            " * Output extents: compute them with",
            f" *   {fn}_output_shape(k, sizes, shape)  (k-th output, sizes in order).",
            " * Returns POLYTC_OK (0), POLYTC_GATHER_OUT_OF_RANGE (1: a gathered index was",
            " * out of range; element 0 was read instead), POLYTC_OUT_OF_MEMORY (2: a",
            " * temporary could not be allocated), POLYTC_WRONG_SIZES (3: the kernel was",
            " * specialised to other sizes) or POLYTC_SIZE_CONDITION (4: the sizes break",
            " * the condition its reads need; nothing was written)."]
    doc += [f" * Condition on the sizes: {c.text} (for the reads of {c.tensor} to stay in bounds)."
            for c in cfunction.checks] or [" * Condition on the sizes: none."]
    doc[-1] += " */"
    helper = fn
    lines = doc + [
        f"#ifndef {guard}", f"#define {guard}", "",
        "#include <stdint.h>", "#ifndef __cplusplus", "#include <stdbool.h>", "#endif", "",
        "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
        "#ifndef POLYTC_OK", "#define POLYTC_OK 0", "#define POLYTC_GATHER_OUT_OF_RANGE 1",
        "#define POLYTC_OUT_OF_MEMORY 2", "#define POLYTC_WRONG_SIZES 3",
        "#define POLYTC_SIZE_CONDITION 4", "#endif", "",
        f"#define {fn.upper()}_NUM_SIZES {len(params)}",
        f"#define {fn.upper()}_NUM_INPUTS {len(cfunction.inputs)}",
        f"#define {fn.upper()}_NUM_OUTPUTS {len(cfunction.outputs)}", "",
        prototype, "",
        f"static inline int64_t {helper}_floordiv(int64_t a, int64_t b)",
        "{ int64_t q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q; }",
        f"static inline int64_t {helper}_floormod(int64_t a, int64_t b)",
        f"{{ return a - b * {helper}_floordiv(a, b); }}",
        f"static inline int64_t {helper}_min(int64_t a, int64_t b) {{ return a < b ? a : b; }}",
        f"static inline int64_t {helper}_max(int64_t a, int64_t b) {{ return a > b ? a : b; }}",
        "",
    ]
    lines += _shape_function(fn, "input", cfunction.inputs,
                             [input_extents(t, params, "sizes") for t in cfunction.inputs])
    lines += _shape_function(fn, "output", cfunction.outputs,
                             [output_extents(t, params, fn, "sizes") for t in cfunction.outputs])
    lines += ["#ifdef __cplusplus", "}", "#endif", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def _shape_function(fn: str, role: str, tensors: tuple[TensorArg, ...],
                    extents: list[list[str]]) -> list[str]:
    """``static inline int <fn>_<role>_shape(int k, const int64_t *sizes,
    int64_t *shape)``: the k-th tensor's extents (clamped at 0); returns its rank."""
    lines = [f"/* Shape of the k-th {role} ({', '.join(t.name for t in tensors) or 'none'}):",
             " * writes its extents to shape[] and returns its rank (-1 for a bad k). */",
             f"static inline int {fn}_{role}_shape(int k, const int64_t *sizes, int64_t *shape)",
             "{", "  (void)sizes; (void)shape;", "  switch (k) {"]
    for k, (tensor, exts) in enumerate(zip(tensors, extents)):
        body = " ".join(f"shape[{d}] = {fn}_max(0, {e});" for d, e in enumerate(exts))
        lines.append(f"  case {k}: {body}{' ' if body else ''}return {len(exts)};  "
                     f"/* {tensor.name} */")
    lines += ["  default: return -1;", "  }", "}", ""]
    return lines


# -- the Makefile ---------------------------------------------------------------
def makefile(name: str, harness: bool) -> str:
    """A Makefile: ``make`` builds the harness ``./<name>`` (or ``lib<name>.so``)."""
    target = name if harness else f"lib{name}.so"
    lines = [f"# Builds polytc's exported kernel {name}: `make` (CFLAGS=... to change flags,",
             "# e.g. CFLAGS='-O3' without OpenMP).",
             "CFLAGS ?= -O3 -fopenmp", "LDLIBS = -lm", "",
             f"all: {target}", ""]
    if harness:
        lines += [f"{name}: {name}_main.c {name}.c {name}.h",
                  f"\t$(CC) $(CFLAGS) -o $@ {name}_main.c {name}.c $(LDLIBS)", ""]
    lines += [f"lib{name}.so: {name}.c {name}.h",
              f"\t$(CC) $(CFLAGS) -fPIC -shared -o $@ {name}.c $(LDLIBS)", "",
              "clean:", f"\trm -f {name} lib{name}.so", "",
              ".PHONY: all clean", ""]
    return "\n".join(lines)
