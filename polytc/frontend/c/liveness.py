"""Which variables of a function the code outside one region uses.

pet kills the locals a region's code leaves dead; polytc asks the same
question (one walk over the function, research note §6.4):

* a loop iterator of the region that is declared outside it must not be
  read after the region (polytc does not keep iterators' final values),
  unless a later loop sets it first;
* a scalar written in the region can be privatised only when it is local
  (not global or static), its address is never taken and the code outside
  the region never reads it.
"""
from __future__ import annotations

from dataclasses import dataclass

from pycparser import c_ast

from polytc.frontend.c.parse import Region

_LOOPS = (c_ast.For, c_ast.While, c_ast.DoWhile)


@dataclass(frozen=True)
class Use:
    """A use of ``name`` outside the region: ``read`` (else a plain write),
    ``address`` (``&name``), ``after`` (it may run after the region: later
    in the text, or in a loop around it), ``reset`` (inside a loop that sets
    the variable first)."""

    name: str
    node: c_ast.Node
    read: bool
    address: bool
    after: bool
    reset: bool


def outside_uses(region: Region) -> list[Use]:
    """Every use of a variable in ``region``'s function outside the region."""
    inside = {id(item) for item in region.items}
    around = {id(node) for node in region.path if isinstance(node, _LOOPS)}
    end = region.endscop.coord.line if region.endscop is not None else 1 << 30
    uses: list[Use] = []

    def walk(node: c_ast.Node | None, reset: frozenset[str], looping: bool,
             write: bool = False) -> None:
        if node is None or id(node) in inside:
            return
        looping = looping or id(node) in around
        if isinstance(node, c_ast.ID):
            line = node.coord.line if node.coord is not None else 0
            uses.append(Use(node.name, node, not write, False, looping or line > end,
                            node.name in reset))
            return
        if isinstance(node, c_ast.For):
            walk(node.init, reset, looping)
            name = _initialised(node.init)  # set again before the loop runs, unless
            inner = reset | {name} if name and id(node) not in around else reset  # around us
            for part in (node.cond, node.next, node.stmt):
                walk(part, inner, looping)
            return
        if isinstance(node, c_ast.Assignment) and isinstance(node.lvalue, c_ast.ID):
            walk(node.lvalue, reset, looping, write=node.op == "=")
            walk(node.rvalue, reset, looping)
            return
        if isinstance(node, c_ast.UnaryOp) and node.op == "&" and isinstance(node.expr, c_ast.ID):
            uses.append(Use(node.expr.name, node, True, True, True, False))
            return
        for _, child in node.children():
            walk(child, reset, looping)

    walk(region.function.body, frozenset(), False)
    return uses


def _initialised(init: c_ast.Node | None) -> str | None:
    if isinstance(init, c_ast.Assignment) and init.op == "=" and isinstance(init.lvalue, c_ast.ID):
        return str(init.lvalue.name)
    return None
