"""picops_emulator: a local emulator of the COS + CI subset picops uses.

Real HTTP that the unmodified cos-python-sdk-v5 talks to, real image
processing with libvips, and COS triggers wired from serverless.yml the way
SCF wires them. Tooling only (Python 3.11): never deployed.
"""

#: The local key pair `make emulator` starts with when none is exported (the Makefile spells
#: the same two values), and the README's next steps use. Not a secret: it only opens an
#: emulator on 127.0.0.1, so its ready line prints it.
LOCAL_SECRET_ID = "AKIDlocal"
LOCAL_SECRET_KEY = "local-secret"
