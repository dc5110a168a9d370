"""The routes config as data: :class:`Config`, :class:`Route`, :class:`RuleSpec`,
:class:`ManifestSettings`, and what a bucket name looks like. Pure.

This module imports nothing of picops, so every other module (loop safety,
routing, manifests, serverless.yml checks, the loaders) can import the model
without a cycle. Loading a file is :mod:`picops.config`'s job, checking a
document :mod:`picops.validation`'s.

The YAML shape is the public contract (README)::

    routes:
      - prefix: uploads/photos/          # required; "" matches every key
        suffixes: [.jpg, .jpeg, .png]    # optional; case-insensitive; absent = any
        bucket: derived-1250000000       # optional target of this route's rules
        pic_info: true                   # optional; sent as is_pic_info
        rules:                           # one CI rule per derivative; at least one
          - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
            rule: imageMogr2/thumbnail/400x/format/webp
            bucket: covers-1250000000    # optional per-rule target bucket
    manifests:                           # optional; these are the defaults
      enabled: true                      # write a manifest per processed source
      prefix: _picops/manifests/         # where, in the source bucket (reserved)

A new config field goes into the model here, its check into
:mod:`picops.validation` (with the place it is reported at) and its docs into
the README's config section.
"""

import re
from typing import Any, NamedTuple, Optional, Tuple

#: ``name-appid``: COS bucket names are lower-case letters, digits and inner
#: hyphens; the APPID is the account's number.
BUCKET_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]+")

#: Where manifests live in the source bucket unless the config says otherwise.
DEFAULT_MANIFEST_PREFIX = "_picops/manifests/"


def is_bucket_name(value: str) -> bool:
    """Is ``value`` a ``name-appid`` COS bucket name?"""
    return BUCKET_RE.fullmatch(value) is not None


class RuleSpec(NamedTuple):
    """One derivative: write ``rule`` applied to the source to ``fileid``.

    ``parsed`` is the rule as :func:`picops.grammar.parse` read it (a
    ``picops.grammar.Rule``). ``bucket`` is the explicit target (the rule's own,
    else its route's), or None for "the source bucket".
    """

    fileid: str
    rule: str
    parsed: Any
    bucket: Optional[str]
    index: int


class Route(NamedTuple):
    """Keys starting with ``prefix`` (and ending with one of ``suffixes``, compared
    lower-case; None = any suffix) get ``rules``. ``index`` is its place in the file."""

    prefix: str
    suffixes: Optional[Tuple[str, ...]]
    bucket: Optional[str]
    pic_info: bool
    rules: Tuple[RuleSpec, ...]
    index: int

    def matches(self, key: str) -> bool:
        if not key.startswith(self.prefix):
            return False
        return self.suffixes is None or key.lower().endswith(self.suffixes)

    @property
    def where(self) -> str:
        return f"routes[{self.index}]"


class ManifestSettings(NamedTuple):
    """``manifests:``: whether a manifest is kept per processed source, and under
    which prefix of the source bucket (reserved: no route or trigger may see it)."""

    enabled: bool = True
    prefix: str = DEFAULT_MANIFEST_PREFIX


class Config(NamedTuple):
    """A valid routes config (only :mod:`picops.validation` builds one from a file).

    ``source`` names the file it came from ("" when built in code).
    """

    routes: Tuple[Route, ...]
    source: str = ""
    manifests: ManifestSettings = ManifestSettings()
