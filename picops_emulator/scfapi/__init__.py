"""SCF's own API (Tencent Cloud API 3.0), the part the product calls: ``Invoke``.

* :mod:`.tc3`     TC3-HMAC-SHA256 request signatures, verified (pure)
* :mod:`.invoke`  the ``Invoke`` action, asynchronous, onto the trigger dispatcher's workers

The emulator's HTTP edge hands every request that carries ``X-TC-Action`` here,
before the COS pipeline (those requests are API 3.0, not COS).
"""

from .invoke import ScfApi

__all__ = ["ScfApi"]
