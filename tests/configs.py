"""Config texts several test files share: backfill / plan routes (CLI-level and end to
end) and the head of a serverless.yml.

Test modules import it as ``from tests.configs import ...`` (pytest runs with
``--import-mode=importlib`` and the repository root on ``sys.path``). Each module adds
its own routes, function settings or triggers after these.
"""

#: serverless.yml up to the function's settings; a test appends more ``inputs`` keys
#: (indented two spaces) and its ``events``.
SERVERLESS_HEAD = """
component: scf
name: picops
inputs:
  name: picops-image-processor
  src: ./build/package
  handler: index.main_handler
  runtime: Python3.7
  region: ap-guangzhou
  role: picops-image-processor
"""

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
