"""Pictures of what polytc computes (``pip install 'polytc[plot]'``).

Each function returns a ``matplotlib.figure.Figure`` (made without pyplot:
save it with ``fig.savefig("out.svg")``; Jupyter shows it) and takes the
objects the rest of the API uses, with concrete ``sizes={"N": 8, ...}``:

* :func:`plot_domain` -- one statement's iteration domain, dependences as arrows;
* :func:`plot_schedule` -- the same points coloured by tile, the tiles'
  execution order and what may run at the same time;
* :func:`plot_dependence_graph` -- statements, dependences, fused groups
  (:func:`dependence_graph_dot` gives Graphviz DOT text, no Graphviz needed);
* :func:`plot_fusion` -- a :func:`polytc.poly.fusion_legality` verdict, the
  violated dependence and its witness pair highlighted;
* :func:`plot` -- one of them by name (``kernel.plot(what=...)``).

``import polytc.plot`` never needs matplotlib; a drawing function without it
raises :class:`~polytc.errors.MissingExtraError` naming the extra.  Large
domains are refused with a :class:`~polytc.errors.PlotError` saying how many
points they have (``max_points=`` raises the limit).
"""
from __future__ import annotations

from typing import Any

from polytc.errors import PlotError
from polytc.plot.domain import plot_domain
from polytc.plot.dot import dependence_graph, dependence_graph_dot
from polytc.plot.fusion import plot_fusion
from polytc.plot.graph import plot_dependence_graph
from polytc.plot.schedule import plot_schedule

WHAT = ("schedule", "domain", "deps", "fusion")


def plot(obj: Any, what: str = "schedule", **options: Any) -> Any:
    """The picture ``what`` (``schedule``, ``domain``, ``deps`` or
    ``fusion``) of a kernel or program, with that function's options."""
    if what == "schedule":
        return plot_schedule(obj, **options)
    if what == "domain":
        return plot_domain(obj, **options)
    if what == "deps":
        return plot_dependence_graph(obj, **options)
    if what == "fusion":
        return plot_fusion(obj, **options)
    raise PlotError(f"what={what!r}: choose one of {', '.join(WHAT)}")


__all__ = ["plot", "plot_domain", "plot_schedule", "plot_dependence_graph", "plot_fusion",
           "dependence_graph", "dependence_graph_dot", "WHAT"]
