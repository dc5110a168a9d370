"""Properties: any key survives event parsing; fileids never escape; the loop proof is sound."""

import json

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from picops import loopsafety
from picops.model import Config, Route, RuleSpec
from picops.errors import OutputKeyError
from picops.grammar import parse
from picops.routing import output_key, resolve_ci_fileid
from picops.templates import PLACEHOLDERS, template_problems

from .conftest import event_for, parse_event

# Keys: anything COS could hold, including "+", "%", spaces, CJK, emoji, lone surrogates.
any_key = st.text(min_size=1, max_size=60)


@given(any_key)
def test_any_key_survives_event_to_record(key):
    # through JSON, as SCF delivers it
    event = json.loads(json.dumps(event_for(key)))
    (record,) = parse_event(event)
    assert record.key == key
    assert record.bucket == "uploads-1250000000"


# Small alphabets make collisions between routes, templates and keys likely.
LIT = st.text(alphabet="ab._-", min_size=1, max_size=3)
PART = st.one_of(LIT, st.sampled_from(["{" + p + "}" for p in PLACEHOLDERS]))
SEGMENT = st.lists(PART, min_size=1, max_size=3).map("".join)


@st.composite
def templates(draw):
    text = "/".join(draw(st.lists(SEGMENT, min_size=1, max_size=4)))
    if draw(st.booleans()):
        text = "/" + text
    assume(not template_problems(text))
    return text


source_keys = st.text(alphabet="ab./_-x", min_size=1, max_size=12).filter(
    lambda k: not k.endswith("/"))


def assert_clean(key: str) -> None:
    assert key and not key.startswith("/") and not key.endswith("/")
    assert "//" not in key
    assert all(seg not in (".", "..") for seg in key.split("/"))


@given(templates(), source_keys)
def test_rendered_fileids_never_escape(template, key):
    try:
        out = output_key(template, key)
    except OutputKeyError:
        return  # refused, never written somewhere odd
    assert_clean(out)


@given(st.text(max_size=20), source_keys)
def test_any_fileid_resolves_clean_or_is_refused(fileid, key):
    try:
        out = resolve_ci_fileid(key, fileid)
    except OutputKeyError:
        return
    assert_clean(out)


@given(templates(), st.text(alphabet="ab._-x", min_size=1, max_size=6),
       st.text(alphabet="ab._-x", min_size=1, max_size=6))
def test_clean_keys_give_an_output_unless_placeholders_render_away(template, folder, name):
    key = f"{folder}/{name}"
    assume(all(s not in (".", "..") for s in (folder, name)))
    try:
        assert_clean(output_key(template, key))
    except OutputKeyError as e:
        # only when empty placeholders leave nothing, or a bare "." / ".." segment
        assert "empty key" in e.message or "'.' segment" in e.message \
            or "'..' segment" in e.message


PREFIXES = st.sampled_from(["", "a", "a/", "a/b/", "b/", "a.", "_"])
SUFFIX_SETS = st.one_of(st.none(), st.lists(st.sampled_from([".a", ".b", "b", "a.b", "_x.a"]),
                                             min_size=1, max_size=2, unique=True).map(tuple))
RULE = parse("imageMogr2/strip")


@st.composite
def loop_templates(draw):
    # Half start under a fixed folder, so that many configs are provably safe
    # and the soundness check below has something to check.
    text = draw(templates())
    if draw(st.booleans()):
        head = draw(st.sampled_from(["a", "b", "a/b", "out", "a.b"]))
        text = f"/{head}/{text.lstrip('/')}"
    assume(not template_problems(text))
    return text


@st.composite
def configs(draw):
    routes = []
    for i in range(draw(st.integers(1, 3))):
        rules = tuple(RuleSpec(fileid=draw(loop_templates()), rule="imageMogr2/strip", parsed=RULE,
                               bucket=None, index=j) for j in range(draw(st.integers(1, 2))))
        routes.append(Route(prefix=draw(PREFIXES), suffixes=draw(SUFFIX_SETS), bucket=None,
                            pic_info=False, rules=rules, index=i))
    return Config(routes=tuple(routes))


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(configs(), st.lists(st.text(alphabet="ab./_-xAB", max_size=8), min_size=1, max_size=6))
def test_loop_proof_is_sound(config, tails):
    # Whenever the proof accepts a config, no output of any accepted source key
    # is matched by a route, and every output is recognised as a derivative.
    assume(not loopsafety.check_config(config))
    for route in config.routes:
        for tail in tails:
            for suffix in (route.suffixes or ("",)):
                key = route.prefix + tail + suffix.upper()[: len(suffix) // 2] + \
                    suffix[len(suffix) // 2:]
                if key.endswith("/") or not route.matches(key):
                    continue
                for rule in route.rules:
                    try:
                        out = output_key(rule.fileid, key)
                    except OutputKeyError:
                        continue
                    assert not any(r.matches(out) for r in config.routes), (key, out)
                    assert loopsafety.output_shape(route.prefix, route.suffixes,
                                                   rule.fileid).admits(out)
                    assert loopsafety.is_derivative(config, out)
                    event("output checked")
