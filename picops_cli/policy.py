"""``picops policy``: the least-privilege CAM policy of the function's execution role.

:func:`build_policy` is pure: from the routes config and serverless.yml's COS
triggers it derives, in CAM's policy syntax (``version`` 2.0, ``statement`` of
``effect``/``action``/``resource``), exactly what the function does:

* **read the sources**: ``cos:GetObject``, ``cos:HeadObject`` on every route's
  prefix in every bucket a trigger watches for it (the HEAD fetches an ETag an
  event lacks);
* **CI persistent processing**: ``cos:PostObject`` on the same prefixes (the call
  is ``POST /<source key>?image_process``; CI grants persistent processing to a
  principal through its COS write permissions, UNCONFIRMED beyond that
  documentation), ``cos:PutObject`` (CI writes the derivative with it) on every
  output;
* **deletion sync**: ``cos:DeleteObject`` on every output;
* **manifests** (when on): ``cos:GetObject``, ``cos:HeadObject``,
  ``cos:PutObject``, ``cos:DeleteObject`` on ``<manifest prefix>*`` of each
  source bucket.

Resources are ``qcs::cos:<region>:uid/<appid>:<bucket>/<prefix>*``. An output's
prefix is the fixed start every key of its rule shares
(:func:`picops.loopsafety.output_shape`), so ``/thumbs/{dir}/{stem}.webp`` is
``thumbs/*``; a rule without one (a fileid starting with a placeholder) gets
its route's prefix at most as precise as the loop proof knows, down to the
whole bucket (``<bucket>/*``), said in a note.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import click

from picops import constants, loopsafety
from picops.config import Config
from picops.errors import ConfigError, Problem

VERSION = "2.0"
READ = ("name/cos:GetObject", "name/cos:HeadObject")
PROCESS = ("name/cos:PostObject",)
WRITE_OUTPUT = ("name/cos:PutObject",)
DELETE_OUTPUT = ("name/cos:DeleteObject",)
MANIFEST = ("name/cos:GetObject", "name/cos:HeadObject", "name/cos:PutObject",
            "name/cos:DeleteObject")


class Watched(NamedTuple):
    """A bucket a trigger watches, and its region."""

    bucket: str
    region: str


def resource(region: str, bucket: str, prefix: str) -> str:
    """``qcs::cos:<region>:uid/<appid>:<bucket>/<prefix>*`` (``prefix`` "" = the whole bucket)."""
    appid = bucket.rpartition("-")[2]
    return f"qcs::cos:{region}:uid/{appid}:{bucket}/{prefix}*"


def watched_buckets(triggers: Sequence) -> List[Watched]:
    """The buckets enabled ``cos:ObjectCreated`` triggers watch, in serverless.yml order."""
    seen: Dict[str, Watched] = {}
    for t in triggers:
        if t.enable and t.events.startswith(constants.EVENT_CREATED_PREFIX):
            seen.setdefault(t.bucket, Watched(t.bucket, t.region))
    return list(seen.values())


def build_policy(config: Config, watched: Sequence[Watched]) -> Tuple[dict, List[str]]:
    """The CAM policy document for ``config`` on the ``watched`` source buckets, and notes.

    Raises:
        ConfigError: no source bucket is watched (nothing to grant on).
    """
    if not watched:
        raise ConfigError([Problem("serverless.yml: inputs.events", (
            "no enabled cos:ObjectCreated trigger names a source bucket; the policy is "
            "scoped to the watched buckets"))], "policy")
    regions = {w.bucket: w.region for w in watched}
    default_region = watched[0].region
    read: List[str] = []
    outputs: List[str] = []
    notes: List[str] = []
    for w in watched:
        for route in config.routes:
            read.append(resource(w.region, w.bucket, route.prefix))
            for rule in route.rules:
                target = rule.bucket or route.bucket or w.bucket
                shape = loopsafety.output_shape(route.prefix, route.suffixes, rule.fileid)
                prefix = shape.exact if shape.exact is not None else shape.lead
                if not prefix:
                    notes.append(f"routes[{route.index}].rules[{rule.index}] ({rule.fileid}) "
                                 f"can write anywhere in {target}: its write and delete "
                                 "grants cover the whole bucket")
                out = resource(regions.get(target, default_region), target, prefix)
                if shape.exact is not None:
                    out = out[:-1]  # one exact key, no wildcard
                outputs.append(out)
    statements = [
        _statement(READ + PROCESS, read),
        _statement(WRITE_OUTPUT + DELETE_OUTPUT, outputs),
    ]
    if config.manifests.enabled:
        statements.append(_statement(MANIFEST, [resource(w.region, w.bucket,
                                                         config.manifests.prefix)
                                                for w in watched]))
    return {"version": VERSION, "statement": statements}, _unique(notes)


def _statement(actions: Sequence[str], resources: Sequence[str]) -> dict:
    return {"effect": "allow", "action": _unique(actions), "resource": _unique(resources)}


def _unique(items: Sequence[str]) -> List[str]:
    return list(dict.fromkeys(items))


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="routes config (default: $PICOPS_CONFIG, else "
                                 "functions/image_processor/picops.yaml)")
@click.option("--serverless", "serverless_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="serverless.yml naming the watched buckets "
                                 "(default: ./serverless.yml)")
def policy(config_path: Optional[Path], serverless_path: Optional[Path]) -> None:
    """Print the least-privilege CAM policy for the function's execution role (JSON)."""
    from picops.config import load_config
    from picops.serverless import load_serverless

    from .defaults import SERVERLESS, default_config_path

    try:
        config = load_config(str(config_path or default_config_path()))
        spec = load_serverless(serverless_path or SERVERLESS)
        document, notes = build_policy(config, watched_buckets(spec.triggers))
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(json.dumps(document, indent=2))


__all__ = ["Watched", "build_policy", "policy", "resource", "watched_buckets"]
