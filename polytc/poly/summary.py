"""What a schedule tree does, as data and as a short text.

Input: an ``isl.Schedule`` (any tree: polytc's, isl's, a user's).
Output: a frozen :class:`ScheduleSummary`:

* ``statements`` — every statement with instances in the tree, in program
  order when the program is given, else in natural name order.
* ``items`` — the tree's band, sequence/set, mark and other nodes in
  pre-order (children of a ``set`` node, which are unordered, sorted by their
  first statement so the summary is deterministic).  A band ``B`` at tree
  position ``p`` records ``level`` (bands above it), ``depth`` (band members
  above it: the loop depth it starts at), its statements, its member count,
  ``permutable`` and the ``coincident`` (parallel) members, and per statement
  ``S`` its partial schedule ``S[i] -> [f_1(i), ..., f_n(i)]``.
* ``fused_groups`` — the classes of the relation "S and T share a loop":
  ``S ~ T`` iff some band with at least one member covers instances of both.
  The outermost bands induce it (an inner band's statements are a subset of
  its enclosing band's), so a group is the statement set of an outermost band
  (closed under union when a statement's instances are split); a statement
  outside every band is a group of its own.  Groups are in execution order.
* ``max_depth`` — ``max`` over leaves of the number of band members above
  it: the depth of the deepest loop nest.

``str(summary)`` is a compact multi-line text; :func:`loop_nest` renders the
tree as Halide-style nested ``for`` loops.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Union

import islpy as isl

from polytc.isl_util import set_list
from polytc.program import Program, Statement, statement_target_text, to_text

_NODE = isl.schedule_node_type
_SIMPLE = re.compile(r"^(?P<domain>[^:;{}]*?) -> \[\((?P<expr>[^:;{}]*)\)\]$")


@dataclass(frozen=True, slots=True)
class BandSummary:
    """One band node.  Per statement (aligned with ``statements``),
    ``tuples`` holds its instance tuple ``S[i, j]`` and ``expressions`` its
    member expressions ``(e_1, ..., e_n)``; ``members`` holds one label per
    member: its expression when every statement has the same one, else
    ``#k``."""

    level: int
    depth: int
    indent: int
    statements: tuple[str, ...]
    n_member: int
    permutable: bool
    coincident: tuple[bool, ...]
    members: tuple[str, ...]
    tuples: tuple[str, ...]
    expressions: tuple[tuple[str, ...], ...]

    @property
    def parallel(self) -> tuple[str, ...]:
        """Labels of the coincident members."""
        return tuple(m for m, flag in zip(self.members, self.coincident) if flag)

    @property
    def schedules(self) -> tuple[tuple[str, str], ...]:
        """``(statement, "S[i, j] -> [e_1, ..., e_n]")`` pairs."""
        return tuple((name, f"{tup} -> [{', '.join(exprs)}]") for name, tup, exprs
                     in zip(self.statements, self.tuples, self.expressions))

    def lines(self) -> list[str]:
        pad = "  " * self.indent
        count = f"{self.n_member} member{'s' if self.n_member != 1 else ''}"
        flags = count + (", permutable" if self.permutable else "")
        parallel = f"parallel: {', '.join(self.parallel)}" if self.parallel else "sequential"
        head = f"{pad}band {self.level}: {', '.join(self.statements)} | {flags} | {parallel}"
        return [head] + [f"{pad}  {text}" for _, text in self.schedules]


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """A ``sequence`` (children run in order) or ``set`` (any order) node;
    ``children`` are the statements under each child."""

    kind: str
    indent: int
    children: tuple[tuple[str, ...], ...]

    def lines(self) -> list[str]:
        groups = " | ".join(", ".join(child) for child in self.children)
        return [f"{'  ' * self.indent}{self.kind}: {groups}"]


@dataclass(frozen=True, slots=True)
class OtherSummary:
    """A mark (``text`` is its id), context, guard, extension or expansion."""

    kind: str
    indent: int
    text: str = ""

    def lines(self) -> list[str]:
        return [f"{'  ' * self.indent}{self.kind}{': ' + self.text if self.text else ''}"]


NodeSummary = Union[BandSummary, OrderSummary, OtherSummary]


@dataclass(frozen=True, slots=True)
class ScheduleSummary:
    """See the module docstring."""

    statements: tuple[str, ...]
    items: tuple[NodeSummary, ...]
    fused_groups: tuple[tuple[str, ...], ...]
    max_depth: int

    @property
    def bands(self) -> tuple[BandSummary, ...]:
        return tuple(item for item in self.items if isinstance(item, BandSummary))

    def __str__(self) -> str:
        lines = [line for item in self.items for line in item.lines()]
        groups = ", ".join("{" + ", ".join(group) + "}" for group in self.fused_groups)
        lines.append(f"fused groups: {groups}")
        lines.append(f"max depth: {self.max_depth}")
        return "\n".join(lines)


