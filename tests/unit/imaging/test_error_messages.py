"""A value the grammar accepts but the image cannot take: answered like CI, named precisely.

One case per operation family: each is a 400 with CI's code and error number, and its
message names the parameter as the rule wrote it and, where the image decides, its size.
"""

import pytest

from picops.grammar import Base64Text, Operation, Param, Rule
from picops_emulator.imaging import ImageResolutionExceed, InvalidArgument, execute
from picops_emulator.errors import status_of

ROCKET = "640x427"  # rocket.jpg, the input of every case below unless stated

CASES = [
    # rule, error class, CI errno, what the message must name
    ("imageMogr2/thumbnail/20000x", ImageResolutionExceed, -442,
     ["imageMogr2/thumbnail/20000x", "20000x13344", "9999"]),
    ("imageMogr2/crop/700x", InvalidArgument, -60998,
     ["imageMogr2/crop/700x", "width 700", ROCKET]),
    ("imageMogr2/crop/100x500/gravity/center", InvalidArgument, -60998,
     ["imageMogr2/crop/100x500/gravity/center", "height 500", ROCKET]),
    ("imageMogr2/cut/100x100x700x0", InvalidArgument, -60998,
     ["imageMogr2/cut/100x100x700x0", "(700, 0)", ROCKET]),
    ("imageMogr2/scrop/20000x100", ImageResolutionExceed, -442,
     ["imageMogr2/scrop/20000x100", "9999"]),
    ("imageMogr2/iradius/300", InvalidArgument, -60998,
     ["imageMogr2/iradius/300", ROCKET, "at most 213"]),
    ("imageMogr2/rradius/214", InvalidArgument, -60998,
     ["imageMogr2/rradius/214", ROCKET, "at most 213"]),
    ("imageMogr2/thumbnail/9999x9999!|imageMogr2/rotate/45", ImageResolutionExceed, -442,
     ["stage 2", "imageMogr2/rotate/45", "14141x14141"]),
    ("imageMogr2/cgif/3", InvalidArgument, -60998, ["imageMogr2/cgif/3", "GIF", "jpg"]),
    ("imageMogr2/format/png/size-limit/10k", InvalidArgument, -60998,
     ["imageMogr2/size-limit/10k", "png output"]),
    ("imageView2/2/w/320/format/png|imageMogr2/thumbnail/x10000", ImageResolutionExceed,
     -442, ["stage 2", "imageMogr2/thumbnail/x10000"]),
]


@pytest.mark.parametrize("rule,cls,errno,names", CASES, ids=[c[0][:40] for c in CASES])
def test_value_errors_name_the_parameter_and_the_image(kit, rule, cls, errno, names):
    with pytest.raises(cls) as err:
        kit.run(rule, kit.corpus("rocket.jpg"))
    e = err.value
    assert (status_of(e.code), e.code, e.ci_errno) == (400, cls.code, errno)
    assert f"(CI error {errno})" in e.message
    for name in names:
        assert name in e.message, (name, e.message)


def test_an_unknown_font_is_named_even_in_a_tree_the_grammar_would_refuse(kit):
    # The grammar refuses it first (test_engine_agreement); the engine still names it alike.
    rule = Rule((Operation("watermark", (Param("text", Base64Text("数据")),
                                         Param("font", Base64Text("nope.ttf"))), mode=2),))
    with pytest.raises(InvalidArgument) as err:
        execute(rule, kit.corpus("rocket.jpg"))
    e = err.value
    assert (status_of(e.code), e.code, e.ci_errno) == (400, InvalidArgument.code, -60998)
    assert "(CI error -60998)" in e.message
    for name in ["watermark/2/font", "'nope.ttf'"]:
        assert name in e.message, (name, e.message)


def test_every_case_is_rolled_back_by_ignore_error(kit):
    # The same failures are "the input does not fit", so ignore-error/1 returns the input.
    data = kit.corpus("rocket.jpg")
    for rule, *_ in CASES:
        if "|" in rule or rule.startswith("watermark"):
            continue  # ignore-error belongs to one stage; watermark has no ignore-error
        assert kit.run(rule + "/ignore-error/1", data).data == data, rule
