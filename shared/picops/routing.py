"""Which route a key takes, where its outputs go, and the CI calls that make them. Pure.

* :func:`match`: among the routes whose prefix and suffix match a key, the one
  with the longest prefix (validation guarantees there is no tie).
* :func:`skip_reason`: why an uploaded object is not processed at all, in the
  handler's order (``folder_marker``, ``empty_object``, ``manifest_object``,
  ``loop_guard``, ``no_route``), or None. The handler, ``picops backfill`` and
  ``picops explain`` all ask this one function.
* :func:`render_fileid`: a fileid template filled in for one source key.
* :func:`resolve_ci_fileid`: CI's rule turning a fileid into an object key. The
  emulator calls this same function, so the function and the emulator cannot
  disagree on where an output lands.
* :func:`plan`: everything the handler sends for one object: the outputs, the
  ones refused, and the ``Pic-Operations`` payloads in calls of at most
  ``CI_MAX_RULES_PER_CALL`` rules, in config order. A plan with any refused
  output is not sent at all (:meth:`Plan.refusals`).
* :func:`pic_operations_header`: a payload as the exact ``Pic-Operations``
  header value the handler sends (``picops explain`` prints the same string).
"""

from __future__ import annotations

import json
from typing import List, NamedTuple, Optional, Tuple

from . import loopsafety
from .constants import CI_MAX_RULES_PER_CALL
from .cos_keys import MAX_KEY_BYTES, bad_character, key_bytes
from .manifest import under_manifest_prefix
from .errors import OutputKeyError, PicOperationsTooLargeError, RecordError
from .header_limits import PIC_OPERATIONS_MAX_BYTES
from .templates import Slot, key_fields, parse_template
from .model import Config, Route
from .outcome import SkipReason


class Output(NamedTuple):
    """One derivative of one source object.

    ``key`` is the resolved object key (no leading ``/``); ``fileid`` is what goes
    in ``Pic-Operations``: the same key with a leading ``/``, so CI takes it
    literally from the bucket root whatever the source's folder.
    """

    rule_index: int
    bucket: str
    key: str
    rule: str

    @property
    def fileid(self) -> str:
        return "/" + self.key


class Rejected(NamedTuple):
    """A rule whose output cannot be written for this source key, and why.

    ``error`` is an :class:`~picops.errors.OutputKeyError` for one output, or a
    :class:`~picops.errors.PicOperationsTooLargeError` for a whole call (``rule_index``
    is then its first rule, ``bucket`` the source bucket the call goes to).
    """

    rule_index: int
    bucket: str
    error: RecordError


class Plan(NamedTuple):
    """The work for one source object. ``calls[i]`` makes ``batches[i]``; ``headers[i]``
    is ``calls[i]`` as the ``Pic-Operations`` header sent (:func:`pic_operations_header`,
    serialised once: the size check and the request both use it).

    All or nothing: when ``rejected`` is not empty, no call of the plan may be
    sent (the function, ``picops upload`` and backfill fail the record with
    :meth:`refusals` before any request), so a record never ends half processed
    for a reason a retry cannot change.
    """

    route: "Route"
    bucket: str
    key: str
    outputs: Tuple[Output, ...]
    rejected: Tuple[Rejected, ...]
    calls: List[dict]
    batches: Tuple[Tuple[Output, ...], ...]
    headers: Tuple[str, ...]

    def refusals(self) -> List[RecordError]:
        """Every rejection's error, each naming its rule (``rule`` in its context, the
        rule's index in the route; an oversized call's first rule) and its ``bucket``
        (the output's target; the source bucket for an oversized call); [] when none."""
        return [r.error.with_context(rule=r.rule_index, bucket=r.bucket)
                for r in self.rejected]


def match(config: "Config", key: str) -> Optional["Route"]:
    """The route for ``key``: longest matching prefix, or None when none matches."""
    best = None
    for route in config.routes:
        if route.matches(key) and (best is None or len(route.prefix) > len(best.prefix)):
            best = route
    return best


def skip_reason(config: "Config", bucket: str, key: str,
                size: Optional[int]) -> Optional[SkipReason]:
    """Why object ``key`` of ``bucket`` (``size`` bytes; None = unknown) is skipped, or None.

    The order matters and is the handler's: a folder marker or an empty object is
    never an image; the manifest prefix is reserved whatever routes say; a key this
    config could have written is a loop guarded against before routing.
    """
    if key.endswith("/"):
        return SkipReason.FOLDER_MARKER
    if size == 0:
        return SkipReason.EMPTY_OBJECT
    settings = config.manifests
    if settings.enabled and under_manifest_prefix(key, settings.prefix):
        return SkipReason.MANIFEST_OBJECT
    if loopsafety.is_derivative(config, key, bucket):
        return SkipReason.LOOP_GUARD
    if match(config, key) is None:
        return SkipReason.NO_ROUTE
    return None


