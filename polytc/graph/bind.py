"""Binding each op's size symbols to extents over the graph's sizes.

The graph's sizes are the names written in graph input types; an input
without a type takes the type its first reader declares: a dimension bound
by the reader's other inputs takes that extent, one whose size name the user
wrote in a graph input's type is that graph size (the MLP's hidden ``N`` in
``W2``'s type), and any other becomes a new graph size named after the
reader's size, renamed ``<op>_<size>`` when another op's input already made
that name a graph size.  So two ops built from one TC text (two linear
layers) have sizes of their own unless data flow or the user's types link
them.  In
dependence order, each input of an op binds the size symbols of its
declared type to the extents of the value bound to it: a graph input's
sizes, or a producer's inferred extents with the producer's own symbols
substituted.  A symbol bound twice must get equal extents (for every value
of the sizes), a constant dimension its constant, and ranks and element
types must match; otherwise a :class:`~polytc.errors.GraphError` names the
consumer, the producer and both extents.  Two different graph sizes are
never unified behind the user's back: an op that needs them equal is an
error, fixed by naming them alike.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import islpy as isl

from polytc.errors import GraphError
from polytc.graph import extents as ext
from polytc.graph.order import Key, Resolved, describe

if TYPE_CHECKING:
    from polytc.graph.builder import Graph, Op
    from polytc.graph.ops import Port


class Binder:
    """Graph input types, value extents and each op's size bindings, filled
    op by op with :meth:`bind` (producers first)."""

    def __init__(self, graph: "Graph", resolved: Resolved) -> None:
        self.graph = graph
        self.resolved = resolved.bindings
        self.size_names: set[str] = set()
        self.adopted: set[str] = set()  # graph sizes named after an op's size
        self.types: dict[str, tuple[str, tuple[str | int, ...]]] = {}
        self.shapes: dict[Key, tuple[isl.PwAff, ...]] = {}
        self.dtypes: dict[Key, str] = {}
        self.sizes: dict[str, dict[str, isl.PwAff]] = {}
        for decl in graph.inputs.values():
            if decl.dtype is not None and decl.dims is not None:
                self._declare(decl.name, decl.dtype, decl.dims)

    def _declare(self, name: str, dtype: str, dims: tuple[str | int, ...]) -> None:
        for dim in dims:
            if isinstance(dim, str):
                if dim in self.graph.inputs or dim in self.graph.outputs:
                    raise GraphError(f"size '{dim}' of graph input '{name}' is also the name "
                                     "of a graph input or output; rename one")
                self.size_names.add(dim)
        self.types[name] = (dtype, dims)
        self.shapes[(None, name)] = tuple(ext.symbol(d) if isinstance(d, str)
                                          else ext.constant(d) for d in dims)
        self.dtypes[(None, name)] = dtype

    def input_type(self, name: str) -> tuple[str, tuple[str | int, ...]]:
        return self.types[name]

    # -- one op ---------------------------------------------------------------
    def bind(self, op: "Op") -> None:
        """Bind ``op``'s sizes from its inputs and record its outputs' extents."""
        local: dict[str, isl.PwAff] = {}
        origin: dict[str, tuple[str, Key]] = {}
        for port in op.interface.inputs:
            key = self.resolved[op.name][port.name]
            if key not in self.shapes:
                self._adopt(op.name, port, key[1], local)
            self._check_type(op.name, port, key)
            for d, (declared, actual) in enumerate(zip(port.dims, self.shapes[key])):
                where = f"dimension {d} of input '{port.name}', bound to {describe(key)}"
                if isinstance(declared, int):
                    if not ext.equal(actual, ext.constant(declared)):
                        raise self._mismatch(op.name, (key,), f"op '{op.name}' declares "
                                             f"{where} as {declared}, but its extent there "
                                             f"is {_text(actual)}")
                elif declared not in local:
                    local[declared] = actual
                    origin[declared] = (where, key)
                elif not ext.equal(local[declared], actual):
                    first, first_key = origin[declared]
                    raise self._mismatch(op.name, (first_key, key), f"op '{op.name}' needs "
                                         f"size '{declared}' equal in {first} "
                                         f"({_text(local[declared])}) and in {where} "
                                         f"({_text(actual)})")
        self.sizes[op.name] = local
        for out in op.interface.outputs:
            key = (op.name, out.name)
            self.shapes[key] = tuple(ext.substitute(e, local) for e in out.shape)
            self.dtypes[key] = out.dtype

    def _adopt(self, op: str, port: "Port", name: str, local: dict[str, isl.PwAff]) -> None:
        """Type graph input ``name`` from its first reader ``op``'s ``port``."""
        dims: list[str | int] = []
        fresh_for: dict[str, str] = {}
        for d, declared in enumerate(port.dims):
            if isinstance(declared, int):
                dims.append(declared)
            elif declared in local:
                value = local[declared]
                symbol, number = ext.as_symbol(value), ext.as_constant(value)
                if symbol is None and number is None:
                    raise GraphError(
                        f"graph input '{name}' needs a type: op '{op}' reads it with "
                        f"dimension {d} of extent {_text(value)}, which an input size cannot "
                        "express", (op,))
                dims.append(symbol if symbol is not None else int(number or 0))
            elif declared in fresh_for:
                dims.append(fresh_for[declared])
            else:
                # the op's own size: a name another op's input already made a
                # graph size is renamed (ops' sizes are linked by data flow only);
                # a size the user wrote in a graph input's type is the graph's
                taken = set(self.graph.inputs) | set(self.graph.outputs) | self.adopted
                fresh, count = declared, 1
                if fresh in taken:
                    fresh = f"{op}_{declared}"
                while fresh in taken:
                    count += 1
                    fresh = f"{op}_{declared}_{count}"
                fresh_for[declared] = fresh
                self.size_names.add(fresh)
                self.adopted.add(fresh)
                dims.append(fresh)
        self._declare(name, port.dtype, tuple(dims))

    def _check_type(self, op: str, port: "Port", key: Key) -> None:
        shape, dtype = self.shapes[key], self.dtypes[key]
        if len(shape) != len(port.dims):
            raise self._mismatch(op, (key,), f"op '{op}' declares input '{port.name}' with "
                                 f"{len(port.dims)} dimensions, but it is bound to "
                                 f"{describe(key)}, which has {len(shape)} "
                                 f"({', '.join(_text(e) for e in shape)})")
        if dtype != port.dtype:
            raise self._mismatch(op, (key,), f"op '{op}' declares input '{port.name}' as "
                                 f"{port.dtype}, but it is bound to {describe(key)}, which "
                                 f"is {dtype}")

    def _mismatch(self, op: str, keys: tuple[Key, ...], message: str) -> GraphError:
        """A :class:`GraphError` naming the producers of ``keys``, then ``op``."""
        ops = [k[0] for k in keys if k[0] is not None]
        return GraphError(message, tuple(dict.fromkeys(ops + [op])))

    # -- text -------------------------------------------------------------------
    def size_texts(self, op: str) -> dict[str, str]:
        """TC text of each of ``op``'s sizes that TC text can express."""
        texts = {}
        for name, value in self.sizes[op].items():
            text = ext.to_tc(value)
            if text is not None:
                texts[name] = text
        return texts


def _text(extent: isl.PwAff) -> str:
    return ext.to_tc(extent) or str(extent)