def summarize(schedule: isl.Schedule, program: Program | None = None) -> ScheduleSummary:
    """The :class:`ScheduleSummary` of ``schedule``.  With ``program``,
    statements are listed in program order (else in natural name order)."""
    walker = _Walker(_statement_key(program))
    walker.visit(schedule.get_root(), 0, 0)
    statements = walker.sort(walker.leaf_order)
    return ScheduleSummary(statements, tuple(walker.items), walker.groups(), walker.max_depth)


def loop_nest(schedule: isl.Schedule, program: Program | None = None) -> str:
    """The tree as nested loops: a band member is ``for e:`` (``parallel
    for`` when coincident; ``e`` the member's label, with per-statement
    expressions when they differ), a set node ``any order:``, a leaf its
    statements (their TC text when ``program`` is given)."""
    key = _statement_key(program)
    texts = {s.name: f"{s.name}: {statement_text(s)}"
             for s in (program.statements if program else ())}
    lines: list[str] = []
    _nest(schedule.get_root(), 0, key, texts, lines)
    return "\n".join(lines)


# -- walking ----------------------------------------------------------------
class _Walker:
    """Pre-order walk collecting node summaries, leaf order and unions."""

    def __init__(self, key: _Key) -> None:
        self.key = key
        self.items: list[NodeSummary] = []
        self.leaf_order: list[str] = []
        self.parent: dict[str, str] = {}
        self.max_depth = 0

    def sort(self, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(set(names), key=self.key))

    def visit(self, node: isl.ScheduleNode, level: int, indent: int) -> None:
        """Record ``node`` (``level`` bands and ``indent`` text levels above
        it) and walk its children."""
        kind = node.get_type()
        if kind == _NODE.band:
            band = _band(node, level, indent, self.key)
            self.items.append(band)
            if node.get_schedule_depth() == 0 and band.n_member > 0:
                self.union(band.statements)
            level, indent = level + 1, indent + 1
        elif kind in (_NODE.sequence, _NODE.set):
            self.items.append(self.order(node, indent))
            indent += 1
        elif kind == _NODE.leaf:
            self.leaf(node)
        elif kind not in (_NODE.domain, _NODE.filter):
            self.items.append(_other(node, indent))
        for position in self.children(node):
            self.visit(node.child(position), level, indent)

    def children(self, node: isl.ScheduleNode) -> list[int]:
        """Child positions; a set node's sorted by first statement."""
        positions = list(range(node.n_children()))
        if node.get_type() == _NODE.set:
            positions.sort(key=lambda p: min(map(self.key, _names(node.child(p))),
                                             default=(len(self.key.order), "", 0)))
        return positions

    def order(self, node: isl.ScheduleNode, indent: int) -> OrderSummary:
        kind = "sequence" if node.get_type() == _NODE.sequence else "set"
        children = tuple(self.sort(_names(node.child(p))) for p in self.children(node))
        return OrderSummary(kind, indent, children)

    def leaf(self, node: isl.ScheduleNode) -> None:
        self.max_depth = max(self.max_depth, node.get_schedule_depth())
        for name in self.sort(_names(node)):
            if name not in self.leaf_order:
                self.leaf_order.append(name)
            self.parent.setdefault(name, name)

    def find(self, name: str) -> str:
        while self.parent.setdefault(name, name) != name:
            name = self.parent[name]
        return name

    def union(self, names: tuple[str, ...]) -> None:
        for name in names[1:]:
            self.parent[self.find(name)] = self.find(names[0])

    def groups(self) -> tuple[tuple[str, ...], ...]:
        classes: dict[str, list[str]] = {}
        for name in self.leaf_order:  # execution order of first instances
            classes.setdefault(self.find(name), []).append(name)
        return tuple(self.sort(members) for members in classes.values())


def _band(node: isl.ScheduleNode, level: int, indent: int, key: _Key) -> BandSummary:
    n = node.band_n_member()
    partial = node.band_get_partial_schedule()
    domains = {str(s.get_tuple_name()): s for s in set_list(node.get_domain())}
    statements = tuple(sorted(domains, key=key))
    expressions = tuple(tuple(_expression(partial.get_at(i), domains[name]) for i in range(n))
                        for name in statements)
    members = tuple(_label(i, [exprs[i] for exprs in expressions]) for i in range(n))
    return BandSummary(level, node.get_schedule_depth(), indent, statements, n,
                       bool(node.band_get_permutable()),
                       tuple(bool(node.band_member_get_coincident(i)) for i in range(n)),
                       members, tuple(_tuple_text(domains[name].get_space())
                                      for name in statements),
                       expressions)


