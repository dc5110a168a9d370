"""Advice on a valid config: things CI will do as asked that users rarely mean.

Advice never fails validation (the config is valid); ``picops validate`` prints
it as ``note:`` lines. Pure: a :class:`picops.config.Config` in, problems out.
"""

from typing import List

from picops.model import Config
from picops.errors import Problem


def config_advice(config: Config) -> List[Problem]:
    notes: List[Problem] = []
    for route in config.routes:
        for rule in route.rules:
            stages = rule.parsed.stages
            mogr = [s for s in stages if s.interface == "imageMogr2"]
            if mogr and not any(s.has("auto-orient") for s in mogr):
                # CI keeps the stored pixels unless asked: a phone photo with EXIF
                # orientation 6 comes out sideways in formats whose viewers ignore EXIF
                # (landscape.md pain point 5).
                notes.append(Problem(
                    f"{route.where}.rules[{rule.index}]",
                    "no auto-orient: photos with an EXIF orientation (most phone photos) keep "
                    "their stored, often sideways, pixels in this output; start the rule with "
                    "imageMogr2/auto-orient/..."))
    return notes
