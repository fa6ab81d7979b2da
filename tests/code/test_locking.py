"""The warehouse writer lock: one holder at a time, bounded waits, the holder named."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from core.locking import WarehouseBusyError, lock_path_for, read_holder, warehouse_writer_lock


def _hold_in_another_process(home, seconds: float) -> subprocess.Popen:
    """Start a process that takes the lock, says so on stdout, holds it, then exits."""
    script = textwrap.dedent(f"""
        import sys, time
        from core.locking import warehouse_writer_lock
        with warehouse_writer_lock({str(home.warehouse_path)!r}, {str(home.locks_dir)!r},
                                   run_name="ingest-2026-11-01", run_id="run-123"):
            print("holding", flush=True)
            time.sleep({seconds})
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding", "the holder process never took the lock"
    return holder


def test_second_writer_gives_up_naming_the_holder(home):
    # given a run in another process holding the warehouse
    holder = _hold_in_another_process(home, seconds=30)
    try:
        # when a second writer waits half a second
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError) as busy, warehouse_writer_lock(
                home.warehouse_path, home.locks_dir, run_name="pipeline-2026-11-01",
                wait_seconds=0.5):
            pytest.fail("the second writer must not get the lock")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    # then it failed after the bounded wait, naming the run that held the warehouse
    assert 0.5 <= waited < 5, f"waited {waited:.2f} s instead of about 0.5 s"
    message = str(busy.value)
    assert "ingest-2026-11-01" in message and "run-123" in message, message
    assert "could not set lock" not in message.lower()


def test_second_writer_waits_for_the_first_to_finish(home):
    # given a run holding the warehouse for one second
    holder = _hold_in_another_process(home, seconds=1)
    try:
        # when a second writer is willing to wait longer than that
        with warehouse_writer_lock(home.warehouse_path, home.locks_dir,
                                   run_name="train-2026-11-01", wait_seconds=20) as got:
            # then it gets the lock, and the sidecar names it as the holder
            recorded = read_holder(lock_path_for(home.warehouse_path, home.locks_dir))
            assert recorded == got, "the sidecar must name the current holder"
    finally:
        holder.kill()
        holder.wait()


def test_a_crashed_holder_does_not_leave_the_warehouse_locked(home):
    # given a holder process killed while holding the lock
    holder = _hold_in_another_process(home, seconds=60)
    holder.kill()
    holder.wait()
    # when the next writer asks without waiting
    with warehouse_writer_lock(home.warehouse_path, home.locks_dir,
                               run_name="ingest-next", wait_seconds=0) as got:
        # then it gets the lock at once
        assert got.run_name == "ingest-next"
    # and releasing it removes the sidecar
    assert read_holder(lock_path_for(home.warehouse_path, home.locks_dir)) is None


def test_the_lock_is_released_when_the_run_fails(home):
    # given a run that fails while holding the lock
    with pytest.raises(ValueError), warehouse_writer_lock(
            home.warehouse_path, home.locks_dir, run_name="failing"):
        raise ValueError("bad input")
    # when the next run asks without waiting, then it gets the lock
    with warehouse_writer_lock(home.warehouse_path, home.locks_dir,
                               run_name="next", wait_seconds=0):
        pass


def _spill_into(path: str) -> int:
    """Write a table and group it under a memory limit small enough that DuckDB spills."""
    from warehouse.db import open_warehouse

    with open_warehouse(path, memory_limit="100MB", threads=1) as con:
        con.execute("create table hashed as select range as id, md5(range::varchar) as digest "
                    "from range(3000000)")
        return con.execute("select count(*) from (select digest, count(*) from hashed "
                           "group by digest order by digest)").fetchone()[0]


def test_two_files_of_one_folder_spill_at_once_without_harm(tmp_path):
    # given two DuckDB files side by side, as a sharded warehouse's shards are
    import multiprocessing

    from warehouse.db import spill_folder_of

    paths = [str(tmp_path / "shard-000.duckdb"), str(tmp_path / "shard-001.duckdb")]
    # when two processes write them at once, each spilling to disk (as two Dask workers do)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        counts = pool.map(_spill_into, paths)
    # then both finish with every row: DuckDB names its spill files alike in every process,
    # so each file spills to a folder of its own
    assert counts == [3_000_000, 3_000_000]
    assert spill_folder_of(paths[0]) != spill_folder_of(paths[1])
