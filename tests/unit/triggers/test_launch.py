"""How the emulator launches the function: the built package on the runtime's CPython
by default, the source tree when told to, or (announced once) when that CPython is
missing."""

import logging
import sys

import pytest

from picops import runtimes
from picops_cli import package
from picops_emulator.triggers import launch

SOURCE = package.FUNCTION_DIR


def test_source_when_asked_runs_the_tree_on_this_interpreter():
    chosen = launch.resolve_launch("Python3.7", SOURCE, source=True)
    assert (chosen.mode, chosen.python, chosen.function_dir, chosen.site) == (
        launch.SOURCE, sys.executable, SOURCE, True)
    assert not chosen.fallback


def test_package_on_the_runtimes_cpython_with_no_site_packages():
    runtime = runtimes.SUPPORTED["Python3.7"]
    python = package.find_python(runtime)
    if python is None:
        pytest.skip("no CPython 3.7 on this machine (listed in the run's summary)")
    chosen = launch.resolve_launch("Python3.7", SOURCE)
    assert (chosen.mode, chosen.python, chosen.site) == (launch.PACKAGE, python, False)
    assert (chosen.function_dir / "index.py").is_file()
    assert (chosen.function_dir / "qcloud_cos").is_dir()  # the runtime closure, installed
    assert package.bytecode_tags(chosen.function_dir) == ["cpython-37"]


def test_missing_cpython_falls_back_to_source_and_says_so_once(monkeypatch, caplog):
    monkeypatch.setattr(package, "find_python", lambda runtime, explicit=None: None)
    monkeypatch.setattr(launch, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="picops_emulator.triggers.launch"):
        first = launch.resolve_launch("Python3.10", SOURCE)
        second = launch.resolve_launch("Python3.10", SOURCE)
    assert first.mode == second.mode == launch.SOURCE and first.fallback and second.fallback
    assert first.python == sys.executable
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no CPython 3.10 found" in warnings[0] and "Python3.10" in warnings[0]


def test_another_projects_function_folder_runs_from_source(tmp_path):
    (tmp_path / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    chosen = launch.resolve_launch("Python3.7", tmp_path)
    assert (chosen.mode, chosen.function_dir) == (launch.SOURCE, tmp_path)
    assert not chosen.fallback and chosen.shown_note == chosen.note  # chosen, not missing


def test_an_interpreter_of_the_wrong_version_is_refused():
    with pytest.raises(ValueError, match="not a working CPython 3.7"):
        launch.resolve_launch("Python3.7", SOURCE, python=sys.executable)


def test_start_up_output_repeats_no_fallback_warning(monkeypatch, caplog):
    monkeypatch.setattr(package, "find_python", lambda runtime, explicit=None: None)
    monkeypatch.setattr(launch, "_warned", set())
    with caplog.at_level(logging.INFO, logger="picops_emulator"):
        fallback = launch.resolve_launch("Python3.10", SOURCE)
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning == fallback.note
    assert fallback.note not in fallback.shown_note
    assert "Python3.10" in fallback.shown_note and "warning above" in fallback.shown_note
    chosen = launch.resolve_launch("Python3.7", SOURCE, source=True)
    assert chosen.shown_note == chosen.note  # asked for: nothing was said before
