"""Extents as isl parameter expressions: build, substitute, compare, print.

An extent is an ``isl.PwAff`` on a parameter domain (no set dimensions),
e.g. ``[H, KH] -> { [(1 + H - KH)] : KH <= 1 + H; [(0)] : KH > 1 + H }``.
The graph layer binds each op's own size symbols to extents over the
graph's size symbols (:func:`substitute`), checks that a producer and its
consumer agree (:func:`equal`, on sizes >= 0), and writes an extent back
into TC text where an op uses a bound size as a value (:func:`to_tc`).
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

import islpy as isl

from polytc.isl_util import param_names

_VALUE = "polytc_graph_v"
_LOCAL = "polytc_graph_l_"


def symbol(name: str) -> isl.PwAff:
    """The extent that is the size symbol ``name``."""
    return isl.PwAff(f"[{name}] -> {{ [({name})] }}")


def constant(value: int) -> isl.PwAff:
    """The constant extent ``value``."""
    return isl.PwAff(f"{{ [({int(value)})] }}")


def nonnegative(params: Iterable[str]) -> isl.Set:
    """``{ : p >= 0 }`` for every size symbol ``p``: TC's sizes."""
    names = sorted(set(params))
    if not names:
        return isl.Set("{ : }")
    body = " and ".join(f"{p} >= 0" for p in names)
    return isl.Set(f"[{', '.join(names)}] -> {{ : {body} }}")


def _context_of(*extents: isl.PwAff) -> isl.Set:
    return nonnegative(p for e in extents for p in param_names(e.get_space()))


def equal(a: isl.PwAff, b: isl.PwAff) -> bool:
    """``a == b`` for every value of the sizes (all >= 0)."""
    context = _context_of(a, b)
    return bool(context.is_subset(a.eq_set(b).intersect(context)))


def as_symbol(extent: isl.PwAff) -> str | None:
    """The size symbol ``extent`` is exactly, if it is one."""
    for name in param_names(extent.get_space()):
        if equal(extent, symbol(name)):
            return name
    return None


def as_constant(extent: isl.PwAff) -> int | None:
    """The integer ``extent`` always is, if it is constant."""
    pieces: list[isl.Aff] = []
    extent.coalesce().foreach_piece(lambda _set, aff: pieces.append(aff))
    if len(pieces) != 1 or not pieces[0].is_cst():
        return None
    value = int(pieces[0].get_constant_val().to_python())
    return value if equal(extent, constant(value)) else None


def substitute(extent: isl.PwAff, bindings: Mapping[str, isl.PwAff]) -> isl.PwAff:
    """``extent`` with each of its size symbols ``p`` replaced by
    ``bindings[p]`` (an extent over other symbols).  Every symbol of
    ``extent`` must be bound.

    The graph of ``extent`` becomes a parameter set with a value parameter
    ``v``; its symbols are renamed apart, equated to their bindings and
    projected out, and ``v`` is read back as the maximum of a set dimension.
    """
    graph = extent.eq_set(symbol(_VALUE))
    for position, name in enumerate(param_names(graph.get_space())):
        if name != _VALUE:
            graph = graph.set_dim_name(isl.dim_type.param, position, _LOCAL + name)
    for name, value in bindings.items():
        local = _LOCAL + name
        if graph.get_space().find_dim_by_name(isl.dim_type.param, local) >= 0:
            graph = graph & symbol(local).eq_set(value)
    for name in param_names(graph.get_space()):
        if name.startswith(_LOCAL):
            position = graph.get_space().find_dim_by_name(isl.dim_type.param, name)
            graph = graph.project_out(isl.dim_type.param, position, 1)
    position = graph.get_space().find_dim_by_name(isl.dim_type.param, _VALUE)
    graph = graph.move_dims(isl.dim_type.set, 0, isl.dim_type.param, position, 1)
    result = graph.dim_max(0).coalesce()
    context = _context_of(result)
    return _simplest(result.gist_params(context), context)


def _simplest(extent: isl.PwAff, context: isl.Set) -> isl.PwAff:
    """One affine piece, or ``max(piece, 0)``, when that equals ``extent``."""
    pieces: list[isl.Aff] = []
    extent.foreach_piece(lambda _set, aff: pieces.append(aff))
    for aff in pieces:
        whole = isl.PwAff.from_aff(aff)
        for candidate in (whole, whole.max(whole * 0)):
            if context.is_subset(candidate.eq_set(extent).intersect(context)):
                return candidate.coalesce()
    return extent


def to_tc(extent: isl.PwAff) -> str | None:
    """TC text of ``extent`` (``H - KH + 1``, ``(H - 2)/2``, ``max(H - KH + 1, 0)``,
    ``min(12, N)``), or ``None`` when it is piecewise in another way."""
    context = _context_of(extent)
    extent = _simplest(extent.gist_params(context), context)
    pieces: list[isl.Aff] = []
    extent.foreach_piece(lambda _set, aff: pieces.append(aff))
    if len(pieces) == 1 and context.is_subset(extent.domain().intersect(context)):
        return _aff_text(pieces[0])
    zero = isl.Aff.zero_on_domain(isl.LocalSpace.from_space(pieces[0].get_domain_space())) \
        if pieces else None
    pairs = [(a, zero) for a in pieces if zero is not None]
    if len(pieces) == 2:
        pairs.append((pieces[0], pieces[1]))
    for a, b in pairs:
        first, second = isl.PwAff.from_aff(a), isl.PwAff.from_aff(b)
        for fn, value in (("max", first.max(second)), ("min", first.min(second))):
            if context.is_subset(value.eq_set(extent).intersect(context)):
                texts = (_aff_text(a), _aff_text(b))
                return None if None in texts else f"{fn}({texts[0]}, {texts[1]})"
    return None


def _aff_text(aff: isl.Aff) -> str | None:
    """TC text of one affine piece (isl's ``floor(e/d)`` is TC's integer ``e/d``)."""
    text = str(isl.PwAff.from_aff(aff))
    body = text[text.index("{") + 1:text.rindex("}")].strip()
    if not (body.startswith("[(") and body.endswith(")]")) or ":" in body or "mod" in body:
        return None
    body = body[2:-2].replace("floor", "")
    body = re.sub(r"(?<![A-Za-z0-9_])(\d+)\s*(?=[A-Za-z_(])", r"\1*", body)
    return body
