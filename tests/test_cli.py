"""The ``polytc`` command line: every subcommand and flag, errors and exit
statuses, in process through ``main([...])`` and once as a real process."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import polytc
from polytc import cli, cli_commands

MATMUL = "def mm(float(M,K) A, float(K,N) B) -> (C) {\n    C(m,n) +=! A(m,k) * B(k,n)\n}\n"
TWO = MATMUL + "def scale(float(N) A) -> (O) {\n    O(i) = A(i) * 2.0\n}\n"
MLP = """def mlp(float(B,K) X, float(N,K) W, float(N) b) -> (Y) {
    Y(i,n) +=! X(i,k) * W(n,k)
    Y(i,n) = fmax(Y(i,n) + b(n), 0)
}
"""
GATHER = "def take(float(V,D) T, int32(B) I) -> (O) { O(b, d) = T(I(b), d) }\n"
BAD = "def bad(float(N) A) -> (O) {\n    O(i) = X(i)\n}\n"


@pytest.fixture
def tc(tmp_path):
    """Writes TC text to a file and returns its path."""
    def write(text: str, name: str = "k.tc") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


@pytest.fixture
def compiles(monkeypatch):
    """Records the options of every polytc.compile call the CLI makes."""
    calls: list[dict] = []
    real = polytc.compile

    def recording(text, entry=None, **options):
        calls.append({"entry": entry, **options})
        return real(text, entry, **options)
    monkeypatch.setattr(polytc, "compile", recording)
    return calls


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# -- top level -------------------------------------------------------------------
def test_help_documents_every_flag(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and all(c in out for c in ("compile", "schedule", "deps", "run"))
    source = ["--entry", "--dtype", "--no-cache", "FILE"]
    scheduling = ["--scheduler", "--fuse", "--schedule-file"]
    codegen = ["--tile", "--unroll", "--no-parallel", "--no-vectorize"]
    flags = {"compile": source + scheduling + codegen +
             ["--output", "--save-dir", "--name", "--no-harness"],
             "schedule": source + scheduling + codegen + ["--tiled"], "deps": source,
             "run": source + scheduling + codegen +
             ["--sizes", "--repeat", "--threads", "--seed", "--specialize"]}
    every = {flag for own in flags.values() for flag in own}
    for command, own in flags.items():
        status, out, _ = run(capsys, command, "--help")
        assert status == 0
        for flag in own:
            assert flag in out, (command, flag)
        for flag in every - set(own):  # a flag that would do nothing is not offered
            assert f"{flag} " not in out and f"{flag}]" not in out, (command, flag)


def test_version_and_usage_errors(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and polytc.__version__ in out
    status, _, err = run(capsys)
    assert status == 2 and "required" in err
    status, _, err = run(capsys, "frobnicate", "x.tc")
    assert status == 2 and "invalid choice" in err


# -- compile ---------------------------------------------------------------------
def test_compile_writes_c(capsys, tc, tmp_path):
    path = tc(MATMUL)
    status, out, _ = run(capsys, "compile", path)
    assert status == 0 and "int polytc_mm(" in out
    status, out, err = run(capsys, "compile", path, "-o", str(tmp_path / "mm.c"))
    assert status == 0 and out == "" and "wrote" in err
    assert (tmp_path / "mm.c").read_text() == polytc.compile(MATMUL).c_source
    status, out, _ = run(capsys, "compile", path, "--output", "-")
    assert status == 0 and "int polytc_mm(" in out


def test_compile_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MATMUL))
    status, out, _ = run(capsys, "compile", "-")
    assert status == 0 and "int polytc_mm(" in out


def test_compile_save_dir_name_and_no_harness(capsys, tc, tmp_path):
    path = tc(MATMUL)
    status, out, err = run(capsys, "compile", path, "--save-dir", str(tmp_path / "a"))
    assert status == 0 and out == ""
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == \
        ["Makefile", "mm.c", "mm.h", "mm_main.c"]
    status, _, _ = run(capsys, "compile", path, "--save-dir", str(tmp_path / "b"),
                       "--name", "gemm", "--no-harness")
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["Makefile", "gemm.c", "gemm.h"]
    status, _, err = run(capsys, "compile", path, "--name", "gemm")
    assert status == 2 and "--save-dir" in err
    status, _, err = run(capsys, "compile", path, "--save-dir", str(tmp_path / "c"),
                         "--name", "not-an-identifier")
    assert status == 1 and "C identifier" in err


def test_entry_selects_a_def(capsys, tc):
    path = tc(TWO)
    status, out, _ = run(capsys, "compile", path, "--entry", "scale")
    assert status == 0 and "int polytc_scale(" in out and "polytc_mm(" not in out
    status, _, err = run(capsys, "compile", path, "--entry", "nothere")
    assert status == 1 and "nothere" in err


def test_dtype_of_bare_statements(capsys, tc, compiles):
    status, out, _ = run(capsys, "compile", tc("C(i,j) +=! A(i,k) * B(k,j)"), "--dtype", "double")
    assert status == 0 and "const double *restrict A" in out
    assert compiles[-1]["dtype"] == "double"
    status, _, err = run(capsys, "compile", tc("O(i) = A(i)"), "--dtype", "complex")
    assert status == 1 and "OptionError" in err


@pytest.mark.parametrize("flags, options", [
    ([], {"scheduler": "pluto", "fuse": "smart", "tile": "auto", "unroll": "auto",
          "parallel": True, "vectorize": True}),
    (["--scheduler", "isl"], {"scheduler": "isl"}),
    (["--scheduler", "identity"], {"scheduler": "identity"}),
    (["--fuse", "max"], {"fuse": "max"}),
    (["--fuse", "none"], {"fuse": "none"}),
    (["--fuse", "S0,S1;S2"], {"fuse": [("S0", "S1"), ("S2",)]}),
    (["--tile", "32,32,32"], {"tile": (32, 32, 32)}),
    (["--tile", "16"], {"tile": 16}),
    (["--tile", "none"], {"tile": None}),
    (["--tile", "64,64,64:8,8,8"], {"tile": [(64, 64, 64), (8, 8, 8)]}),
    (["--unroll", "none"], {"unroll": None}),
    (["--unroll", "2"], {"unroll": 2}),
    (["--unroll", "2,2"], {"unroll": (2, 2)}),
    (["--no-parallel"], {"parallel": False}),
    (["--no-vectorize"], {"vectorize": False}),
    (["--no-cache"], {"cache": False}),
])
def test_flags_become_compile_options(capsys, tc, compiles, flags, options):
    status, out, err = run(capsys, "compile", tc(MLP), *flags)
    assert status == 0, err
    assert "int polytc_mlp(" in out
    for key, value in options.items():
        assert compiles[-1][key] == value, key


def test_no_parallel_emits_no_pragma(capsys, tc):
    status, out, _ = run(capsys, "compile", tc(MATMUL), "--no-parallel")
    assert status == 0 and "omp parallel" not in out


@pytest.mark.parametrize("flag, value", [
    ("--tile", "0"), ("--tile", "32,x"), ("--tile", "4::4"), ("--unroll", "-1"),
    ("--unroll", "auto,2"), ("--fuse", "most"), ("--fuse", "S0,;S1"), ("--scheduler", "pip"),
])
def test_bad_flag_values_are_usage_errors(capsys, tc, flag, value):
    status, _, err = run(capsys, "compile", tc(MATMUL), flag, value)
    assert status == 2 and flag in err


def test_schedule_file_is_used_and_checked(capsys, tc, tmp_path):
    path = tc(MATMUL)
    legal = tmp_path / "legal.txt"
    legal.write_text("[M, K, N] -> { S0[m, n] -> [0, n, m, 0]; S1[m, n, k] -> [1, n, m, k] }")
    status, out, err = run(capsys, "schedule", path, "--schedule-file", str(legal))
    assert status == 0, err
    assert "S1[m, n, k] -> [1, n, m, k" in out
    illegal = tmp_path / "illegal.txt"
    illegal.write_text("[M, K, N] -> { S0[m, n] -> [1, m, n, 0]; S1[m, n, k] -> [0, m, n, k] }")
    status, _, err = run(capsys, "compile", path, "--schedule-file", str(illegal))
    assert status == 1 and "IllegalScheduleError" in err and "flow" in err
    status, _, err = run(capsys, "compile", path, "--schedule-file", str(tmp_path / "none.txt"))
    assert status == 1 and "none.txt" in err


# -- schedule and deps -------------------------------------------------------------
def test_schedule_prints_tree_map_nest_and_summary(capsys, tc):
    status, out, _ = run(capsys, "schedule", tc(MLP))
    assert status == 0
    for heading in ("# schedule tree", "# schedule map", "# loop nest", "# summary"):
        assert heading in out
    assert "domain:" in out and "S1[i, n, k] ->" in out and "parallel for i" in out
    assert "fused groups" in out


def test_deps_prints_dependences(capsys, tc):
    status, out, _ = run(capsys, "deps", tc(MATMUL))
    assert status == 0
    assert "flow (RAW)" in out and "anti (WAR)" in out and "output (WAW)" in out
    assert "S0[m, n] -> S1[" in out


# -- run ---------------------------------------------------------------------------
def test_run_checks_and_times(capsys, tc):
    status, out, err = run(capsys, "run", tc(MATMUL), "--sizes", "M=20,N=12,K=9",
                           "--repeat", "2", "--threads", "1", "--seed", "3")
    assert status == 0, err
    assert "sizes M=20, K=9, N=12, 1 thread" in out
    assert "scheduled:   median" in out and "over 2 calls" in out
    assert "outputs agree" in out


def test_run_specialize_and_gathers(capsys, tc, compiles):
    status, out, err = run(capsys, "run", tc(GATHER), "--sizes", "V=5,D=3,B=7", "--specialize")
    assert status == 0, err
    assert compiles[0]["specialize"] is True
    assert compiles[1]["scheduler"] == "identity" and compiles[1]["tile"] is None


def test_run_sizes_errors(capsys, tc):
    path = tc(MATMUL)
    status, _, err = run(capsys, "run", path, "--sizes", "M=3")
    assert status == 1 and "missing sizes K, N" in err
    status, _, err = run(capsys, "run", path, "--sizes", "M=3,N=3,K=3,Q=1")
    assert status == 1 and "unknown size Q" in err
    for bad in ("M", "M=x", "M=-1", "3=4"):
        status, _, err = run(capsys, "run", path, "--sizes", bad)
        assert status == 2 and "--sizes" in err
    status, _, err = run(capsys, "run", path)
    assert status == 2 and "--sizes" in err
    status, _, err = run(capsys, "run", path, "--sizes", "M=3,N=3,K=3", "--repeat", "0")
    assert status == 2


def test_run_reports_a_disagreement(capsys, tc, monkeypatch):
    real = polytc.compile

    class Wrong:
        def __init__(self, kernel):
            self.kernel = kernel

        def __call__(self, *args, **kwargs):
            return self.kernel(*args, **kwargs) + 1

    def compile_(text, entry=None, **options):
        kernel = real(text, entry, **options)
        return Wrong(kernel) if options.get("scheduler") == "identity" else kernel
    monkeypatch.setattr(polytc, "compile", compile_)
    status, _, err = run(capsys, "run", tc(MATMUL), "--sizes", "M=4,N=4,K=4")
    assert status == 1 and "output C differs from the unscheduled program" in err


def test_random_inputs_follow_shapes_dtypes_and_seed():
    kernel = polytc.compile(GATHER)
    sizes = {"V": 5, "D": 3, "B": 7}
    T, I = cli_commands.random_inputs(kernel, sizes, 0)
    assert T.shape == (5, 3) and T.dtype == np.float32
    assert I.shape == (7,) and I.dtype == np.int32 and I.min() >= 0 and I.max() < 3
    again, _ = cli_commands.random_inputs(kernel, sizes, 0)
    other, _ = cli_commands.random_inputs(kernel, sizes, 1)
    assert np.array_equal(T, again) and not np.array_equal(T, other)


@pytest.mark.parametrize("argv, phrase", [
    (["deps", "{path}", "--tile", "32"], "--tile does nothing for 'deps' (it is a flag of "
     "'compile', 'schedule', 'run', 'opt' and 'plot')"),
    (["deps", "{path}", "--scheduler=isl"], "--scheduler does nothing for 'deps'"),
    (["schedule", "{path}", "--no-parallel"], "--no-parallel changes only the tree after "
     "tiling: add --tiled"),
    (["deps", "{path}", "--sizes", "M=3"], "--sizes does nothing for 'deps' (it is a flag "
     "of 'run', 'plot' and 'tune')"),
    (["compile", "{path}", "--frobnicate"], "unknown flag --frobnicate; 'polytc compile "
     "--help' lists the flags"),
    (["compile", "{path}", "another.tc"], "unexpected argument 'another.tc'"),
])
def test_flags_that_do_nothing_are_refused(capsys, tc, argv, phrase):
    path = tc(MATMUL)
    status, out, err = run(capsys, *(a.format(path=path) for a in argv))
    assert status == 2 and out == "" and phrase in err, err
    assert f"usage: polytc {argv[0]}" in err and "Traceback" not in err


@pytest.mark.parametrize("data, phrase", [
    (b"\x7fELF\x02\x01\x01\x00\x00", "is a binary file (a NUL byte at offset 7), not TC text"),
    (b"O(i) = A(i) \xff\xfe", "is not UTF-8 text (byte 0xff at offset 12); TC files are UTF-8"),
])
def test_unreadable_files_are_named_without_a_traceback(capsys, tmp_path, data, phrase):
    path = tmp_path / "k.tc"
    path.write_bytes(data)
    for command in ("compile", "schedule", "deps"):
        status, out, err = run(capsys, command, str(path))
        assert status == 1 and out == "" and f"polytc: {path} {phrase}" in err, err
    status, _, err = run(capsys, "compile", str(tmp_path))
    assert status == 1 and "is a directory, not a TC file" in err
    good = tmp_path / "ok.tc"
    good.write_text(MATMUL)
    status, _, err = run(capsys, "compile", str(good), "--schedule-file", str(path))
    assert status == 1 and phrase in err and "Traceback" not in err, err


def test_rejected_cflags_are_blamed_with_the_compilers_line(capsys, tc, monkeypatch):
    from polytc.codegen_c import build
    monkeypatch.setenv("CFLAGS", "-O2 -fpolytc-bogus-flag")
    build.toolchain.cache_clear()
    try:
        status, _, err = run(capsys, "compile", tc(MATMUL), "--no-cache")
    finally:
        build.toolchain.cache_clear()
    assert status == 1 and "Traceback" not in err
    assert "the C compiler rejects its flags (CFLAGS: -O2 -fpolytc-bogus-flag), not the " \
           "kernel; it says: " in err
    assert "-fpolytc-bogus-flag" in err.split("it says:")[1].splitlines()[0]
    assert "rejected the generated kernel" not in err


def test_a_bug_of_ours_prints_no_traceback(capsys, tc, monkeypatch):
    def broken(args):
        raise RuntimeError("boom")
    monkeypatch.setattr(cli_commands, "deps_command", broken)
    status, _, err = run(capsys, "deps", tc(MATMUL))
    assert status == 1 and "internal error: RuntimeError: boom" in err
    assert "Traceback" not in err


# -- errors ------------------------------------------------------------------------
def test_user_errors_print_the_caret_and_exit_1(capsys, tc):
    status, out, err = run(capsys, "compile", tc(BAD, "bad.tc"))
    assert status == 1 and out == ""
    assert "bad.tc: UnknownNameError: line 2, column 12" in err
    assert "O(i) = X(i)" in err and "^" in err and "Traceback" not in err
    status, _, err = run(capsys, "deps", str(Path(tc(BAD)).parent / "missing.tc"))
    assert status == 1 and "missing.tc" in err


def test_real_process(tmp_path):
    """``python -m polytc`` (and the console script, when installed) as processes."""
    bad = tmp_path / "bad.tc"
    bad.write_text(BAD)
    result = subprocess.run([sys.executable, "-m", "polytc", "compile", "-"], input=MATMUL,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "int polytc_mm(" in result.stdout
    script = Path(sys.executable).with_name("polytc")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "polytc"]
    result = subprocess.run([*command, "deps", str(bad)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1 and "line 2, column 12" in result.stderr
    assert "Traceback" not in result.stderr


def test_schedule_takes_tiling_flags_only_with_tiled(capsys, tmp_path):
    path = tmp_path / "mm.tc"
    path.write_text(MATMUL)
    status, _, err = run(capsys, "schedule", str(path), "--tile", "8")
    assert status == 2 and "--tile changes only the tree after tiling: add --tiled" in err
    status, small, _ = run(capsys, "schedule", str(path), "--tiled", "--tile", "8")
    status_default, default, _ = run(capsys, "schedule", str(path), "--tiled")
    assert status == status_default == 0 and small != default and "mod 8" in small
