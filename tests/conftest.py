"""Suite-wide settings.

Hypothesis' per-example deadline (200 ms) measures the machine, not the code: on a
shared 2-core box under ``-n 2`` a slow example fails as "flaky" though nothing is
wrong. Property tests assert behaviour only; speed is the benchmarks' job (bench/).
"""

from hypothesis import settings

settings.register_profile("picops", deadline=None)
settings.load_profile("picops")


def pytest_terminal_summary(terminalreporter):
    """Say which supported SCF runtimes the built package was run on, and which not.

    The package tests (tests/functional/test_package.py, tests/integration/runtimes)
    run on every supported runtime's CPython this machine has; a runtime without one
    cannot be proven here, and the run says so rather than passing quietly.
    """
    from picops import runtimes
    from picops_cli.package import find_python

    found, missing = [], []
    for runtime in runtimes.SUPPORTED.values():
        python = find_python(runtime)
        (found if python else missing).append(f"{runtime.name} ({python})" if python
                                              else runtime.name)
    terminalreporter.write_sep("-", "SCF runtimes")
    terminalreporter.write_line("built package run on: " + (", ".join(found) or "none"))
    terminalreporter.write_line("could not run (no such CPython here): "
                                + (", ".join(missing) or "none"))
