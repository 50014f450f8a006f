"""polytc.plot: every picture renders to PNG and SVG, and what it draws is
read back from the figure's own artists and compared with isl (points drawn
= the domain's cardinality at those sizes, arrows = dependence pairs, tile
colours = tiles)."""
from __future__ import annotations

import subprocess
import sys

import islpy as isl
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")  # the 'test' extra installs it
matplotlib.use("Agg")

import polytc  # noqa: E402
from polytc import plot as P  # noqa: E402
from polytc.errors import MissingExtraError, PlotError  # noqa: E402

from tc_programs import MATMUL, MLP, REVERSE  # noqa: E402

REDUCE = "def rowsum(float(I,J) A) -> (O) { O(i) +=! A(i,j) }"
SCALE = "def scale(float(I,J) A) -> (O) { O(i,j) = A(i,j) * 2.0 }"


def found(fig, gid):
    return fig.findobj(lambda artist: artist.get_gid() == gid)


def count_points(fig) -> int:
    (points,) = found(fig, "points")
    return len(points.get_offsets())


def cardinality(text: str, sizes: dict[str, int]) -> int:
    """isl's count of a parametric set at ``sizes``."""
    s = isl.Set(text)
    for name, value in sizes.items():
        s = s.fix_val(isl.dim_type.param, s.find_dim_by_name(isl.dim_type.param, name),
                      isl.Val(value))
    return int(s.count_val().to_python())


