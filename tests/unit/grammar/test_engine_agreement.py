"""The grammar's two users cannot drift apart: every rule validation accepts either runs in
the engine or is refused by validation with the engine's own message (issue 12).

The engine checks every stage before it decodes anything (``check_stage``, ``check_rule``):
those checks depend on the rule alone, so a rule they refuse is one validation should have
refused, with the same words. What the engine refuses for a given image (a crop larger than
the picture, cgif on a PNG) is not drift. Operations the emulator does not execute yet
(``UnsupportedOperation``: bucket styles, a few output formats) are gaps of the emulator,
not of the grammar, and are listed as such.
"""

import textwrap

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from picops.config import parse_config
from picops.errors import ConfigError, GrammarError
from picops.grammar import Base64Text, Operation, Param, Rule, parse
from picops.grammar.fonts import CI_FONTS
from picops_emulator.imaging import InvalidArgument, UnsupportedOperation, execute
from picops_emulator.imaging.libvips import pyvips
from picops_emulator.imaging.ops import check_stage
from picops_emulator.imaging.ops.watermark import check_rule
from tests.unit.grammar.test_properties import font_name, rules, token_soup

SETTINGS = settings(max_examples=400, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def validation_problems(rule: str):
    """What ``picops validate`` says about a config holding ``rule``; [] when accepted."""
    text = textwrap.dedent(f"""\
        routes:
          - prefix: in/
            rules:
              - fileid: /out/{{stem}}.jpg
                rule: {rule!r}
        """)
    try:
        parse_config(text)
    except ConfigError as e:
        return [p.message for p in e.problems if p.where.endswith(".rule")]
    return []


def engine_refusal(rule: Rule):
    """The engine's rule-level refusal of ``rule`` (None: it would run it)."""
    try:
        for op in rule.stages:
            check_stage(op)
        check_rule(rule.stages)
    except UnsupportedOperation:
        return None  # an emulator gap, not drift
    except InvalidArgument as e:
        return e
    return None


def accepted(text: str):
    try:
        return parse(text)
    except GrammarError:
        return None


@SETTINGS
@given(st.one_of(rules.map(str), token_soup()))
def test_the_engine_never_refuses_a_rule_validation_accepts(text):
    rule = accepted(text)
    assume(rule is not None)  # counted as discarded, so a run that parses nothing fails
    refusal = engine_refusal(rule)
    assert refusal is None, (text, refusal.message)
    assert validation_problems(str(rule)) == []


#: Rules the engine refuses whatever the image: validation refuses them, in its words.
DRIFTED = ["imageMogr2/thumbnail/!300x200r/pad/1", "imageMogr2/thumbnail/300x/pad/1",
           "imageMogr2/thumbnail/!50p/pad/1/color/IzNEM0QzRA"]


@pytest.mark.parametrize("text", DRIFTED)
def test_what_the_engine_refuses_validation_refuses_with_the_same_message(text):
    # the engine's own answer, from the AST the grammar would have built without the check
    from picops.grammar.ast import Geometry, Operation, Param
    from picops.grammar.params import decode_geometry

    geometry = decode_geometry(text.split("/")[2])
    params = [Param("thumbnail", geometry), Param("pad", 1)]
    engine_rule = Rule((Operation("imageMogr2", tuple(params)),))
    image = pyvips.Image.black(8, 6).write_to_buffer(".png")
    with pytest.raises(InvalidArgument) as refused:
        execute(engine_rule, image)
    (problem,) = validation_problems(text)
    assert refused.value.message.startswith(problem)
    assert isinstance(geometry, Geometry)


def text_watermark(font: str) -> Rule:
    """A watermark/2 stage with ``font``, built without the parser (which would refuse it)."""
    return Rule((Operation("watermark", (Param("text", Base64Text("Hi")),
                                         Param("font", Base64Text(font))), mode=2),))


#: any font name: documented ones (as written or as the matching rule still reads them),
#: near misses and arbitrary text
any_font = st.one_of(font_name, font_name.map(lambda n: n.replace(".", "")),
                     st.sampled_from(CI_FONTS).map(lambda n: "x" + n),
                     st.text(st.characters(blacklist_categories=("Cs",)), min_size=1,
                             max_size=40))


@SETTINGS
@given(any_font)
def test_validation_and_the_engine_refuse_the_same_fonts_in_the_same_words(font):
    rule = text_watermark(font)
    refusal = engine_refusal(rule)
    problems = validation_problems(str(rule))
    if refusal is None:
        assert problems == []
    else:
        (problem,) = problems
        assert refusal.message.startswith(problem)
        assert problem.startswith("watermark/2/font: ")


@pytest.mark.parametrize("font", ["comic.ttf", "arial", "Times New Roman.ttf", "黑体.ttf"])
def test_an_unknown_font_is_refused_by_validation_in_the_engine_s_words(font):
    image = pyvips.Image.black(8, 6).write_to_buffer(".png")
    with pytest.raises(InvalidArgument) as refused:
        execute(text_watermark(font), image)
    (problem,) = validation_problems(str(text_watermark(font)))
    assert refused.value.message.startswith(problem)
    assert problem.startswith(f"watermark/2/font: {font!r} is not a font CI offers")
