"""The rich view of a :class:`polytc.Kernel` in Jupyter (``_repr_html_``):
its signature, the schedule summary and loop nest, the C source folded, and
the schedule picture at small sizes when matplotlib is installed.

The picture's sizes: the first of 6, 5, 4, 3, 2 that, given to every size,
satisfies the program's constraints; no picture (and a line saying why)
when none does, when the domain at those sizes is still too large, or when
matplotlib is missing.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import islpy as isl

from polytc.errors import PolytcError
from polytc.program import Program

PICTURE_POINTS = 400  # the largest picture drawn inline


def kernel_html(kernel: Any) -> str:
    """The HTML of ``kernel``'s rich view."""
    from polytc.poly.summary import loop_nest
    program = kernel.program
    lines = kernel.c_source.count("\n") + 1
    parts = [
        '<div class="polytc-kernel">',
        f"<p><b>polytc.Kernel</b> <code>{html.escape(repr(kernel))}</code></p>",
        "<p><b>schedule</b></p>",
        f"<pre>{html.escape(str(kernel.schedule_summary))}</pre>",
        "<details><summary>loop nest</summary>"
        f"<pre>{html.escape(loop_nest(kernel.tiled_schedule, program))}</pre></details>",
        f"<details><summary>C source ({lines} lines)</summary>"
        f"<pre>{html.escape(kernel.c_source)}</pre></details>",
        _picture(kernel, program),
        "</div>",
    ]
    return "\n".join(parts)


def small_sizes(program: Program) -> dict[str, int] | None:
    """The same small value for every size, as the module docstring says."""
    for value in (6, 5, 4, 3, 2):
        context = program.context
        for position in range(context.dim(isl.dim_type.param)):
            context = context.fix_val(isl.dim_type.param, position,
                                      isl.Val.int_from_si(context.get_ctx(), value))
        if not context.is_empty():
            return {name: value for name in program.params}
    return None


def _picture(kernel: Any, program: Program) -> str:
    sizes = small_sizes(program)
    if sizes is None:
        return "<p><i>no schedule picture: no small sizes satisfy the program</i></p>"
    try:
        from polytc.plot.schedule import plot_schedule
        figure = plot_schedule(kernel, sizes, max_points=PICTURE_POINTS)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=72)
    except (PolytcError, isl.Error) as error:  # a display hook shows, never raises
        return f"<p><i>no schedule picture: {html.escape(str(error))}</i></p>"
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    shown = ", ".join(f"{n}={v}" for n, v in sizes.items())
    return (f'<details open><summary>schedule picture ({html.escape(shown)})</summary>'
            f'<img src="data:image/png;base64,{data}"/></details>')
