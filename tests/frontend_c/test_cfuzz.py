"""The C differential fuzzer (:mod:`polytc.testing.cfuzz`): random stencil
programs rewritten and compared bit for bit with the original."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

import polytc
from polytc.testing import cfuzz

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="needs a C compiler")


def _timed_program() -> cfuzz.CProgram:
    for seed in range(100):
        program = cfuzz.random_program(random.Random(seed))
        if "t < T" in program.source and program.sizes[2][0] >= 2:
            return program
    raise AssertionError("no timed program in 100 seeds")


def test_random_programs_are_rewritten_to_the_same_bits(tmp_path: Path) -> None:
    report = cfuzz.fuzz(3, seed=20261207, out=tmp_path)
    assert report.programs == 3 and report.runs + report.refused == 3
    assert report.runs >= 1
    assert not report.failures, report.failures
    assert not list(tmp_path.iterdir())


def test_a_wrong_rewrite_is_caught(tmp_path: Path) -> None:
    """The check can fail: a rewrite that skips the last time step differs."""
    program = _timed_program()
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc is not None
    right = polytc.transform_c(program.source, time_tiling="diamond")
    assert cfuzz.check(program, right, tmp_path, cc) is None
    wrong = program.source.replace("t < T", "t < T - 1")
    problem = cfuzz.check(program, wrong, tmp_path, cc)
    assert problem is not None and "expected" in problem


def test_programs_cover_thin_domains_and_every_dimension() -> None:
    rng = random.Random(7)
    programs = [cfuzz.random_program(rng) for _ in range(40)]
    assert {p.dims for p in programs} == {1, 2, 3}
    assert all((1, 2 * cfuzz.REACH + 1) in p.sizes for p in programs)
    assert any("t < T" not in p.source for p in programs)
    assert any("+=" in p.source for p in programs)


def test_the_command_line_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cfuzz.main(["--programs", "1", "--seed", "3"]) == 0
    assert "1 programs, " in capsys.readouterr().out


def test_an_internal_error_is_a_failure_and_a_refusal_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from polytc.errors import OptionError, PolytcInternalError

    def internal(*args: object, **kwargs: object) -> str:
        raise PolytcInternalError("scheduling", "a bug")
    monkeypatch.setattr(polytc, "transform_c", internal)
    report = cfuzz.fuzz(1, seed=1)
    assert len(report.failures) == 1 and "PolytcInternalError" in report.failures[0]["problem"]

    def refusal(*args: object, **kwargs: object) -> str:
        raise OptionError("refused")
    monkeypatch.setattr(polytc, "transform_c", refusal)
    report = cfuzz.fuzz(1, seed=1)
    assert report.refused == 1 and not report.failures
