"""Every picops error, in one tree; :meth:`PicopsError.to_dict` is its one serialiser.

Every error says whether retrying can help (``retryable``) and carries a short
CI/COS-style ``code``. Only two places turn errors into something else: the
function's outcome lines (:mod:`picops.outcome`, whose raise-or-not decision
reads ``retryable``) and the emulator's HTTP edge (status code and XML body).
Nothing else inspects error types to decide behaviour.

    PicopsError
    ├── ConfigError              invalid config file; holds every Problem   permanent
    ├── GrammarError             a CI rule string the grammar rejects       permanent
    └── RecordError              fails one record; carries ``status``
        ├── EventError           malformed SCF/COS or page event            permanent
        ├── OutputKeyError       a fileid that resolves to no valid key     permanent
        │   └── LoopRefusedError   an output a route would pick up again    permanent
        ├── PicOperationsTooLargeError  a call's Pic-Operations over the limit  permanent
        ├── ManifestError        a manifest unreadable or not to be trusted permanent
        │   └── NotOwnedOutputError  a listed output not this config's   permanent
        ├── MissingOutputsError  CI answered 200 without some outputs       permanent
        ├── InternalError        an unexpected exception (a bug)            retryable
        ├── SourceChangedError   the source kept changing while processed   retryable
        └── CloudError           a failed COS or CI call                    by status
            └── TransientCloudError  5xx, SlowDown, timeouts, connection    retryable

The emulator's image engine has its own leaves under PicopsError, without a
status (its HTTP edge maps codes to statuses in one table).

Pure: imports nothing of picops, so every module can import it.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple


class PicopsError(Exception):
    """Base of every picops error.

    ``request_id`` is the service's request id, "" when unknown; ``context``
    extra fields the outcome line carries next to the error (for example which
    outputs a failed CI call was making).
    """

    code = "PicopsError"
    retryable = False
    request_id = ""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.context: Dict[str, Any] = {}

    def with_context(self, **fields: Any) -> "PicopsError":
        """Add fields to the serialised form; returns the error itself."""
        self.context.update(fields)
        return self

    def to_dict(self) -> Dict[str, Any]:
        """The error as data: ``code``, ``message``, ``status`` (a
        :class:`RecordError`'s, null when no HTTP answer was behind it),
        ``retryable``, then ``request_id`` (when known) and the ``context`` fields.
        This is how an outcome line holds an error."""
        d: Dict[str, Any] = {"code": self.code, "message": self.message}
        if isinstance(self, RecordError):
            d["status"] = self.status
        d["retryable"] = self.retryable
        if self.request_id:
            d["request_id"] = self.request_id
        d.update(self.context)
        return d


class RecordError(PicopsError):
    """An error that fails one record (or a whole event) and goes into its outcome line.

    ``status`` is the HTTP status behind it when there was one, else None.
    """

    status: Optional[int] = None


class EventError(RecordError):
    """The invocation event is not an event we can read; ``where`` names the field."""

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

    def placed(self) -> List[Problem]:
        """The problems, each led by the file they are in (once; the file alone when a
        problem has no place), for listing problems of several files together."""
        source = self.source
        if not source:
            return list(self.problems)
        return [p if str(p.where).startswith(source)
                else Problem(f"{source}: {p.where}" if p.where else source, p.message)
                for p in self.problems]


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


class OutputKeyError(RecordError):
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


class PicOperationsTooLargeError(RecordError):
    """One CI call of a record would carry a ``Pic-Operations`` header over
    :data:`picops.header_limits.PIC_OPERATIONS_MAX_BYTES`; the message names the route,
    its rules and the size. Permanent: the same key and config make the same header.
    """

    code = "PicOperationsTooLarge"


class ManifestError(RecordError):
    """A manifest is malformed, of an unknown version, or not the source's.

    Permanent: retrying reads the same bytes. The message names the manifest
    (``bucket/key``) and what is wrong with it.
    """

    code = "InvalidManifest"


class NotOwnedOutputError(ManifestError):
    """A manifest lists an output the current config does not write for its source key
    (an earlier config's, or a forged one): it is left in place, never deleted."""

    code = "NotOwnedOutput"


class MissingOutputsError(RecordError):
    """CI answered 200 but did not report every output it was asked for.

    Permanent: the same rules would be answered the same way.
    """

    code = "MissingOutputs"
    status = 200


class InternalError(RecordError):
    """An unexpected exception (a bug) while handling one record.

    Retryable, so the handler still raises and SCF keeps the event (retries,
    then the dead-letter queue) instead of losing it.
    """

    code = "InternalError"
    retryable = True

    @classmethod
    def from_exception(cls, exc: BaseException) -> "InternalError":
        return cls(f"{type(exc).__name__}: {exc}")


class SourceChangedError(RecordError):
    """The source object changed (or was deleted and uploaded again) every time it was
    processed in this invocation, so no manifest could be written as current.

    Retryable: the next delivery processes whatever version is current then.
    """

    code = "SourceChanged"
    retryable = True


class CloudError(RecordError):
    """A COS or CI call failed permanently (4xx): retrying cannot help.

    ``attempts`` is how many calls were made (1 unless the caller retried).
    """

    def __init__(self, message: str, code: str = "CloudError", status: Optional[int] = None,
                 request_id: str = ""):
        super().__init__(message)
        self.code = code
        self.status = status
        self.request_id = request_id
        self.attempts = 1


class TransientCloudError(CloudError):
    """A COS or CI call failed in a way that may pass: 5xx, SlowDown, timeout, network."""

    retryable = True
