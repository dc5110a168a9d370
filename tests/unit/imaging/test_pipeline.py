"""`|` pipelines and the order of operations inside one imageMogr2 segment."""

import pytest

from picops.grammar import parse
from picops_emulator.imaging import InvalidArgument, Output, execute
from picops_emulator.imaging.ops import INTERFACES
from picops_emulator.imaging.ops.mogr2 import STEPS


def test_each_stage_works_on_the_previous_output(kit):
    out = kit.run("imageMogr2/thumbnail/!50p|imageMogr2/format/webp|imageView2/2/w/100",
                  kit.corpus("rocket.jpg"))
    assert isinstance(out, Output)
    assert (out.format, out.width, out.height) == ("webp", 100, 67)   # 640 -> 320 -> 100
    assert out.data[8:12] == b"WEBP"


def test_format_of_an_earlier_stage_carries_and_its_effects_stick(kit):
    # stage 1 writes a JPEG (no alpha, one frame); stage 2 asks for PNG/GIF again
    out = kit.run("imageMogr2/format/jpg|imageMogr2/format/png", kit.corpus("coffee_alpha.png"))
    image = kit.decode(out.data)
    assert out.format == "png" and not image.hasalpha()
    out = kit.run("imageMogr2/format/jpg|imageMogr2/format/gif", kit.corpus("chelsea_anim.gif"))
    assert out.frame_count == 1
    out = kit.run("imageMogr2/thumbnail/50x|imageMogr2/thumbnail/!200p",
                  kit.corpus("chelsea_anim.gif"))
    assert (out.format, out.frame_count, out.width) == ("gif", 6, 50)  # animation: no enlarging


def test_strip_is_sticky_and_interlace_belongs_to_the_last_stage(kit):
    src = kit.corpus("chelsea_exif6.jpg")
    out = kit.run("imageMogr2/strip|imageMogr2/thumbnail/100x", src)
    assert not kit.decode(out.data).get_typeof("exif-data")
    out = kit.run("imageMogr2/interlace/1|imageMogr2/thumbnail/100x", src)
    assert b"\xff\xc2" not in out.data[:out.data.index(b"\xff\xda")]


def test_geometry_runs_in_written_order(kit):
    # 1000x500 -> 500x250 -> 250x125; imageView2 then thumbnail
    src = kit.jpeg(1000, 500)
    a = kit.run("imageMogr2/thumbnail/500x|imageMogr2/thumbnail/!50p", src)
    assert (a.width, a.height) == (250, 125)
    b = kit.run("imageView2/2/w/400|imageMogr2/thumbnail/x50", src)
    assert (b.width, b.height) == (100, 50)


def test_auto_orient_runs_first_wherever_it_is_written(kit):
    src = kit.corpus("chelsea_exif6.jpg")  # stored 300x451, displayed 451x300
    first = kit.run("imageMogr2/auto-orient/thumbnail/200x", src)
    last = kit.run("imageMogr2/thumbnail/200x/auto-orient", src)
    assert (first.width, first.height) == (last.width, last.height) == (200, 133)
    assert kit.mad(kit.decode(first.data), kit.decode(last.data)) < 0.5


def test_auto_orient_after_a_resize_in_an_earlier_stage(kit):
    # the tag survives stage 1 (no strip), so stage 2 can still orient
    out = kit.run("imageMogr2/thumbnail/150x|imageMogr2/auto-orient",
                  kit.corpus("chelsea_exif6.jpg"))
    assert (out.width, out.height) == (226, 150)


def test_modifiers_without_their_partner_are_errors(kit):
    # The grammar already refuses these; the engine does not rely on it (tree built by hand).
    from picops.grammar.ast import Base64Text, Operation, Param, Rule
    lone_pad = Rule((Operation("imageMogr2", (Param("pad", 1), Param("format", "png"))),))
    with pytest.raises(InvalidArgument, match="pad only applies together with /thumbnail/"):
        execute(lone_pad, kit.corpus("rocket.jpg"))
    geometry = parse("imageMogr2/thumbnail/50x50").stages[0].params[0]
    black = Param("color", Base64Text("#000000"))
    lone_colour = Rule((Operation("imageMogr2", (geometry, black)),))
    with pytest.raises(InvalidArgument, match="color only applies together with /pad/1"):
        execute(lone_colour, kit.corpus("rocket.jpg"))


def test_every_parameter_the_grammar_accepts_has_an_executor():
    from picops.grammar.params import INTERFACES as GRAMMAR

    assert set(INTERFACES) == {"imageMogr2", "imageView2", "watermark"}
    accepted = {name for name, spec in GRAMMAR["imageMogr2"].params.items()
                if not spec.rejected}
    assert accepted and accepted <= set(STEPS), sorted(accepted - set(STEPS))


def test_an_empty_rule_is_refused(kit):
    from picops.grammar.ast import Rule
    with pytest.raises(InvalidArgument, match="no stages"):
        execute(Rule(()), kit.corpus("rocket.jpg"))


def test_parse_and_execute_share_the_tree(kit):
    rule = parse("imageMogr2/thumbnail/64x64/format/png")
    out = execute(rule, kit.corpus("camera.png"))
    assert (out.format, out.width, out.height, out.quality) == ("png", 64, 64, 100)
