"""Tiling, fusion, intra-tile reordering and unroll-and-jam of schedule trees.

Empty for now: the identity schedule is emitted untiled.  Tiling of permutable
bands lands with the tiling issue (after the scheduler).
"""
