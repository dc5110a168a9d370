"""Every name and number the function depends on, in one place.

Environment variable names, CI's limits and the handler's defaults live here so
that the function, the CLI and the emulator agree on them and a change is made
once. Nothing here does I/O.
"""

# --- environment variables ---------------------------------------------------------

#: Path of the routes config; default: ``picops.yaml`` beside ``index.py``.
ENV_CONFIG = "PICOPS_CONFIG"
#: Talk to this endpoint (e.g. ``http://127.0.0.1:9000``, the local emulator)
#: instead of Tencent Cloud; the bucket still travels in the signed Host header.
ENV_COS_ENDPOINT = "COS_ENDPOINT"
#: The execution role's temporary credentials, put there by SCF.
ENV_SECRET_ID = "TENCENTCLOUD_SECRETID"
ENV_SECRET_KEY = "TENCENTCLOUD_SECRETKEY"
ENV_SESSION_TOKEN = "TENCENTCLOUD_SESSIONTOKEN"
#: The function's region; the fallback when an event carries no long region id.
ENV_REGION = "TENCENTCLOUD_REGION"
#: Set by SCF; used for the ``function_name`` log key when the context lacks it.
ENV_FUNCTION_NAME = "SCF_FUNCTIONNAME"

#: The config file name looked up beside ``index.py``.
DEFAULT_CONFIG_NAME = "picops.yaml"
#: The function's source folder in the checkout, relative to serverless.yml's folder
#: (``inputs.src`` names the built package instead; the emulator and the CLI run
#: the source). :func:`picops.serverless.default_function_dir` joins it.
FUNCTION_SOURCE_DIR = "functions/image_processor"

# --- CI limits (reference: cos-ci-scf.md §4.2, §4.6) ----------------------------------------

#: Rules per ``Pic-Operations`` header; more must be split over several calls.
CI_MAX_RULES_PER_CALL = 5
#: ``|`` stages per rule.
CI_MAX_STAGES = 10

# --- handler timing --------------------------------------------------------------

#: Used when the SCF context has no ``time_limit_in_ms`` (SCF's own default is 3 s).
DEFAULT_TIME_LIMIT_MS = 3000
#: Time kept back at the end of an invocation so the handler can log and return
#: (or raise) before SCF kills it: this fraction of the limit, clamped to the bounds.
SAFETY_MARGIN_FRACTION = 0.1
SAFETY_MARGIN_MIN_S = 0.5
SAFETY_MARGIN_MAX_S = 3.0

# --- CI call retries -----------------------------------------------------------------

#: HTTP timeout of one CI call when the invocation has more time than this left.
#: Persistent processing of a big image can take several seconds server-side.
CALL_TIMEOUT_S = 30.0
#: Do not start an attempt with less time than this left: it would only time out.
MIN_ATTEMPT_S = 1.0
#: Exponential backoff between attempts: base * 2**n, capped, with full jitter.
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 4.0
#: Attempts per call at most (the first one included), even with time to spare.
MAX_ATTEMPTS = 5

# --- event names -------------------------------------------------------------------

EVENT_CREATED_PREFIX = "cos:ObjectCreated:"
EVENT_CREATED_ANY = "cos:ObjectCreated:*"

# --- manifest and delete calls ------------------------------------------------------

#: A manifest read/write/delete or an output delete is not started with less time
#: than this left.
MIN_IO_S = 0.2
#: How many times the create path sends a source's rules in one invocation when the
#: source keeps changing under it (manifests on: :mod:`picops.create`); then the
#: record fails retryable with an incomplete manifest and SCF runs it again.
SETTLE_ROUNDS = 3
#: Every deletion event type (Delete, DeleteMarkerCreated ...).
EVENT_REMOVE_PREFIX = "cos:ObjectRemove:"
