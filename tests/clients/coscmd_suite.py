"""Drive Tencent's coscmd against the emulator, operation by operation (``make clients``).

``python -m tests.clients.coscmd_suite [--only NAME]``

coscmd takes a region or an endpoint, never an IP and port, so it reaches the emulator the
way it reaches COS from behind a corporate proxy: configured with ``--do-not-use-ssl`` and
``HTTP_PROXY`` pointing at the emulator, which answers absolute-form requests
(``GET http://<bucket>.cos.<region>.myqcloud.com/<key>``) as the proxy and the server at
once. Each operation runs the real ``coscmd`` (from ``build/clients/coscmd-venv``) and is
judged by what it did — bytes downloaded, keys listed, metadata shown — not only its exit
status. Operations outside the emulator's subset are listed in ``coscmd/outside.tsv``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

from . import harness
from .install import coscmd_bin

HERE = Path(__file__).resolve().parent / "coscmd"
OTHER_BUCKET = f"coscmd-made-{harness.APPID}"
BIG = 3 * 1024 * 1024 + 17      # over coscmd's 1 MB part size: a multipart upload


@dataclass
class Env:
    work: Path
    config: Path
    proxy: str

    def coscmd(self, *args: str, bucket: Optional[str] = None) -> subprocess.CompletedProcess:
        cmd = [str(coscmd_bin()), "-c", str(self.config)]
        if bucket:
            cmd += ["-b", bucket]
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy",
                                                                         "no_proxy")}
        env.update(HTTP_PROXY=self.proxy, http_proxy=self.proxy)
        return subprocess.run(cmd + list(args), cwd=self.work, env=env, capture_output=True,
                              text=True, timeout=120)

    def ok(self, *args: str, bucket: Optional[str] = None) -> str:
        proc = self.coscmd(*args, bucket=bucket)
        if proc.returncode != 0:
            raise AssertionError(f"coscmd {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
        return proc.stdout + proc.stderr


def _file(env: Env, name: str, size: int) -> Path:
    path = env.work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hashlib.sha256(name.encode()).digest() * (size // 32) +
                     b"x" * (size % 32))
    return path


def _same(a: Path, b: Path) -> None:
    assert a.read_bytes() == b.read_bytes(), f"{b} differs from {a}"


def op_upload(env: Env) -> None:
    env.ok("upload", str(_file(env, "small.txt", 1000)), "docs/small.txt")


def op_upload_multipart(env: Env) -> None:
    env.ok("upload", str(_file(env, "big.bin", BIG)), "docs/big.bin")


def op_upload_folder(env: Env) -> None:
    for name in ("tree/a.txt", "tree/sub/b.txt", "tree/sub/c d+e.txt"):
        _file(env, name, 300)
    env.ok("upload", "-r", str(env.work / "tree"), "tree/")


def op_upload_with_headers(env: Env) -> None:
    env.ok("upload", "-H", "{'x-cos-meta-origin':'coscmd','Content-Type':'text/csv'}",
           str(_file(env, "meta.csv", 10)), "docs/meta.csv")
    out = env.ok("info", "docs/meta.csv")
    assert "coscmd" in out and "text/csv" in out, out


def op_list(env: Env) -> None:
    out = env.ok("list", "docs/")
    for key in ("docs/small.txt", "docs/big.bin"):
        assert key in out, f"{key} not listed:\n{out}"


def op_list_recursive(env: Env) -> None:
    out = env.ok("list", "-r", "tree/")
    for key in ("tree/a.txt", "tree/sub/b.txt", "tree/sub/c d+e.txt"):
        assert key in out, f"{key} not listed:\n{out}"


def op_info(env: Env) -> None:
    out = env.ok("info", "docs/big.bin")
    assert str(BIG) in out.replace(",", ""), out


def op_download(env: Env) -> None:
    env.ok("download", "docs/small.txt", "got/small.txt")
    _same(env.work / "small.txt", env.work / "got/small.txt")


def op_download_multipart_object(env: Env) -> None:
    env.ok("download", "docs/big.bin", "got/big.bin")
    _same(env.work / "big.bin", env.work / "got/big.bin")


def _found(root: Path, relative: str) -> Path:
    """The one file under ``root`` whose path ends with ``relative`` (coscmd decides whether
    the source folder's own name is kept under the destination)."""
    hits = [p for p in root.rglob("*") if p.is_file() and p.as_posix().endswith("/" + relative)]
    assert len(hits) == 1, f"expected one {relative} under {root}, found {hits}"
    return hits[0]


def op_download_folder(env: Env) -> None:
    env.ok("download", "-r", "tree/", "got/tree")
    for name in ("a.txt", "sub/b.txt", "sub/c d+e.txt"):
        _same(env.work / "tree" / name, _found(env.work / "got/tree", name))


def _source(key: str) -> str:
    return f"{harness.BUCKET}.cos.{harness.REGION}.myqcloud.com/{key}"


def op_copy(env: Env) -> None:
    env.ok("copy", _source("docs/small.txt"), "copies/small.txt")
    env.ok("download", "copies/small.txt", "got/copy.txt")
    _same(env.work / "small.txt", env.work / "got/copy.txt")


def op_copy_large(env: Env) -> None:
    # coscmd copies objects over its part size part by part (Upload Part - Copy)
    env.ok("copy", _source("docs/big.bin"), "copies/big.bin")
    env.ok("download", "copies/big.bin", "got/copy.bin")
    _same(env.work / "big.bin", env.work / "got/copy.bin")


def op_copy_folder(env: Env) -> None:
    env.ok("copy", "-r", _source("tree/"), "tree-copy/")
    out = env.ok("list", "-r", "tree-copy/")
    for name in ("a.txt", "sub/b.txt", "sub/c d+e.txt"):
        assert f"/{name} " in out, f"{name} not copied:\n{out}"


def op_move(env: Env) -> None:
    env.ok("move", _source("copies/small.txt"), "moved/small.txt")
    out = env.ok("list", "-r", "")
    assert "moved/small.txt" in out and "copies/small.txt" not in out, out


def op_signurl(env: Env) -> None:
    out = env.ok("signurl", "docs/small.txt")
    found = re.search(r"https?://[^'\s]+", out)  # coscmd prints the URL as b'...'
    assert found, out
    url = found.group()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": env.proxy}))
    with opener.open(url, timeout=30) as resp:
        assert resp.read() == (env.work / "small.txt").read_bytes()


def op_listparts_and_abort(env: Env) -> None:
    env.ok("listparts", "docs/")
    env.ok("abort")


def op_delete(env: Env) -> None:
    env.ok("delete", "-f", "docs/small.txt")
    out = env.ok("list", "docs/")
    assert "docs/small.txt" not in out, out


def op_delete_folder(env: Env) -> None:
    env.ok("delete", "-r", "-f", "tree/")
    out = env.ok("list", "-r", "tree/")
    assert "tree/a.txt" not in out, out


def op_createbucket(env: Env) -> None:
    env.ok("createbucket", bucket=OTHER_BUCKET)
    env.ok("upload", str(env.work / "small.txt"), "x.txt", bucket=OTHER_BUCKET)


def op_deletebucket(env: Env) -> None:
    env.ok("delete", "-f", "x.txt", bucket=OTHER_BUCKET)
    env.ok("deletebucket", bucket=OTHER_BUCKET)
    proc = env.coscmd("list", bucket=OTHER_BUCKET)
    assert "NoSuchBucket" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def op_probe(env: Env) -> None:
    env.ok("probe", "-n", "1", "-s", "1")


OPERATIONS: List[Callable[[Env], None]] = [
    op_upload, op_upload_multipart, op_upload_folder, op_upload_with_headers, op_list,
    op_list_recursive, op_info, op_download, op_download_multipart_object, op_download_folder,
    op_copy, op_copy_large, op_copy_folder, op_move, op_signurl, op_listparts_and_abort,
    op_delete, op_delete_folder, op_createbucket, op_deletebucket, op_probe,
]


def configure(env: Env) -> None:
    env.ok("config", "-a", harness.SECRET_ID, "-s", harness.SECRET_KEY, "-b", harness.BUCKET,
           "-r", harness.REGION, "--do-not-use-ssl")


def run(only: str = "") -> List[dict]:
    if not coscmd_bin().is_file():
        raise SystemExit("coscmd suite: build/clients/coscmd-venv is missing; run "
                         "`make clients-install` (or python -m tests.clients.install coscmd)")
    results = []
    with harness.emulator() as running, tempfile.TemporaryDirectory() as tmp:
        env = Env(work=Path(tmp), config=Path(tmp) / "cos.conf",
                  proxy=f"http://127.0.0.1:{running.port}")
        configure(env)
        for op in OPERATIONS:
            name = op.__name__.removeprefix("op_")
            if only and name != only:
                continue
            try:
                op(env)
                results.append({"title": name, "state": "passed"})
                print(f"  ok   {name}", file=sys.stderr)
            except Exception as exc:  # noqa: BLE001 — every failure is reported, then judged
                results.append({"title": name, "state": "failed", "error": str(exc)})
                print(f"  FAIL {name}: {exc}", file=sys.stderr)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run one operation (and nothing before it)")
    args = parser.parse_args(argv)
    results = run(args.only)
    v = harness.verdict(results, harness.load_outside(HERE / "outside.tsv"),
                        complete=not args.only)
    print(v.summary("coscmd"))
    return 0 if v.ok else 1


if __name__ == "__main__":
    sys.exit(main())
