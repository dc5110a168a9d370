"""Typed errors shared by the function, the CLI and the emulator.

Every error says whether retrying can help (``retryable``) and carries a short
CI/COS-style ``code``. Only two places turn errors into something else: the
handler (log outcomes, raise-or-not) and the emulator's HTTP edge (status code
and XML body). Nothing else inspects error types to decide behaviour.

    PicopsError
    ├── EventError          malformed SCF/COS event                  permanent
    ├── ConfigError         invalid routes config; holds every Problem permanent
    ├── GrammarError        a CI rule string the grammar rejects     permanent
    ├── OutputKeyError      a fileid that resolves to no valid key   permanent
    │   └── LoopRefusedError  an output a route would pick up again  permanent
    └── CiError             a failed CI / COS call                   by status
        └── TransientCiError  5xx, SlowDown, timeouts, connection    retryable
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple


class PicopsError(Exception):
    """Base of every picops error."""

    code = "PicopsError"
    retryable = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


class EventError(PicopsError):
    """The invocation event is not a COS event we can read; ``where`` names the field."""

    code = "MalformedEvent"

    def __init__(self, message: str, where: str = ""):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config, at a place such as ``routes[2].rules[0].rule``."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(PicopsError):
    """A config (routes file, serverless.yml) is invalid. Lists every problem at once."""

    code = "InvalidConfig"

    def __init__(self, problems: Sequence[Problem], source: str = ""):
        self.problems: Tuple[Problem, ...] = tuple(problems)
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{head}{len(self.problems)} problem(s)\n{lines}")


class GrammarError(PicopsError):
    """A CI rule string is not valid CI grammar.

    ``message`` names the offending interface/parameter and value, e.g.
    ``unknown imageMogr2 parameter 'thumbnial'``. ``stage`` is the 0-based
    index of the ``|`` stage where it happened, when known.
    """

    code = "InvalidArgument"

    def __init__(self, message: str, stage: Optional[int] = None):
        super().__init__(message)
        self.stage = stage


class OutputKeyError(PicopsError):
    """A fileid template rendered for one source key gives no valid output key.

    Raised at run time for keys the config could not foresee (e.g. a source key
    with an empty or ``..`` segment that ``{key}``/``{dir}`` would copy into the
    output path); such a record fails permanently instead of writing elsewhere.
    """

    code = "InvalidOutputKey"


class LoopRefusedError(OutputKeyError):
    """An output would land in the event's bucket under a key some route matches.

    The run-time half of loop safety: such an output is never sent to CI.
    """

    code = "LoopRefused"


class CiError(PicopsError):
    """A CI or COS call failed permanently (4xx): retrying cannot help."""

    def __init__(self, message: str, code: str = "CiError", status: Optional[int] = None,
                 request_id: str = ""):
        super().__init__(message)
        self.code = code
        self.status = status
        self.request_id = request_id

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["status"] = self.status
        if self.request_id:
            d["request_id"] = self.request_id
        return d


class TransientCiError(CiError):
    """A CI or COS call failed in a way that may pass: 5xx, SlowDown, timeout, network."""

    retryable = True
