"""Run every benchmark module in turn; exit non-zero if any target was missed."""

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    status = 0
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                   if m.name.startswith("bench_"))
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        status |= int(module.main() or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
