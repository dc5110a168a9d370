"""Hostile images: what each costs the engine when refused, beside what it costs when the
emulator's ceilings are lifted, side by side in one run.

Each case runs in a fresh interpreter (``tests.hostile.peak_growth``: peak RSS growth above
a warm engine, and CPU seconds), once with the default limits and once unchecked: with the
ceilings raised far enough that the work is done or, for the files refused by their
structure (a lying header), by libvips' own thumbnail as the engine ran it before those
checks. The hostile files are built by the test suite's generators (``tests/hostile.py``).

Target: every refusal costs under ``TARGET_REFUSED_MB`` of peak memory.

    python -m bench.bench_hostile
"""

import sys
import tempfile
from pathlib import Path

from tests import hostile

LIFTED = ("Limits(max_request_memory=16 << 30, max_jpeg_scans=100_000, max_frames=100_000, "
          "max_request_seconds=3600, max_input_pixels=10**12, max_input_side=10**6)")

TARGET_REFUSED_MB = 10.0

SETUP = """
from pathlib import Path
from picops.grammar import parse
from picops_emulator.imaging import execute, Limits
from picops_emulator.imaging.libvips import pyvips
from tests.hostile import photo
data = Path({path!r}).read_bytes()
rule = parse({rule!r})
limits = {limits}
warm_rule = parse("imageMogr2/thumbnail/10x")
warm_data = photo(600, 400).jpegsave_buffer()
def warm():
    execute(warm_rule, warm_data)
def run():
    if limits is None:  # unchecked: libvips alone, as the engine decoded before the checks
        out = pyvips.Image.thumbnail_buffer(data, 100, option_string="fail_on=truncated")
        return f"{{out.width}}x{{out.height}} {{out.avg():.0f}}"
    out = execute(rule, data, limits=limits)
    return f"{{out.width}}x{{out.height}}x{{out.frame_count}}"
"""


def cases():
    photo = hostile.photo(1000, 700).jpegsave_buffer()
    return [
        ("progressive JPEG, 883 scans", hostile.progressive_jpeg_many_scans(4096),
         "imageMogr2/thumbnail/100x"),
        ("JPEG header claiming 15000x15000", hostile.jpeg_claiming(15000, 15000,
                                                                   progressive=True), None),
        ("TIFF header claiming 30000x8000", hostile.tiff_claiming(30000, 8000), None),
        ("animated WebP, 5000 frames", hostile.animated_webp(5000), "imageMogr2/rotate/90"),
        ("RLE BMP 7200x7200", hostile.rle8_bmp(7200, 7200), "imageMogr2/thumbnail/100x"),
        ("1.7 KB watermark/2 rule", photo, hostile.text_watermark_rule()),
    ]


def main() -> int:
    print(f"{'input':<36}{'bytes':>9}  {'refused: MB':>11} {'CPU s':>6}  "
          f"{'unchecked: MB':>13} {'CPU s':>6}  refusal")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, data, rule in cases():
            path = Path(tmp) / "input"
            path.write_bytes(data)
            unchecked = LIFTED if rule else "None"
            runs = [hostile.peak_growth(SETUP.format(path=str(path),
                                                     rule=rule or "imageMogr2/thumbnail/100x",
                                                     limits=limits), timeout=900)
                    for limits in ("Limits()", unchecked)]
            refused, lifted = runs
            worst = max(worst, refused["growth_mb"])
            print(f"{name:<36}{len(data):>9}  {refused['growth_mb']:>11.1f} "
                  f"{refused['cpu_s']:>6.2f}  {lifted['growth_mb']:>13.1f} "
                  f"{lifted['cpu_s']:>6.2f}  {refused['outcome'].split(':')[0]}")
    ok = worst < TARGET_REFUSED_MB
    print(f"largest refusal: {worst:.1f} MB (target < {TARGET_REFUSED_MB:g} MB) "
          f"{'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
