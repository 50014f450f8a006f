"""C code generation: isl AST to C through cgen, compilation, the cache and
the callable :class:`Kernel`."""
from __future__ import annotations

from polytc.codegen_c.emit import CFunction, TensorArg, mark_parallel, to_c

__all__ = ["CFunction", "TensorArg", "mark_parallel", "to_c"]
