"""Generators of hostile and lying image files, small enough to build in every test run.

Test modules import it as ``from tests.hostile import ...``. Every generator returns bytes;
none needs a fixture on disk. Each one states what it claims and what it really holds.
"""

import base64
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pyvips

ROOT = Path(__file__).resolve().parents[1]


def photo(width: int, height: int) -> pyvips.Image:
    """A smooth 8-bit sRGB gradient image of any size, cheap to make."""
    x = pyvips.Image.xyz(width, height)
    r = x[0] * (255.0 / max(width - 1, 1))
    g = x[1] * (255.0 / max(height - 1, 1))
    b = (x[0] + x[1]) * (255.0 / max(width + height - 2, 1))
    return r.bandjoin([g, b]).cast("uchar").copy(interpretation="srgb")


# --- JPEG ---------------------------------------------------------------------------

def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _bits(bits: str) -> bytes:
    """Entropy-coded bytes from a bit string, padded with 1s, 0xFF stuffed."""
    bits += "1" * (-len(bits) % 8)
    raw = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return raw.replace(b"\xff", b"\xff\x00")


def progressive_jpeg_many_scans(side: int = 1024, levels: int = 14) -> bytes:
    """A valid grey progressive JPEG of ``side x side`` (a multiple of 1024) sent in
    ``1 + 63 * levels`` scans: the DC, then every AC coefficient on its own at precision
    ``levels - 1``, then refined one bit at a time. Every scan is legal (no decoder warning)
    and takes 2 bytes per 16384 blocks (one EOB run), yet libjpeg walks all blocks of the
    image in each: decoding work grows with the scan count, the file barely does.
    """
    assert side % 1024 == 0 and 1 <= levels <= 14
    blocks = (side // 8) ** 2
    runs = blocks // 16384
    eob_runs = _bits("0" * 15 * runs)  # symbol 0xE0 (code "0"): EOB run of 2**14, +14 bits
    huffman = (b"\x00" + bytes([1] + [0] * 15) + b"\x00"        # DC: category 0 only
               + b"\x10" + bytes([1] + [0] * 15) + b"\xe0")     # AC: EOB run of 2**14
    out = [b"\xff\xd8", _segment(0xDB, b"\x00" + b"\x01" * 64),
           _segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00"),
           _segment(0xC4, huffman),
           _segment(0xDA, b"\x01\x01\x00\x00\x00\x00"), _bits("0" * blocks)]
    top = levels - 1
    for k in range(1, 64):
        out += [_segment(0xDA, bytes([1, 1, 0, k, k, top])), eob_runs]
    for ah in range(top, 0, -1):
        for k in range(1, 64):
            out += [_segment(0xDA, bytes([1, 1, 0, k, k, (ah << 4) | (ah - 1)])), eob_runs]
    return b"".join(out) + b"\xff\xd9"


def jpeg_claiming(width: int, height: int, *, progressive: bool = False) -> bytes:
    """A small, well-formed-looking JPEG whose frame header claims ``width x height``:
    its scan holds a few bytes of entropy data and ends with EOI, so a lenient decoder
    returns a mostly grey image of the claimed size."""
    data = photo(64, 64).jpegsave_buffer(Q=75, interlace=progressive)
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    return data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]


# --- TIFF ---------------------------------------------------------------------------

def tiff(width: int, height: int, compression: str = "none") -> bytes:
    return photo(width, height).tiffsave_buffer(compression=compression)


def bigtiff(width: int, height: int) -> bytes:
    """A well-formed BigTIFF (64-bit offsets, magic ``II+``) written by libvips: a format CI
    does not document, refused by the emulator by name."""
    return photo(width, height).tiffsave_buffer(compression="lzw", bigtiff=True)


def grey_tiff(width: int, height: int, pixels: bytes, strip_bytes: Optional[int]) -> bytes:
    """A little-endian, uncompressed, one-strip grey TIFF holding ``pixels``, whose IFD
    claims ``width x height`` and a StripByteCounts of ``strip_bytes`` (None: no such tag,
    as some old writers do)."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 0), (277, 3, 1), (278, 4, height)]
    if strip_bytes is not None:
        entries.append((279, 4, strip_bytes))
    ifd_offset = 8
    pixels_at = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        value = pixels_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, 1) + packed
    return b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + b"\0\0\0\0" + pixels


def tiff_claiming(width: int, height: int) -> bytes:
    """A TIFF whose IFD claims ``width x height`` grey, uncompressed, in one strip of 16
    bytes: a few bytes of pixels for a huge image."""
    return grey_tiff(width, height, b"\x80" * 16, 16)


# --- WebP ---------------------------------------------------------------------------

def animated_webp(frames: int, side: int = 16) -> bytes:
    """An animated WebP of ``frames`` tiny frames, each unlike the previous one."""
    # A white bar whose position moves from frame to frame (the encoder keeps them all).
    bars = [pyvips.Image.black(side, side).draw_rect(255, i % side, 0, 1, side, fill=True)
            for i in range(min(frames, side))]
    strip = pyvips.Image.arrayjoin([bars[i % len(bars)] for i in range(frames)], across=1)
    strip = strip.colourspace("srgb").copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", side)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [40] * frames)
    return strip.webpsave_buffer(Q=50, effort=0)


# --- BMP ----------------------------------------------------------------------------

def rle8_bmp(width: int, height: int) -> bytes:
    """An 8-bit RLE-compressed BMP of one colour: a few bytes per row for any width."""
    runs = []
    for left in range(0, width, 255):
        runs.append(bytes([min(255, width - left), 1]))
    row = b"".join(runs) + b"\x00\x00"  # end of line
    pixels = row * height + b"\x00\x01"  # end of bitmap
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    offset = 14 + 40 + len(palette)
    header = struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
    dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835,
                      256, 0)
    return header + dib + palette + pixels


# --- watermark ----------------------------------------------------------------------

def text_watermark_rule(lines: int = 20, per_line: int = 20, fontsize: int = 1000) -> str:
    """A ``watermark/2`` rule of ``lines`` lines of ``per_line`` CJK characters: 1.7 KB of
    rule text asking for a text layer of about 20000 x 29000 px at the default sizes."""
    text = "\n".join(["国" * per_line] * lines).encode("utf-8")
    b64 = base64.urlsafe_b64encode(text).decode("ascii")
    return f"watermark/2/text/{b64}/fontsize/{fontsize}"


# --- peak memory, measured in a fresh interpreter ------------------------------------

_PEAK = """
import json, resource, sys
sys.path.insert(0, {root!r})
{setup}
def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
warm()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
base = status("VmRSS")
def cpu():
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime
start = cpu()
try:
    outcome = run()
except Exception as e:
    outcome = type(e).__name__ + ": " + str(e)
print(json.dumps({{"growth_mb": status("VmHWM") - base, "cpu_s": cpu() - start,
                  "outcome": str(outcome)}}))
"""


def peak_growth(setup: str, timeout: float = 240) -> dict:
    """Run ``setup`` (which defines ``warm()`` and ``run()``) in a fresh interpreter and
    return how far its peak RSS grew during ``run()`` above the RSS after ``warm()``
    (``growth_mb``), the CPU seconds ``run()`` used (``cpu_s``), and ``run()``'s result or
    exception text (``outcome``)."""
    code = _PEAK.format(root=str(ROOT), setup=textwrap.dedent(setup))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
