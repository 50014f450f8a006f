"""The statements of a region, their iteration domains and original order.

A walk over the region's statements (pet's rules, research note §1.2 and
§6.3): a ``for`` adds a dimension (``i = init; cond; i++ / i-- / i += c /
i -= c``), an ``if`` restricts the domain (``else``: the rest), a block is a
sequence, and each assignment (``=`` or compound, chained ``a = b = e`` split
into ``b = e; a = b``) or ``++``/``--`` of data is one statement.  The
domain of a loop is the set of iterator values the loop really runs: from
``init`` in the step's direction, on the step's lattice, up to (excluding)
the first value where the condition fails.  The original order is built
alongside as an isl schedule tree: sequences for blocks, a one-member band
``[i]`` (``[-i]`` for a downward loop) per loop.  Everything else is refused
with a located diagnostic.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import islpy as isl
from pycparser import c_ast

from polytc.frontend.c.affine import NonAffine, Scope, integer_constant
from polytc.frontend.c.parse import Diagnostics

_UNSUPPORTED = {
    c_ast.While: "'while'", c_ast.DoWhile: "'do'", c_ast.Switch: "'switch'",
    c_ast.Goto: "'goto'", c_ast.Label: "a label", c_ast.Break: "'break'",
    c_ast.Continue: "'continue'", c_ast.Return: "'return'",
    c_ast.Decl: "a declaration", c_ast.DeclList: "a declaration",
}
_STEPS = {"p++": 1, "++": 1, "p--": -1, "--": -1}


@dataclass(frozen=True)
class Loop:
    """A loop of the region: its iterator, statement and direction."""

    name: str
    node: c_ast.For
    sign: int
    ident: int


@dataclass(frozen=True)
class RawStatement:
    """One statement instance set: ``target op= value`` (``op`` ``=``, a
    compound operator such as ``+=``, or ``++``/``--`` with no value) over
    ``domain``, inside ``loops`` (outermost first)."""

    name: str
    domain: isl.Set = field(compare=False)
    loops: tuple[Loop, ...]
    node: c_ast.Node
    target: c_ast.Node
    op: str
    value: c_ast.Node | None


@dataclass
class Extraction:
    statements: list[RawStatement]
    order: isl.Schedule | None


class Extractor:
    """Walks a region; ``params`` are the region's integer parameters,
    ``explain`` says why a name is not affine."""

    def __init__(self, params: list[str], explain: Callable[[str], str], diagnostics: Diagnostics,
                 ctx: isl.Context) -> None:
        self.params = params
        self.explain = explain
        self.diagnostics = diagnostics
        self.ctx = ctx
        self.statements: list[RawStatement] = []
        self._ids = itertools.count()

    def extract(self, items: tuple[c_ast.Node, ...]) -> Extraction:
        space = isl.Space.create_from_names(self.ctx, set=[], params=self.params)
        order = self.block(list(items), isl.Set.universe(space), ())
        return Extraction(self.statements, order)

    # -- statements ---------------------------------------------------------
    def block(self, items: list[c_ast.Node], domain: isl.Set,
              loops: tuple[Loop, ...]) -> isl.Schedule | None:
        trees = [t for t in (self.statement(item, domain, loops) for item in items)
                 if t is not None]
        return _sequence(trees)

    def statement(self, node: c_ast.Node, domain: isl.Set,
                  loops: tuple[Loop, ...]) -> isl.Schedule | None:
        if isinstance(node, c_ast.Compound):
            return self.block(list(node.block_items or ()), domain, loops)
        if isinstance(node, c_ast.For):
            return self.loop(node, domain, loops)
        if isinstance(node, c_ast.If):
            return self.branch(node, domain, loops)
        if isinstance(node, (c_ast.EmptyStatement, c_ast.Pragma)):
            return None
        if isinstance(node, c_ast.Assignment):
            return self.assignment(node, domain, loops)
        if isinstance(node, c_ast.UnaryOp) and node.op in _STEPS:
            return self.leaf(node, node.expr, node.op, None, domain, loops)
        kind = _UNSUPPORTED.get(type(node))
        if kind is not None:
            self.diagnostics.add(node, f"unsupported statement {kind} inside #pragma scop",
                                 "polytc supports for, if and expression statements "
                                 "(assignments, ++ and --)")
        elif isinstance(node, c_ast.FuncCall):
            self.diagnostics.add(node, "a function call as a statement is not supported "
                                 "inside #pragma scop",
                                 "only pure math functions, inside expressions, are allowed")
        else:
            self.diagnostics.add(node, "unsupported statement inside #pragma scop",
                                 "polytc supports for, if and expression statements "
                                 "(assignments, ++ and --)")
        return None

    def assignment(self, node: c_ast.Assignment, domain: isl.Set,
                   loops: tuple[Loop, ...]) -> isl.Schedule | None:
        value = node.rvalue
        trees = []
        if isinstance(value, c_ast.Assignment):  # a = b = e: b = e; a = b
            trees.append(self.assignment(value, domain, loops))
            value = value.lvalue
        trees.append(self.leaf(node, node.lvalue, node.op, value, domain, loops))
        return _sequence([t for t in trees if t is not None])

    def leaf(self, node: c_ast.Node, target: c_ast.Node, op: str, value: c_ast.Node | None,
             domain: isl.Set, loops: tuple[Loop, ...]) -> isl.Schedule | None:
        written = _base_name(target)
        for loop in loops:
            if written == loop.name:
                self.diagnostics.add(node, f"loop iterator '{written}' is assigned inside the "
                                     "loop body", "polytc needs loops with a fixed step")
                return None
        name = f"S{len(self.statements)}"
        named = domain.set_tuple_name(name)
        for position, loop in enumerate(loops):
            named = named.set_dim_name(isl.dim_type.set, position, loop.name)
        self.statements.append(RawStatement(name, named, loops, node, target, op, value))
        return isl.Schedule.from_domain(isl.UnionSet.from_set(named))

    def branch(self, node: c_ast.If, domain: isl.Set,
               loops: tuple[Loop, ...]) -> isl.Schedule | None:
        try:
            cond = Scope(domain.get_space(), self.explain).condition(node.cond)
        except NonAffine as problem:
            self.diagnostics.add(problem.node, _condition_message(problem),
                                 "a condition on data is not affine; if it only selects a "
                                 "value, write the value with ?: instead")
            return None
        trees = [self.statement(node.iftrue, domain.intersect(cond), loops)]
        if node.iffalse is not None:
            trees.append(self.statement(node.iffalse, domain.subtract(cond), loops))
        return _sequence([t for t in trees if t is not None])

    # -- loops ----------------------------------------------------------------
    def loop(self, node: c_ast.For, domain: isl.Set,
             loops: tuple[Loop, ...]) -> isl.Schedule | None:
        header = self.header(node, loops)
        if header is None:
            return None
        name, init, step = header
        space = domain.get_space().add_dims(isl.dim_type.set, 1).set_dim_name(
            isl.dim_type.set, len(loops), name)
        scope = Scope(space, self.explain)
        try:
            inner = self.loop_domain(scope, domain, init, step, node.cond)
        except NonAffine as problem:
            self.diagnostics.add(problem.node, f"non-affine loop bound: {problem.message}",
                                 problem.hint)
            return None
        loop = Loop(name, node, 1 if step > 0 else -1, next(self._ids))
        body = self.statement(node.stmt, inner, loops + (loop,))
        if body is None:
            return None
        return body.insert_partial_schedule(_band(body.get_domain(), len(loops), loop.sign))

    def header(self, node: c_ast.For, loops: tuple[Loop, ...]) -> tuple[str, c_ast.Node, int] | None:
        """(iterator, initial value, step) of a loop, or None (diagnosed)."""
        init = node.init
        if isinstance(init, c_ast.DeclList) and len(init.decls) == 1 and init.decls[0].init:
            name, start = init.decls[0].name, init.decls[0].init
        elif isinstance(init, c_ast.Assignment) and init.op == "=" \
                and isinstance(init.lvalue, c_ast.ID):
            name, start = init.lvalue.name, init.rvalue
        else:
            self.diagnostics.add(init or node, "loop must start with 'i = <affine expression>'",
                                 "write for (i = lower; i < upper; i++)")
            return None
        if any(loop.name == name for loop in loops):
            self.diagnostics.add(init, f"'{name}' is already the iterator of an enclosing loop")
            return None
        step = _step(node.next, name)
        if step is None:
            text = self.diagnostics.text(node.next) if node.next is not None else ""
            self.diagnostics.add(node.next or node, f"loop increment '{text}' must be {name}++, "
                                 f"{name}--, {name} += c or {name} -= c with a constant c",
                                 "polytc needs loops with a constant step")
            return None
        if node.cond is None:
            self.diagnostics.add(node, "loop without a condition", "polytc needs bounded loops")
            return None
        if _mentions(start, name):
            self.diagnostics.add(start, f"loop iterator '{name}' is used in its own initial "
                                 "value")
            return None
        return name, start, step

    def loop_domain(self, scope: Scope, outer: isl.Set, init: c_ast.Node, step: int,
                    cond: c_ast.Node) -> isl.Set:
        """The iterator values the loop runs, for each point of ``outer``."""
        n = scope.space.dim(isl.dim_type.set)
        var = isl.PwAff.var_on_domain(scope.local, isl.dim_type.set, n - 1)
        start = scope.pw_aff(init)
        candidates = outer.add_dims(isl.dim_type.set, 1).set_dim_name(
            isl.dim_type.set, n - 1, scope.iterators[-1])
        candidates = candidates.intersect(var.ge_set(start) if step > 0 else var.le_set(start))
        if abs(step) > 1:
            lattice = var.sub(start).mod_val(isl.Val.int_from_si(self.ctx, abs(step)))
            candidates = candidates.intersect(lattice.eq_set(scope.zero()))
        holds = scope.condition(cond)
        after = isl.Map.universe(isl.Space.map_from_set(scope.space))
        for d in range(n - 1):
            after = after.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
        after = (after.order_le if step > 0 else after.order_ge)(
            isl.dim_type.in_, n - 1, isl.dim_type.out, n - 1)
        stopped = candidates.subtract(holds).apply(after)
        return candidates.subtract(stopped).coalesce()


def _condition_message(problem: NonAffine) -> str:
    if problem.message.startswith("non-affine condition"):
        return problem.message
    return f"non-affine condition: {problem.message}"


def _sequence(trees: list[isl.Schedule]) -> isl.Schedule | None:
    if not trees:
        return None
    result = trees[0]
    for tree in trees[1:]:
        result = isl.Schedule.sequence(result, tree)
    return result


def _band(domain: isl.UnionSet, depth: int, sign: int) -> isl.MultiUnionPwAff:
    """``S[..., i, ...] -> [i]`` (``[-i]``) for the loop at ``depth`` of every statement."""
    result: isl.UnionMap | None = None
    sets = domain.get_set_list()
    for k in range(sets.n_set()):
        statement = sets.get_at(k)
        aff = isl.Aff.var_on_domain(isl.LocalSpace.from_space(statement.get_space()),
                                    isl.dim_type.set, depth)
        if sign < 0:
            aff = aff.neg()
        piece = isl.UnionMap.from_map(isl.Map.from_aff(aff).intersect_domain(statement))
        result = piece if result is None else result.union(piece)
    assert result is not None
    return isl.MultiUnionPwAff.from_union_map(result)


def _step(node: c_ast.Node | None, name: str) -> int | None:
    if isinstance(node, c_ast.UnaryOp) and node.op in _STEPS \
            and isinstance(node.expr, c_ast.ID) and node.expr.name == name:
        return _STEPS[node.op]
    if not isinstance(node, c_ast.Assignment) or not isinstance(node.lvalue, c_ast.ID) \
            or node.lvalue.name != name:
        return None
    if node.op in ("+=", "-="):
        value = _signed_constant(node.rvalue)
        if value is None or value == 0:
            return None
        return value if node.op == "+=" else -value
    if node.op == "=" and isinstance(node.rvalue, c_ast.BinaryOp) and node.rvalue.op in "+-":
        left, right = node.rvalue.left, node.rvalue.right
        if isinstance(left, c_ast.ID) and left.name == name:
            value = _signed_constant(right)
            if value:
                return value if node.rvalue.op == "+" else -value
        if node.rvalue.op == "+" and isinstance(right, c_ast.ID) and right.name == name:
            return _signed_constant(left) or None
    return None


def _signed_constant(node: c_ast.Node) -> int | None:
    if isinstance(node, c_ast.UnaryOp) and node.op == "-":
        value = integer_constant(node.expr)
        return -value if value is not None else None
    return integer_constant(node)


def _base_name(node: c_ast.Node) -> str | None:
    while isinstance(node, c_ast.ArrayRef):
        node = node.name
    return node.name if isinstance(node, c_ast.ID) else None


def _mentions(node: c_ast.Node | None, name: str) -> bool:
    if node is None:
        return False
    if isinstance(node, c_ast.ID):
        return node.name == name
    return any(_mentions(child, name) for _, child in node.children())
