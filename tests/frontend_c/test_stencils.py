"""Time-iterated stencils (issue #14): scheduled with a skewed permutable
band that holds the time loop, tiled across time and space, run along
wavefronts of tiles, and bit-identical to the original on 1 and 2 threads
at sizes no tile divides (one step on the smallest domain, thin domains)."""
from __future__ import annotations

import re
from pathlib import Path

import islpy as isl
import pytest

import polytc
from c_runner import HERE, PARALLEL_ALWAYS, build, run
from stencil_kernels import (ALTERNATING_LINES, IN_PLACE_1D, IN_PLACE_2D, IN_PLACE_3D,
                             STENCIL_CASES, SWEEPS_2D)
from c_kernels import CCase

OPTIONS = {
    "default": {},
    "tile-3-5-7": {"tile": (3, 5, 7)},
    "two-levels": {"tile": [(8, 16, 32), (2, 4, 8)]},
    "wavefront": {"time_tiling": "wavefront"},
    "wavefront-3-5-7": {"time_tiling": "wavefront", "tile": (3, 5, 7)},
    "diamond": {"time_tiling": "diamond"},
    "diamond-5-5-7": {"time_tiling": "diamond", "tile": (5, 5, 7)},
    "diamond-two-levels": {"time_tiling": "diamond", "tile": [(8, 8, 32), (2, 4, 8)]},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stencils")


@pytest.mark.parametrize("options", list(OPTIONS), ids=list(OPTIONS))
@pytest.mark.parametrize("case", STENCIL_CASES, ids=[c.id for c in STENCIL_CASES])
def test_time_tiled_stencils_compute_the_original_bits(case: CCase, options: str,
                                                       workdir: Path) -> None:
    original = build(case.source, workdir, openmp=False)
    rewritten = polytc.transform_c(case.source, include_dirs=[HERE], filename=f"{case.id}.c",
                                   **OPTIONS[options])
    optimised = build(rewritten, workdir, extra=PARALLEL_ALWAYS)
    for sizes in case.sizes:
        expected = run(original, sizes)
        for threads in (1, 2):
            assert run(optimised, sizes, threads) == expected, (sizes, threads, rewritten)


IN_PLACE_CASES = [case for case in STENCIL_CASES if case.id.startswith("in-place")]
ROWS = {"rows-3": {"unroll": 3}, "rows-3-tile-5-4-7": {"unroll": 3, "tile": (5, 4, 7)},
        "no-rows": {"unroll": None}}


@pytest.mark.parametrize("options", list(ROWS), ids=list(ROWS))
@pytest.mark.parametrize("case", IN_PLACE_CASES, ids=[c.id for c in IN_PLACE_CASES])
def test_jammed_rows_compute_the_original_bits(case: CCase, options: str,
                                               workdir: Path) -> None:
    """In-place stencils' time tiles with their rows jammed (a factor that
    divides no tile side) or not: bit-identical at 1 and 2 threads."""
    original = build(case.source, workdir, openmp=False)
    rewritten = polytc.transform_c(case.source, include_dirs=[HERE], filename=f"{case.id}.c",
                                   **ROWS[options])
    optimised = build(rewritten, workdir, extra=PARALLEL_ALWAYS)
    for sizes in case.sizes + ((37, 90),):
        expected = run(original, sizes)
        for threads in (1, 2):
            assert run(optimised, sizes, threads) == expected, (sizes, threads, rewritten)


def _kernel(source: str, **options: object) -> polytc.Kernel:
    return polytc.compile_c(source, include_dirs=[HERE], cache=False, **options)


def test_the_time_loop_is_in_a_skewed_permutable_band() -> None:
    summary = str(_kernel(SWEEPS_2D).schedule_summary)
    first = summary.splitlines()[0]
    assert "3 members, permutable" in first, summary
    assert "S0[s, y, x] -> [s, 2s + y, 2s + x]" in summary, summary
    assert "S1[s, y, x] -> [s, 1 + 2s + y, 1 + 2s + x]" in summary, summary


def test_an_in_place_stencil_is_skewed_in_both_space_dimensions() -> None:
    """seidel-2d's shape: its dependences are large only with the context's
    redundant constraints; without them their exact cones allow ``s + y``."""
    summary = str(_kernel(IN_PLACE_2D).schedule_summary)
    assert "3 members, permutable" in summary, summary
    assert "S0[s, y, x] -> [s, s + y, s + y + x]" in summary, summary


def test_an_in_place_3d_stencil_is_skewed_in_every_space_dimension() -> None:
    """Its dependences have too many constraints for their own Farkas cone;
    their hull forbade any skew (``[t]`` alone, then ``[z, y, x]``).  The cone
    of their distances is exact for a statement's own dependences."""
    summary = str(_kernel(IN_PLACE_3D).schedule_summary)
    assert "4 members, permutable" in summary, summary
    assert "S0[s, z, y, x] -> [s, s + z, s + y, s + x]" in summary, summary


def test_time_tiles_run_along_wavefronts_in_parallel() -> None:
    kernel = _kernel(SWEEPS_2D, tile=(4, 8, 16))
    tiled = str(kernel.tiled_summary)
    first = tiled.splitlines()[0]
    assert "parallel: #1" in first, tiled  # the second tile loop, along the wavefront c0
    # the first tile loop is the wavefront: time tile number + space tile number
    assert "S0[s, y, x] -> [floor((s)/4) + floor((2s + y)/8)," in tiled, tiled
    source = kernel.c_source
    assert source.index("c0 += 1") < source.index("omp parallel for") < source.index("c1 += 8")
    assert "c2 += 16" in source


def test_default_time_tiles_come_from_the_cache_model() -> None:
    """A vectorizable inner loop gets a long row; an in-place stencil's (it
    depends on itself along the row) gets cubes."""
    from polytc.tiling.model import time_tile_sizes
    for text, vector in ((SWEEPS_2D, True), (IN_PLACE_2D, False)):
        sizes = time_tile_sizes(3, 8, vector_inner=vector, jammed=not vector)
        kernel = _kernel(text)
        source = kernel.c_source
        assert all(f"c{m} += {size}" in source for m, size in enumerate(sizes) if m), source
        assert f"floor((s)/{sizes[0]})" in str(kernel.tiled_summary)  # the time tiles
        assert ("omp simd" in source) == vector, source
    assert time_tile_sizes(3, 8, vector_inner=False) == (32, 32, 32)
    assert time_tile_sizes(3, 8, vector_inner=False, jammed=True) == (32, 32, 128)
    assert time_tile_sizes(3, 8)[-1] > time_tile_sizes(3, 8)[1]


@pytest.mark.parametrize("text", [IN_PLACE_1D, IN_PLACE_2D], ids=["1d", "2d"])
def test_an_in_place_stencils_rows_run_together_in_its_inner_loop(text: str) -> None:
    """Its inner loop carries a chain (``G[x - 1]``): the tile's rows (time
    steps in 1-D) are jammed in blocks of 8 (``unroll=``'s first factor),
    each row one iteration after the row above, whose value it reads."""
    jammed = _kernel(text).c_source
    plain = _kernel(text, unroll=None).c_source
    three = _kernel(text, unroll=3).c_source
    rows, write = ("c4 += 8", "G[y][x] = ") if text is IN_PLACE_2D else ("c2 += 8", "G[x] = ")
    assert rows in jammed and rows not in plain, jammed

    def tiled_writes(source: str) -> int:  # the original loops are kept for small data
        return source.count(write) - text.count(write)
    assert tiled_writes(jammed) == 8 * tiled_writes(plain) > 0, jammed
    assert tiled_writes(three) == 3 * tiled_writes(plain), three
    tiled = str(_kernel(text).tiled_summary)
    assert "mod 8" in tiled, tiled


def _loop_bodies(source: str, header: str) -> list[str]:
    """The brace-balanced body of each loop whose header starts with ``header``."""
    bodies = []
    for part in source.split(header)[1:]:
        start = part.index("{")
        depth = 0
        for end, char in enumerate(part[start:], start):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                bodies.append(part[start:end + 1])
                break
    return bodies


def test_full_tiles_have_unguarded_inner_loops() -> None:
    """The innermost point loop is distributed over the statements (a fused
    loop's vector loads wait on the stores just before them) and generated
    apart for full rows (isl's ``separate``): each statement has a loop
    without a guard (it vectorizes), and no loop runs both."""
    source = _kernel(SWEEPS_2D, tile=(4, 8, 64)).c_source
    bodies = _loop_bodies(source, "for (int64_t c5")
    assert not [body for body in bodies if "Q[y][x] =" in body and "P[y][x] =" in body]
    for statement in ("Q[y][x] =", "P[y][x] =", ):
        assert [body for body in bodies if statement in body and "if (" not in body], source


REPEATED_SWEEPS = """void kernel(int reps, int steps, int n, double U[n], double V[n]) {
#pragma scop
  for (int r = 0; r < reps; r++)
    for (int s = 0; s < steps; s++) {
      for (int x = 1; x < n - 1; x++)
        V[x] = 0.25 * U[x - 1] + 0.5 * U[x] + 0.25 * U[x + 1];
      for (int x = 1; x < n - 1; x++)
        U[x] = 0.25 * V[x - 1] + 0.5 * V[x] + 0.25 * V[x + 1];
    }
#pragma endscop
}
"""


def test_parallel_loops_in_a_sequential_loop_skip_openmp_on_one_thread() -> None:
    """A parallel loop inside sequential ones enters OpenMP only on several
    threads (under if(0) the runtime is still entered at every iteration:
    durbin ran 2x slower than gcc on one thread); a loop of statements only
    also needs POLYTC_MIN_PARALLEL_TRIPS iterations (a fork and join per
    time step cost more than its work); a wavefront's loop of tiles does not.
    Inside one loop, a band whose iterations each run little work (a 1-D
    sweep per time step) gets no parallel loop at all."""
    from stencil_kernels import SWEEPS_1D
    per_step = polytc.transform_c(SWEEPS_1D, include_dirs=[HERE], filename="s.c",
                                  scheduler="identity", tile=None)
    assert "omp parallel" not in per_step, per_step
    repeated = polytc.transform_c(REPEATED_SWEEPS, filename="r.c", scheduler="identity",
                                  tile=None)
    assert repeated.count("if (polytc_nthreads > 1 && ") == 2, repeated
    assert "POLYTC_MIN_PARALLEL_TRIPS" in repeated.split("void kernel")[0]  # -D overrides
    one_thread = _loop_bodies(repeated, "else\n")  # the blocks after each else
    assert len(one_thread) == 2 and all("omp parallel" not in b and "for (" in b
                                        for b in one_thread), repeated
    tiled = polytc.transform_c(SWEEPS_2D, include_dirs=[HERE], filename="t.c")
    assert "if (polytc_nthreads > 1)\n" in tiled and "POLYTC_MIN_PARALLEL_TRIPS" not in tiled


def test_an_outermost_loop_of_statements_needs_enough_iterations_to_fork() -> None:
    """Outermost, a parallel loop of statements only runs threaded over
    POLYTC_MIN_PARALLEL_TRIPS iterations (an initialisation of 2,000 stores
    is less work than a fork and join); a loop that holds loops does not
    ask, and neither does a TC kernel's (its calls run small work on one
    thread)."""
    source = """void init(int n, double x[n], double A[n][n]) {
#pragma scop
  for (int i = 0; i < n; i++) x[i] = 0.0;
  for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) A[i][j] = 1.0;
#pragma endscop
}
"""
    text = polytc.transform_c(source, filename="init.c", tile=None, fuse="none")
    clauses = re.findall(r"#pragma omp parallel for.*", text)
    assert len(clauses) == 2, text
    guarded = [c for c in clauses if "POLYTC_MIN_PARALLEL_TRIPS" in c]
    assert len(guarded) == 1 and "(n) - (0) >= POLYTC_MIN_PARALLEL_TRIPS" in guarded[0], text
    assert "#define POLYTC_MIN_PARALLEL_TRIPS" in text.split("void init")[0]
    assert "POLYTC_MIN_PARALLEL_TRIPS" not in polytc.compile(
        "def f(float(N) X) -> (Y) { Y(i) = X(i) * 2 }").c_source


def test_diamond_tiles_start_together() -> None:
    """``time_tiling="diamond"``: the time tile loop runs along the mirror of
    the first space member (2s - y against 2s + y, with per-statement
    shifts), so the wavefront number floor((2s - y)/8) + floor((2s + y)/8)
    is about s/2 along a time step: every tile of the first steps starts at
    once.  The point loops keep the band's own members."""
    kernel = _kernel(SWEEPS_2D, tile=(8, 8, 16), time_tiling="diamond")
    tiled = str(kernel.tiled_summary)
    assert "S0[s, y, x] -> [floor((2s - y)/8) + floor((2s + y)/8)," in tiled, tiled
    assert "S1[s, y, x] -> [floor((1 + 2s - y)/8) + floor((1 + 2s + y)/8)," in tiled, tiled
    assert "parallel: #1" in tiled.splitlines()[0], tiled
    assert "S0[s, y, x] -> [s, 2s + y]" in tiled, tiled  # the point band, unchanged
    assert "omp parallel for" in kernel.c_source


def test_diamonds_need_a_mirror_the_dependences_allow() -> None:
    """An in-place stencil that reads its row's new value (``A[y - 1][x]``
    of the same step) has no mirror: its tiles keep their wavefront, and
    the result its bits."""
    from polytc.tiling import diamond
    kernel = _kernel(IN_PLACE_2D, time_tiling="diamond")
    node = kernel.schedule.get_root().child(0)
    while node.get_type() != node.get_type().band:
        node = node.child(0)
    assert diamond.mirror(node, kernel.dependences.all) is None
    assert str(kernel.tiled_summary) == str(_kernel(IN_PLACE_2D).tiled_summary)


def test_diamond_sizes_give_time_the_space_side() -> None:
    from polytc.tiling.model import time_tile_sizes
    assert time_tile_sizes(3, 8, diamond=True) == time_tile_sizes(3, 8)  # 16, 16, row
    row = time_tile_sizes(2, 8)[-1]
    assert time_tile_sizes(2, 8, diamond=True) == (row, row)


def test_time_tiling_is_checked_and_on_the_command_line(tmp_path: Path) -> None:
    from polytc.cli import main
    with pytest.raises(polytc.errors.OptionError, match="time_tiling='rhombus'"):
        polytc.Options(time_tiling="rhombus")
    path = tmp_path / "sweeps.c"
    path.write_text(SWEEPS_2D)
    out = tmp_path / "out.c"
    assert main(["opt", str(path), "-I", str(HERE), "-o", str(out), "--time-tiling", "diamond",
                 "--tile", "8,8,16", "--no-cache"]) == 0
    assert "time_tiling=diamond" in out.read_text()
    assert "floor" not in out.read_text() and "c0 += 1" in out.read_text()
    wavefront = polytc.transform_c(path, include_dirs=[HERE], tile=(8, 8, 16),
                                   time_tiling="wavefront")
    assert "time_tiling=wavefront" in wavefront
    assert out.read_text().replace("diamond", "wavefront") != wavefront


@pytest.mark.parametrize("text, diamonds", [("SWEEPS_1D", True), ("SWEEPS_2D", False),
                                            ("SWEEPS_3D", True)])
def test_auto_picks_diamonds_for_one_or_three_space_dimensions(text: str,
                                                               diamonds: bool) -> None:
    import stencil_kernels
    source = getattr(stencil_kernels, text)
    auto = str(_kernel(source).tiled_summary)
    assert (auto == str(_kernel(source, time_tiling="diamond").tiled_summary)) == diamonds
    assert (auto == str(_kernel(source, time_tiling="wavefront").tiled_summary)) != diamonds


@pytest.mark.parametrize("text, apart", [("SWEEPS_1D", False), ("SWEEPS_2D", False),
                                         ("IN_PLACE_2D", False), ("SWEEPS_3D", True),
                                         ("IN_PLACE_3D", True)])
def test_three_space_dimensions_get_tiles_of_their_own_for_one_thread(
        text: str, apart: bool, tmp_path: Path) -> None:
    """Under ``time_tiling="auto"`` a band of three space dimensions runs, on
    one thread, the serial tiling of its band: its tiles in lexicographic
    order, no diamonds and no wavefront (PolyBench's heat-3d 1.39 s ->
    1.11 s); more threads run the diamonds.  Both are checked bit for bit
    by ``test_time_tiled_stencils_compute_the_original_bits``."""
    import stencil_kernels
    from polytc.cli import main
    source = getattr(stencil_kernels, text)
    stages = _region_stages(source)
    serial_tiles = apart
    if text == "SWEEPS_2D":  # larger tiles for one thread, see the next test
        assert "tiled_one_thread" in stages
    else:
        assert ("tiled_one_thread" in stages) == apart
        assert ("if (POLYTC_THREADS == 1)" in stages["c"].text) == apart
    if serial_tiles:
        serial = _region_stages(source, parallel=False, time_tiling="wavefront")
        assert str(stages["tiled_one_thread"]) == str(serial["tiled"])
        assert str(stages["tiled"]) != str(serial["tiled"])
        one, more = stages["c"].text.split("if (POLYTC_THREADS == 1)", 1)[1].split("\n  else\n", 1)
        assert "omp parallel" not in one and "omp parallel" in more
        path = tmp_path / "stencil.c"
        path.write_text(source)
        assert main(["schedule", "--tiled", str(path), "-I", str(HERE), "--no-cache"]) == 0
        assert _kernel(source).tiled_schedule_one_thread is not None
    for fixed in ({"time_tiling": "diamond"}, {"time_tiling": "wavefront"},
                  {"parallel": False}):  # only "auto" chooses for the user
        assert "tiled_one_thread" not in _region_stages(source, **fixed)


def test_two_space_dimensions_get_larger_tiles_for_one_thread() -> None:
    """On one thread no wavefront needs many tiles: a vectorized band of two
    space dimensions runs 64 x 64 x 256 tiles there (PolyBench LARGE
    jacobi-2d 0.74 s -> 0.66 s, fdtd-2d 0.63 s -> 0.49 s), and its default
    16 x 16 x row tiles on more threads.  An in-place stencil whose row is
    not vectorized keeps one block (its cubes do not change)."""
    from polytc.tiling.model import time_tile_sizes
    stages = _region_stages(SWEEPS_2D)
    one, more = str(stages["tiled_one_thread"]), str(stages["tiled"])
    assert "mod 64" in one and "mod 256" in one and "mod 64" not in more, one
    text = stages["c"].text
    alone, parallel = text.split("if (POLYTC_THREADS == 1)", 1)[1].split("\n  else\n", 1)
    assert "c1 += 64" in alone and "c1 += 64" not in parallel
    assert time_tile_sizes(3, 8, one_thread=True) == (64, 64, 256)
    assert time_tile_sizes(3, 8, vector_inner=False, one_thread=True) == \
        time_tile_sizes(3, 8, vector_inner=False)
    assert time_tile_sizes(4, 8, one_thread=True) == time_tile_sizes(4, 8)
    for given in ({"tile": (8, 8, 16)}, {"time_tiling": "wavefront"}, {"parallel": False}):
        assert "tiled_one_thread" not in _region_stages(SWEEPS_2D, **given)


def _region_stages(source: str, **options: object) -> dict[str, object]:
    from polytc.c_pipeline import iterator_prefix, options_of, region_stages
    from polytc.frontend.c import only_region, read_unit, region_program
    unit = read_unit(source, include_dirs=[HERE])
    region = only_region(unit, None)
    return region_stages(unit, region, region_program(unit, region), options_of(options),
                         iterator_prefix(unit))


def _loop_around(source: str, statement: str) -> str:
    """The header of the innermost loop around the first ``statement``."""
    before = source[:source.index(statement)]
    return before[before.rindex("for ("):].split("\n")[0]


def test_a_parallel_loop_around_recurrences_runs_inside_them() -> None:
    """adi's shape: for each line ``i``, a recurrence along ``j`` that reads
    a column (``W[j][i - 1]``) and one back.  The ``i`` loop is tiled by 32
    and its point loop sunk below each ``j`` loop, where it is a vector loop:
    32 chains overlap and the column reads are contiguous.  Not untiled, and
    not where reductions may be reassociated."""
    source = _kernel(ALTERNATING_LINES).c_source
    around = _loop_around(source, "L[i][j] = ")
    assert "POLYTC_MIN(31, " in around, source  # the point loop of a tile of i
    assert "c1 += 32" in source
    assert "omp simd\n          for (int64_t c3" in source, source
    for options in ({"tile": None}, {"reassociate": True}):
        plain = _kernel(ALTERNATING_LINES, **options).c_source
        assert "c1 += 32" not in plain, (options, plain)
        assert "POLYTC_MIN(31, " not in _loop_around(plain, "L[i][j] = "), (options, plain)
    assert "c1 += 8" in _kernel(ALTERNATING_LINES, tile=8).c_source


def test_a_time_tiled_region_runs_as_written_on_one_thread_within_l1() -> None:
    """On one thread, a stencil tiled across time whose arrays fit in the L1
    cache runs the original loops (its tiles save no traffic there); the
    guard sums each array's touched box, and -DPOLYTC_ORIGINAL_WITHIN=0
    (the tests' builds) always runs the tiles.  A region not tiled across
    time has no such guard."""
    from stencil_kernels import SWEEPS_1D
    from polytc.codegen_c.footprint import footprint_boxes
    from polytc.tiling.model import machine_caches
    text = polytc.transform_c(SWEEPS_1D, include_dirs=[HERE], filename="s.c")
    assert "POLYTC_THREADS == 1 && (int64_t)8 * " in text, text
    assert f"#define POLYTC_ORIGINAL_WITHIN {machine_caches().l1}\n" in text
    assert "V[x] = 0.25 * U[x - 1]" in text.split("#pragma scop")[-1]  # the original, kept
    boxes = footprint_boxes(polytc.parse_c(SWEEPS_1D, include_dirs=[HERE], filename="s.c"))
    assert boxes is not None and sorted(boxes) == ["U", "V"]

    def at(extent: isl.PwAff, **sizes: int) -> int:
        point = extent.domain().get_space().params()
        fixed = isl.Set.universe(point)
        for name, value in sizes.items():
            fixed = fixed.fix_val(isl.dim_type.param,
                                  fixed.find_dim_by_name(isl.dim_type.param, name), value)
        return int(extent.intersect_params(fixed).max_val().to_python())
    for name in ("U", "V"):
        element_bytes, (extent,) = boxes[name]
        assert element_bytes == 8
        assert at(extent, steps=23, n=301) == 301  # x - 1 .. x + 1 over 1 .. n - 2
        assert at(extent, steps=0, n=301) == 0     # no step: nothing touched
    untimed = polytc.transform_c("""void f(int n, double A[n][n], double B[n][n]) {
#pragma scop
  for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) B[i][j] = 2.0 * A[i][j];
#pragma endscop
}
""", filename="f.c")
    assert "POLYTC_ORIGINAL_WITHIN" not in untimed
