"""Metadata through the encoder: kept unless ``strip``, even when it is tens of kilobytes.

A progressive JPEG's frame header (SOF2) then sits after all of it, so anything that looks
for it only in the first few kilobytes would call the file baseline. The file is walked
marker by marker here, as a decoder does.
"""

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from picops_emulator.imaging import probe
from picops_emulator.imaging.jpegquant import estimate_quality
from picops_emulator.imaging.libvips import pyvips

ROCKET = Path(__file__).resolve().parents[2] / "data" / "images" / "rocket.jpg"

DESCRIPTION = "picops metadata test " * 1400           # ~29 KB of EXIF ImageDescription
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       '22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
       '<dc:description>' + "an XMP packet of many kilobytes " * 1300 +
       '</dc:description></rdf:Description></rdf:RDF></x:xmpmeta>').encode("ascii")  # ~42 KB
SOURCE_Q = 85


def segments(data: bytes):
    """[(marker, offset, payload)] of a JPEG up to its first scan (SOS)."""
    assert data[:2] == b"\xff\xd8"
    found, pos = [], 2
    while pos + 4 <= len(data):
        assert data[pos] == 0xFF, f"no marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xDA:
            found.append((marker, pos, b""))
            return found
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        found.append((marker, pos, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
    raise AssertionError("no SOS marker")


def frame_header(data: bytes):
    """(marker, offset) of the SOF segment: 0xC0 baseline, 0xC2 progressive."""
    sofs = [(m, at) for m, at, _ in segments(data) if 0xC0 <= m <= 0xCF and m not in
            (0xC4, 0xC8, 0xCC)]
    assert len(sofs) == 1, sofs
    return sofs[0]


def app_segments(data: bytes):
    """{kind: payload} of the metadata segments (EXIF, XMP, ICC)."""
    kinds = {}
    for marker, _, payload in segments(data):
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            kinds["exif"] = payload
        elif marker == 0xE1 and payload.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
            kinds["xmp"] = payload
        elif marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
            kinds["icc"] = payload
    return kinds


@pytest.fixture(scope="module")
def heavy_jpeg():
    """rocket.jpg's pixels and ICC profile, plus ~29 KB of EXIF and ~42 KB of XMP."""
    image = pyvips.Image.new_from_file(str(ROCKET)).copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-ImageDescription",
                   f"{DESCRIPTION} (ASCII, {len(DESCRIPTION) + 1})")
    image.set_type(pyvips.GValue.blob_type, "xmp-data", XMP)
    data = image.jpegsave_buffer(Q=SOURCE_Q, keep="all")
    kinds = app_segments(data)
    assert set(kinds) == {"exif", "xmp", "icc"}
    assert len(kinds["exif"]) > 25_000 and len(kinds["xmp"]) > 40_000
    return data


@pytest.mark.parametrize("rule,size", [
    ("imageMogr2/interlace/1", (640, 427)),
    ("imageMogr2/thumbnail/320x/interlace/1", (320, 214)),
])
def test_progressive_output_keeps_tens_of_kilobytes_of_metadata(kit, heavy_jpeg, rule, size):
    out = kit.run(rule, heavy_jpeg)
    assert (out.format, out.width, out.height) == ("jpg", *size)

    kinds, before = app_segments(out.data), app_segments(heavy_jpeg)
    assert kinds["xmp"] == before["xmp"]
    assert kinds["icc"] == before["icc"]
    decoded, source = kit.decode(out.data), kit.decode(heavy_jpeg)
    description = decoded.get("exif-ifd0-ImageDescription")
    assert description == source.get("exif-ifd0-ImageDescription")
    assert description.startswith("picops metadata test")
    assert len(kinds["exif"]) > 25_000  # the description itself, not a trimmed copy
    assert decoded.get("xmp-data") == XMP

    marker, offset = frame_header(out.data)
    assert marker == 0xC2, "interlace/1 must write a progressive (SOF2) JPEG"
    assert offset > 70_000  # after all the metadata
    # It decodes, in libvips and in Pillow (which also reads it as progressive), at the
    # source's quality, with the pixels of the same rule written losslessly.
    lossless = kit.run(rule.replace("interlace/1", "format/png"), heavy_jpeg)
    assert kit.mad(decoded, kit.decode(lossless.data)) < 4  # only the JPEG encode differs
    pil = Image.open(BytesIO(out.data))
    pil.load()
    assert pil.size == size and pil.info.get("progressive") == 1
    assert estimate_quality(out.data) == out.quality == SOURCE_Q == probe(out.data).quality


def test_strip_removes_it_and_the_frame_header_comes_first(kit, heavy_jpeg):
    out = kit.run("imageMogr2/interlace/1/strip", heavy_jpeg)

    assert app_segments(out.data) == {}
    assert not [m for m, _, _ in segments(out.data) if 0xE1 <= m <= 0xEF]  # no APPn at all
    decoded = kit.decode(out.data)
    for field in ("exif-data", "xmp-data", "icc-profile-data"):
        assert not decoded.get_typeof(field), field
    marker, offset = frame_header(out.data)
    assert marker == 0xC2 and offset < 1_000
    assert len(out.data) < len(heavy_jpeg) - 70_000
    # rocket.jpg's profile is not sRGB: strip bakes it into the pixels before dropping it.
    as_srgb = kit.decode(heavy_jpeg).icc_transform("srgb", embedded=True)
    assert kit.mad(decoded, as_srgb) < 4


def test_without_interlace_the_metadata_stays_and_the_file_is_baseline(kit, heavy_jpeg):
    out = kit.run("imageMogr2/thumbnail/320x", heavy_jpeg)
    assert set(app_segments(out.data)) == {"exif", "xmp", "icc"}
    assert frame_header(out.data)[0] == 0xC0
