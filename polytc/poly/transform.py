"""Schedule transformations by hand: interchange, skew, shift, tile, fuse and
distribute at a band of an isl schedule tree.

Input: a schedule tree ``T`` (an ``isl.Schedule`` such as ``kernel.schedule``,
or its text).  Output: a new ``isl.Schedule``, ready for
``polytc.compile(text, schedule=...)``, which checks it like any schedule of
the user's (an illegal one raises
:class:`~polytc.poly.legality.IllegalScheduleError` naming the violated
dependence and a witness pair).  No function here checks legality: a
researcher may build an illegal schedule on purpose and ask why it is.

A band is addressed by ``band``: an ``int`` ``k`` (the ``k``-th band node of
the tree in pre-order, as :func:`bands` lists them), a statement name (the
outermost band over that statement) or an ``isl.ScheduleNode`` at a band.
Members are 0-based.  With ``θ = (θ_0, …, θ_{n-1})`` the band's partial
schedule (per statement ``S``, ``θ_m(S[i])`` is an affine expression):

* :func:`interchange` ``(a, b)``:  ``θ'_a = θ_b``, ``θ'_b = θ_a``;
* :func:`skew` ``(target, source, f)``:  ``θ'_target = θ_target + f·θ_source``;
* :func:`shift` ``(m, {S: c})``:  ``θ'_m(S[i]) = θ_m(S[i]) + c_S`` (0 for
  statements not named);
* :func:`tile` ``(sizes)``: isl's band tiling, a tile band ``s·⌊θ/s⌋`` above
  a point band ``θ mod s``;
* :func:`fuse` ``(bands, depth)``: the outer ``depth`` members of bands that
  are the top bands of consecutive children of one sequence node become one
  band above that sequence (``θ' = ∪_S θ_S``), the rest stays below;
* :func:`distribute` ``(band, groups)``: a sequence node above the band, one
  child per group of statements, each with its own copy of the band.

Band flags (``permutable``, ``coincident``) are never guessed.  With
``deps=`` (the program's dependences ``δ``: a
:class:`~polytc.poly.dependences.Dependences` or an ``isl.UnionMap``) every
band ``B`` of the result gets them recomputed: with ``P_B`` the pairs of
``δ`` between instances below ``B`` whose outer schedule (bands above ``B``)
is equal, ``B`` is permutable iff ``θ_m(t) - θ_m(s) >= 0`` on ``P_B`` for
every member ``m`` (so any order or tiling of ``B`` keeps ``P_B`` forward),
and member ``m`` is coincident iff ``θ_m(t) = θ_m(s)`` on ``P_B`` (parallel
whatever the order of the band's members).  Without ``deps``, a band a
transformation changes keeps only what it provably preserves: interchange and
tile keep ``permutable`` (any permutation or tiling of a permutable band is
one) but clear ``coincident`` (a loop-level flag may not survive a new
order), distribute keeps both (each copy runs a subset of the dependences),
skew, shift and fuse clear both; other bands keep theirs.  Code generation
recomputes parallel loops from the dependences in any case.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence, Union

import islpy as isl

from polytc.errors import ScheduleError
from polytc.poly.dependences import Dependences
from polytc.poly.bands import parallel_at_band, pending_dependences
from polytc.tiling.bands import rebuild

_NODE = isl.schedule_node_type
BandRef = Union[int, str, isl.ScheduleNode]
ScheduleLike = Union[isl.Schedule, str]
DepsLike = Union[Dependences, isl.UnionMap, None]
Path = tuple[int, ...]


class TransformError(ScheduleError):
    """A transformation cannot be applied as asked (no such band, member or
    statement; bands that are not siblings); the message says which."""


# -- addressing bands ----------------------------------------------------------
def bands(schedule: ScheduleLike) -> list[isl.ScheduleNode]:
    """The band nodes of ``schedule`` in pre-order (band ``k`` is the ``k``-th)."""
    tree = _tree(schedule)
    return [_at(tree, path) for path in _band_paths(tree)]


def describe(schedule: ScheduleLike) -> str:
    """One line per band: its index, members and statements, flags."""
    lines = []
    for k, node in enumerate(bands(schedule)):
        n = node.band_n_member()
        flags = ", permutable" if node.band_get_permutable() else ""
        coincident = [str(m) for m in range(n) if node.band_member_get_coincident(m)]
        parallel = f", coincident member{'s' * (len(coincident) > 1)} " \
            f"{', '.join(coincident)}" if coincident else ""
        lines.append(f"band {k}: {n} member{'s' * (n != 1)} over "
                     f"{', '.join(_statements(node))}{flags}{parallel}")
    return "\n".join(lines)


def _tree(schedule: ScheduleLike) -> isl.Schedule:
    if isinstance(schedule, isl.Schedule):
        return schedule
    if isinstance(schedule, str):
        try:
            return isl.Schedule.read_from_str(isl.DEFAULT_CONTEXT, schedule)
        except isl.Error as error:
            raise TransformError(f"cannot read the schedule tree text: {error}") from None
    raise TransformError(f"a transformation takes an isl.Schedule (a tree, such as "
                         f"kernel.schedule) or its text, not {type(schedule).__name__} "
                         f"{schedule!r}")


def _band_paths(tree: isl.Schedule) -> list[Path]:
    found: list[Path] = []

    def visit(node: isl.ScheduleNode, path: Path) -> None:
        if node.get_type() == _NODE.band:
            found.append(path)
        for child in range(node.n_children()):
            visit(node.child(child), path + (child,))
    visit(tree.get_root(), ())
    return found


def _at(tree: isl.Schedule, path: Path) -> isl.ScheduleNode:
    node = tree.get_root()
    for child in path:
        node = node.child(child)
    return node


def _path(node: isl.ScheduleNode) -> Path:
    path: list[int] = []
    while node.has_parent():
        path.append(node.get_child_position())
        node = node.parent()
    return tuple(reversed(path))


def _statements(node: isl.ScheduleNode) -> list[str]:
    """The statements with instances at ``node`` (passing it, for a filter)."""
    domain = node.get_domain()
    if node.get_type() == _NODE.filter:
        domain = domain.intersect(node.filter_get_filter())
    sets = domain.get_set_list()
    names = {str(sets.get_at(i).get_tuple_name()) for i in range(sets.n_set())}
    return sorted(names, key=_natural)


def _natural(name: str) -> tuple[str, int]:
    match = re.match(r"^(.*?)(\d*)$", name)
    assert match is not None
    return match.group(1), int(match.group(2)) if match.group(2) else -1


def _find(tree: isl.Schedule, band: BandRef) -> isl.ScheduleNode:
    """The band node ``band`` addresses (see the module docstring)."""
    paths = _band_paths(tree)
    if isinstance(band, isl.ScheduleNode):
        if _path(band) not in paths:
            raise TransformError("the node given is not a band node of this schedule tree")
        return _at(tree, _path(band))
    if isinstance(band, bool) or not isinstance(band, (int, str)):
        raise TransformError(f"a band is an int, a statement name or a schedule node, "
                             f"not {band!r}")
    if isinstance(band, int):
        if not 0 <= band < len(paths):
            raise TransformError(f"no band {band}: the schedule has {len(paths)} band"
                                 f"{'s' * (len(paths) != 1)} (0 to {len(paths) - 1})")
        return _at(tree, paths[band])
    nodes = [_at(tree, path) for path in paths]
    for node in nodes:
        if band in _statements(node):
            return node
    known = sorted({name for node in nodes for name in _statements(node)}, key=_natural)
    raise TransformError(f"no band runs statement {band!r} (statements in bands: "
                         f"{', '.join(known) or 'none'})")


def _member(node: isl.ScheduleNode, member: int, role: str) -> int:
    n = node.band_n_member()
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < n:
        raise TransformError(f"{role} member {member!r} does not exist: the band over "
                             f"{', '.join(_statements(node))} has members 0 to {n - 1}")
    return member


# -- flags -----------------------------------------------------------------------
def with_flags(schedule: ScheduleLike, deps: Dependences | isl.UnionMap) -> isl.Schedule:
    """``schedule`` with every band's ``permutable`` and ``coincident`` flags
    recomputed from ``deps`` (the contract is in the module docstring)."""
    relation = deps.all if isinstance(deps, Dependences) else deps
    tree = _tree(schedule)
    for path in _band_paths(tree):
        node = _at(tree, path)
        pending = pending_dependences(node, relation)
        node = node.band_set_permutable(int(_forward(node, pending)))
        for member, flag in enumerate(parallel_at_band(node, relation)):
            node = node.band_member_set_coincident(member, int(flag))
        tree = node.get_schedule()
    return tree


def _forward(node: isl.ScheduleNode, pending: isl.UnionMap) -> bool:
    """Every member runs every pair of ``pending`` forward or at once."""
    partial = node.band_get_partial_schedule()
    for member in range(node.band_n_member()):
        theta = isl.UnionMap.from_union_pw_aff(partial.get_at(member))
        if not pending.is_subset(theta.lex_le_union_map(theta)):
            return False
    return True


def _finish(node: isl.ScheduleNode, deps: DepsLike) -> isl.Schedule:
    tree = node.get_schedule()
    return tree if deps is None else with_flags(tree, deps)


def _clear(node: isl.ScheduleNode, permutable: bool = False) -> isl.ScheduleNode:
    """The band at ``node`` with no coincident member, permutable only if asked."""
    node = node.band_set_permutable(int(permutable))
    for member in range(node.band_n_member()):
        node = node.band_member_set_coincident(member, 0)
    return node


# -- the transformations -----------------------------------------------------------
def interchange(schedule: ScheduleLike, band: BandRef, first: int, second: int, *,
                deps: DepsLike = None) -> isl.Schedule:
    """Swap members ``first`` and ``second`` of ``band`` (loop interchange)."""
    node = _find(_tree(schedule), band)
    a, b = _member(node, first, "first"), _member(node, second, "second")
    partial = node.band_get_partial_schedule()
    swapped = partial.set_at(a, partial.get_at(b)).set_at(b, partial.get_at(a))
    node = _clear(rebuild(node, swapped, False), bool(node.band_get_permutable()))
    return _finish(node, deps)


def skew(schedule: ScheduleLike, band: BandRef, target: int, source: int,
         factor: int = 1, *, deps: DepsLike = None) -> isl.Schedule:
    """Add ``factor`` times member ``source`` to member ``target`` of ``band``."""
    node = _find(_tree(schedule), band)
    t, s = _member(node, target, "target"), _member(node, source, "source")
    if t == s:
        raise TransformError(f"cannot skew member {t} by itself (that is a scaling)")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor == 0:
        raise TransformError(f"the skewing factor must be a non-zero int, not {factor!r}")
    partial = node.band_get_partial_schedule()
    ctx = partial.get_ctx()
    skewed_member = partial.get_at(t).add(partial.get_at(s).scale_val(isl.Val.int_from_si(
        ctx, factor)))
    node = _clear(rebuild(node, partial.set_at(t, skewed_member), False))
    return _finish(node, deps)


def shift(schedule: ScheduleLike, band: BandRef, member: int,
          offsets: Mapping[str, int], *, deps: DepsLike = None) -> isl.Schedule:
    """Add the constant ``offsets[S]`` to member ``member`` of ``band`` for
    each statement ``S`` named (loop shifting, e.g. before fusion)."""
    node = _find(_tree(schedule), band)
    m = _member(node, member, "shifted")
    names = _statements(node)
    unknown = sorted(set(offsets) - set(names), key=_natural)
    if unknown:
        raise TransformError(f"cannot shift {', '.join(unknown)}: the band runs "
                             f"{', '.join(names)}")
    partial = node.band_get_partial_schedule()
    ctx = partial.get_ctx()
    delta: isl.UnionPwAff | None = None
    domain_sets = node.get_domain().get_set_list()
    for i in range(domain_sets.n_set()):
        piece = domain_sets.get_at(i)
        value = offsets.get(str(piece.get_tuple_name()), 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TransformError(f"the offset of {piece.get_tuple_name()} must be an int, "
                                 f"not {value!r}")
        constant = isl.UnionPwAff.val_on_domain(isl.UnionSet.from_set(piece),
                                                isl.Val.int_from_si(ctx, value))
        delta = constant if delta is None else delta.union_add(constant)
    assert delta is not None
    shifted = partial.set_at(m, partial.get_at(m).add(delta))
    node = _clear(rebuild(node, shifted, False))
    return _finish(node, deps)


def tile(schedule: ScheduleLike, band: BandRef, sizes: int | Sequence[int], *,
         deps: DepsLike = None) -> isl.Schedule:
    """Tile ``band`` with ``sizes`` (one int for every member, or one per
    member): a tile band above a point band."""
    node = _find(_tree(schedule), band)
    n = node.band_n_member()
    values = [sizes] * n if isinstance(sizes, int) else list(sizes)
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                               for v in values):
        raise TransformError(f"tile sizes {sizes!r}: give one positive int, or {n} (one per "
                             f"member of the band over {', '.join(_statements(node))})")
    multi = isl.MultiVal.zero(node.band_get_space())
    for position, value in enumerate(values):
        multi = multi.set_val(position, isl.Val.int_from_si(node.get_ctx(), value))
    permutable = bool(node.band_get_permutable())
    tiles = _clear(node.band_tile(multi), permutable)
    points = _clear(tiles.child(0), permutable)
    return _finish(points.parent(), deps)


def distribute(schedule: ScheduleLike, band: BandRef,
               groups: Sequence[Sequence[str]] | None = None, *,
               deps: DepsLike = None) -> isl.Schedule:
    """Split ``band`` into one loop nest per group of statements, run in the
    order of ``groups`` (default: each statement alone, in the order of the
    sequence below the band when there is one, else by name)."""
    node = _find(_tree(schedule), band)
    names = _statements(node)
    order = [list(g) for g in groups] if groups is not None else _default_groups(node, names)
    flat = [name for group in order for name in group]
    if sorted(flat, key=_natural) != names or any(not group for group in order):
        raise TransformError(f"distribution groups {order} must split the statements of the "
                             f"band ({', '.join(names)}), each exactly once")
    if len(order) < 2:
        raise TransformError(f"distributing into {len(order)} group leaves the band whole: "
                             "give at least two groups")
    filters = isl.UnionSetList.alloc(node.get_ctx(), len(order))
    for group in order:
        filters = filters.add(_restricted(node.get_domain(), group))
    return _finish(node.insert_sequence(filters), deps)


def _default_groups(node: isl.ScheduleNode, names: list[str]) -> list[list[str]]:
    child = node.child(0)
    if child.get_type() != _NODE.sequence:
        return [[name] for name in names]
    ordered: list[str] = []
    for position in range(child.n_children()):
        below = child.child(position)
        ordered.extend(n for n in _statements(below) if n not in ordered)
    return [[name] for name in ordered] + [[n] for n in names if n not in ordered]


def _restricted(domain: isl.UnionSet, names: Sequence[str]) -> isl.UnionSet:
    result = isl.UnionSet.empty(domain.get_space())
    sets = domain.get_set_list()
    for i in range(sets.n_set()):
        if sets.get_at(i).get_tuple_name() in names:
            result = result.union(isl.UnionSet.from_set(sets.get_at(i)))
    return result


def fuse(schedule: ScheduleLike, fused: Sequence[BandRef], depth: int | None = None, *,
         deps: DepsLike = None) -> isl.Schedule:
    """Fuse the outer ``depth`` members (default: as many as the shortest
    band has) of the bands ``fused``: each must be the top band of a child of
    one sequence node, and those children must be consecutive.  The fused
    band goes above a sequence of the children, which keeps their order."""
    tree = _tree(schedule)
    nodes = [_find(tree, ref) for ref in fused]
    if len(nodes) < 2:
        raise TransformError("fusion needs at least two bands")
    parent, positions = _siblings(nodes)
    depth = min(n.band_n_member() for n in nodes) if depth is None else depth
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1 or \
            any(n.band_n_member() < depth for n in nodes):
        raise TransformError(f"fusion depth {depth!r}: each band has "
                             f"{[n.band_n_member() for n in nodes]} members; give 1 to "
                             f"{min(n.band_n_member() for n in nodes)}")
    sequence = _grouped(_at(tree, parent), positions)
    partial: isl.MultiUnionPwAff | None = None
    for position in range(sequence.n_children()):
        node = sequence.child(position).child(0)
        if node.band_n_member() > depth:
            node = node.band_split(depth)
        piece = node.band_get_partial_schedule()
        partial = piece if partial is None else partial.union_add(piece)
        sequence = node.delete().parent().parent()
    assert partial is not None
    node = _clear(sequence.insert_partial_schedule(partial))
    return _finish(node, deps)


def _siblings(nodes: list[isl.ScheduleNode]) -> tuple[Path, list[int]]:
    """The path of the sequence node whose children the bands top, and their
    child positions (consecutive, sorted)."""
    paths = [_path(n) for n in nodes]
    parents = {p[:-2] for p in paths}
    parent = _at(nodes[0].get_schedule(), paths[0][:-2]) if len(paths[0]) >= 2 else None
    if len(parents) != 1 or parent is None or parent.get_type() != _NODE.sequence:
        where = "; ".join(f"band over {', '.join(_statements(n))}" for n in nodes)
        raise TransformError(f"cannot fuse ({where}): fusion takes bands that are each "
                             "the first node under a child of one sequence node")
    positions = sorted(p[-2] for p in paths)
    if len(set(positions)) != len(positions):
        raise TransformError("fusion was given the same band twice")
    if positions != list(range(positions[0], positions[-1] + 1)):
        between = [name for c in range(positions[0], positions[-1] + 1)
                   if c not in positions for name in _statements(parent.child(c))]
        raise TransformError(f"cannot fuse: the bands are not consecutive children of their "
                             f"sequence ({', '.join(between)} run between them); fuse those "
                             "too, or distribute them out first")
    return paths[0][:-2], positions


def _grouped(sequence: isl.ScheduleNode, positions: list[int]) -> isl.ScheduleNode:
    """The sequence node whose children are exactly ``positions`` of
    ``sequence``: itself, or a new inner sequence grouping them."""
    n = sequence.n_children()
    if positions == list(range(n)):
        return sequence
    groups: list[isl.UnionSet] = []
    for child in range(n):
        piece = sequence.child(child).filter_get_filter()
        if child in positions[1:]:
            groups[-1] = groups[-1].union(piece)
        else:
            groups.append(piece)
    filters = isl.UnionSetList.alloc(sequence.get_ctx(), len(groups))
    for group in groups:
        filters = filters.add(group)
    outer = sequence.insert_sequence(filters)
    inner = outer.child(positions[0]).child(0)
    if inner.get_type() != _NODE.sequence or inner.n_children() != len(positions):
        raise TransformError("isl did not keep the fused children as one sequence")
    return inner
