"""Frontend: TC text to a :class:`~polytc.program.Program`.

``lexer`` -> ``parser`` (syntax tree with spans) -> ``signature`` and ``sema``
(names, ranks, types, accesses) -> ``ranges`` (TC's range inference, made
safe) -> ``lower`` (isl domains and accesses).
"""
from __future__ import annotations

from polytc import dtypes
from polytc.errors import RedefinitionError, TcSemanticError
from polytc.frontend import ast
from polytc.frontend.lower import lower
from polytc.frontend.parser import parse
from polytc.program import Program

__all__ = ["parse", "lower", "select", "to_program"]


def select(defs: tuple[ast.Def, ...], entry: str | None, source: str) -> ast.Def:
    """The def named ``entry``; with no entry, the only def."""
    seen: dict[str, ast.Def] = {}
    for definition in defs:
        name = definition.name.name
        if name in seen:
            raise RedefinitionError(f"def '{name}' is defined twice", definition.name.span,
                                    source)
        seen[name] = definition
    if entry is None:
        if len(defs) > 1:
            raise TcSemanticError(f"the text has {len(defs)} defs ({', '.join(seen)}); pass "
                                  "entry= to choose one", defs[1].name.span, source)
        return defs[0]
    if entry not in seen:
        raise TcSemanticError(f"no def named '{entry}'; the text defines {', '.join(seen)}",
                              defs[0].name.span, source)
    return seen[entry]


def to_program(text: str, entry: str | None = None, *, dtype: str | None = None) -> Program:
    """Parse, select and lower in one call."""
    definition = select(parse(text), entry, text)
    return lower(definition, text, dtype=dtypes.canonical(dtype or dtypes.FLOAT32))
