"""Config texts several test files share: backfill / plan routes (CLI-level and end to
end), the head of a serverless.yml and its COS triggers.

Test modules import it as ``from tests.configs import ...`` (pytest runs with
``--import-mode=importlib`` and the repository root on ``sys.path``). Each module adds
its own routes, function settings or triggers after these.
"""


def serverless_head(name: str = "picops-image-processor", runtime: str = "Python3.7") -> str:
    """serverless.yml up to the function's settings, for function (and role) ``name`` on
    ``runtime``; a test appends more ``inputs`` keys (indented two spaces) and its ``events``."""
    return f"""
component: scf
name: picops
inputs:
  name: {name}
  src: ./build/package
  handler: index.main_handler
  runtime: {runtime}
  region: ap-guangzhou
  role: {name}
"""


#: serverless.yml up to the function's settings (the shipped function name on Python3.7).
SERVERLESS_HEAD = serverless_head()


def cos_events(bucket: str, prefix: str, *events: str) -> str:
    """The ``events:`` key of ``inputs`` (indented two spaces): one enabled COS trigger on
    ``bucket`` (its short name) and ``prefix`` per COS event type in ``events``."""
    return "  events:\n" + "".join(f"""\
    - cos:
        parameters:
          bucket: {bucket}.cos.ap-guangzhou.myqcloud.com
          filter:
            prefix: {prefix}
          events: '{event}'
          enable: true
""" for event in events)


#: photos/ (a webp thumbnail and a small jpg into the derived bucket) and avatars/ (one
#: rule, outputs next to the source).
BACKFILL_ROUTES = """
routes:
  - prefix: photos/
    suffixes: [.jpg, .png]
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{dir}/{stem}_{ext}_32.webp
        rule: imageMogr2/thumbnail/32x/format/webp
      - fileid: /small/{dir}/{stem}_{ext}_16.jpg
        rule: imageMogr2/thumbnail/16x16/format/jpg
  - prefix: avatars/
    suffixes: [.png]
    rules:
      - fileid: /avatars-small/{dir}/{stem}_{ext}_24.png
        rule: imageView2/1/w/24/h/24/format/png
"""


#: One route: test/ into derived-1253970026 as a 16px webp (the SCF-event and runtime
#: end-to-end tests).
TEST_WEBP_ROUTE = """
routes:
  - prefix: test
    bucket: derived-1253970026
    rules:
      - fileid: /out/{dir}/{name}.webp
        rule: imageMogr2/thumbnail/16x/format/webp
"""


#: (old, new) pairs of change_photo_rules.
_PHOTO_RULE_CHANGES = (
    ("thumbnail/32x/format/webp", "thumbnail/40x/format/webp"),
    ("      - fileid: /small/{dir}/{stem}_{ext}_16.jpg\n"
     "        rule: imageMogr2/thumbnail/16x16/format/jpg\n",
     "      - fileid: /medium/{dir}/{stem}_{ext}_48.jpg\n"
     "        rule: imageMogr2/thumbnail/48x/format/jpg\n"),
)


def change_photo_rules(config: str) -> str:
    """``config`` (built on BACKFILL_ROUTES) with a rules change on photos/: the thumbnail
    rule changed (32x -> 40x, same output), the small output dropped, a medium one added."""
    for old, new in _PHOTO_RULE_CHANGES:
        if old not in config:  # a silent no-op would leave the "new" config unchanged
            raise ValueError(f"change_photo_rules: {old.strip()!r} is not in the config")
        config = config.replace(old, new)
    return config
