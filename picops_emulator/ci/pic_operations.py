"""Parse and validate a ``Pic-Operations`` header, as CI does, before any pixel work.

The header is raw JSON (reference §4.2)::

    {"is_pic_info": 0|1, "rules": [{"bucket"?: "name-appid", "fileid": "...", "rule": "..."}]}

:func:`parse_pic_operations` returns a :class:`PicOperations` whose rules carry
the grammar's parse tree (``style/<name>`` stays a style stage, expanded later
against the bucket's styles) and the resolved output key. Every problem raises
:class:`PicOperationsError` naming the field, e.g.
``Pic-Operations: rules[1].fileid: must not end with '/'``.

Decisions on points the reference leaves UNCONFIRMED (keep them here):
* ``fileid`` is taken literally (not URL- or Base64-decoded), as every SDK
  example sends it; resolution is ``picops.routing.resolve_ci_fileid``, the
  same function the handler uses to predict output keys.
* An empty, missing or null ``rules`` list is valid and processes nothing; any other
  non-list value is refused.
* ``rules[].bucket`` absent or null means the source bucket; an empty string or a
  non-string is refused rather than read as "the source bucket".
* ``is_pic_info`` accepts 0/1 (and JSON booleans); anything else is an error.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

from picops import routing
from picops.describe import describe_value, expected_type
from picops.errors import GrammarError, PicopsError
from picops.grammar import Rule, parse

from ..requestjson import loads_shallow

MAX_RULES = 5  # CI refuses more than five rules in one request (error -60997).
RULE_FIELDS = {"bucket", "fileid", "rule"}
class PicOperationsError(PicopsError):
    """The Pic-Operations header is malformed; the message names the field."""

    code = "InvalidPicOperations"


@dataclass(frozen=True)
class RuleRequest:
    index: int
    bucket: str            # target bucket, "name-appid"
    fileid: str            # as sent
    output_key: str        # resolved, no leading "/"
    rule_text: str
    rule: Rule


@dataclass(frozen=True)
class PicOperations:
    is_pic_info: bool
    rules: Tuple[RuleRequest, ...]


def parse_pic_operations(header: Optional[str], source_bucket: str,
                         source_key: str) -> PicOperations:
    """Validate ``header`` for an object ``source_key`` in ``source_bucket``."""
    where = "Pic-Operations"
    if header is None or not header.strip():
        raise PicOperationsError(f"{where}: header is missing or empty")
    try:
        doc = loads_shallow(header)
    except ValueError as exc:
        raise PicOperationsError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise PicOperationsError(
            f"{where}: must be {expected_type(dict)}, got {describe_value(doc)}")
    unknown = sorted(set(doc) - {"is_pic_info", "rules"})
    if unknown:
        raise PicOperationsError(f"{where}: unknown field(s) {', '.join(unknown)}")

    info = doc.get("is_pic_info", 0)
    if info not in (0, 1) or (isinstance(info, float)):
        raise PicOperationsError(f"{where}.is_pic_info: must be 0 or 1, got {describe_value(info)}")

    # Only an absent or null "rules" means "no rules": an empty object or string there is a
    # malformed header, not a request to process nothing.
    rules = doc.get("rules")
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise PicOperationsError(
            f"{where}.rules: must be a list of rules, got {describe_value(rules)}")
    if len(rules) > MAX_RULES:
        raise PicOperationsError(
            f"{where}.rules: {len(rules)} rules; CI allows at most {MAX_RULES} per request "
            "(-60997)")
    parsed = tuple(_parse_rule(i, r, source_bucket, source_key) for i, r in enumerate(rules))
    return PicOperations(is_pic_info=bool(info), rules=parsed)


def _parse_rule(i: int, item: object, source_bucket: str, source_key: str) -> RuleRequest:
    where = f"Pic-Operations.rules[{i}]"
    if not isinstance(item, dict):
        raise PicOperationsError(f"{where}: must be an object with fileid and rule, "
                                 f"got {describe_value(item)}")
    unknown = sorted(set(item) - RULE_FIELDS)
    if unknown:
        raise PicOperationsError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for name in ("fileid", "rule"):
        value = item.get(name)
        if not isinstance(value, str) or not value:
            raise PicOperationsError(f"{where}.{name}: required, a non-empty string (-60950)")
    # null (what a client serialising an unset field sends) means the source bucket; any
    # other value must name a bucket, so "" or 0 never silently writes into the source's.
    bucket = item.get("bucket")
    if bucket is None:
        bucket = source_bucket
    elif not isinstance(bucket, str) or not bucket:
        raise PicOperationsError(
            f"{where}.bucket: must be a non-empty bucket name (name-appid), "
            f"got {describe_value(bucket)}")
    try:
        output_key = routing.resolve_ci_fileid(source_key, item["fileid"])
    except PicopsError as exc:
        raise PicOperationsError(f"{where}.fileid: {exc.message}") from None
    except ValueError as exc:
        raise PicOperationsError(f"{where}.fileid: {exc}") from None
    try:
        rule = parse(item["rule"])
    except GrammarError as exc:
        raise GrammarError(f"{where}.rule: {exc.message} (-60998)", stage=exc.stage) from None
    return RuleRequest(index=i, bucket=bucket, fileid=item["fileid"], output_key=output_key,
                       rule_text=item["rule"], rule=rule)
