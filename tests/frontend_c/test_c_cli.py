"""``polytc opt`` and C files for ``polytc schedule``/``deps``; the rewritten
file keeps every byte outside its regions and builds with and without
OpenMP."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import polytc
from polytc.cli import main
from c_runner import FLAGS, HERE, compiler

SOURCE = """/* a header comment that must survive */
#include <math.h>
#define SCALE 2.0

static
void first(int n, double A[n], double B[n])
{
  int i;
  A[0] = 0.0;   /* outside the region */
#pragma scop
  for (i = 0; i < N; i++)
    A[i] = SCALE * B[i] + sqrt(B[i]);
#pragma endscop
}

void second(int n, double A[n][n])
{
  int i, j;
    #pragma scop
    for (i = 1; i < n; i++)
      for (j = 0; j < n; j++)
        A[i][j] += A[i - 1][j];
    #pragma endscop
}
"""


@pytest.fixture()
def kernel_file(tmp_path: Path) -> Path:
    path = tmp_path / "two.c"
    path.write_text(SOURCE)
    return path


def test_opt_rewrites_every_region_and_keeps_the_rest(kernel_file: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "two.opt.c"
    assert main(["opt", str(kernel_file), "-o", str(out), "-DN=n", "-I", str(HERE),
                 "--tile", "8"]) == 0
    text = out.read_text()
    assert "#pragma scop" not in text and text.count("/* polytc ") == 2
    assert "cpp flags: -I" in text and "-DN=n" in text and "tile=(8,)" in text
    original = SOURCE.splitlines(keepends=True)
    rewritten = text.splitlines(keepends=True)
    helpers_at = rewritten.index("#include <stdint.h>\n")
    assert rewritten[:helpers_at] == original[:4] and rewritten[helpers_at + 2] != original[4]
    assert original[4] in rewritten  # 'static' stays with its function, after the helpers
    first = rewritten.index(original[4])
    scop = original.index("#pragma scop\n")
    assert rewritten[first:first + scop - 4] == original[4:scop]
    assert rewritten[first + scop - 4].startswith("/* polytc ")
    assert text.endswith("".join(original[original.index("    #pragma endscop\n") + 1:]))
    assert "    /* polytc " in text  # the block is indented as the pragma was


def test_output_builds_with_and_without_openmp(kernel_file: Path, tmp_path: Path) -> None:
    text = polytc.transform_c(kernel_file, defines=["N=n"])
    path = tmp_path / "built.c"
    path.write_text(text)
    for openmp in ([], ["-fopenmp"]):
        result = subprocess.run([compiler(), *FLAGS, *openmp, "-c", str(path), "-o",
                                 str(tmp_path / "built.o")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_no_parallel_and_reassociate_flags(kernel_file: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["opt", str(kernel_file), "-DN=n", "--no-parallel", "--reassociate"]) == 0
    text = capsys.readouterr().out
    assert "omp parallel" not in text and "reassociate=True" in text
    assert main(["opt", str(kernel_file), "-DN=n"]) == 0
    assert "omp parallel for" in capsys.readouterr().out


def test_opt_entry_rewrites_one_function(kernel_file: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["opt", str(kernel_file), "-DN=n", "--entry", "second"]) == 0
    text = capsys.readouterr().out
    assert text.count("#pragma scop") == 1 and "(second)" in text


def test_define_shapes_the_region(kernel_file: Path) -> None:
    program = polytc.parse_c(kernel_file, "first", defines=["N=17"])
    assert program.params == ("n",) and "i <= 16" in str(program.statements[0].domain)


def test_schedule_and_deps_take_c_files(kernel_file: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", str(kernel_file), "--entry", "second"]) == 0
    shown = capsys.readouterr().out
    assert "# schedule tree" in shown and "S0[i, j]" in shown and "# summary" in shown
    assert main(["deps", str(kernel_file), "--entry", "second"]) == 0
    assert "flow (RAW)" in capsys.readouterr().out


def test_refused_input_exits_1_with_the_diagnostic(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.c"
    bad.write_text("void f(int n, double A[n])\n{\n  int i;\n#pragma scop\n"
                   "  while (n) A[0] = 1;\n#pragma endscop\n}\n")
    assert main(["opt", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:5:3: error: unsupported statement 'while'" in err and "^~~~" in err


def test_opt_reads_standard_input(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO(SOURCE))
    assert main(["opt", "-", "-DN=n"]) == 0
    assert "of <stdin>" in capsys.readouterr().out
