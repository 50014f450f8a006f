"""Shared drawing helpers: the matplotlib import guard, figures, colours and
the style of each dependence kind.

matplotlib is imported only inside these functions, so ``import
polytc.plot`` works without it and a drawing function says which extra to
install.  Figures are ``matplotlib.figure.Figure`` objects made without
pyplot: no global state, no GUI backend, nothing shown; save them with
``fig.savefig(path)``.
"""
from __future__ import annotations

import colorsys
from typing import TYPE_CHECKING, Any, Sequence, cast

from polytc.errors import MissingExtraError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INSTALL = "pip install 'polytc[plot]'"

# kind -> (colour, line style, arc curvature, legend label)
KIND_STYLES: dict[str, tuple[str, str, float, str]] = {
    "flow": ("#1f77b4", "solid", 0.0, "flow (read after write)"),
    "anti": ("#ff7f0e", "dashed", 0.25, "anti (write after read)"),
    "output": ("#2ca02c", "dotted", -0.25, "output (write after write)"),
    "dependence": ("#555555", "solid", 0.0, "dependence"),
}
VIOLATION = "#d62728"


def require() -> None:
    """Raise :class:`MissingExtraError` naming the extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"polytc's pictures need matplotlib: {INSTALL}") from None


def figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A new figure (no pyplot) with one axes."""
    require()
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def extent_inches(count: int, per: float = 0.45, low: float = 3.5, high: float = 11.0) -> float:
    """A side length for ``count`` grid units."""
    return max(low, min(high, 1.5 + per * count))


def distinct_colours(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` pairwise different RGBA colours, neighbours far apart in hue."""
    colours = []
    for k in range(n):
        hue = (k * 0.618033988749895) % 1.0
        light = 0.55 + 0.15 * ((k // 7) % 2)
        red, green, blue = colorsys.hls_to_rgb(hue, light, 0.65 + 0.2 * ((k // 3) % 2))
        colours.append((red, green, blue, 1.0))
    return colours


def arrow(ax: Axes, source: tuple[float, float], target: tuple[float, float], kind: str,
          gid: str,
          *, width: float = 1.0, colour: str | None = None, rad: float | None = None) -> None:
    """One dependence arrow ``source -> target`` in the style of ``kind``."""
    from matplotlib.patches import FancyArrowPatch
    style_colour, line, curve, _ = KIND_STYLES.get(kind, KIND_STYLES["dependence"])
    patch = FancyArrowPatch(source, target, arrowstyle="-|>", mutation_scale=9,
                            shrinkA=4, shrinkB=4, linewidth=width, linestyle=line,
                            color=colour or style_colour, alpha=0.85, zorder=3,
                            connectionstyle=f"arc3,rad={curve if rad is None else rad}")
    patch.set_gid(gid)
    ax.add_artist(patch)  # not add_patch: its limit update costs 2 ms an arrow


def legend(ax: Axes, kinds: Sequence[str], extra: Sequence[tuple[str, str, str]] = (), *,
           below: bool = False, markers: bool = False) -> None:
    """A legend: the labelled artists of ``ax`` (with ``markers``), one entry
    per dependence kind drawn, then ``extra`` ``(label, colour, line style)``
    entries; on the right of the axes, or at the bottom inside them (``below``)."""
    from matplotlib.lines import Line2D
    handles: list[Any] = list(ax.get_legend_handles_labels()[0]) if markers else []
    for kind in kinds:
        colour, line, _, label = KIND_STYLES.get(kind, KIND_STYLES["dependence"])
        handles.append(Line2D([], [], color=colour, linestyle=cast(Any, line), label=label))
    for label, colour, line in extra:
        handles.append(Line2D([], [], color=colour, linestyle=cast(Any, line), linewidth=2.5,
                              label=label))
    if not handles:
        return
    if below:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                  ncol=len(handles), fontsize="small", frameon=False)
    else:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize="small", frameon=False)


def grid_axes(ax: Axes, axes: Sequence[str], coordinates: Sequence[Sequence[int]]) -> None:
    """Integer grid, equal aspect and axis labels for points in the plane."""
    from matplotlib.ticker import MaxNLocator
    xs = [c[0] for c in coordinates] or [0]
    ys = [c[1] if len(c) > 1 else 0 for c in coordinates] or [0]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_aspect("equal")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.set_xlabel(axes[0] if axes else "")
    if len(axes) > 1:
        ax.set_ylabel(axes[1])
    else:
        ax.set_yticks([])


def xy(point: Sequence[int]) -> tuple[float, float]:
    """A plane point as ``(x, y)``: 1-D points lie on ``y = 0``."""
    if not point:
        return 0.0, 0.0
    return float(point[0]), float(point[1]) if len(point) > 1 else 0.0


def sizes_text(sizes: dict[str, int] | None) -> str:
    return ", ".join(f"{name}={value}" for name, value in (sizes or {}).items())
