"""Per-operation speed on a 12 MP photo, next to the decode floor and Pillow (issue 4).

For each operation family the engine implements, one CI rule runs on a 12 MP phone-like JPEG
(``bench/data/coffee_12mp.jpg``), timed side by side in one run (interleaved rounds, medians)
with:

* the decode floor of what the operation must read: libvips decoding the JPEG at 1/8 scale
  for operations whose output is much smaller and that allow shrink-on-load (thumbnail,
  imageView2, ...), a full sequential decode for everything else;
* Pillow doing the same job (open, the operation, save in the engine's output format at
  the engine's output quality), where Pillow has the operation.

A family the engine refuses with UnsupportedOperation is listed as "not implemented".

Target (exit status 1 when missed, or when an operation fails): no operation decodes the
full image when its output is much smaller and it allows shrink-on-load. Each such rule runs
once in a fresh process that counts full decodes (``Source.load`` calls) and measures its
peak memory above a warm baseline (:mod:`bench.memory`); the peak must stay under half
of what the same process needs for a full sequential decode of the same input. Speed ratios
are reported, not judged: only issue 3's thumbnail has a ratio target (``bench_engine``).

    python -m bench.bench_ops
"""

import base64
import io
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from bench.memory import FULL_DECODE, peak_memory
from bench.timing import compare, ms, verdict

IMAGE = Path(__file__).parent / "data" / "coffee_12mp.jpg"
TIME_BUDGET_S = 3.0       # per family, across all rounds of all its candidates
MIN_ROUNDS, MAX_ROUNDS = 3, 15
SHRINK_PEAK_SHARE = 0.5   # shrink-on-load peak must be under this share of a full decode's

PillowJob = Callable[[bytes, int], None]


@dataclass(frozen=True)
class Family:
    name: str
    rule: str
    shrink: bool = False          # output much smaller and shrink-on-load allowed
    pillow: Optional[PillowJob] = None
    rotated: bool = False         # run on the EXIF orientation 6 variant of the input


# --- Pillow doing the same jobs ------------------------------------------------------------

def _pil_open(data: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(data))


def _pil_save(im, fmt: str, quality: int, **options) -> None:
    out = io.BytesIO()
    if fmt == "JPEG":
        options.setdefault("quality", quality)
    elif fmt in ("WEBP", "AVIF"):
        options["quality"] = quality
    im.save(out, fmt, **options)


def _pil_thumbnail(box: Tuple[int, int]) -> PillowJob:
    def job(data: bytes, q: int) -> None:
        im = _pil_open(data)
        im.thumbnail(box)  # draft mode: Pillow's own shrink-on-load
        _pil_save(im, "JPEG", q)
    return job


def _pil_fit(data: bytes, q: int) -> None:
    from PIL import ImageOps

    im = _pil_open(data)
    im.draft("RGB", (400, 400))
    _pil_save(ImageOps.fit(im, (400, 400)), "JPEG", q)


def _pil_convert(fmt: str, **options) -> PillowJob:
    def job(data: bytes, q: int) -> None:
        _pil_save(_pil_open(data), fmt, q, **options)
    return job


def _pil_quality(value: int) -> PillowJob:
    def job(data: bytes, q: int) -> None:
        _pil_save(_pil_open(data), "JPEG", value)
    return job


def _pil_transform(fn: Callable, fmt: str = "JPEG", **options) -> PillowJob:
    def job(data: bytes, q: int) -> None:
        _pil_save(fn(_pil_open(data)), fmt, q, **options)
    return job


def _exif_transpose(im):
    from PIL import ImageOps

    return ImageOps.exif_transpose(im)


def _rotate_cw_90(im):
    from PIL import Image

    return im.transpose(Image.Transpose.ROTATE_270)


def _flip_lr(im):
    from PIL import Image

    return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def _centre_crop(im):
    left, top = (im.width - 1000) // 2, (im.height - 1000) // 2
    return im.crop((left, top, left + 1000, top + 1000))


def _cut(im):
    return im.crop((500, 500, 1500, 1500))


def _blur(im):
    from PIL import ImageFilter

    return im.filter(ImageFilter.GaussianBlur(5))


def _grey(im):
    return im.convert("L")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


