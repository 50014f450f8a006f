"""polytc: polyhedral scheduling and C code generation for Tensor Comprehensions.

>>> import polytc
>>> k = polytc.compile("C(i,j) +=! A(i,k) * B(k,j)")
>>> C = k(A, B)                     # doctest: +SKIP
"""
from __future__ import annotations

__version__ = "0.1.0"

from polytc import errors
from polytc.options import Options
from polytc.pipeline import compile
from polytc.codegen_c.kernel import Kernel
from polytc import frontend, poly, tiling, codegen_c, graph
from polytc.graph import Graph
from polytc.tuning import tune
from polytc.frontend.c import parse_c
from polytc.c_pipeline import compile_c, transform_c

__all__ = ["compile", "tune", "Kernel", "Options", "Graph", "errors", "parse_c", "transform_c",
           "compile_c",
           "frontend", "poly", "tiling", "codegen_c", "graph", "__version__"]
