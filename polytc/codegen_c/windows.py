"""Window sizes: the extents of a convolution's window, which a kernel is
compiled again for at call time.

A reduction iterator that a read adds to another iterator (``kh`` in
``I(n, c, h + kh, w + kw)``) slides a window; the size bounding it where it
indexes a dimension alone (``Wt(m, c, kh, kw)``: ``KH``) is a window size.
With window sizes as parameters, the window loops have trip counts gcc
cannot see: conv2d 4x64->64x56^2 with a 3x3 window ran 15.7 ms on one
thread, 9.6 ms with ``KH`` and ``KW`` constants and every other size a
parameter (the same as with every size constant).  So a kernel with window
sizes runs a call of at least :data:`MIN_WINDOW_WORK` statement instances
whose windows are at most :data:`MAX_WINDOW` wide through a kernel compiled
for those window sizes
(:class:`polytc.codegen_c.kernel.Kernel`), one per distinct window; a
matmul's ``K`` slides nothing and stays a parameter.
"""
from __future__ import annotations

from polytc import program as ir

#: the widest window a kernel is compiled again for
MAX_WINDOW = 16
#: statement instances below which a call keeps the parametric kernel: a
#: compile takes seconds, which constant windows pay back only over calls
#: that take milliseconds (the conv2d above runs 462 million instances)
MIN_WINDOW_WORK = 1 << 23


def window_sizes(program: ir.Program) -> tuple[str, ...]:
    """The sizes of ``program`` that bound a sliding window's iterator
    (see the module docstring), in the order of ``program.params``."""
    sliding: set[tuple[str, str]] = set()  # (statement, reduction iterator)
    for statement in program.statements:
        reductions = set(statement.reduction_indices)
        for read in statement.reads:
            for index in read.indices:
                names = {node.name for node in ir.walk(index) if isinstance(node, ir.Var)}
                if len(names) > 1:
                    sliding |= {(statement.name, n) for n in names & reductions}
    found: set[str] = set()
    for statement in program.statements:
        for read in statement.reads:
            dims = program.tensor(read.tensor).dims
            for d, index in enumerate(read.indices):
                size = dims[d] if d < len(dims) else None
                if (isinstance(index, ir.Var) and (statement.name, index.name) in sliding
                        and isinstance(size, str)):
                    found.add(size)
    return tuple(p for p in program.params if p in found)
