"""Ctrl-C for real: SIGINT to a running `picops backfill` process, then a rerun resumes.

test_backfill.py plays Ctrl-C in-process (a hook raising KeyboardInterrupt at a chosen
outcome). This test sends the signal itself to the command running in its own
interpreter, against the emulator (in this process, counting CI calls), so what is
checked is what a user gets: exit status 130, in-flight objects finished, a checkpoint
in the user's cache directory, and a second run that resumes after it, processing every
object exactly once over both runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from .test_backfill import SOURCE, World, check_outputs, populate, summary_of

PHOTOS = 30
#: CI calls seen before the signal is sent: the run is well under way by then.
CALLS_BEFORE_SIGINT = 4
#: A CI-call ceiling low enough that the run is still going when the signal lands.
SLOW_RATE = 4
#: Only a bound on a hung process, never a measured duration.
GIVE_UP_S = 120


def test_sigint_stops_a_backfill_cleanly_and_the_rerun_resumes(tmp_path, monkeypatch):
    world = World(tmp_path, monkeypatch)
    try:
        keys = populate(world, photos=PHOTOS)
        proc = subprocess.Popen(
            [sys.executable, "-m", "picops_cli.main", "backfill", "--bucket", SOURCE,
             "--config", str(world.config), "--concurrency", "2", "--rate", str(SLOW_RATE)],
            cwd=tmp_path, env=dict(os.environ), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            give_up = time.monotonic() + GIVE_UP_S
            while world.ci.total < CALLS_BEFORE_SIGINT:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < give_up, "backfill made no progress"
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=GIVE_UP_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

        # the first run stopped cleanly: status 130, a summary, the checkpoint kept
        assert proc.returncode == 130, (out, err)
        assert "interrupted: in-flight objects finished" in err, err
        first = json.loads(out.strip().splitlines()[-1])
        assert first["failed"] == {}
        assert CALLS_BEFORE_SIGINT <= first["processed"] < PHOTOS, first
        (cp_path,) = world.checkpoints()
        checkpoint = json.loads(cp_path.read_text(encoding="utf-8"))
        assert (checkpoint["bucket"], checkpoint["prefix"]) == (SOURCE, "")
        assert checkpoint["done_through"]
        calls_first = Counter(world.ci.calls)
        # every object that reached CI before or after the signal finished and was counted
        assert first["processed"] == sum(calls_first.values())

        # the rerun resumes after the watermark and finishes the job
        second = world.run("--concurrency", 2, "--rate", 1000)
        assert second.exit_code == 0, second.output
        assert f"resumed after {checkpoint['done_through']} (" in second.output
        assert summary_of(second)["failed"] == {}
        # nothing was processed twice, nothing was left out, and keys the first run
        # never reached are the ones the second run sent to CI
        assert world.ci.calls == Counter({k: 1 for k in keys})
        assert all(k > checkpoint["done_through"]
                   for k in set(world.ci.calls) - set(calls_first))
        assert world.checkpoints() == []
        check_outputs(world, keys)
    finally:
        world.close()