FAMILIES: List[Family] = [
    # Output much smaller, shrink-on-load allowed: the 1/8 floor and the memory check.
    Family("thumbnail", "imageMogr2/thumbnail/400x", shrink=True,
           pillow=_pil_thumbnail((400, 301))),
    Family("thumbnail, rotated input", "imageMogr2/auto-orient/thumbnail/400x", shrink=True,
           rotated=True),
    Family("thumbnail + webp + strip", "imageMogr2/thumbnail/400x/strip/format/webp",
           shrink=True),
    Family("imageView2/1 (crop)", "imageView2/1/w/400/h/400", shrink=True, pillow=_pil_fit),
    Family("imageView2/2 (fit)", "imageView2/2/w/400/h/400", shrink=True,
           pillow=_pil_thumbnail((400, 400))),
    Family("scrop", "imageMogr2/scrop/400x400", shrink=True),
    # Full-resolution output: the full decode floor.
    Family("format/webp", "imageMogr2/format/webp", pillow=_pil_convert("WEBP")),
    Family("format/png", "imageMogr2/format/png", pillow=_pil_convert("PNG", compress_level=7)),
    Family("format/avif", "imageMogr2/format/avif", pillow=_pil_convert("AVIF")),
    Family("quality", "imageMogr2/quality/60", pillow=_pil_quality(60)),
    Family("strip", "imageMogr2/strip"),
    Family("interlace", "imageMogr2/interlace/1",
           pillow=_pil_convert("JPEG", progressive=True)),
    Family("auto-orient", "imageMogr2/auto-orient", rotated=True,
           pillow=_pil_transform(_exif_transpose)),
    Family("rotate", "imageMogr2/rotate/90", pillow=_pil_transform(_rotate_cw_90)),
    Family("flip", "imageMogr2/flip/horizontal", pillow=_pil_transform(_flip_lr)),
    Family("crop", "imageMogr2/crop/1000x1000/gravity/center",
           pillow=_pil_transform(_centre_crop)),
    Family("cut", "imageMogr2/cut/1000x1000x500x500", pillow=_pil_transform(_cut)),
    Family("rradius", "imageMogr2/rradius/200"),
    Family("blur", "imageMogr2/blur/8x5", pillow=_pil_transform(_blur)),
    Family("sharpen", "imageMogr2/sharpen/70"),
    Family("bright", "imageMogr2/bright/20"),
    Family("contrast", "imageMogr2/contrast/20"),
    Family("grayscale", "imageMogr2/grayscale/1", pillow=_pil_transform(_grey)),
    Family("size-limit", "imageMogr2/size-limit/500k"),
    Family("watermark/2 (text)", f"watermark/2/text/{_b64('picops bench')}/fontsize/60"),
    Family("watermark/1 (image)",
           f"watermark/1/image/{_b64('http://bench-1250000000.cos.ap-guangzhou.myqcloud.com/logo.png')}"),
]


# --- the memory check ----------------------------------------------------------------------

# --- running ------------------------------------------------------------------------------

@dataclass
class Row:
    family: Family
    status: str                   # "ok", "not implemented", "error: ..."
    floor: str = ""               # "1/8" or "full"
    times: Optional[Dict[str, float]] = None
    output: str = ""
    shrink_check: str = ""
    shrink_ok: bool = True


def _inputs():
    """The photo as shipped, and a copy tagged EXIF orientation 6 (stored sideways)."""
    import pyvips

    data = IMAGE.read_bytes()
    image = pyvips.Image.new_from_buffer(data, "").copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    rotated = image.jpegsave_buffer(Q=90, keep="all")
    logo = pyvips.Image.black(200, 80).bandjoin([128, 200]).copy(interpretation="srgb")
    return data, rotated, logo.cast("uchar").pngsave_buffer()


def _engine_call(rule_text: str, logo: bytes):
    from picops.grammar import parse
    from picops_emulator.imaging import execute

    rule = parse(rule_text)
    return lambda data: execute(rule, data, fetch=lambda url: logo)


