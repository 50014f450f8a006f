"""Diamond tiles for a time band: tiles that all start at once.

A time band (member 0 the time hyperplane ``p0``, member 1 the first space
hyperplane ``p1``, both with no negative dependence distance) tiled along
``p0`` and ``p1`` runs its tiles along wavefronts ``floor(p0 / s) + floor(p1
/ s)``: at the first time steps the wavefront number grows with the space
coordinate, so the tiles of the first steps start one after another (a
pipelined start).  Diamond tiling (Bandishti, Pananilath and Bondhugula,
SC'12) tiles along the *mirror* of ``p1`` instead of ``p0``::

    m = b * p0 - p1 + c_S        (b >= 1, one constant c_S per statement)

with ``b`` and the constants the smallest that leave every dependence of the
band a non-negative distance along ``m``.  Then ``m + p1 = b * p0 + c_S``:
along a time step the wavefront number of the tile loops is constant up to
the constants, and every tile of the first steps starts at once
(concurrent start).  Only the tile loops use ``m``: the point loops inside a
tile keep the band's own members, a unimodular order that is legal by
itself, so the tiles are diamonds in the (time, space) plane and the loops
inside them are those of the rectangular tiles.

Where no mirror exists (a dependence within a time step that runs back along
``p1``: seidel-2d's in-place update of ``A[i - 1][j]``), :func:`mirror`
returns None and the band keeps its wavefront.
"""
from __future__ import annotations

from typing import Iterable

import islpy as isl

from polytc.isl_util import map_list
from polytc.poly.bands import pending_dependences

#: largest time factor ``b`` tried (jacobi-1d as polytc skews it needs 4)
MAX_FACTOR = 8


def wanted(time_tiling: str, members: int) -> bool:
    """Whether a time band of ``members`` members gets diamonds under the
    option ``time_tiling``.  ``"auto"``: for one space dimension or three
    and more, where they measured faster; wavefronts for two.  Measured on
    this 2-core machine (1 / 2 threads, x gcc -O3): PolyBench LARGE heat-3d
    1.48x / 2.82x diamonds against 1.48x / 2.25x wavefronts, jacobi-1d
    1.42x / 1.80x against 1.15x / 1.44x, jacobi-2d 2.07x / 4.43x against
    2.32x / 4.99x, fdtd-2d 1.72x / 3.23x against 1.89x / 4.18x;
    benchmarks/stencils.py heat-3d 1.43x / 2.30x against 1.36x / 2.02x,
    jacobi-1d N=400000 1.26x / 2.40x against 1.50x / 1.56x.  Diamonds of a
    two-dimensional band are half as tall as its wavefront tiles, and its
    wavefronts hold many tiles; a 1-D band's wavefront tiles are thin, a
    3-D band's wavefronts hold few tiles and start one after another."""
    if time_tiling == "auto":
        return members != 3
    return time_tiling == "diamond"


def one_thread_apart(time_tiling: str, members: int) -> bool:
    """Whether a region whose widest time band has ``members`` members gets
    code of its own for one thread: the band tiled along its members in
    lexicographic tile order, no wavefront and no diamonds (the code for
    more threads is unchanged).  ``"auto"``: for three space dimensions and
    more.  Measured on this 2-core machine, PolyBench LARGE heat-3d, 1
    thread, seconds (gcc -O3 1.93): diamonds 1.39, wavefronts 1.26, serial
    diamonds 1.22, serial lexicographic tiles 1.11; on 2 threads the
    diamonds' 0.68 beat the wavefronts' 0.83.  Serial tiles measured no
    better for one space dimension (jacobi-1d N = 400,000: 0.028 s each)
    and worse for two on three kernels of four (seidel-2d 3.57 s against
    3.28, adi 5.61 against 5.10, jacobi-2d 0.70 against 0.66; fdtd-2d 0.53
    against 0.57)."""
    return time_tiling == "auto" and members >= 4


