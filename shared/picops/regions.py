"""Tencent Cloud region ids and the short codes COS events carry. Pure.

A COS trigger event names the bucket's region in ``cosBucket.region`` as a short
code (``gz``); real events also carry the long id (``cosRegion``/``s3Region``:
``ap-guangzhou``), the SCF CLI's templates do not. The SDK needs the long id.

The codes for Guangzhou, Shanghai, Beijing and Chengdu appear in Tencent's own
samples and real events; the rest follow the same abbreviations Tencent uses in
its older APIs and are UNCONFIRMED for COS events. A code missing here falls
back to the function's own region (``TENCENTCLOUD_REGION``): COS triggers only
bind buckets in the function's region, so that fallback is always right for a
real trigger.
"""

from typing import Dict, Optional

SHORT_CODES: Dict[str, str] = {
    "gz": "ap-guangzhou",
    "sh": "ap-shanghai",
    "bj": "ap-beijing",
    "cd": "ap-chengdu",
    "cq": "ap-chongqing",
    "nj": "ap-nanjing",
    "hk": "ap-hongkong",
    "sg": "ap-singapore",
    "tpe": "ap-taipei",
    "jp": "ap-tokyo",
    "kr": "ap-seoul",
    "th": "ap-bangkok",
    "in": "ap-mumbai",
    "jkt": "ap-jakarta",
    "szjr": "ap-shenzhen-fsi",
    "shjr": "ap-shanghai-fsi",
    "bjjr": "ap-beijing-fsi",
    "de": "eu-frankfurt",
    "ru": "eu-moscow",
    "ca": "na-toronto",
    "usw": "na-siliconvalley",
    "use": "na-ashburn",
    "sao": "sa-saopaulo",
}

#: The other way round, for producers of events (the emulator).
CODE_OF: Dict[str, str] = {region: code for code, region in SHORT_CODES.items()}


def region_of_code(code: str) -> Optional[str]:
    """The region id for a short code (``gz`` -> ``ap-guangzhou``); a long id is kept as is;
    None for anything else."""
    if code in SHORT_CODES:
        return SHORT_CODES[code]
    if code in CODE_OF:
        return code
    return None


__all__ = ["CODE_OF", "SHORT_CODES", "region_of_code"]
