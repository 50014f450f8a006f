"""Tiling of permutable bands (several levels), intra-tile reordering,
unroll-and-jam with register promotion, wavefronts and SIMD marks.

:func:`tile_schedule` takes the scheduler's tree and returns the tree that
code generation consumes; :mod:`polytc.tiling.model` documents the default
sizes.
"""
from __future__ import annotations

from polytc.tiling.transform import TilingOptions, tile_schedule

__all__ = ["TilingOptions", "tile_schedule"]
