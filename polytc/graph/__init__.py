"""Chaining several TC ops into one program so producers and consumers fuse.

Empty for now: the graph layer lands with its own issue, after the scheduler.
Several statements in one def already share one program today.
"""
