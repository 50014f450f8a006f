"""C emission: a program and its schedule tree to one C function.

The schedule is marked (``parallel`` above the outermost coincident band
member), isl builds the AST, and we walk the AST into cgen nodes ourselves, so
every pragma is a decision made here, in data (PPCG's ``cpu.c`` way).

Generated function (the ABI, also written at the top of the file)::

    int polytc_<def>(int64_t <size>..., const T *restrict <input>...,
                     T *restrict <output>..., int polytc_nthreads);

Sizes come in signature order; tensors are dense, row-major and at least
16-byte aligned.  It returns 0, 1 when a gathered index was out of range (the
read used element 0 instead) or 2 when a temporary could not be allocated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.codegen_c.expr import BodyPrinter, Layout, ast_expr, literal
from polytc.codegen_c.names import NameTable
from polytc.codegen_c.prelude import prelude
from polytc.errors import PolytcInternalError

PARALLEL_MARK = "parallel"
# islpy's stubs omit the members named after Python keywords.
_IF, _FOR = getattr(isl.ast_node_type, "if_"), getattr(isl.ast_node_type, "for_")


@dataclass(frozen=True, slots=True)
class TensorArg:
    """A tensor argument of the C function.  ``dims`` are, per dimension, a
    size name or a constant (inputs); ``extent_py`` are Python expressions in
    ``p[k]`` (the k-th size) that give an output's shape."""

    name: str
    dtype: str
    dims: tuple[str | int, ...]
    extent_py: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CFunction:
    """Generated C source and what a caller needs to call it."""

    source: str
    function: str
    params: tuple[str, ...]
    inputs: tuple[TensorArg, ...]
    outputs: tuple[TensorArg, ...]

    @property
    def cdef(self) -> str:
        args = ["int64_t"] * len(self.params)
        args += [f"const {dtypes.C_TYPES[t.dtype]} *" for t in self.inputs]
        args += [f"{dtypes.C_TYPES[t.dtype]} *" for t in self.outputs]
        args.append("int")
        return f"int {self.function}({', '.join(args)});"


def to_c(program: ir.Program, schedule: isl.Schedule, *, parallel: bool = True) -> CFunction:
    """Emit ``program`` executed in the order of ``schedule`` as C."""
    try:
        return _Emitter(program).emit(schedule, parallel)
    except isl.Error as error:  # pragma: no cover - an isl failure is our bug
        raise PolytcInternalError("generating C", str(error)) from error


def mark_parallel(schedule: isl.Schedule) -> isl.Schedule:
    """Insert a ``parallel`` mark above the outermost coincident member of
    each band that is not already inside a parallel loop (splitting bands so
    the marked member is a band of its own)."""
    root = schedule.get_root()
    return _mark_subtree(root).get_schedule()


def _mark_subtree(node: isl.ScheduleNode) -> isl.ScheduleNode:
    if node.get_type() == isl.schedule_node_type.band:
        n = node.band_n_member()
        flags = [node.band_member_get_coincident(i) for i in range(n)]
        if any(flags):
            first = flags.index(True)
            if first > 0:
                node = node.band_split(first)
                return _mark_band(node.child(0)).parent()
            return _mark_band(node)
    for position in range(node.n_children()):
        node = _mark_subtree(node.child(position)).parent()
    return node


def _mark_band(node: isl.ScheduleNode) -> isl.ScheduleNode:
    if node.band_n_member() > 1:
        node = node.band_split(1)
    return node.insert_mark(isl.Id(PARALLEL_MARK, context=node.get_ctx()))


