"""The user's side of the graph layer: :class:`Graph`, :class:`Op`, :class:`Value`.

A graph has inputs (``g.input``), ops (``g.op``: a TC def or bare
statements, each input bound to a value) and outputs (``g.output``).  A
value is a graph input or one output of an op; where one is expected, an op
with a single output stands for it, and a string names it (``"X"`` a graph
input, ``"fc1"`` or ``"fc1.Y"`` an op's output), which allows forward
references.  Nothing is resolved until :meth:`Graph.lower`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Union

from polytc import dtypes, frontend
from polytc.errors import GraphError, SourceError, TcSyntaxError
from polytc.frontend.builtins import BUILTINS
from polytc.frontend.lexer import KEYWORDS, SCALAR_TYPES, tokenize
from polytc.graph.ops import OpInterface, analyze

if TYPE_CHECKING:
    from polytc.codegen_c.kernel import Kernel
    from polytc.graph.lower import LoweredGraph


@dataclass(frozen=True, slots=True)
class Value:
    """A tensor of a graph: graph input ``tensor`` (``op is None``) or output
    ``tensor`` of op ``op``.  ``str(value)`` is how a string names it."""

    graph: "Graph" = field(repr=False, compare=False)
    op: str | None
    tensor: str

    def __str__(self) -> str:
        return self.tensor if self.op is None else f"{self.op}.{self.tensor}"


@dataclass(frozen=True, slots=True)
class InputDecl:
    """A graph input: its name and, when declared, dtype and dims."""

    name: str
    dtype: str | None
    dims: tuple[str | int, ...] | None


class Op:
    """An op of a graph: ``op["Y"]`` (or ``op.output("Y")``) is its output
    ``Y``; an op with one output may be passed wherever a value goes."""

    def __init__(self, graph: "Graph", name: str, interface: OpInterface,
                 bindings: dict[str, "Ref"]) -> None:
        self.graph = graph
        self.name = name
        self.interface = interface
        self.bindings = bindings

    @property
    def text(self) -> str:
        return self.interface.text

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.interface.inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.interface.outputs)

    def output(self, name: str | None = None) -> Value:
        """Output ``name``; with no name, the only output."""
        if name is None:
            if len(self.outputs) != 1:
                raise GraphError(f"op '{self.name}' has {len(self.outputs)} outputs "
                                 f"({', '.join(self.outputs)}); select one: "
                                 f"{self.name}[{self.outputs[0]!r}]", (self.name,))
            name = self.outputs[0]
        if name not in self.outputs:
            raise GraphError(f"op '{self.name}' has no output '{name}'; its outputs are "
                             f"{', '.join(self.outputs)}", (self.name,))
        return Value(self.graph, self.name, name)

    def __getitem__(self, name: str) -> Value:
        return self.output(name)

    def __repr__(self) -> str:
        bound = ", ".join(f"{k}={v}" for k, v in self.bindings.items())
        return f"<polytc.graph.Op {self.name}({bound}) -> ({', '.join(self.outputs)})>"


Ref = Union[Value, str]
ValueLike = Union[Value, Op, str]


class Graph:
    """TC ops chained into one kernel::

        g = polytc.Graph("mlp")
        h = g.op(FC, X=g.input("X", "float(B,K)"), W=g.input("W1"), b=g.input("b1"))
        g.output(g.op(RELU, I=h), name="Y")
        kernel = g.compile(fuse="smart")        # kernel(X, W1, b1) -> Y

    The whole graph becomes one TC def (see :meth:`lower`), scheduled and
    compiled as one C function; intermediate tensors are its temporaries.
    Ops share sizes through data flow (a consumer's input sizes are its
    producer's output extents) and through size names: those written in
    :meth:`input` types, and those an untyped input takes from its reader.
    """

    def __init__(self, name: str = "graph") -> None:
        _check_identifier(name, "graph name")
        self.name = name
        self.inputs: dict[str, InputDecl] = {}
        self.ops: dict[str, Op] = {}
        self.outputs: dict[str, Ref] = {}

    def input(self, name: str, type: str | None = None) -> Value:  # noqa: A002
        """Declare graph input ``name``; ``type`` is TC text such as
        ``"float(B,K)"`` (its size names are the graph's).  Without a type,
        it takes the type its first reader declares, and the reader's size
        names become graph sizes unless already bound by the reader's
        other inputs.  Inputs are the kernel's arguments, in this order."""
        _check_identifier(name, "input name")
        if name in self.inputs:
            raise GraphError(f"graph input '{name}' is declared twice")
        if name in self.ops:
            raise GraphError(f"graph input '{name}' has the name of an op; rename one")
        dtype, dims = (None, None) if type is None else _parse_type(type, name)
        self.inputs[name] = InputDecl(name, dtype, dims)
        return Value(self, None, name)

    def op(self, text: str, inputs: Mapping[str, ValueLike] | None = None, *,
           name: str | None = None, entry: str | None = None, dtype: str | None = None,
           **bindings: ValueLike) -> Op:
        """Add an op: TC ``text`` (a def, ``entry`` choosing among several, or
        bare statements whose inputs are float32 unless ``dtype``), each of
        its inputs bound to a value by keyword (or through ``inputs``).
        ``name`` defaults to the def's name; it prefixes the op's tensors."""
        if name is None:
            name = self._default_name(text, entry)
        _check_identifier(name, "op name")
        if name in self.ops or name in self.inputs:
            raise GraphError(f"an op or input named '{name}' already exists", (name,))
        interface = analyze(text, entry, dtype, name)
        given = {**(inputs or {}), **bindings}
        declared = tuple(p.name for p in interface.inputs)
        unknown = [k for k in given if k not in declared]
        if unknown:
            raise GraphError(f"op '{name}' has no input '{unknown[0]}'; its inputs are "
                             f"{', '.join(declared) or '(none)'}", (name,))
        missing = [k for k in declared if k not in given]
        if missing:
            raise GraphError(f"op '{name}': input{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)} not bound; pass "
                             f"{', '.join(m + '=...' for m in missing)}", (name,))
        op = Op(self, name, interface, {k: self._ref(given[k], f"input '{k}' of op "
                                                     f"'{name}'") for k in declared})
        self.ops[name] = op
        return op

    def output(self, value: ValueLike, name: str | None = None) -> Value:
        """Make ``value`` an output of the compiled kernel, called ``name``
        (default: the op's name for it).  Outputs are returned in this order."""
        ref = self._ref(value, "a graph output")
        if isinstance(ref, Value) and ref.op is None:
            raise GraphError(f"graph output '{name or ref}' is graph input '{ref}'; an output "
                             "must be computed by an op")
        if name is None:
            name = ref.tensor if isinstance(ref, Value) else self._output_name(ref)
        _check_identifier(name, "output name")
        if name in self.outputs:
            raise GraphError(f"graph output '{name}' is declared twice; pass name=")
        if name in self.inputs:
            raise GraphError(f"graph output '{name}' has the name of a graph input; pass name=")
        self.outputs[name] = ref
        return ref if isinstance(ref, Value) else Value(self, None, ref)

    # -- results ---------------------------------------------------------------
    def lower(self) -> "LoweredGraph":
        """The graph as one TC def, with its bookkeeping (see :mod:`.lower`)."""
        from polytc.graph.lower import lower
        return lower(self)

    def compile(self, **options: Any) -> "Kernel":
        """One :class:`polytc.Kernel` for the whole graph (options as
        :func:`polytc.compile`): inputs in declaration order, outputs in
        :meth:`output` order; intermediates are internal."""
        return self.lower().compile(**options)

    def __repr__(self) -> str:
        return (f"<polytc.Graph {self.name}: inputs {', '.join(self.inputs)}; ops "
                f"{', '.join(self.ops)}; outputs {', '.join(self.outputs)}>")

    def _output_name(self, ref: str) -> str:
        """The name an output given by string gets: the op's name for it."""
        if "." in ref:
            return ref.split(".")[-1]
        if ref in self.ops and len(self.ops[ref].outputs) == 1:
            return self.ops[ref].outputs[0]
        return ref

    def _default_name(self, text: str, entry: str | None) -> str:
        """The def's name (``op`` for bare statements), numbered when taken."""
        try:
            definition = frontend.select(frontend.parse(text), entry, text)
            base = "op" if definition.bare else definition.name.name
        except SourceError:
            base = "op"  # analyze() reports it
        name, count = base, 1
        while name in self.ops:
            count += 1
            name = f"{base}_{count}"
        return name

    def _ref(self, value: ValueLike, what: str) -> Ref:
        if isinstance(value, Op):
            value = value.output()
        if isinstance(value, Value):
            if value.graph is not self:
                raise GraphError(f"{what} is bound to '{value}' of another graph")
            return value
        if isinstance(value, str):
            return value
        raise GraphError(f"{what} must be a value of the graph (from g.input or g.op) "
                         f"or its name, not {type(value).__name__}")


def _check_identifier(name: str, what: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name in KEYWORDS \
            or name in BUILTINS or not name.isascii():
        raise GraphError(f"{what} {name!r} is not a valid TC identifier")


def _parse_type(text: str, name: str) -> tuple[str, tuple[str | int, ...]]:
    """``"float(B, 4)"`` -> ``("float32", ("B", 4))``."""
    try:
        tokens = [t for t in tokenize(text) if t.kind != "eof"]
    except TcSyntaxError as error:
        raise GraphError(f"type {text!r} of input '{name}': {error.message}") from None
    if not tokens or tokens[0].text not in SCALAR_TYPES:
        raise GraphError(f"type {text!r} of input '{name}' must start with a TC type "
                         f"({', '.join(SCALAR_TYPES)})")
    dtype = dtypes.canonical(tokens[0].text)
    if dtype not in dtypes.SUPPORTED:
        raise GraphError(f"type {text!r} of input '{name}': {dtype} is not supported")
    rest = [t.text for t in tokens[1:]]
    if not rest:
        return dtype, ()
    if rest[0] != "(" or rest[-1] != ")":
        raise GraphError(f"type {text!r} of input '{name}': expected sizes in parentheses, "
                         "e.g. float(M, 4)")
    dims: list[str | int] = []
    items = rest[1:-1]
    for position, item in enumerate(items):
        if position % 2 == 1:
            if item != ",":
                raise GraphError(f"type {text!r} of input '{name}': expected ',' not {item!r}")
        elif item.isdigit():
            dims.append(int(item))
        elif item.isidentifier() and item not in KEYWORDS and item not in BUILTINS:
            dims.append(item)
        else:
            raise GraphError(f"type {text!r} of input '{name}': {item!r} is not a size name "
                             "or an integer")
    if items and items[-1] == ",":
        raise GraphError(f"type {text!r} of input '{name}': trailing ','")
    return dtype, tuple(dims)