def _other(node: isl.ScheduleNode, indent: int) -> OtherSummary:
    kind = str(node.get_type()).rsplit(".", 1)[-1]
    if node.get_type() == _NODE.mark:
        return OtherSummary("mark", indent, str(node.mark_get_id().get_name()))
    return OtherSummary(kind, indent)


# -- text helpers -----------------------------------------------------------
def _body(value: object) -> str:
    """The part of an isl text between its outermost braces."""
    text = str(value)
    return text[text.index("{") + 1:text.rindex("}")].strip() if "{" in text else text


def _expression(member: isl.UnionPwAff, domain: isl.Set) -> str:
    """The member's expression on the statement ``domain``: ``D + d`` for
    ``[N, D] -> { S[n, d] -> [(D + d)] }`` (simplified with the domain), the
    isl body in braces when it stays piecewise."""
    space = domain.get_space().from_domain().add_dims(isl.dim_type.out, 1)
    pa = member.extract_pw_aff(space).gist(domain).coalesce()
    body = _body(pa)
    match = _SIMPLE.match(body)
    return match.group("expr") if match else "{ " + body + " }"


def _tuple_text(space: isl.Space) -> str:
    """``S1[m, n, k]`` for a statement's set space."""
    return _body(isl.Set.universe(space))


def _label(position: int, expressions: list[str]) -> str:
    return expressions[0] if expressions and len(set(expressions)) == 1 else f"#{position}"


def _names(node: isl.ScheduleNode) -> set[str]:
    """The statements with instances reaching ``node`` (passing it, for a
    filter node)."""
    domain = node.get_domain()
    if node.get_type() == _NODE.filter:
        domain = domain.intersect(node.filter_get_filter())
    return {str(s.get_tuple_name()) for s in set_list(domain) if not s.is_empty()}


# -- statement order --------------------------------------------------------
class _Key:
    """Sort key of statement names: program order when known, then natural
    order (``S2`` before ``S10``)."""

    def __init__(self, order: tuple[str, ...]) -> None:
        self.order = order

    def __call__(self, name: str) -> tuple[int, str, int]:
        position = self.order.index(name) if name in self.order else len(self.order)
        match = re.match(r"^(.*?)(\d*)$", name)
        prefix, digits = (match.group(1), match.group(2)) if match else (name, "")
        return position, prefix, int(digits) if digits else -1


def _statement_key(program: Program | None) -> _Key:
    return _Key(tuple(s.name for s in program.statements) if program else ())


# -- loop nest --------------------------------------------------------------
def _nest(node: isl.ScheduleNode, indent: int, key: _Key, texts: dict[str, str],
          lines: list[str]) -> None:
    kind, pad = node.get_type(), "  " * indent
    if kind == _NODE.band:
        band = _band(node, 0, 0, key)
        for i in range(band.n_member):
            loop = "parallel for" if band.coincident[i] else "for"
            lines.append(f"{'  ' * (indent + i)}{loop} {_nest_label(band, i)}:")
        indent += band.n_member
    elif kind == _NODE.set and node.n_children() > 1:
        lines.append(f"{pad}any order:")
        indent += 1
    elif kind == _NODE.mark:
        lines.append(f"{pad}// mark: {node.mark_get_id().get_name()}")
    elif kind == _NODE.leaf:
        names = sorted(_names(node), key=key)
        lines.extend(f"{pad}{texts.get(name, name)}" for name in names)
    positions = list(range(node.n_children()))
    if kind == _NODE.set:
        positions.sort(key=lambda p: min(map(key, _names(node.child(p))),
                                         default=(len(key.order), "", 0)))
    for position in positions:
        _nest(node.child(position), indent, key, texts, lines)


def statement_text(statement: Statement) -> str:
    """``C(i, j) += (A(i, k) * B(k, j))``: the statement as TC-like text."""
    op = "=" if statement.op == "=" else f"{statement.op}="
    return f"{statement_target_text(statement)} {op} {to_text(statement.body)}"


def _nest_label(band: BandSummary, member: int) -> str:
    label = band.members[member]
    if not label.startswith("#"):
        return label
    per_statement = ", ".join(f"{name}: {exprs[member]}"
                              for name, exprs in zip(band.statements, band.expressions))
    return f"c{band.depth + member} ({per_statement})"
