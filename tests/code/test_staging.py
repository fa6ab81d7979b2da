"""Staging folders under <home>/shards/staging/: a killed run's folder goes with the next run's
start, a live run's is never touched. Real processes, real kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from warehouse.shards import ShardLayout
from warehouse.staging import remove_abandoned_staging, shard_staging, staging_root

# A run that stages a file and then waits to be killed; it prints its folder when ready.
_STAGING_RUN = """
import sys, time
from pathlib import Path
from warehouse.shards import ShardLayout
from warehouse.staging import shard_staging

with shard_staging(ShardLayout(4, Path(sys.argv[1])), "training") as folder:
    (folder / "part.parquet").write_bytes(b"x" * 1000)
    print(folder, flush=True)
    time.sleep(600)
"""


def _start_run(shards_dir: Path) -> tuple[subprocess.Popen, Path]:
    run = subprocess.Popen([sys.executable, "-c", _STAGING_RUN, str(shards_dir)],
                           stdout=subprocess.PIPE, text=True)
    return run, Path(run.stdout.readline().strip())


def test_a_killed_runs_folder_goes_and_a_live_runs_stays(tmp_path):
    # given two runs holding staging folders, one of them then killed with kill -9
    layout = ShardLayout(4, tmp_path / "shards")
    killed, killed_folder = _start_run(layout.shards_dir)
    live, live_folder = _start_run(layout.shards_dir)
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert (killed_folder / "part.parquet").exists()
        # when a new run opens a staging folder
        with shard_staging(layout, "features") as folder:
            # then the killed run's folder and lock are gone, the live run's are untouched
            assert not killed_folder.exists()
            assert not Path(f"{killed_folder}.lock").exists()
            assert (live_folder / "part.parquet").read_bytes() == b"x" * 1000
            assert folder.is_dir() and folder.parent == staging_root(layout)
            # and a sweep by another process leaves this run's own folder alone
            assert remove_abandoned_staging(staging_root(layout)) == []
        # and its own folder and lock are removed when its block ends
        assert not folder.exists() and not Path(f"{folder}.lock").exists()
    finally:
        live.kill()
        live.wait(timeout=30)
    # once the live run is gone too, its folder is abandoned and goes with the next sweep
    assert remove_abandoned_staging(staging_root(layout)) == [live_folder]
    assert sorted(staging_root(layout).iterdir()) == []


def test_a_folder_is_removed_when_its_block_fails(tmp_path):
    layout = ShardLayout(4, tmp_path / "shards")
    try:
        with shard_staging(layout, "batch") as folder:
            (folder / "shard-000.parquet").write_bytes(b"rows")
            raise RuntimeError("a shard task failed")
    except RuntimeError:
        pass
    assert sorted(staging_root(layout).iterdir()) == []


def test_a_folder_this_process_still_holds_survives_its_next_folder(tmp_path):
    # given a block still open in this process (flock is per open file, not per process)
    layout = ShardLayout(4, tmp_path / "shards")
    with shard_staging(layout, "monitor") as outer:
        (outer / "scores.parquet").write_bytes(b"rows")
        # when a second block opens a folder, then ends
        with shard_staging(layout, "lift") as inner:
            assert inner.exists()
        # then the first block's folder is still there
        assert (outer / "scores.parquet").read_bytes() == b"rows"
