"""How much work a call does, to keep tiny calls off the thread pool.

Starting a parallel region costs microseconds on an idle machine and
milliseconds on a busy one (a 10-element kernel took 7.8 ms on 2 threads
against 0.005 ms on one).  :func:`work_py` bounds the number of statement
instances of a program by the bounding boxes of its domains, as a Python
expression over the sizes ``p[k]``; a call whose bound is below
:data:`MIN_PARALLEL_WORK` runs on one thread unless ``num_threads`` asks
otherwise.
"""
from __future__ import annotations

import islpy as isl

from polytc import program as ir
from polytc.codegen_c.expr import ast_expr

#: statement instances below which a call runs on one thread by default
MIN_PARALLEL_WORK = 1 << 15


def work_py(program: ir.Program) -> str:
    """An upper bound of the statement instances of ``program`` in ``p[k]``."""
    build = isl.AstBuild.from_context(program.context)
    index = {p: k for k, p in enumerate(program.params)}
    zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(program.context.get_space()))
    terms = []
    for statement in program.statements:
        domain = statement.domain.intersect_params(program.context)
        factors = []
        for d in range(domain.dim(isl.dim_type.set)):
            extent = (domain.dim_max(d) - domain.dim_min(d) + 1).union_max(zero)
            text = ast_expr(build.expr_from_pw_aff(extent.coalesce()),
                            lambda n: f"p[{index[n]}]", "py")
            factors.append(f"max(0, {text})")
        terms.append(" * ".join(factors) or "1")
    return " + ".join(terms) or "0"