def render_fileid(template: str, key: str) -> str:
    """``template`` with its placeholders filled in from ``key``.

    A leading ``/`` of the template is kept (it means "from the bucket root"); a
    segment made only of placeholders that render empty is dropped, so
    ``{dir}/{stem}.webp`` for ``a.jpg`` gives ``a.webp``, not ``/a.webp``.
    ``{key}`` and ``{dir}`` may bring their own ``/`` (and whatever segments the
    source key has); :func:`resolve_ci_fileid` checks the result.

    Raises:
        ValueError: the template itself is invalid.
    """
    parsed = parse_template(template)
    fields = key_fields(key)
    kept = []
    for segment in parsed.segments:
        text = "".join(fields[p.name] if isinstance(p, Slot) else p for p in segment)
        if text or not any(isinstance(p, Slot) for p in segment):
            kept.append(text)
    body = "/".join(kept)
    return "/" + body if parsed.absolute else body


def resolve_ci_fileid(source_key: str, fileid: str) -> str:
    """The object key CI writes for ``fileid`` when processing ``source_key``.

    CI's rule (reference cos-ci-scf.md §4.2): a leading ``/`` is from the bucket
    root; otherwise the path is relative to the source object's folder
    (``p1/test1.jpg`` + ``p2/x.jpg`` -> ``p1/p2/x.jpg``). The result never starts
    with ``/``, never holds ``//``, and never ends with ``/``.

    Decision (CI's own handling is UNCONFIRMED): ``.`` and ``..`` segments are
    rejected rather than normalised. COS keys are flat strings, so ``a/../b``
    is a legal, different key from ``b``; either reading could put an output
    somewhere a route watches, so neither is guessed.

    Raises:
        OutputKeyError: the result would be empty, end with ``/``, or hold an
            empty, ``.`` or ``..`` segment.
    """
    if fileid in ("", "/"):
        raise OutputKeyError(f"fileid {fileid!r} resolves to an empty key "
                             f"(source key {source_key!r})")
    if fileid.startswith("/"):
        path = fileid[1:]
    else:
        folder = source_key[:source_key.rfind("/")] if "/" in source_key else ""
        path = f"{folder}/{fileid}" if folder else fileid
    if path.endswith("/"):
        raise OutputKeyError(f"fileid {fileid!r} resolves to {path!r}, which ends with '/'")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            what = "an empty" if not segment else f"a {segment!r}"
            raise OutputKeyError(f"fileid {fileid!r} resolves to {path!r}, which has {what} "
                                 f"segment (source key {source_key!r})")
    return path


def output_key(template: str, source_key: str) -> str:
    """Render then resolve: the object key a rule writes for ``source_key``.

    The function checks here, before any CI call, that the key is one COS can
    store, so that a request never fails after some of its rules were written: at
    most ``MAX_KEY_BYTES`` (850) bytes of UTF-8 and no character a key must not hold
    (:mod:`picops.cos_keys`, the emulator's key rule too). (The emulator's CI checks its
    own way, as CI would.)

    Raises:
        OutputKeyError: see :func:`resolve_ci_fileid`; or the key is longer than COS
            allows or holds a character COS keys cannot (:func:`~picops.cos_keys.bad_character`).
    """
    path = resolve_ci_fileid(source_key, render_fileid(template, source_key))
    size = key_bytes(path)
    if size > MAX_KEY_BYTES:
        raise OutputKeyError(f"fileid {template!r} resolves to a key of {size} bytes; COS "
                             f"keys are at most {MAX_KEY_BYTES} (source key "
                             f"{source_key[:80]!r}...)")
    bad = bad_character(path)
    if bad is not None:
        raise OutputKeyError(f"fileid {template!r} resolves to {path!r}, which holds "
                             f"{bad[1]}: COS keys cannot")
    return path