class _Emitter:
    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.names = NameTable()
        self.used: set[str] = set()
        for param in program.params:
            self.names(param)
        for tensor in program.tensors:
            self.names(tensor.name)
        self.layouts = {t.name: Layout(self.names(t.name), self._extents(t))
                        for t in program.tensors}
        self.body = BodyPrinter(self.names, self.layouts, self.used)
        self.statements = {s.name: s for s in program.statements}

    def _extents(self, tensor: ir.Tensor) -> tuple[str, ...]:
        if tensor.role == "input":
            return tuple(self.names(d) if isinstance(d, str) else str(d) for d in tensor.dims)
        return tuple(f"polytc_{self.names(tensor.name)}_e{d}" for d in range(tensor.rank))

    def emit(self, schedule: isl.Schedule, parallel: bool) -> CFunction:
        if parallel:
            schedule = mark_parallel(schedule)
        build = isl.AstBuild.from_context(self.program.context)
        root = build.node_from_schedule(schedule)
        loops = self.node(root, False)
        program = self.program
        function = "polytc_" + self.names.checked(program.name)
        build_params = isl.AstBuild.from_context(program.context)
        preamble: list[cgen.Generable] = [cgen.Line("int polytc_status = 0;")]
        for tensor in program.tensors:
            if tensor.role == "input":
                continue
            for d, extent in enumerate(tensor.shape):
                text = ast_expr(build_params.expr_from_pw_aff(extent), self.ast_name, "c",
                                self.used)
                preamble.append(cgen.Line(f"const int64_t {self.layouts[tensor.name].extents[d]}"
                                          f" = {text};"))
        cleanup: list[cgen.Generable] = []
        for tensor in program.temporaries:
            ctype, name = dtypes.C_TYPES[tensor.dtype], self.layouts[tensor.name].c_name
            count = " * ".join(f"(size_t){e}" for e in self.layouts[tensor.name].extents) or "1"
            preamble.append(cgen.Line(
                f"{ctype} *restrict {name} = ({ctype} *)malloc(sizeof({ctype}) * ({count}) + 64);"))
            preamble.append(cgen.Line(f"if (!{name}) return 2;"))
            cleanup.append(cgen.Line(f"free({name});"))
        args: list[cgen.Declarator] = [cgen.Value("int64_t", self.names(p))
                                      for p in program.params]
        args += [cgen.Pointer(cgen.Value(f"const {dtypes.C_TYPES[t.dtype]}",
                                         f"restrict {self.layouts[t.name].c_name}"))
                 for t in program.inputs]
        args += [cgen.Pointer(cgen.Value(dtypes.C_TYPES[t.dtype],
                                         f"restrict {self.layouts[t.name].c_name}"))
                 for t in program.outputs]
        args.append(cgen.Value("int", "polytc_nthreads"))
        body = cgen.Block(preamble + [loops] + cleanup + [cgen.Line("return polytc_status;")])
        fn = cgen.FunctionBody(cgen.FunctionDeclaration(cgen.Value("int", function), args), body)
        source = "\n".join([self._header(function), prelude(self.used), str(fn), ""])
        return CFunction(source, function, program.params,
                         tuple(self._arg(t) for t in program.inputs),
                         tuple(self._arg(t) for t in program.outputs))

    def _header(self, function: str) -> str:
        program = self.program
        lines = [f"/* Generated by polytc from TC def '{program.name}'.",
                 f" * int {function}(sizes..., inputs..., outputs..., int nthreads);",
                 " * sizes: " + (", ".join(program.params) or "(none)"),
                 " * inputs: " + (", ".join(f"{t.dtype} {t.name}" for t in program.inputs)
                                  or "(none)"),
                 " * outputs: " + ", ".join(f"{t.dtype} {t.name}" for t in program.outputs),
                 " * Tensors are dense row-major arrays.  Returns 0 on success, 1 when a",
                 " * gathered index was out of range, 2 when out of memory. */",
                 "#define _DEFAULT_SOURCE"]
        return "\n".join(lines)

    def _arg(self, tensor: ir.Tensor) -> TensorArg:
        build = isl.AstBuild.from_context(self.program.context)
        index = {p: i for i, p in enumerate(self.program.params)}
        extent_py = tuple(ast_expr(build.expr_from_pw_aff(e), lambda n: f"p[{index[n]}]", "py")
                          for e in tensor.shape) if tensor.role != "input" else ()
        return TensorArg(tensor.name, tensor.dtype, tensor.dims, extent_py)

    # -- AST walk -------------------------------------------------------------
    def node(self, node: isl.AstNode, parallel: bool) -> cgen.Generable:
        kind = node.get_type()
        if kind == isl.ast_node_type.block:
            children = node.block_get_children()
            return cgen.Block([self.node(children.get_at(i), parallel)
                               for i in range(children.n_ast_node())])
        if kind == isl.ast_node_type.mark:
            marked = node.mark_get_id().get_name() == PARALLEL_MARK
            return self.node(node.mark_get_node(), parallel or marked)
        if kind == _IF:
            cond = self.isl_expr(node.if_get_cond())
            then = self.node(node.if_get_then_node(), parallel)
            other = self.node(node.if_get_else_node(), parallel) if node.if_has_else_node() \
                else None
            return cgen.If(_text(cond), _block(then),
                           _block(other) if other is not None else None)
        if kind == _FOR:
            return self.loop(node, parallel)
        if kind == isl.ast_node_type.user:
            return self.user(node.user_get_expr())
        raise PolytcInternalError("generating C", f"AST node type {kind}")

    def isl_expr(self, expr: isl.AstExpr) -> str:
        return ast_expr(expr, self.ast_name, "c", self.used)

    def ast_name(self, name: str) -> str:
        """Sizes go through the name table; isl's loop iterators (``c0``...)
        are generated names that no user name can take."""
        return self.names(name) if name in self.program.params else name

    def loop(self, node: isl.AstNode, parallel: bool) -> cgen.Generable:
        iterator = self.isl_expr(node.for_get_iterator())
        init = self.isl_expr(node.for_get_init())
        body = self.node(node.for_get_body(), False)
        if node.for_is_degenerate():
            return cgen.Block([cgen.Line(f"const int64_t {iterator} = {init};"), body])
        cond = _strip_parens(self.isl_expr(node.for_get_cond()))  # OpenMP wants `c0 < n`
        inc = self.isl_expr(node.for_get_inc())
        loop = cgen.For(_text(f"int64_t {iterator} = {init}"), _text(cond),
                        _text(f"{iterator} += {inc}"), _block(body))
        if not parallel:
            return loop
        pragma = cgen.Pragma("omp parallel for num_threads(polytc_nthreads) "
                             "if(polytc_nthreads > 1) schedule(static)")
        return cgen.Module([pragma, loop])

    def user(self, call: isl.AstExpr) -> cgen.Generable:
        name = call.get_op_arg(0).get_id().get_name()
        statement = self.statements[name]
        lines: list[cgen.Generable] = []
        for position, iterator in enumerate(statement.iterators):
            value = self.isl_expr(call.get_op_arg(position + 1))
            lines.append(cgen.Line(f"const int64_t {self.names(iterator)} = {value};"))
        lines.append(cgen.Line(self.assignment(statement)))
        return cgen.Block(lines)

    def assignment(self, statement: ir.Statement) -> str:
        tensor = self.program.tensor(statement.tensor)
        target = self.body.access(statement.tensor, tuple(
            ir.Var(i, "index") for i in statement.lhs))
        value = self.body.expr(statement.body)
        op = statement.op
        if op == "=":
            return f"{target} = {value};"
        if op in ("+", "*"):
            if tensor.dtype in ("bool", "int8", "int16", "uint8", "uint16"):
                ctype = dtypes.C_TYPES[tensor.dtype]
                return f"{target} = ({ctype})({target} {op} {value});"
            return f"{target} {op}= {value};"
        compare = ">" if op == "max" else "<"
        return (f"{{ const {dtypes.C_TYPES[tensor.dtype]} polytc_v = {value}; "
                f"if (polytc_v {compare} {target}) {target} = polytc_v; }}")


def _text(text: str) -> Any:
    """cgen takes C fragments as plain strings where its hints say Generable."""
    return text


def _strip_parens(text: str) -> str:
    """``(a < b)`` -> ``a < b`` when the parentheses enclose the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and position < len(text) - 1:
            return text
    return text[1:-1]


def _block(node: cgen.Generable) -> cgen.Generable:
    return node if isinstance(node, cgen.Block) else cgen.Block([node])


__all__ = ["CFunction", "TensorArg", "to_c", "mark_parallel", "literal"]
