"""Suite-wide settings.

Hypothesis' per-example deadline (200 ms) measures the machine, not the code: on a
shared 2-core box under ``-n 2`` a slow example fails as "flaky" though nothing is
wrong. Property tests assert behaviour only; speed is the benchmarks' job (bench/).
"""

from hypothesis import settings

settings.register_profile("picops", deadline=None)
settings.load_profile("picops")
