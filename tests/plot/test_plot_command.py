"""The research flags of the command line: ``polytc plot`` (every flag),
``polytc schedule --tiled`` and ``polytc deps --distances``."""
from __future__ import annotations

import numpy as np
import pytest

from polytc.plot import command

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from test_cli import MATMUL, run, tc  # noqa: E402,F401  (tc is a fixture)
from tc_programs import REVERSE as REV  # noqa: E402


@pytest.fixture
def drawn(monkeypatch):
    """Records every figure ``polytc plot`` draws."""
    figures: list = []
    real = command._draw

    def recording(kernel, args):
        figures.append(real(kernel, args))
        return figures[-1]
    monkeypatch.setattr(command, "_draw", recording)
    return figures


def found(fig, gid):
    return fig.findobj(lambda artist: artist.get_gid() == gid)


def test_plot_help_lists_every_flag(capsys):
    status, out, _ = run(capsys, "plot", "--help")
    assert status == 0
    for flag in ("--what", "--sizes", "--statement", "--dims", "--at", "--depth",
                 "--max-points", "--output", "--tile", "--fuse", "--schedule-file"):
        assert flag in out, flag
    status, out, _ = run(capsys, "--help")
    assert "plot" in out


def test_plot_schedule_png_and_svg_with_tile_flag(capsys, tc, tmp_path, drawn):
    path = tc(MATMUL)
    out = tmp_path / "mm.png"
    status, _, err = run(capsys, "plot", path, "--sizes", "M=9,N=6,K=3", "--tile", "4",
                         "-o", str(out))
    assert status == 0 and f"wrote {out}" in err
    assert out.read_bytes()[:4] == b"\x89PNG"
    colours = {tuple(np.round(c, 6)) for c in found(drawn[-1], "tiles")[0].get_facecolors()}
    assert len(colours) == 3 * 2                          # --tile 4: 9 x 6 in 4 x 4 tiles
    status, _, _ = run(capsys, "plot", path, "--sizes", "M=9,N=6,K=3", "--tile", "2",
                       "-o", str(tmp_path / "mm.svg"))
    assert status == 0 and "<svg" in (tmp_path / "mm.svg").read_text()[:1000]
    colours = {tuple(np.round(c, 6)) for c in found(drawn[-1], "tiles")[0].get_facecolors()}
    assert len(colours) == 5 * 3


def test_plot_domain_statement_dims_at(capsys, tc, tmp_path, drawn):
    path = tc(MATMUL)
    plain = ("--tile", "none", "--unroll", "none")   # the domain does not depend on them
    status, _, _ = run(capsys, "plot", path, "--what", "domain", "--sizes", "M=4,N=3,K=5",
                       "--statement", "S1", "--dims", "k,m", "--at", "n=2", *plain,
                       "-o", str(tmp_path / "d.svg"))
    assert status == 0
    fig = drawn[-1]
    assert len(found(fig, "points")[0].get_offsets()) == 5 * 4
    assert fig.axes[0].get_xlabel() == "k" and "n = 2" in fig.axes[0].get_title(loc="left")
    status, _, _ = run(capsys, "plot", path, "--what", "domain", "--sizes", "M=4,N=3,K=5",
                       "--statement", "S0", *plain, "-o", str(tmp_path / "d0.png"))
    assert status == 0 and len(found(drawn[-1], "points")[0].get_offsets()) == 4 * 3


def test_plot_deps_and_fusion(capsys, tc, tmp_path, drawn):
    status, _, _ = run(capsys, "plot", tc(MATMUL), "--what", "deps", "-o",
                       str(tmp_path / "g.png"))
    assert status == 0 and found(drawn[-1], "node:S1")
    path = tc(REV, "rev.tc")
    status, _, _ = run(capsys, "plot", path, "--what", "fusion", "--sizes", "N=6",
                       "--statement", "S0,S1", "--depth", "1", "-o", str(tmp_path / "f.pdf"))
    assert status == 0 and (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    assert len(found(drawn[-1], "violation")) == 3 and len(found(drawn[-1], "witness")) == 1


def test_plot_max_points_refuses_large_pictures(capsys, tc, tmp_path):
    status, _, err = run(capsys, "plot", tc(MATMUL), "--sizes", "M=40,N=40,K=4",
                         "--max-points", "100", "-o", str(tmp_path / "x.png"))
    assert status == 1 and "1600 points" in err and "max_points=100" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "M=2,N=2,K=2", "-o", "x.gif"], "must end in .png"),
    (["--what", "deps", "--dims", "i,j", "-o", "x.png"], "--dims does not apply"),
    (["--what", "domain", "--sizes", "M=2,N=2,K=2", "--depth", "2", "-o", "x.png"],
     "--depth does not apply"),
    (["--what", "schedule", "-o", "x.png"], "needs --sizes"),
    (["--what", "deps", "--sizes", "M=2", "-o", "x.png"], "--sizes does not apply"),
])
def test_plot_usage_errors(capsys, tc, tmp_path, argv, message):
    status, _, err = run(capsys, "plot", tc(MATMUL), *argv)
    assert status == 2 and message in err


def test_plot_bad_request_is_a_polytc_error(capsys, tc, tmp_path):
    status, _, err = run(capsys, "plot", tc(MATMUL), "--sizes", "M=2,N=2",
                         "-o", str(tmp_path / "x.png"))
    assert status == 1 and "PlotError" in err and "K has none" in err
    status, _, err = run(capsys, "plot", tc(MATMUL), "--sizes", "M=2,N=2,K=2", "--at",
                         "k=x", "-o", str(tmp_path / "x.png"))
    assert status == 2 and "NAME=INTEGER" in err


# -- schedule --tiled, deps --distances --------------------------------------------
def test_schedule_tiled_shows_the_tree_the_c_follows(capsys, tc):
    path = tc(MATMUL)
    status, plain, _ = run(capsys, "schedule", path, "--tile", "8")
    assert status == 0 and "mod 8" not in plain
    status, tiled, _ = run(capsys, "schedule", path, "--tile", "8", "--tiled")
    assert status == 0 and "after tiling" in tiled
    assert "(m) mod 8" in tiled and 'mark: "pack:B"' in tiled
    status, other, _ = run(capsys, "schedule", path, "--tile", "16", "--tiled")
    assert "(m) mod 16" in other and other != tiled        # --tile now changes the output


def test_deps_distances(capsys, tc):
    status, out, _ = run(capsys, "deps", tc(MATMUL), "--distances")
    assert status == 0 and "flow (RAW):" in out
    assert "flow S1 -> S1 on C (m, n, k): distance (0, 0, 1), direction (=, =, <)" in out
    status, out, _ = run(capsys, "deps", tc(MATMUL))
    assert "distance" not in out
