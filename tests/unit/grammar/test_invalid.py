"""Rejected rules: each case asserts the message names what was wrong, and where."""

import pytest

from picops.errors import GrammarError
from picops.grammar import parse

WM_URL_B64 = ("aHR0cDovL2V4YW1wbGVidWNrZXQtMTI1MDAwMDAwMC5jb3MuYXAtc2hhbmdoYWkubXlxY2xvdWQu"
              "Y29tL3NodWl5aW5fMi5wbmc")
HTTPS_URL_B64 = "aHR0cHM6Ly9iLTEyNTAwMDAwMDAuY29zLmFwLXNoYW5naGFpLm15cWNsb3VkLmNvbS9r"  # https://
CDN_URL_B64 = "aHR0cDovL2Nkbi5leGFtcGxlLmNvbS9sb2dvLnBuZw"  # http://cdn.example.com/logo.png
RED_RGBA_B64 = "I0ZGMDAwMEZG"  # "#FF0000FF": not #RRGGBB
WM_IMG = f"watermark/1/image/{WM_URL_B64}"

# (rule, substrings the message must contain)
INVALID = [
    # --- whole rule ------------------------------------------------------------------------
    ("", ["rule is empty"]),
    ("imageMogr2/strip |imageMogr2/strip", ["whitespace", "position 16"]),
    ("imageMogr2/strip\n", ["whitespace", "'\\n'"]),
    ("|".join(["imageMogr2/strip"] * 11), ["rule has 11 stages; CI allows at most 10"]),
    ("|imageMogr2/strip", ["stage 1:", "starts with '|'"]),
    ("imageMogr2/strip|", ["stage 2:", "ends with '|'"]),
    ("imageMogr2/strip||imageMogr2/strip", ["stage 2:", "empty stage", "'||'"]),
    ("/imageMogr2/strip", ["starts with '/'"]),
    ("imageMogr2/strip/", ["ends with '/'"]),
    ("imageMogr2//strip", ["empty segment", "'//'"]),
    # --- interfaces ------------------------------------------------------------------------
    ("imageMogr3/strip", ["unknown interface 'imageMogr3'", "imageMogr2, imageView2, "
                          "watermark/1, watermark/2 or style/<name>", "did you mean 'imageMogr2'"]),
    ("imagemogr2/strip", ["unknown interface 'imagemogr2'", "case-sensitive"]),
    ("imageAve", ["interface 'imageAve' is not supported"]),
    ("imageMogr2", ["imageMogr2 needs at least one parameter"]),
    ("imageView2", ["imageView2 needs a mode"]),
    ("imageView2/w/100", ["imageView2 mode 'w' is not a number"]),
    ("imageView2/0/w/100", ["imageView2 mode 0 is not a CI mode (use 1..5)"]),
    ("imageView2/6/w/100", ["imageView2 mode 6 is not a CI mode (use 1..5)"]),
    ("imageView2/2", ["imageView2 needs at least one parameter"]),
    ("imageView2/2/format/png", ["imageView2 needs w/<W> or h/<H>"]),
    ("watermark", ["watermark needs a mode", "watermark/1 (image) or watermark/2 (text)"]),
    ("watermark/3/text/SGk", ["watermark/3 (blind watermark) is not supported"]),
    ("watermark/x/text/SGk", ["watermark mode 'x' is not valid"]),
    ("watermark/1/dx/1", ["watermark/1 needs image/<base64 url>"]),
    ("watermark/2/fontsize/20", ["watermark/2 needs text/<base64 text>"]),
    ("style", ["style needs a name"]),
    ("style/a/b", ["style takes exactly one name", "'a/b'"]),
    ("style/thumb!", ["style name 'thumb!'", "letters, digits"]),
    # --- parameter names, flags, repeats -----------------------------------------------------
    ("imageMogr2/thumbnial/100x", ["unknown imageMogr2 parameter 'thumbnial'",
                                   "did you mean 'thumbnail'"]),
    ("imageMogr2/Strip", ["unknown imageMogr2 parameter 'Strip'", "did you mean 'strip'"]),
    ("imageMogr2/q/80", ["unknown imageMogr2 parameter 'q'", "did you mean 'quality'"]),
    ("imageView2/2/w/10/quality/80", ["unknown imageView2 parameter 'quality'",
                                      "did you mean 'q'"]),
    ("watermark/2/text/SGk/image/SGk", ["unknown watermark/2 parameter 'image'",
                                        "belongs to watermark/1"]),
    (f"{WM_IMG}/text/SGk", ["unknown watermark/1 parameter 'text'", "belongs to watermark/2"]),
    ("imageMogr2/strip/1", ["imageMogr2/strip takes no value (got '1')"]),
    ("imageMogr2/auto-orient/90", ["imageMogr2/auto-orient takes no value (got '90')"]),
    ("imageMogr2/strip/yes", ["unknown imageMogr2 parameter 'yes'", "after 'strip'",
                              "takes no value"]),
    ("imageMogr2/quality/80/quality/90", ["imageMogr2/quality is given twice"]),
    ("imageMogr2/strip/strip", ["imageMogr2/strip is given twice"]),
    ("imageMogr2/thumbnail", ["imageMogr2/thumbnail needs a value"]),
    ("imageMogr2/thumbnail/format/png", ["imageMogr2/thumbnail: invalid geometry 'format'",
                                         "is the value of 'thumbnail' missing?"]),
    ("imageMogr2/dx/10", ["imageMogr2/dx:", "only for watermarks", "cut/"]),
    ("imageMogr2/rcrop/1x2", ["imageMogr2/rcrop:", "not supported"]),
    ("imageMogr2/minsize/1", ["imageMogr2/minsize:", "not a documented CI parameter"]),
    ("imageMogr2/minisize/1", ["imageMogr2/minisize:", "not a documented CI parameter"]),
    # --- thumbnail geometry ----------------------------------------------------------------
    ("imageMogr2/thumbnail/400y", ["imageMogr2/thumbnail: invalid geometry '400y' (expected "
                                   "forms: !Pp, !Ppx, !xPp, Wx, xH, WxH, WxH>, WxH<, !WxHr, "
                                   "WxH!, A@)"]),
    ("imageMogr2/thumbnail/600x600^", ["invalid geometry '600x600^'", "'!WxHr'"]),
    ("imageMogr2/thumbnail/600x600r", ["invalid geometry '600x600r'"]),
    ("imageMogr2/thumbnail/x", ["invalid geometry 'x'"]),
    ("imageMogr2/thumbnail/0x100", ["width 0 is out of range 1..50000"]),
    ("imageMogr2/thumbnail/100x50001", ["height 50001 is out of range 1..50000"]),
    ("imageMogr2/thumbnail/!0p", ["percent 0 is out of range 1..1000"]),
    ("imageMogr2/thumbnail/!1001px", ["percent 1001 is out of range 1..1000"]),
    ("imageMogr2/thumbnail/0@", ["area 0 is out of range"]),
    ("imageMogr2/thumbnail/99999999999999999999x", ["width 99999999999999999999 is out of"]),
    ("imageMogr2/thumbnail/١٠٠x", ["invalid geometry"]),  # non-ASCII digits
    # --- crop family -------------------------------------------------------------------------
    ("imageMogr2/crop/x", ["imageMogr2/crop: invalid size 'x' (expected Wx, xH, WxH)"]),
    ("imageMogr2/crop/0x10", ["imageMogr2/crop: width 0 is out of range"]),
    ("imageMogr2/crop/!300x300a10a10", ["imageMogr2/crop: invalid size"]),
    ("imageMogr2/scrop/100x", ["imageMogr2/scrop: invalid size '100x' (expected WxH)"]),
    ("imageMogr2/cut/100x100x10", ["imageMogr2/cut: invalid cut '100x100x10'"]),
    ("imageMogr2/cut/0x100x0x0", ["imageMogr2/cut: width 0 is out of range"]),
    ("imageMogr2/gravity/middle/crop/10x", ["imageMogr2/gravity: 'middle' is not a gravity"]),
    ("imageMogr2/gravity/center", ["imageMogr2/gravity needs crop"]),
    ("imageMogr2/iradius/0", ["imageMogr2/iradius: 0 is out of range 1..50000"]),
    ("imageMogr2/rradius/-5", ["imageMogr2/rradius: -5 is out of range 1..50000"]),
    # --- rotation, format, quality ---------------------------------------------------------------
    ("imageMogr2/rotate/361", ["imageMogr2/rotate: 361 is out of range 0..360"]),
    ("imageMogr2/rotate/9.5", ["imageMogr2/rotate: '9.5' is not an integer"]),
    ("imageMogr2/flip/up", ["imageMogr2/flip: 'up' is not a flip direction"]),
    ("imageMogr2/flip/Vertical", ["lower-case: 'vertical'"]),
    ("imageMogr2/format/jpg2", ["imageMogr2/format: 'jpg2' is not an output format"]),
    ("imageMogr2/format/PNG", ["'PNG'", "lower-case: 'png'"]),
    ("imageView2/2/w/10/format/avif", ["imageView2/format: 'avif' is not an imageView2 format"]),
    ("imageMogr2/cgif/0", ["imageMogr2/cgif: 0 is out of range 1..100"]),
    ("imageMogr2/interlace/2", ["imageMogr2/interlace: '2' is not 0 or 1"]),
    ("imageMogr2/quality/120", ["imageMogr2/quality: 120 is out of range 0..100"]),
    ("imageMogr2/quality/80!!", ["imageMogr2/quality: invalid quality '80!!'"]),
    ("imageMogr2/quality/-1", ["imageMogr2/quality: invalid quality '-1'"]),
    ("imageMogr2/rquality/0", ["imageMogr2/rquality: 0 is out of range 1..100"]),
    ("imageMogr2/rquality/80!", ["imageMogr2/rquality: invalid quality '80!'"]),
    ("imageMogr2/lquality/101", ["imageMogr2/lquality: 101 is out of range 0..100"]),
    ("imageMogr2/quality/80/lquality/70", ["quality and lquality are alternatives"]),
    ("imageView2/2/w/10/q/80/rq/70", ["q and rq are alternatives"]),
    ("imageView2/2/w/0", ["imageView2/w: 0 is out of range 1..50000"]),
    ("imageView2/2/w/10/q/101!", ["imageView2/q: 101 is out of range 0..100"]),
    ("imageView2/2/w/10/ignore-error/0", ["imageView2/ignore-error: must be 1, got '0'"]),
    # --- effects ---------------------------------------------------------------------------------
    ("imageMogr2/blur/8", ["imageMogr2/blur: invalid blur '8'"]),
    ("imageMogr2/blur/0x5", ["imageMogr2/blur: radius 0 is out of range 1..50"]),
    ("imageMogr2/blur/51x5", ["radius 51 is out of range 1..50"]),
    ("imageMogr2/blur/8x0", ["imageMogr2/blur: sigma 0 is out of range"]),
    ("imageMogr2/blur/8x1e3", ["imageMogr2/blur: invalid blur '8x1e3'"]),
    ("imageMogr2/sharpen/9", ["imageMogr2/sharpen: 9 is out of range 10..300"]),
    ("imageMogr2/bright/101", ["imageMogr2/bright: 101 is out of range -100..100"]),
    ("imageMogr2/contrast/-101", ["imageMogr2/contrast: -101 is out of range -100..100"]),
    ("imageMogr2/grayscale/2", ["imageMogr2/grayscale: '2' is not 0 or 1"]),
    ("imageMogr2/size-limit/15", ["imageMogr2/size-limit: invalid size limit '15'"]),
    ("imageMogr2/size-limit/15K", ["invalid size limit '15K'"]),
    ("imageMogr2/size-limit/0k", ["imageMogr2/size-limit: 0 is out of range 1..1048576"]),
    ("imageMogr2/size-limit/2000m", ["imageMogr2/size-limit: 2000 is out of range 1..1024"]),
    ("imageMogr2/ignore-error/0", ["imageMogr2/ignore-error: must be 1, got '0'"]),
    # --- pad and colour ----------------------------------------------------------------
    ("imageMogr2/pad/1", ["imageMogr2/pad needs thumbnail"]),
    ("imageMogr2/thumbnail/300x/pad/1", ["imageMogr2/pad needs a thumbnail geometry with a box "
                                         "(WxH, WxH>, WxH<, WxH!), not '300x'"]),
    ("imageMogr2/thumbnail/!300x200r/pad/1", ["imageMogr2/pad needs a thumbnail geometry with a "
                                              "box (WxH, WxH>, WxH<, WxH!), not '!300x200r'"]),
    ("imageMogr2/thumbnail/1x1/pad/2", ["imageMogr2/pad: must be 1, got '2'"]),
    ("imageMogr2/thumbnail/1x1/color/IzNEM0QzRA", ["imageMogr2/color needs pad"]),
    ("imageMogr2/thumbnail/1x1/pad/1/color/#3D3D3D",
     ["imageMogr2/color: '#3D3D3D' is not valid URL-safe Base64"]),
    ("imageMogr2/thumbnail/1x1/pad/1/color/I+NEM0QzRA", ["not URL-safe Base64"]),
    ("imageMogr2/thumbnail/1x1/pad/1/color/SGVsbG8", ["decodes to 'Hello', not '#RRGGBB'"]),
    (f"imageMogr2/thumbnail/1x1/pad/1/color/{RED_RGBA_B64}", ["not '#RRGGBB'"]),
    ("imageMogr2/thumbnail/1x1/pad/1/color/IzNEM0QzRA=", ["not valid URL-safe Base64"]),
    ("imageMogr2/thumbnail/1x1/pad/1/color/IzNEM", ["not valid URL-safe Base64"]),
    ("imageMogr2/thumbnail/1x1/pad/1/color/_w", ["does not decode to UTF-8"]),
    # --- watermarks -------------------------------------------------------------------
    (f"watermark/1/image/{HTTPS_URL_B64}", ["watermark/1/image:", "https://",
                                            "CI requires http://"]),
    (f"watermark/1/image/{CDN_URL_B64}", ["watermark/1/image:", "http://cdn.example.com",
                                          "<bucket>-<appid>.cos.<region>.myqcloud.com"]),
    (f"{WM_IMG}/gravity/top", ["watermark/1/gravity: 'top' is not a gravity"]),
    (f"{WM_IMG}/dx/-1", ["watermark/1/dx: -1 is out of range 0..50000"]),
    (f"{WM_IMG}/blogo/3", ["watermark/1/blogo: '3' is not 1 or 2"]),
    (f"{WM_IMG}/scatype/4/spcent/10", ["watermark/1/scatype: '4' is not 1, 2 or 3"]),
    (f"{WM_IMG}/scatype/1", ["watermark/1/scatype needs spcent"]),
    (f"{WM_IMG}/spcent/10", ["watermark/1/spcent needs scatype"]),
    (f"{WM_IMG}/scatype/1/spcent/1001", ["watermark/1/spcent: 1001 is out of range 1..1000"]),
    (f"{WM_IMG}/scatype/3/spcent/251", ["watermark/1/spcent: 251 is out of range 1..250",
                                        "scatype 3"]),
    (f"{WM_IMG}/dissolve/0", ["watermark/1/dissolve: 0 is out of range 1..100"]),
    (f"{WM_IMG}/batch/2", ["watermark/1/batch: must be 1, got '2'"]),
    (f"{WM_IMG}/degree/10", ["watermark/1/degree needs batch"]),
    (f"{WM_IMG}/batch/1/degree/400", ["watermark/1/degree: 400 is out of range 0..360"]),
    ("watermark/2/text/SGk/fontsize/0", ["watermark/2/fontsize: 0 is out of range 1..1000"]),
    ("watermark/2/text/SGk/shadow/101", ["watermark/2/shadow: 101 is out of range 0..100"]),
    ("watermark/2/text/SGk/fill/SGVsbG8", ["watermark/2/fill:", "not '#RRGGBB'"]),
    ("watermark/2/text/SGk/color/IzNEM0QzRA", ["unknown watermark/2 parameter 'color'",
                                               "did you mean 'fill'"]),
    ("watermark/2/text/==", ["watermark/2/text: '==' is not valid URL-safe Base64"]),
    ("watermark/2/text/SGk/font/SGk+", ["watermark/2/font: 'SGk+' is not URL-safe Base64"]),
    ("watermark/2/text/SGk/font/Y29taWMudHRm", ["watermark/2/font: 'comic.ttf' is not a font "
                                                "CI offers; use one of tahoma.ttf, "]),
]


