"""Peak memory of one engine call, measured in a fresh process (Linux ``/proc``).

:func:`peak_memory` runs ``python -m bench.memory IMAGE RULE [LOGO]`` in a new
interpreter. There the engine is imported, the input read and libvips warmed up
(``probe``, as in the emulator's workers) before the peak-RSS counter is reset
(``/proc/self/clear_refs``), so the figure is one call's peak above a warm
baseline already holding the input bytes. The child also counts full decodes
(``Source.load`` calls), so a shrink-on-load operation can be proved to avoid them.

RULE is a CI rule, or :data:`FULL_DECODE` for what a thumbnail costs without
shrink-on-load (every pixel decoded, streamed). LOGO is the image ``watermark/1``
rules fetch. The child prints one JSON line: ``{"peak_mb": ..., "full_decodes": ...}``.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Optional

FULL_DECODE = "FULL-DECODE"
_ROOT = Path(__file__).resolve().parent.parent


def peak_memory(image: Path, rule: str, logo: Optional[Path] = None) -> dict:
    """``{"peak_mb", "full_decodes"}`` of running ``rule`` once on ``image``, in a new process."""
    args = [sys.executable, "-m", "bench.memory", str(image), rule]
    if logo is not None:
        args.append(str(logo))
    res = subprocess.run(args, check=True, capture_output=True, text=True, cwd=_ROOT)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"/proc/self/status has no {field}")


def _measure(image: str, rule: str, logo_path: Optional[str]) -> dict:
    from picops.grammar import parse
    from picops_emulator.imaging import execute, probe
    from picops_emulator.imaging import source as source_module
    from picops_emulator.imaging.budget import Budget
    from picops_emulator.imaging.limits import DEFAULT_LIMITS

    data = Path(image).read_bytes()
    logo = Path(logo_path).read_bytes() if logo_path else None
    probe(data)  # libvips initialised and warm, as in the emulator's workers
    loads = []
    plain_load = source_module.Source.load

    def counting_load(self, frames=None):
        loads.append(frames)
        return plain_load(self, frames)

    source_module.Source.load = counting_load
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM (peak RSS) to the current RSS
    base = _status_mb("VmRSS")
    if rule == FULL_DECODE:
        src = source_module.open_source(data, Budget(DEFAULT_LIMITS))
        src.load().thumbnail_image(400).jpegsave_buffer()
    else:
        execute(parse(rule), data, **({"fetch": lambda url: logo} if logo is not None else {}))
    return {"peak_mb": _status_mb("VmHWM") - base, "full_decodes": len(loads)}


if __name__ == "__main__":
    print(json.dumps(_measure(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3
                              else None)))
