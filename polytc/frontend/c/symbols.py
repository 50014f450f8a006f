"""C declarations and types as the frontend needs them.

A :class:`Symbol` is a variable visible in a region: its element type as a
polytc dtype (``double`` -> ``float64``, LP64 sizes, plain ``char`` signed as
on x86 and ARM Linux), its array extents (pycparser expressions), where it is
declared (``param``, ``local``, ``global``) and whether it is ``static``.
:func:`arithmetic` and :func:`promoted` are C's usual arithmetic conversions
and integer promotions, which decide the type of every operation of a
statement exactly as the C compiler will.
"""
from __future__ import annotations

from dataclasses import dataclass

from pycparser import c_ast

from polytc import dtypes

_SPECIFIERS = {
    ("double",): dtypes.FLOAT64, ("float",): dtypes.FLOAT32,
    ("char",): "int8", ("char", "signed"): "int8", ("char", "unsigned"): "uint8",
    ("short",): "int16", ("int", "short"): "int16", ("short", "signed"): "int16",
    ("int", "short", "signed"): "int16", ("short", "unsigned"): "uint16",
    ("int", "short", "unsigned"): "uint16",
    ("int",): "int32", ("signed",): "int32", ("int", "signed"): "int32",
    ("unsigned",): "uint32", ("int", "unsigned"): "uint32",
    ("long",): "int64", ("int", "long"): "int64", ("long", "signed"): "int64",
    ("int", "long", "signed"): "int64", ("long", "long"): "int64",
    ("int", "long", "long"): "int64", ("long", "long", "signed"): "int64",
    ("long", "unsigned"): "uint64", ("int", "long", "unsigned"): "uint64",
    ("long", "long", "unsigned"): "uint64", ("_Bool",): dtypes.BOOL,
}
_RANK = {dtypes.BOOL: 0, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 3,
         "uint32": 3, "int64": 4, "uint64": 4}


class TypeProblem(Exception):
    """A declaration polytc cannot use; the message says why."""


@dataclass(frozen=True)
class Symbol:
    """A variable: ``dims`` are its array extents (empty for a scalar),
    ``pointer`` marks a pointer (not usable in a region)."""

    name: str
    dtype: str
    dims: tuple[c_ast.Node | None, ...]
    storage: str
    static: bool
    decl: c_ast.Decl
    pointer: bool = False

    @property
    def rank(self) -> int:
        return len(self.dims)


def c_name(dtype: str) -> str:
    """The C spelling of ``dtype``."""
    return {dtypes.FLOAT64: "double", dtypes.FLOAT32: "float", "int32": "int",
            "int8": "char"}.get(dtype, dtypes.C_TYPES[dtype])


def arithmetic(a: str, b: str) -> str:
    """C's usual arithmetic conversions: the type of ``a op b``."""
    if dtypes.FLOAT64 in (a, b):
        return dtypes.FLOAT64
    if dtypes.FLOAT32 in (a, b):
        return dtypes.FLOAT32
    a, b = promoted(a), promoted(b)
    if a == b:
        return a
    if dtypes.is_unsigned(a) == dtypes.is_unsigned(b):
        return a if _RANK[a] >= _RANK[b] else b
    unsigned, signed = (a, b) if dtypes.is_unsigned(a) else (b, a)
    if _RANK[unsigned] >= _RANK[signed]:
        return unsigned
    return signed  # LP64: a longer signed type holds every value of the unsigned one


def promoted(t: str) -> str:
    """C's integer promotions: types narrower than ``int`` become ``int``."""
    if t in _RANK and _RANK[t] < _RANK["int32"]:
        return "int32"
    return t


def element_type(node: c_ast.Node, typedefs: dict[str, c_ast.Node]) -> tuple[
        str, tuple[c_ast.Node | None, ...], bool]:
    """(dtype, array extents, pointer) of a declared type."""
    dims: list[c_ast.Node | None] = []
    pointer = False
    while True:
        if isinstance(node, c_ast.ArrayDecl):
            dims.append(node.dim)
            node = node.type
        elif isinstance(node, c_ast.PtrDecl):
            pointer = True
            node = node.type
        elif isinstance(node, c_ast.TypeDecl):
            node = node.type
        elif isinstance(node, c_ast.Typename):
            node = node.type
        elif isinstance(node, c_ast.IdentifierType):
            names = tuple(sorted(node.names))
            if len(names) == 1 and names[0] in typedefs:
                inner, more, ptr = element_type(typedefs[names[0]], typedefs)
                return inner, tuple(dims) + more, pointer or ptr
            if names not in _SPECIFIERS:
                raise TypeProblem(f"type '{' '.join(node.names)}' is not supported "
                                  "(polytc takes float, double and integer types)")
            return _SPECIFIERS[names], tuple(dims), pointer
        elif isinstance(node, c_ast.FuncDecl):
            raise TypeProblem("a function is not a variable")
        else:
            raise TypeProblem(f"type '{type(node).__name__}' is not supported "
                              "(polytc takes float, double and integer types)")


def typedefs(ast: c_ast.FileAST) -> dict[str, c_ast.Node]:
    """The file's typedef names and the types they stand for."""
    return {ext.name: ext.type for ext in ast.ext if isinstance(ext, c_ast.Typedef)}


def visible(ast: c_ast.FileAST, function: c_ast.FuncDef, path: tuple[c_ast.Node, ...],
            first: c_ast.Node | None, types: dict[str, c_ast.Node]
            ) -> tuple[dict[str, Symbol], dict[str, str]]:
    """The variables visible in a region of ``function`` whose enclosing
    statements are ``path`` and whose first item (in the last block of
    ``path``) is ``first``, and the problems of those whose type polytc
    cannot take (name -> message; a region only fails if it uses one)."""
    symbols: dict[str, Symbol] = {}
    problems: dict[str, str] = {}

    def declare(decl: c_ast.Decl, storage: str) -> None:
        if decl.name is None or isinstance(decl.type, c_ast.FuncDecl):
            return
        try:
            dtype, dims, pointer = element_type(decl.type, types)
        except TypeProblem as problem:
            problems[decl.name] = str(problem)
            symbols.pop(decl.name, None)
            return
        problems.pop(decl.name, None)
        symbols[decl.name] = Symbol(decl.name, dtype, dims, storage, "static" in decl.storage,
                                    decl, pointer)

    for ext in ast.ext:
        if ext is function:
            break
        if isinstance(ext, c_ast.Decl):
            declare(ext, "global")
    params = function.decl.type.args.params if function.decl.type.args else []
    for param in params:
        if isinstance(param, c_ast.Decl):
            declare(param, "param")
    for position, node in enumerate(path):
        if isinstance(node, c_ast.Compound):
            stop = path[position + 1] if position + 1 < len(path) else first
            for item in node.block_items or ():
                if item is stop:
                    break
                if isinstance(item, c_ast.Decl):
                    declare(item, "local")
        elif isinstance(node, c_ast.For) and isinstance(node.init, c_ast.DeclList):
            for decl in node.init.decls:
                declare(decl, "local")
    return symbols, problems
