"""CI's limits as CI enforces them (reference cos-ci-scf.md §4.6), over HTTP: each a 400
naming the limit, refused before any pixel is decoded, and never a partial output."""

import struct
import zlib

import pytest
import pyvips

MB = 1024 * 1024
THUMB = [{"fileid": "out.jpg", "rule": "imageMogr2/thumbnail/10x"}]


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width x height`` but whose pixel data covers a few rows:
    tiny on disk, a decompression bomb for anything that trusts the header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = zlib.compress(b"\0" * (1 + width * 3) * 2)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def jpeg_claiming(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a baseline JPEG) with its SOF0 frame header patched to ``width x height``."""
    sof = data.index(b"\xff\xc0")
    return data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]


def gif_with_frames(frames: int, side: int = 8) -> bytes:
    """An animated GIF of ``frames`` tiny frames, each unlike the previous one (a single
    white pixel that moves), so the encoder cannot merge any."""
    pixels = bytearray(side * side * frames)
    for i in range(frames):
        pixels[i * side * side + (i % (side * side))] = 255
    image = pyvips.Image.new_from_memory(bytes(pixels), side, side * frames, 1, "uchar")
    image = image.colourspace("srgb").copy()
    image.set_type(pyvips.GValue.gint_type, "page-height", side)
    image.set_type(pyvips.GValue.array_int_type, "delay", [20] * frames)
    return image.gifsave_buffer()


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.parametrize("is_pic_info", [0, 1])
def test_input_over_32_mb_is_refused_by_size_alone(ci, is_pic_info):
    jpeg = ci.image_bytes("rocket.jpg")
    ci.upload("padded.jpg", jpeg + b"\0" * (33 * MB - len(jpeg)))  # still decodes as a JPEG
    ci.upload("zeros.jpg", b"\0" * (33 * MB))  # not an image: the size is what is refused
    for key in ("padded.jpg", "zeros.jpg"):
        err = ci.process_error(key, ci.pic_operations(THUMB, is_pic_info))
        ci.assert_error(err, 400, "ImageTooLarge", str(33 * MB), str(32 * MB), "-60996")
    assert ci.keys() == ["padded.jpg", "zeros.jpg"]


class ReadCounter:
    """Wraps the store's ``open_object`` to count the body bytes read per key."""

    def __init__(self, store):
        self.read = {}
        self._open = store.open_object

    def __call__(self, bucket, key):
        meta, body = self._open(bucket, key)
        counter = self

        class Counting:
            def read(self, *args):
                chunk = body.read(*args)
                counter.read[key] = counter.read.get(key, 0) + len(chunk)
                return chunk

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                body.close()

        self.read.setdefault(key, 0)
        return meta, Counting()


def test_an_oversized_source_is_refused_without_reading_it(ci, emulator, monkeypatch):
    ci.upload("zeros.bin", b"\0" * (32 * MB + 1))
    ci.upload("rocket.jpg", "rocket.jpg")
    counter = ReadCounter(emulator.store)
    monkeypatch.setattr(emulator.store, "open_object", counter)
    err = ci.process_error("zeros.bin", ci.pic_operations(THUMB, 1))
    ci.assert_error(err, 400, "ImageTooLarge", str(32 * MB + 1))
    ci.process("rocket.jpg", THUMB)
    assert counter.read == {"zeros.bin": 0, "rocket.jpg": len(ci.image_bytes("rocket.jpg"))}


def test_an_input_of_exactly_32_mb_is_processed(ci):
    jpeg = ci.image_bytes("rocket.jpg")
    ci.upload("edge.jpg", jpeg + b"\0" * (32 * MB - len(jpeg)))
    data = ci.process("edge.jpg", THUMB)
    assert ci.objects(data)[0]["Width"] == "10"


@pytest.mark.parametrize("name, body, fragments", [
    ("wide.png", png_header_only(30_001, 16), ["30001x16", "30000"]),
    ("tall.png", png_header_only(16, 30_001), ["16x30001", "30000"]),
    ("many.png", png_header_only(20_000, 20_000), ["20000x20000", "250000000"]),
    ("just-over.png", png_header_only(15_812, 15_812), ["250019344", "250000000"]),
])
def test_input_dimensions_are_checked_from_the_header(ci, name, body, fragments):
    ci.upload(name, body)
    for is_pic_info in (1, 0):
        err = ci.process_error(name, ci.pic_operations(THUMB, is_pic_info))
        ci.assert_error(err, 400, "ImageResolutionExceed", *fragments)
    assert ci.keys() == [name]


def test_decompression_bombs_cost_no_memory(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    ci.process("rocket.jpg", THUMB, is_pic_info=1)  # libvips and the pool warmed up
    bombs = {"bomb.png": png_header_only(29_000, 29_000),   # 841 MP, 2.5 GB of RGB
             "bomb.jpg": jpeg_claiming(ci.image_bytes("rocket.jpg"), 29_000, 29_000)}
    for key, body in bombs.items():
        ci.upload(key, body)
    before = rss_mb()
    for key in bombs:
        for is_pic_info in (1, 0):
            err = ci.process_error(key, ci.pic_operations(THUMB, is_pic_info))
            ci.assert_error(err, 400, "ImageResolutionExceed", "29000x29000", "250000000")
    assert rss_mb() - before < 100


def test_output_side_over_9999_is_refused(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    ci.upload("strip.png", pyvips.Image.black(1000, 10).pngsave_buffer())
    for key, rule, size in [("rocket.jpg", "imageMogr2/thumbnail/20000x", "20000x13344"),
                            ("rocket.jpg", "imageMogr2/thumbnail/x10000", "14988x10000"),
                            ("strip.png", "imageMogr2/thumbnail/!1000p", "10000x100")]:
        err = ci.process_error(key, ci.pic_operations([{"fileid": "big.jpg", "rule": rule}]))
        ci.assert_error(err, 400, "ImageResolutionExceed", "rules[0]", size, "9999")
    # The largest allowed side is fine.
    data = ci.process("strip.png", [{"fileid": "/edge.jpg", "rule": "imageMogr2/thumbnail/9999x"}])
    assert (ci.objects(data)[0]["Width"], ci.objects(data)[0]["Height"]) == ("9999", "100")
    assert ci.keys() == ["edge.jpg", "rocket.jpg", "strip.png"]


def test_gif_frame_limit_is_300(ci):
    ci.upload("301.gif", gif_with_frames(301))
    err = ci.process_error("301.gif", ci.pic_operations(THUMB))
    ci.assert_error(err, 400, "ImageResolutionExceed", "301 frames", "300")

    ci.upload("300.gif", gif_with_frames(300))
    data = ci.process("300.gif", [{"fileid": "300-small.gif",
                                   "rule": "imageMogr2/thumbnail/4x"}], is_pic_info=1)
    assert data["OriginalInfo"]["ImageInfo"]["FrameCount"] == "300"
    image = ci.get_image("300-small.gif")
    assert (image.get("n-pages"), image.width, image.get("page-height")) == (300, 4, 4)
    assert ci.keys() == ["300-small.gif", "300.gif", "301.gif"]