def plan(config: "Config", bucket: str, key: str) -> Optional[Plan]:
    """The outputs and CI calls for object ``key`` in ``bucket``; None when no route matches.

    Outputs whose key cannot be resolved or is not a valid COS key (over 850 bytes, a
    character COS keys cannot hold, an empty, ``.`` or ``..`` segment), and outputs
    that loop safety refuses (target is the event's bucket and some route matches the
    output key), are listed in ``rejected`` and left out of the calls. So is a call
    whose ``Pic-Operations`` header would exceed
    ``header_limits.PIC_OPERATIONS_MAX_BYTES``: one rejection naming the route, its
    rules and the size (:func:`oversized_call`), its outputs left out. A plan with any
    rejection is not to be sent at all (:class:`Plan`: all or nothing per record); the
    other outputs are still listed (``picops explain`` shows them beside the refusals).
    """
    route = match(config, key)
    if route is None:
        return None
    outputs: List[Output] = []
    rejected: List[Rejected] = []
    for rule in route.rules:
        target = rule.bucket or bucket
        try:
            out_key = output_key(rule.fileid, key)
            loopsafety.refuse_output(config, bucket, target, out_key)
        except OutputKeyError as e:
            rejected.append(Rejected(rule.index, target, e))
            continue
        outputs.append(Output(rule.index, target, out_key, rule.rule))
    batches: List[Tuple[Output, ...]] = []
    calls: List[dict] = []
    headers: List[str] = []
    for batch in in_calls(outputs):
        call = pic_operations(batch, bucket, route.pic_info)
        header = pic_operations_header(call)
        too_large = oversized_call(route, batch, header)
        if too_large is not None:
            rejected.append(Rejected(batch[0].rule_index, bucket, too_large))
            continue
        batches.append(batch)
        calls.append(call)
        headers.append(header)
    kept = tuple(o for batch in batches for o in batch)
    return Plan(route=route, bucket=bucket, key=key, outputs=kept, rejected=tuple(rejected),
                calls=calls, batches=tuple(batches), headers=tuple(headers))


def in_calls(outputs: List[Output]) -> List[Tuple[Output, ...]]:
    """``outputs`` in config order, ``CI_MAX_RULES_PER_CALL`` per CI call."""
    return [tuple(outputs[i:i + CI_MAX_RULES_PER_CALL])
            for i in range(0, len(outputs), CI_MAX_RULES_PER_CALL)]


def oversized_call(route: "Route", batch: Tuple[Output, ...],
                   header: str) -> Optional[PicOperationsTooLargeError]:
    """The refusal of the call sending ``header`` (making ``batch`` for ``route``) when that
    ``Pic-Operations`` header is over ``PIC_OPERATIONS_MAX_BYTES``, else None."""
    why = call_size_problem(batch, header)
    return None if why is None else PicOperationsTooLargeError(f"{route.where}.{why}")


def call_size_problem(batch: Tuple[Output, ...], header: str) -> Optional[str]:
    """``"rules [0, 1] make a Pic-Operations header of N bytes; ..."`` when ``header``
    (:func:`pic_operations_header` of the call making ``batch``) is over
    ``PIC_OPERATIONS_MAX_BYTES``, else None. The function (:func:`oversized_call`) and
    ``picops validate`` (with the longest output keys a route can produce) both ask this
    one function."""
    size = len(header)  # ASCII JSON: characters are bytes
    if size <= PIC_OPERATIONS_MAX_BYTES:
        return None
    rules = ", ".join(str(o.rule_index) for o in batch)
    return (f"rules [{rules}] make a Pic-Operations header of {size} bytes; picops sends "
            f"at most {PIC_OPERATIONS_MAX_BYTES} per CI call (shorten those rules, e.g. "
            f"their watermark text, or their fileids)")


def pic_operations(outputs: Tuple[Output, ...], source_bucket: str, pic_info: bool) -> dict:
    """One ``Pic-Operations`` payload. ``bucket`` is sent only for another bucket.

    ``is_pic_info`` is sent on every call of a route that asks for it, so the
    source's ImageInfo still arrives when an earlier call of the record fails.
    """
    rules = []
    for o in outputs:
        entry = {"fileid": o.fileid, "rule": o.rule}
        if o.bucket != source_bucket:
            entry = {"bucket": o.bucket, "fileid": o.fileid, "rule": o.rule}
        rules.append(entry)
    return {"is_pic_info": 1 if pic_info else 0, "rules": rules}


def pic_operations_header(payload: dict) -> str:
    """The ``Pic-Operations`` header value for ``payload``, byte for byte as sent.

    Compact ASCII JSON: non-ASCII keys travel as ``\\u`` escapes, which every JSON
    reader decodes, instead of raw UTF-8 bytes in an HTTP header.
    """
    return json.dumps(payload, separators=(",", ":"))