def mirror(node: isl.ScheduleNode, deps: isl.UnionMap) -> isl.UnionPwAff | None:
    """The mirror ``m`` of member 1 of the time band at ``node`` (see the
    module docstring), or None where no factor up to :data:`MAX_FACTOR`
    with per-statement constants leaves every dependence of the band a
    non-negative distance along it."""
    partial = node.band_get_partial_schedule()
    time, space = partial.get_at(0), partial.get_at(1)
    local = [m for m in map_list(pending_dependences(node, deps)) if not m.is_empty()]
    for factor in range(1, MAX_FACTOR + 1):
        scaled = time.scale_val(isl.Val.int_from_si(time.get_ctx(), factor)).sub(space)
        unshifted = {piece.get_tuple_id(isl.dim_type.in_).get_name(): piece
                     for piece in _pieces(scaled)}
        shifts = _shifts(local, unshifted)
        if shifts is not None:
            return _union(unshifted[key].add_constant_val(
                isl.Val.int_from_si(time.get_ctx(), shifts.get(key, 0)))
                for key in unshifted)
    return None


def tile(node: isl.ScheduleNode, tile_member_0: isl.UnionPwAff,
         sizes: list[int]) -> isl.ScheduleNode:
    """A permutable band of tile loops inserted above the band at ``node``:
    ``s * floor(f / s)`` for ``f`` its members, member 0 replaced by
    ``tile_member_0``, and ``s`` the ``sizes`` (the tile loops' values are
    their tiles' first points, as isl's tiling with scaled tile loops gives
    them).  The band at ``node`` stays below as the point loops.  Returns
    the new band."""
    ctx = node.get_ctx()
    partial = node.band_get_partial_schedule().set_at(0, tile_member_0)
    for member, size in enumerate(sizes):
        value = isl.Val.int_from_si(ctx, size)
        partial = partial.set_at(member, partial.get_at(member)
                                 .scale_down_val(value).floor().scale_val(value))
    band = node.insert_partial_schedule(partial)
    band = band.band_set_permutable(1)
    for member in range(len(sizes)):
        band = band.band_member_set_coincident(member, 0)
    return band


def _shifts(deps: list[isl.Map], unshifted: dict[str, isl.PwAff]) -> dict[str, int] | None:
    """Per-statement constants ``c`` (the smallest, all >= 0) with
    ``m_T(y) + c_T - m_S(x) - c_S >= 0`` on every dependence ``S(x) ->
    T(y)``: a system of difference constraints, solved by longest paths
    (Bellman-Ford); None where a dependence's least distance is unbounded
    or depends on the sizes, or where a cycle asks for more than itself."""
    edges: list[tuple[str, str, int]] = []
    for dep in deps:
        source = dep.get_tuple_name(isl.dim_type.in_)
        target = dep.get_tuple_name(isl.dim_type.out)
        least = _least_distance(dep, unshifted[source], unshifted[target])
        if least is None:
            return None
        edges.append((source, target, -least))  # c_T >= c_S - least
    shifts = {key: 0 for key in unshifted}
    for _ in range(len(shifts) + 1):
        changed = False
        for source, target, weight in edges:
            if shifts[source] + weight > shifts[target]:
                shifts[target] = shifts[source] + weight
                changed = True
        if not changed:
            return shifts
    return None  # a cycle that asks for more than itself


def _least_distance(dep: isl.Map, before: isl.PwAff, after: isl.PwAff) -> int | None:
    """The least ``after(y) - before(x)`` over the pairs of ``dep`` and every
    value of the sizes, where that is bounded."""
    image = isl.Map.from_pw_aff(before).reverse().apply_range(dep) \
        .apply_range(isl.Map.from_pw_aff(after))
    distances = image.deltas()
    if distances.is_empty():
        return None
    least = distances.dim_min(0).min_val()  # over every size too
    if least.is_nan() or least.is_neginfty() or least.is_infty():
        return None
    return least.to_python()


def _pieces(function: isl.UnionPwAff) -> list[isl.PwAff]:
    """``function`` on each statement."""
    found: list[isl.PwAff] = []
    function.foreach_pw_aff(found.append)
    return found


def _union(pieces: Iterable[isl.PwAff]) -> isl.UnionPwAff:
    result: isl.UnionPwAff | None = None
    for piece in pieces:
        part = isl.UnionPwAff.from_pw_aff(piece)
        result = part if result is None else result.union_add(part)
    assert result is not None
    return result