@pytest.mark.parametrize("text,fragments", INVALID, ids=[t[:60] or "<empty>" for t, _ in INVALID])
def test_rejected_with_a_message_naming_the_problem(text, fragments):
    with pytest.raises(GrammarError) as info:
        parse(text)
    for fragment in fragments:
        assert fragment in info.value.message
    assert info.value.code == "InvalidArgument"
    assert not info.value.retryable


def test_single_stage_errors_have_no_stage_prefix_but_carry_the_index():
    with pytest.raises(GrammarError) as info:
        parse("imageMogr2/quality/120")
    assert info.value.message == "imageMogr2/quality: 120 is out of range 0..100"
    assert info.value.stage == 0


def test_multi_stage_errors_name_the_stage():
    with pytest.raises(GrammarError) as info:
        parse("imageMogr2/strip|imageMogr2/thumbnail/!50p|imageMogr2/quality/120")
    assert info.value.message == "stage 3: imageMogr2/quality: 120 is out of range 0..100"
    assert info.value.stage == 2


def test_stage_count_error_is_about_the_whole_rule():
    with pytest.raises(GrammarError) as info:
        parse("|".join(["imageMogr2/strip"] * 12))
    assert info.value.stage is None
    assert info.value.message == "rule has 12 stages; CI allows at most 10"


@pytest.mark.parametrize("value, got", [(None, "nothing"), (42, "42 (a number)"),
                                        (b"imageMogr2/strip", "bytes")])
def test_non_string_input_is_a_grammar_error(value, got):
    with pytest.raises(GrammarError, match="rule must be a string") as info:
        parse(value)
    assert info.value.message == f"rule must be a string, got {got}"


def test_huge_payload_is_shortened_in_the_message():
    with pytest.raises(GrammarError) as info:
        parse("imageMogr2/format/" + "x" * 10_000)
    assert len(info.value.message) < 400
