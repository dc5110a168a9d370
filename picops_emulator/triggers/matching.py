"""Does a serverless.yml COS trigger fire for a committed object change?

Pure functions over a ``picops.serverless.CosTrigger`` and a
``picops_emulator.notifications.ObjectChanged``. A trigger fires when all hold:

* it is enabled;
* its bucket (``name-appid``) is the changed object's bucket. The region is not
  compared: the emulator keys buckets by ``name-appid`` and accepts any region
  in the Host header, while real COS only binds same-region buckets anyway;
* its event type is the change's specific event, or the family wildcard
  (``cos:ObjectCreated:*`` covers ``cos:ObjectCreated:Put``, ``:Copy`` ...);
* the key starts with the filter prefix and ends with the filter suffix.

Prefix and suffix are compared case-sensitively, byte for byte on the raw key,
as S3-style notification filters do (UNCONFIRMED for COS).

The decision itself is ``CosTrigger.fires_on`` from ``picops.serverless``, the
same rule ``picops validate`` checks configs with, so the emulator and the
validator cannot disagree; this module adds the bucket check and says *why* a
trigger did not fire, for the decision log.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

from picops_emulator.notifications import ObjectChanged

WILDCARD = "*"


def event_type_matches(configured: str, actual: str) -> bool:
    """``configured`` is a trigger's event type, ``actual`` the change's specific one."""
    if configured == actual:
        return True
    family, sep, last = configured.rpartition(":")
    return bool(sep) and last == WILDCARD and actual.startswith(family + ":")


def mismatch_reason(trigger, change: ObjectChanged) -> Optional[str]:
    """Why ``trigger`` does not fire for ``change``, or None when it does."""
    if trigger.bucket != change.bucket:
        return f"bucket {trigger.bucket!r} is not {change.bucket!r}"
    if not trigger.enable:
        return "trigger is disabled (enable: false)"
    if not event_type_matches(trigger.events, change.event_name):
        return f"event type {trigger.events!r} does not cover {change.event_name!r}"
    prefix = trigger.prefix or ""
    if not change.key.startswith(prefix):
        return f"key does not start with filter prefix {prefix!r}"
    suffix = trigger.suffix or ""
    if not change.key.endswith(suffix):
        return f"key does not end with filter suffix {suffix!r}"
    if not trigger.fires_on(change.key, change.event_name):
        return "CosTrigger.fires_on refuses it"  # only if the two rules ever drift apart
    return None


def trigger_matches(trigger, change: ObjectChanged) -> bool:
    return trigger.bucket == change.bucket and trigger.fires_on(change.key, change.event_name)


def matching_triggers(triggers: Iterable, change: ObjectChanged) -> List:
    """Every trigger that fires for ``change``, in serverless.yml order."""
    return [t for t in triggers if trigger_matches(t, change)]


__all__ = ["event_type_matches", "mismatch_reason", "trigger_matches", "matching_triggers"]
