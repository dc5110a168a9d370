"""Engine speed and memory: a 400-px-wide thumbnail of a 12 MP phone-like JPEG.

Side by side in one run (interleaved rounds, medians):

* floor   - libvips decoding the JPEG at 1/8 scale (shrink-on-load), nothing else, read in
  place from memory (a ``*_source`` loader: the ``*_buffer`` ones copy the input first);
* engine  - ``imageMogr2/thumbnail/400x`` through picops' engine (decode, resize, encode);
* Pillow  - ``Image.thumbnail((400, ...))`` + JPEG encode, the same job in Pillow
  (``thumbnail`` already uses JPEG draft mode, Pillow's own shrink-on-load).

Targets (issue 3): engine <= 1.25x the floor and faster than Pillow; peak memory
for one thumbnail under 30 MB above the process's baseline, measured in a fresh
process whose peak-RSS counter is reset after start-up (:mod:`bench.memory`).

    python -m bench.bench_engine
"""

import io
import sys
from pathlib import Path

from bench.memory import peak_memory
from bench.timing import compare, ms, verdict

IMAGE = Path(__file__).parent / "data" / "coffee_12mp.jpg"
RULE = "imageMogr2/thumbnail/400x"
TARGET_FLOOR_RATIO = 1.25
TARGET_PEAK_MB = 30.0

def main() -> int:
    import pyvips
    from PIL import Image

    from picops.grammar import parse
    from picops_emulator.imaging import execute

    data = IMAGE.read_bytes()
    rule = parse(RULE)

    def floor():
        # ``data`` outlives the call, so the memory source may borrow it.
        pyvips.Image.jpegload_source(pyvips.Source.new_from_memory(data), shrink=8).avg()

    def engine():
        execute(rule, data)

    def pillow():
        im = Image.open(io.BytesIO(data))
        im.thumbnail((400, 400 * im.height // im.width + 1))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)

    t = compare([("floor", floor), ("engine", engine), ("pillow", pillow)], rounds=25)
    ratio = t["engine"].median / t["floor"].median
    vs_pillow = t["engine"].median / t["pillow"].median
    peak = peak_memory(IMAGE, RULE)["peak_mb"]
    ok = ratio <= TARGET_FLOOR_RATIO and vs_pillow < 1.0 and peak < TARGET_PEAK_MB

    print(f"input: {IMAGE.name} ({len(data) / 1e6:.1f} MB, 4000x3000), rule: {RULE}")
    print(f"{'candidate':<28}{'median':>12}{'best':>12}")
    for name, label in (("floor", "floor: libvips 1/8 decode"),
                        ("engine", "picops engine"), ("pillow", "Pillow thumbnail")):
        print(f"{label:<28}{ms(t[name].median):>12}{ms(t[name].best):>12}")
    print(f"engine / floor   = {ratio:.2f}x  (target <= {TARGET_FLOOR_RATIO}x) "
          f"{verdict(ratio <= TARGET_FLOOR_RATIO)}")
    print(f"engine / Pillow  = {vs_pillow:.2f}x  (target < 1.00x) {verdict(vs_pillow < 1.0)}")
    print(f"peak memory above baseline = {peak:.1f} MB (target < {TARGET_PEAK_MB:.0f} MB) "
          f"{verdict(peak < TARGET_PEAK_MB)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
