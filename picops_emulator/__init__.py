"""picops_emulator: a local emulator of the COS + CI subset picops uses.

Real HTTP that the unmodified cos-python-sdk-v5 talks to, real image
processing with libvips, and COS triggers wired from serverless.yml the way
SCF wires them. Tooling only (Python 3.11): never deployed.
"""
