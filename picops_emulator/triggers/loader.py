"""The buckets the emulator creates for a serverless.yml and a routes config.

Reading serverless.yml is :mod:`picops.serverless`'s job (the one YAML loader,
shared with ``picops validate``); its :func:`~picops.serverless.load_serverless`
and :func:`~picops.serverless.default_function_dir` are re-exported here for the
trigger layer's wiring. The emulator runs the function from its source folder in
the checkout (``functions/image_processor`` beside serverless.yml), not from
``inputs.src``, which names the built package that ``make package`` produces.
"""

from __future__ import annotations

from typing import Set

from picops.serverless import ServerlessSpec, default_function_dir, load_serverless


def buckets_to_create(spec: ServerlessSpec, config=None) -> Set[str]:
    """Every bucket (``name-appid``) the triggers and the routes config name.

    ``config`` is a ``picops.config.Config``: each route's source bucket and each
    rule's target bucket count. Disabled triggers count too: their bucket still
    exists on COS.
    """
    buckets = {t.bucket for t in spec.triggers if t.bucket}
    for route in getattr(config, "routes", ()) or ():
        if getattr(route, "bucket", None):
            buckets.add(route.bucket)
        for rule in getattr(route, "rules", ()) or ():
            if getattr(rule, "bucket", None):
                buckets.add(rule.bucket)
    return buckets


__all__ = ["load_serverless", "buckets_to_create", "default_function_dir"]