def _run_family(fam: Family, data: bytes, logo: bytes) -> Row:
    import pyvips

    from picops_emulator.imaging import UnsupportedOperation

    run = _engine_call(fam.rule, logo)
    try:
        out = run(data)
    except UnsupportedOperation as e:
        return Row(fam, "not implemented", output=e.message[:60])
    except Exception as e:  # any other failure is a bug the table must show
        return Row(fam, f"error: {type(e).__name__}: {e}"[:100], shrink_ok=False)

    # Decoding in place from memory, as the engine does (``data`` outlives every call).
    if fam.shrink:
        def floor():
            pyvips.Image.jpegload_source(pyvips.Source.new_from_memory(data), shrink=8).avg()
    else:
        def floor():
            pyvips.Image.jpegload_source(pyvips.Source.new_from_memory(data),
                                         access="sequential").avg()

    candidates = [("floor", floor), ("engine", lambda: run(data))]
    if fam.pillow is not None:
        q = out.quality
        candidates.append(("pillow", lambda: fam.pillow(data, q)))
    once = 0.0
    for _, fn in candidates:  # one untimed pass warms up and sizes the round count
        once += _timed(fn)
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(TIME_BUDGET_S / once)))
    t = compare(candidates, rounds=rounds, warmup=0)
    return Row(fam, "ok", floor="1/8" if fam.shrink else "full",
               times={k: v.median for k, v in t.items()},
               output=f"{out.width}x{out.height} {out.format} {out.size // 1024} KB")


def _timed(fn) -> float:
    import time

    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _check_shrink(rows: List[Row], paths: Dict[bool, Path], logo: Path) -> None:
    """Fill in the shrink-on-load verdict of every executed shrink family."""
    full = {rotated: peak_memory(path, FULL_DECODE, logo)["peak_mb"]
            for rotated, path in paths.items()}
    for row in rows:
        if row.status != "ok" or not row.family.shrink:
            continue
        m = peak_memory(paths[row.family.rotated], row.family.rule, logo)
        limit = full[row.family.rotated] * SHRINK_PEAK_SHARE
        row.shrink_ok = m["full_decodes"] == 0 and m["peak_mb"] < limit
        row.shrink_check = (f"{m['peak_mb']:.1f} MB peak (full decode "
                            f"{full[row.family.rotated]:.1f}), {m['full_decodes']} full "
                            f"decodes {verdict(row.shrink_ok)}")


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b is None or not math.isfinite(a / b):
        return ""
    return f"{a / b:.2f}x"


def _print(rows: List[Row]) -> None:
    header = ("family", "floor", "floor ms", "engine ms", "/floor", "Pillow ms", "/Pillow",
              "output")
    table = [header]
    for r in rows:
        if r.status != "ok":
            table.append((r.family.name, "", "", "", "", "", "", r.status))
            continue
        t = r.times or {}
        pil = t.get("pillow")
        table.append((r.family.name, r.floor, ms(t["floor"]).replace(" ms", ""),
                      ms(t["engine"]).replace(" ms", ""), _ratio(t["engine"], t["floor"]),
                      ms(pil).replace(" ms", "") if pil else "-",
                      _ratio(t["engine"], pil) if pil else "-", r.output))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(c.ljust(w) if i in (0, 1, 7) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    print("\nshrink-on-load (no full decode; peak memory under "
          f"{SHRINK_PEAK_SHARE:.0%} of a full decode's):")
    for r in rows:
        if r.family.shrink and r.status == "ok":
            print(f"  {r.family.name:<28}{r.shrink_check}")
    print("\nrules:")
    for r in rows:
        print(f"  {r.family.name:<28}{r.family.rule}")


def main() -> int:
    data, rotated, logo = _inputs()
    rows = []
    for fam in FAMILIES:
        rows.append(_run_family(fam, rotated if fam.rotated else data, logo))
        print(f"  measured {fam.name}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {False: IMAGE, True: Path(tmp) / "rotated.jpg"}
        paths[True].write_bytes(rotated)
        logo_path = Path(tmp) / "logo.png"
        logo_path.write_bytes(logo)
        _check_shrink(rows, paths, logo_path)

    print(f"input: {IMAGE.name} ({len(data) / 1e6:.1f} MB, 4000x3000); medians of "
          f"{MIN_ROUNDS}..{MAX_ROUNDS} interleaved rounds per family; 'rotated' inputs are the "
          f"same photo re-encoded with EXIF orientation 6")
    _print(rows)
    failed = [r for r in rows if r.status.startswith("error") or not r.shrink_ok]
    for r in failed:
        print(f"MISSED: {r.family.name}: {r.status if r.status != 'ok' else r.shrink_check}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
