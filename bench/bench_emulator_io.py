"""The emulator under a slow disk, and the trigger journal under many open events, each
measured side by side in one run.

Run: ``python -m bench.bench_emulator_io`` (also part of ``make bench``).

* **Slow disk**: the time of a HEAD request to the emulator while it is idle, beside the
  same HEAD while another client's upload is writing to a disk that takes
  :data:`SLOW_WRITE_S` per chunk (``PendingWrite.write`` slowed in-process). Body bytes
  are written on the thread pool, so the HEAD does not wait for the disk: target, no HEAD
  during slow writes takes :data:`TARGET_STALL_SHARE` of one write (were the writes on the
  event loop, a HEAD that comes during one would wait for the rest of it).
* **Journal**: the time of ``TriggerJournal.done`` (no fsync: the bookkeeping alone) with
  :data:`FEW` events open beside :data:`MANY` open. Target: within
  :data:`TARGET_DONE_RATIO` (O(1) per event, not O(open events)).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.timing import ms, verdict

SLOW_WRITE_S = 1.0
ROUNDS = 20
TARGET_STALL_SHARE = 0.5
FEW, MANY = 100, 20_000
TARGET_DONE_RATIO = 3.0
BUCKET = "bench-1250000000"


def slow_disk() -> bool:
    from picops_emulator.runner import EmulatorSettings, start_in_thread
    from picops_emulator.storage.files import PendingWrite

    write = PendingWrite.write

    def slow_write(self, chunk):
        if chunk.startswith(b"SLOW"):
            time.sleep(SLOW_WRITE_S)
        return write(self, chunk)

    PendingWrite.write = slow_write
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as data:
        running = start_in_thread(EmulatorSettings(
            port=0, data_dir=Path(data), auth=False, secret_id="", secret_key="",
            buckets_to_create=(BUCKET,)))
        try:
            url = f"{running.endpoint}/{BUCKET}"
            requests.put(f"{url}/probe", data=b"p").raise_for_status()
            chunk = b"SLOW" + b"s" * (256 * 1024 - 4)

            def slow_bodies():
                while not stop.is_set():
                    yield chunk

            def uploader():
                while not stop.is_set():
                    try:
                        requests.put(f"{url}/slow", data=slow_bodies())
                    except requests.RequestException:
                        pass  # cut off when the emulator stops

            session = requests.Session()

            def head() -> float:
                t0 = time.perf_counter()
                session.head(f"{url}/probe").raise_for_status()
                return time.perf_counter() - t0

            idle = []
            for _ in range(ROUNDS):
                idle.append(head())
                time.sleep(SLOW_WRITE_S / 7)
            worker = threading.Thread(target=uploader, daemon=True)
            worker.start()
            time.sleep(SLOW_WRITE_S * 3)  # the upload is under way, its writes slow
            busy = []
            for _ in range(ROUNDS):
                busy.append(head())
                time.sleep(SLOW_WRITE_S / 7)  # land anywhere within a write
            stop.set()
            worker.join(10)
        finally:
            running.stop()
            PendingWrite.write = write
    idle_m, busy_m = statistics.median(idle), statistics.median(busy)
    ok = max(busy) < TARGET_STALL_SHARE * SLOW_WRITE_S
    print(f"HEAD while idle: median {ms(idle_m)}, max {ms(max(idle))}; while an upload "
          f"writes {ms(SLOW_WRITE_S)} per chunk: median {ms(busy_m)}, max {ms(max(busy))} "
          f"(target: max under {ms(TARGET_STALL_SHARE * SLOW_WRITE_S)}) {verdict(ok)}")
    return ok


def journal() -> bool:
    from picops_emulator.triggers.journal import TriggerJournal

    per_done = {}
    with tempfile.TemporaryDirectory() as root:
        journals = {}
        for n in (FEW, MANY):
            j = TriggerJournal(Path(root) / str(n), fsync=False)
            j.open()
            for i in range(n):
                j.add(f"open-{i}", {"key": i})
            journals[n] = j
            per_done[n] = []
        for r in range(ROUNDS):  # interleaved: the same noise hits both
            for n, j in journals.items():
                ids = [f"{r}-{i}" for i in range(50)]
                for entry_id in ids:
                    j.add(entry_id, {"key": entry_id})
                t0 = time.perf_counter()
                for entry_id in ids:
                    j.done(entry_id, "succeeded")
                per_done[n].append((time.perf_counter() - t0) / len(ids))
        for j in journals.values():
            j.close()
    few, many = statistics.median(per_done[FEW]), statistics.median(per_done[MANY])
    ok = many <= TARGET_DONE_RATIO * few
    print(f"journal done() with {FEW} open: median {few * 1e6:.1f} us; with {MANY} open: "
          f"{many * 1e6:.1f} us (ratio {many / few:.2f}; target <= {TARGET_DONE_RATIO}) "
          f"{verdict(ok)}")
    return ok


def main() -> int:
    ok = slow_disk()
    ok = journal() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
