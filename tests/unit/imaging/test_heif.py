"""HEIF containers: AVIF vs HEIF goes by how the primary image is coded, not by the brand.

``heif_coding`` is tested on hand-built ISO-BMFF boxes (the bundled libvips cannot encode
HEVC); the real-file tests re-brand a libvips AVIF as a plain ``mif1`` HEIF, which is what a
HEIF(AV1) file from another encoder looks like.
"""

from pathlib import Path

import pytest

from picops_emulator.imaging import probe
from picops_emulator.imaging.heifcoding import heif_coding
from picops_emulator.imaging.libvips import pyvips
from picops_emulator.imaging.sniff import sniff

COFFEE = Path(__file__).resolve().parents[2] / "data" / "images" / "coffee.png"


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def full(kind: bytes, version: int, payload: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + payload)


def infe(item: int, item_type: bytes, version: int = 2) -> bytes:
    width = 2 if version == 2 else 4
    return full(b"infe", version, item.to_bytes(width, "big") + b"\x00\x00" + item_type + b"\x00")


def heif(items, primary=None, brands=(b"mif1", b"mif1"), v3=False) -> bytes:
    """ftyp + meta(pitm, iinf) for ``items`` = [(id, type)]; a fake mdat after it."""
    ftyp = box(b"ftyp", brands[0] + b"\x00\x00\x00\x00" + b"".join(brands[1:]))
    entries = b"".join(infe(i, t, 3 if v3 else 2) for i, t in items)
    count = len(items).to_bytes(4 if v3 else 2, "big")
    children = full(b"hdlr", 0, b"\x00" * 4 + b"pict" + b"\x00" * 13)
    if primary is not None:
        children += full(b"pitm", 1 if v3 else 0, primary.to_bytes(4 if v3 else 2, "big"))
    children += full(b"iinf", 1 if v3 else 0, count + entries)
    return ftyp + full(b"meta", 0, children) + box(b"mdat", b"\x00" * 32)


@pytest.mark.parametrize("items,primary,expected", [
    ([(1, b"hvc1"), (2, b"Exif")], 1, "hevc"),
    ([(1, b"av01"), (2, b"Exif")], 1, "av1"),
    ([(1, b"hev1")], 1, "hevc"),
    # a grid primary is coded like its tiles
    ([(1, b"grid"), (2, b"hvc1"), (3, b"hvc1")], 1, "hevc"),
    ([(1, b"grid"), (2, b"av01"), (3, b"av01")], 1, "av1"),
    # a coded primary wins over a differently coded thumbnail
    ([(1, b"av01"), (2, b"hvc1")], 1, "av1"),
    # a grid over mixed codings, or no coded item at all: unknown
    ([(1, b"grid"), (2, b"av01"), (3, b"hvc1")], 1, None),
    ([(1, b"Exif")], 1, None),
    # no pitm: the one coding present decides
    ([(1, b"av01")], None, "av1"),
])
def test_primary_item_coding(items, primary, expected):
    assert heif_coding(heif(items, primary)) == expected


def test_32_bit_item_ids():
    assert heif_coding(heif([(70000, b"av01"), (2, b"hvc1")], 70000, v3=True)) == "av1"


def test_a_64_bit_box_size_before_meta_is_followed():
    data = heif([(1, b"av01")], 1)
    ftyp_len = int.from_bytes(data[:4], "big")
    big_free = (1).to_bytes(4, "big") + b"free" + (24).to_bytes(8, "big") + b"\x00" * 8
    assert heif_coding(data[:ftyp_len] + big_free + data[ftyp_len:]) == "av1"


def _resize_meta(data: bytes, size: int) -> bytes:
    at = int.from_bytes(data[:4], "big")  # meta follows ftyp
    assert data[at + 4:at + 8] == b"meta"
    return data[:at] + size.to_bytes(4, "big") + data[at + 4:]


@pytest.mark.parametrize("mangle", [
    lambda d: d[:40],                       # truncated inside meta
    lambda d: _resize_meta(d, 10 ** 6),     # meta claims more than the file
    lambda d: _resize_meta(d, 3),           # a box smaller than its own header
    lambda d: d[:int.from_bytes(d[:4], "big")],   # ftyp only, no meta
    lambda d: b"",
])
def test_malformed_files_are_unknown_never_an_exception(mangle):
    assert heif_coding(heif([(1, b"hvc1")], 1)) == "hevc"
    assert heif_coding(mangle(heif([(1, b"hvc1")], 1))) is None


def test_sniff_prefers_the_coding_to_the_brand():
    assert sniff(heif([(1, b"hvc1")], 1)) == "HEIF"
    assert sniff(heif([(1, b"av01")], 1)) == "AVIF"
    assert sniff(heif([(1, b"av01")], 1, brands=(b"heic", b"mif1", b"heic"))) == "AVIF"
    # coding unknown: the brands decide
    assert sniff(heif([(1, b"grid")], 1, brands=(b"avif", b"mif1", b"avif"))) == "AVIF"
    assert sniff(heif([(1, b"grid")], 1, brands=(b"heic", b"mif1", b"heic"))) == "HEIF"
    # an ISO-BMFF file that is no image (an MP4) is not sniffed as one
    assert sniff(heif([(1, b"av01")], 1, brands=(b"isom", b"mp41"))) is None


# --- real files ------------------------------------------------------------------------

def rebrand_as_heif(avif: bytes) -> bytes:
    """The same file with every ``avif`` brand in its ftyp replaced by ``mif1``."""
    size = int.from_bytes(avif[:4], "big")
    assert avif[4:8] == b"ftyp"
    ftyp = avif[:size].replace(b"avif", b"mif1")
    assert b"avif" not in ftyp
    return ftyp + avif[size:]


@pytest.fixture(scope="module")
def heif_av1():
    avif = pyvips.Image.new_from_file(str(COFFEE)).heifsave_buffer(compression="av1", Q=70,
                                                                    effort=2)
    return rebrand_as_heif(avif)


def test_heif_av1_input_is_reported_and_written_as_avif(kit, heif_av1):
    assert sniff(heif_av1) == "AVIF"
    info = probe(heif_av1)
    assert (info.format, info.width, info.height) == ("AVIF", 600, 400)
    out = kit.run("imageMogr2/thumbnail/x100", heif_av1)   # no /format/: the source's
    assert (out.format, out.width, out.height) == ("avif", 150, 100)
    assert out.data[4:12] == b"ftypavif"
    ref = kit.decode(kit.corpus("coffee.png")).resize(0.25)
    assert kit.mad(kit.decode(out.data), ref) < 6


def test_heif_av1_input_converts_to_other_formats(kit, heif_av1):
    out = kit.run("imageMogr2/thumbnail/300x/format/jpg", heif_av1)
    assert (out.format, out.width, out.height) == ("jpg", 300, 200)
    ref = kit.decode(kit.corpus("coffee.png")).resize(0.5)
    assert kit.mad(kit.decode(out.data), ref) < 6
