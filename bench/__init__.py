"""Benchmarks: each measures ratios side by side in one run (never absolute times).

Run all with ``make bench`` (``python -m bench``) or one with
``python -m bench.<module>``. Each module prints a table and exits non-zero
when a target is missed, so the README's figures can be reproduced verbatim.
"""
