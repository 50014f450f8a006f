"""Chaining TC ops into one kernel, so producers and consumers fuse.

* :class:`Graph` -- inputs, ops (TC defs or bare statements) whose inputs are
  bound to values, outputs; :meth:`Graph.compile` gives one
  :class:`polytc.Kernel`, one C function, the intermediates internal.
* :class:`LoweredGraph` -- the graph as one TC def (:meth:`Graph.lower`),
  with the map from its statements and tensors back to the ops.
* :func:`contractions` -- for each temporary of a scheduled program, the
  outer loops whose single iteration holds all its uses, and the smaller
  buffer that suffices there.

Modules, in pipeline order: ``builder`` (the API), ``ops`` (one op checked
alone), ``order`` (references, cycles, order), ``bind`` (sizes and types
across ops), ``extents`` (isl extents), ``rewrite`` and ``lower`` (the
combined def), ``contraction`` (the analysis).
"""
from __future__ import annotations

from polytc.graph.builder import Graph, Op, Value
from polytc.poly.contraction import Contraction, contractions
from polytc.graph.lower import LoweredGraph

__all__ = ["Graph", "Op", "Value", "LoweredGraph", "Contraction", "contractions"]
