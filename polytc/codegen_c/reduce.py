"""Vector reductions in the emitted C: the loop under a ``reduce:`` mark
(:mod:`polytc.tiling.reductions`) accumulates each element its statements
update in a local scalar, under ``omp simd reduction``::

    { int64_t c1 = 0;
      if (c1 < N) {
        float polytc_acc0 = t[c0];
        #pragma omp simd reduction(+:polytc_acc0)
        for (int64_t c1 = 0; c1 < N; c1 += 1) { ... polytc_acc0 += A[...] * x[...]; }
        t[c0] = polytc_acc0;
      } }

The guard keeps the load and store to iterations where the loop runs, so
the element exists.  :class:`ReductionEmitter` (a part of
:class:`polytc.codegen_c.emit.Emitter`) plans the accumulators while isl
builds the AST (each statement instance's element, as isl prints it from the
loops around) and emits them; where the AST below the mark is not one loop
of statements, or an element moves along the loop, the loop is emitted as
written, without ``simd`` (correct, not vectorised).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import cgen
import islpy as isl

from polytc import dtypes
from polytc import program as ir
from polytc.codegen_c.expr import BodyPrinter, Layout, ast_expr, strip_parens
from polytc.codegen_c.pragmas import annotation
from polytc.codegen_c.storage import c_text
from polytc.tiling import marks

_CLAUSE_OPS = {"+": "+", "*": "*", "max": "max", "min": "min"}
_FOR = getattr(isl.ast_node_type, "for_")
REDUCE_PRAGMA = "reduce#"  # the pragma entry of the loop under a reduce mark


@dataclass(slots=True)
class ReductionPlan:
    """The accumulators of one ``reduce:`` mark: per (tensor, element as
    isl prints it) a local name, and the annotation of each statement
    instance that updates it."""

    statements: frozenset[str]
    accumulators: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    ops: dict[str, str] = field(default_factory=dict)  # local -> operator
    instances: set[str] = field(default_factory=set)   # annotations of accumulating instances


class ReductionEmitter:
    """Vector reductions, for :class:`~polytc.codegen_c.emit.Emitter`."""

    program: ir.Program
    body: BodyPrinter
    used: set[str]
    statements: dict[str, ir.Statement]
    reduction_plans: list[ReductionPlan]
    reductions: dict[str, ReductionPlan]
    accumulating: dict[str, str]       # instance annotation -> local, as planned
    accumulators_in_force: dict[str, str]
    accumulator_count: int
    layouts: dict[str, Layout]

    def node(self, node: isl.AstNode, pragmas: frozenset[str]) -> cgen.Generable:
        raise NotImplementedError  # the AST walk: Emitter.node

    def ast_name(self, name: str) -> str:
        raise NotImplementedError  # Emitter.ast_name

    def _before_reduce(self, mark: isl.Id) -> None:
        names = mark.get_name()[len(marks.REDUCE_PREFIX):]
        self.reduction_plans.append(ReductionPlan(frozenset(names.split(","))))

    def _after_reduce(self, node: isl.AstNode) -> isl.AstNode:
        plan = self.reduction_plans.pop()
        key = f"reduction{len(self.reductions)}"
        self.reductions[key] = plan
        return node.set_annotation(isl.Id(key, context=node.get_ctx()))

    def _accumulate(self, node: isl.AstNode, build: isl.AstBuild,
                    statement: ir.Statement) -> isl.AstNode | None:
        """The user ``node`` annotated with its accumulator when a ``reduce``
        mark being built accumulates ``statement``, else None."""
        if not self.reduction_plans or statement.name not in self.reduction_plans[-1].statements:
            return None
        plan = self.reduction_plans[-1]
        try:
            element = self._element(statement, build)
        except isl.Error:
            return None  # the instance writes memory; the mark's check refuses the plan
        local = plan.accumulators.get((statement.tensor, element))
        if local is None:
            local = f"polytc_{self.layouts[statement.tensor].c_name}_acc{self.accumulator_count}"
            self.accumulator_count += 1
            plan.accumulators[(statement.tensor, element)] = local
        plan.ops[local] = statement.op
        key = f"accumulate{len(self.accumulating)}"
        self.accumulating[key] = local
        plan.instances.add(key)
        return node.set_annotation(isl.Id(key, context=node.get_ctx()))

    def _element(self, statement: ir.Statement, build: isl.AstBuild) -> tuple[str, ...]:
        """C for each subscript of the element ``statement`` writes, from the
        loops around it."""
        written = isl.PwMultiAff.from_map(statement.write)
        instance = isl.PwMultiAff.from_map(isl.Map.from_union_map(build.get_schedule()).reverse())
        return tuple(ast_expr(build.expr_from_pw_aff(
            written.get_pw_aff(d).pullback_pw_multi_aff(instance)), self.ast_name, "c", self.used)
            for d in range(written.dim(isl.dim_type.out)))

    def reduced(self, key: str | None, inner: isl.AstNode,
                pragmas: frozenset[str]) -> cgen.Generable:
        """The loop at ``inner`` with its accumulators (see the module
        docstring), or as written where the plan does not hold."""
        plan = self.reductions.get(key or "")
        loop = self._vector_loop(plan, inner)
        if plan is None or loop is None:
            return self.node(inner, pragmas)
        iterator = ast_expr(loop.for_get_iterator(), self.ast_name, "c", self.used)
        lines: list[cgen.Generable] = []
        stores: list[cgen.Generable] = []
        for (tensor, element), local in plan.accumulators.items():
            there = self.body.element(tensor, list(element))
            ctype = dtypes.C_TYPES[self.program.tensor(tensor).dtype]
            lines.append(cgen.Line(f"{ctype} {local} = {there};"))
            stores.append(cgen.Line(f"{there} = {local};"))
        saved = dict(self.accumulators_in_force)
        self.accumulators_in_force.update({k: self.accumulating[k] for k in plan.instances})
        try:
            body = self.node(inner, pragmas | {f"{REDUCE_PRAGMA}{key}@{iterator}"})
        finally:
            self.accumulators_in_force = saved
        init = ast_expr(loop.for_get_init(), self.ast_name, "c", self.used)
        cond = ast_expr(loop.for_get_cond(), self.ast_name, "c", self.used)
        guarded = cgen.If(c_text(strip_parens(cond)), cgen.Block(lines + [body] + stores))
        return cgen.Block([cgen.Line(f"int64_t {iterator} = {init};"), guarded])

    def _vector_loop(self, plan: ReductionPlan | None, inner: isl.AstNode) -> isl.AstNode | None:
        """The loop the plan's accumulators live across: ``inner`` itself, a
        loop whose body is statements only, every accumulated one with its
        accumulator, no element moving along the loop; else None."""
        if plan is None or not plan.accumulators or inner.get_type() != _FOR \
                or inner.for_is_degenerate():
            return None
        iterator = ast_expr(inner.for_get_iterator(), self.ast_name, "c", self.used)
        moves = re.compile(rf"\b{re.escape(iterator)}\b")
        if any(moves.search(text) for _, element in plan.accumulators for text in element):
            return None
        body = inner.for_get_body()
        users = [body] if body.get_type() != isl.ast_node_type.block else \
            [body.block_get_children().get_at(k)
             for k in range(body.block_get_children().n_ast_node())]
        for user in users:
            if user.get_type() != isl.ast_node_type.user:
                return None
            name = user.user_get_expr().get_op_arg(0).get_id().get_name()
            if name in plan.statements and annotation(user) not in plan.instances:
                return None
        return inner

    def reduction_clause(self, key: str) -> str:
        """``reduction(op: locals) ...`` of the plan ``key``."""
        plan = self.reductions[key]
        by_op: dict[str, list[str]] = {}
        for local, op in plan.ops.items():
            by_op.setdefault(_CLAUSE_OPS[op], []).append(local)
        return " ".join(f"reduction({op}:{', '.join(names)})" for op, names in by_op.items())