def renders(fig, tmp_path, name: str) -> None:
    """The figure saves as PNG and SVG, both non-trivial."""
    png, svg = tmp_path / f"{name}.png", tmp_path / f"{name}.svg"
    fig.savefig(png)
    fig.savefig(svg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    assert "<svg" in svg.read_text()[:1000]


@pytest.fixture(scope="module")
def kernels():
    return {"reduce": polytc.compile(REDUCE, tile=None, unroll=None),
            "gemm": polytc.compile(MATMUL, tile=(4, 4, 4)),
            "scale": polytc.compile(SCALE, tile=(4, 4)),
            "mlp": polytc.compile(MLP), "rev": polytc.compile(REVERSE)}


# -- domain ---------------------------------------------------------------------
def test_domain_points_and_nearest_dependences(kernels, tmp_path):
    sizes = {"I": 6, "J": 5}
    fig = P.plot_domain(kernels["reduce"], sizes=sizes)
    renders(fig, tmp_path, "domain")
    domain = kernels["reduce"].program.statement("S1").domain
    assert count_points(fig) == cardinality(str(domain), sizes) == 30
    for kind in ("flow", "anti", "output"):   # (i, j) -> (i, j + 1) only
        assert len(found(fig, f"dependence:{kind}")) == 6 * 4
    every = P.plot_domain(kernels["reduce"], sizes=sizes, all_pairs=True)
    assert len(found(every, "dependence:flow")) == 6 * 4      # exact dataflow
    assert len(found(every, "dependence:output")) == 6 * (5 * 4 // 2)   # every j < j'


def test_domain_projected_and_sliced(kernels):
    sizes = {"M": 5, "N": 4, "K": 3}
    projected = P.plot_domain(kernels["gemm"], sizes=sizes, dims=("m", "k"))
    assert count_points(projected) == 5 * 3
    assert len(found(projected, "dependence:flow")) == 5 * 2   # (m, k) -> (m, k + 1)
    assert "n projected" in projected.axes[0].get_title(loc="left")
    sliced = P.plot_domain(kernels["gemm"], "S1", sizes, ("k", "m"), at={"n": 2})
    assert count_points(sliced) == 5 * 3
    assert sliced.axes[0].get_xlabel() == "k" and "n = 2" in sliced.axes[0].get_title(loc="left")
    offsets = found(sliced, "points")[0].get_offsets()
    assert max(x for x, _ in offsets) == 2 and max(y for _, y in offsets) == 4


def test_domain_of_isl_set_and_map(tmp_path):
    domain = isl.Set("[n] -> { S[i, j] : 0 <= i < n and 0 <= j < n }")
    deps = isl.Map("[n] -> { S[i, j] -> S[i + 1, j + 1]; S[i, j] -> S[i + 1, j] }")
    fig = P.plot_domain(domain, sizes={"n": 6}, dependences=deps)
    renders(fig, tmp_path, "isl")
    assert count_points(fig) == 36
    inside = deps.intersect_domain(domain).intersect_range(domain)
    pairs = cardinality(str(inside.wrap()), {"n": 6})
    assert len(found(fig, "dependence:dependence")) == pairs == 25 + 30


def test_one_dimensional_domain(kernels):
    fig = P.plot_domain(kernels["rev"], "S1", {"N": 7})
    assert count_points(fig) == 7 and not found(fig, "dependence:flow")


# -- schedule -------------------------------------------------------------------
def tile_count(program_domain: isl.Set, sizes: dict[str, int], tile: tuple[int, int]) -> int:
    """isl's count of the distinct (i div t0, j div t1) over the domain."""
    s = program_domain
    for name, value in sizes.items():
        s = s.fix_val(isl.dim_type.param, s.find_dim_by_name(isl.dim_type.param, name),
                      isl.Val(value))
    tiles = isl.Map(f"{{ [i, j] -> [floor(i / {tile[0]}), floor(j / {tile[1]})] }}")
    flat = s.project_out(isl.dim_type.param, 0, s.dim(isl.dim_type.param))
    flat = flat.reset_tuple_id().apply(tiles)
    return int(flat.count_val().to_python())


def test_schedule_tiles_order_and_parallel_steps(kernels, tmp_path):
    sizes = {"I": 10, "J": 7}
    fig = P.plot_schedule(kernels["scale"], sizes)
    renders(fig, tmp_path, "schedule")
    (cells,) = found(fig, "tiles")
    colours = {tuple(np.round(c, 6)) for c in cells.get_facecolors()}
    domain = kernels["scale"].program.statement("S0").domain
    assert len(colours) == tile_count(domain, sizes, (4, 4)) == 3 * 2
    assert count_points(fig) == 70 and len(cells.get_paths()) == 70
    # the outer tile loop is parallel: the 3 tiles of a column share a step
    labels = sorted(t.get_text() for t in found(fig, "tile-label"))
    assert labels == ["1", "1", "1", "2", "2", "2"]
    assert len(found(fig, "order")) == 3 * (2 - 1)   # one lane per parallel iteration
    assert "parallel" in fig.axes[0].get_title(loc="left")


def test_schedule_of_a_reduction_slice(kernels):
    sizes = {"M": 9, "N": 6, "K": 5}
    fig = P.plot_schedule(kernels["gemm"], sizes, "S1", at={"k": 4})
    (cells,) = found(fig, "tiles")
    assert len({tuple(np.round(c, 6)) for c in cells.get_facecolors()}) == 3 * 2
    assert count_points(fig) == 9 * 6 and "k = 4" in fig.axes[0].get_title(loc="left")


def test_untiled_schedule_colours_time_steps(kernels):
    fig = P.plot_schedule(kernels["reduce"], {"I": 4, "J": 3})   # tile=None, unroll=None
    assert not found(fig, "tiles") and len(found(fig, "steps")) == 1
    labels = {t.get_text() for t in found(fig, "step-label")}
    assert labels == {"1", "2", "3"}    # i is parallel: the j values are the steps
    assert "untiled" in fig.axes[0].get_title(loc="left")


def test_schedule_given_by_hand(kernels):
    from polytc.poly import transform as T
    k = kernels["scale"]
    mine = T.tile(k.schedule, 0, (2, 5), deps=k.dependences)
    fig = P.plot_schedule(k, {"I": 4, "J": 5}, schedule=mine)
    (cells,) = found(fig, "tiles")
    assert len({tuple(np.round(c, 6)) for c in cells.get_facecolors()}) == 2


# -- dependence graph -------------------------------------------------------------
def test_dependence_graph_and_dot(kernels, tmp_path):
    k = kernels["mlp"]
    fig = P.plot_dependence_graph(k)
    renders(fig, tmp_path, "graph")
    table = k.dependences.distances(program=k.program)
    edges = [a for a in fig.findobj() if str(a.get_gid()).startswith("edge:")]
    assert len(edges) == len(table) == 10
    names = {s.name for s in k.program.statements}
    assert {str(a.get_gid())[5:] for a in fig.findobj()
            if str(a.get_gid()).startswith("node:")} == names
    groups = k.schedule_summary.fused_groups
    assert len([a for a in fig.findobj() if str(a.get_gid()).startswith("cluster:")]) \
        == len(groups) == 1
    dot = k.dependence_graph_dot()
    assert dot.startswith('digraph "mlp" {') and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == 10 and dot.count("subgraph cluster_") == 1
    assert '"S1" -> "S1" [label="flow Y\\n(0, 0, 1)"' in dot
    assert dot.count("{") == dot.count("}")


# -- fusion ----------------------------------------------------------------------
def test_fusion_illegal_highlights_violation_and_witness(kernels, tmp_path):
    fig = P.plot_fusion(kernels["rev"], ["S0", "S1"], 1, {"N": 8})
    renders(fig, tmp_path, "fusion")
    assert len(found(fig, "instances:S0")[0].get_offsets()) == 8
    # S0[i] -> S1[7 - i] runs backwards for i >= 4
    assert len(found(fig, "violation")) == 4 and len(found(fig, "witness")) == 1
    assert found(fig, "witness-label")[0].get_text() == "witness: S0[i=4] -> S1[i=3]"
    assert len(found(fig, "dependence:flow")) == 8
    assert fig.axes[0].get_title(loc="left").startswith("illegal fusion")


def test_fusion_legal_two_loops(kernels):
    fig = P.plot_fusion(kernels["mlp"], ["S1", "S2"], 2, {"B": 3, "N": 4, "K": 2})
    assert not found(fig, "violation") and not found(fig, "witness")
    assert len(found(fig, "instances:S2")[0].get_offsets()) == 3 * 4
    assert fig.axes[0].get_title(loc="left").startswith("legal fusion")


# -- guards and errors -------------------------------------------------------------
def test_large_domains_are_refused(kernels):
    with pytest.raises(PlotError, match=r"1000000 points .* max_points=2500"):
        P.plot_domain(kernels["gemm"], sizes={"M": 1000, "N": 7, "K": 1000}, dims=("m", "k"))
    with pytest.raises(PlotError, match="max_points=100"):
        P.plot_schedule(kernels["scale"], {"I": 20, "J": 20}, max_points=100)
    with pytest.raises(PlotError, match="arrows"):
        P.plot_domain(kernels["reduce"], sizes={"I": 30, "J": 30}, all_pairs=True,
                      max_arrows=1000)


@pytest.mark.parametrize("call, message", [
    (lambda k: P.plot_domain(k, sizes={"I": 3}), "J has none"),
    (lambda k: P.plot_domain(k, sizes={"I": 3, "J": 3, "Q": 1}), "Q: not a size"),
    (lambda k: P.plot_domain(k, "S7", {"I": 3, "J": 3}), "no statement 'S7'"),
    (lambda k: P.plot_domain(k, sizes={"I": 3, "J": 3}, dims=("x",)), "no dimension 'x'"),
    (lambda k: P.plot_domain(k, sizes={"I": 3, "J": 3}, dims=("i",), at={"i": 1}),
     "both drawn"),
    (lambda k: P.plot_domain(k, sizes={"I": 0, "J": 3}), "no instance"),
    (lambda k: P.plot(k, "movie"), "what='movie'"),
    (lambda k: P.plot_domain("C(i) = A(i)", sizes={}), "cannot draw a str"),
])
def test_bad_requests_are_explained(kernels, call, message):
    with pytest.raises(PlotError, match=message):
        call(kernels["scale"])


def test_kernel_plot_dispatches(kernels):
    from matplotlib.figure import Figure
    k = kernels["gemm"]
    sizes = {"M": 3, "N": 3, "K": 2}
    for what, options in (("schedule", {"sizes": sizes}), ("domain", {"sizes": sizes}),
                          ("deps", {}), ("fusion", {"statements": ["S0", "S1"], "depth": 2,
                                                    "sizes": sizes})):
        assert isinstance(k.plot(what, **options), Figure)


def test_repr_html_shows_kernel_and_picture(kernels):
    page = kernels["scale"]._repr_html_()
    for part in ("polytc.Kernel", "polytc_scale(", "band 0", "<details>",
                 "C source (", "data:image/png;base64,"):
        assert part in page
    assert "&lt;polytc.Kernel" in page and "<polytc.Kernel" not in page


def test_missing_matplotlib_names_the_extra(kernels, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib fails
    with pytest.raises(MissingExtraError, match=r"pip install 'polytc\[plot\]'"):
        P.plot_domain(kernels["scale"], sizes={"I": 2, "J": 2})
    assert "pip install" in kernels["scale"]._repr_html_()   # the view still works
    assert "digraph" in kernels["scale"].dependence_graph_dot()   # DOT needs nothing


def test_import_and_compile_never_import_matplotlib():
    code = ("import sys, polytc, polytc.plot; polytc.compile('O(i) = A(i)', cache=False); "
            "print(any(m.startswith('matplotlib') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_readme_shows_one_small_picture():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    pictures = [line for line in readme.splitlines() if line.startswith("![")]
    assert len(pictures) == 1
    path = root / pictures[0].split("](", 1)[1].rstrip(")")
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size < 100_000
