"""Feature build speed and memory: seconds and peak RSS for 1e7 / 1e8 synthetic events.

Events are generated inside DuckDB (hash-based pseudo-random columns over range(n)), straight
into raw.events of a fresh warehouse, so generating 1e8 rows takes no Python loop and little
memory. The build then runs in a child process, whose peak RSS is the figure reported, with
its CPU seconds (the fairer figure on a shared machine) and each step's seconds. A warehouse
already in the work folder is reused, so generating 1e8 events (~9-16 min) is paid once;
--warehouse builds on any existing warehouse without generating.

    .venv/bin/python bench/features.py --events 1e7 3e7 --workdir /tmp/norrut-bench-features
    .venv/bin/python bench/features.py --events 1e8 --generate-only   # then measure, repeatedly:
    .venv/bin/python bench/features.py --events 1e8
    .venv/bin/python bench/features.py --warehouse /tmp/feat-bench/events-100000000/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS_PER_PERSON = 100
DAYS = 180
N_CONTENTS = 300

GENERATE_CATALOG = """
insert into raw.content_catalog
select
    'content_' || i as content_id,
    case when i % 3 = 0 then 'image' else 'film' end as kind,
    'Film ' || i as title,
    case when i % 3 = 0 then null else 30 + i % 150 end as duration_seconds,
    [themes[1 + i % 22], themes[1 + (i * 7) % 22]] as themes,
    ['Luleå', 'Boden', 'Kiruna', 'Piteå', 'Skellefteå'][1 + i % 5] as municipality,
    timestamp '2026-01-01' as published_at,
    now() as loaded_at
from range(?) as r(i), (select ?::varchar[] as themes)
"""

# Each column draws from its own hash of the row number; persons get a stable home region and
# id type from their own number. Day spreads over DAYS days, intent is about 1 % of events.
GENERATE_EVENTS = """
insert into raw.events (event_id, occurred_at, person_id, id_type, event_type, content_id,
                        campaign_id, channel, watch_seconds, region, device, consent,
                        municipality, file_sha256)
with draws as (
    select
        i,
        (hash(i, 1) % $persons)::bigint as person,
        (hash(i, 2) % 1000)::bigint as kind_draw,
        (hash(i, 3) % ($days * 86400))::bigint as second_of_history,
        (hash(i, 4) % $contents)::bigint as content,
        (hash(i, 5) % 12)::bigint as channel_draw
    from range($start, $stop) as r(i)
)
select
    'ev_' || i,
    timestamp '2026-01-01' + to_seconds(second_of_history::bigint),
    'person_' || lpad(person::varchar, 9, '0'),
    ['cookie', 'maid', 'publisher'][1 + person % 3],
    case
        when kind_draw < 400 then 'impression'
        when kind_draw < 650 then 'view'
        when kind_draw < 850 then 'video_progress'
        when kind_draw < 930 then 'click'
        when kind_draw < 950 then 'share'
        when kind_draw < 975 then 'reaction'
        when kind_draw < 990 then 'comment'
        else ['job_click', 'guide_download', 'inquiry', 'signup', 'fair_registration'][1 + kind_draw % 5]
    end,
    case when kind_draw < 990 then 'content_' || content end,
    'campaign_' || (content % 20),
    ['meta', 'instagram', 'youtube', 'google', 'tiktok', 'linkedin', 'snapchat', 'schibsted',
     'bonnier', 'programmatic', 'web', 'email'][1 + channel_draw],
    case when kind_draw >= 650 and kind_draw < 850 then (hash(i, 6) % 120)::double end,
    ['SE-AB', 'SE-O', 'SE-M', 'SE-BD', 'SE-AC', 'DE', 'NL', 'FR'][1 + person % 8],
    ['mobile', 'desktop', 'tablet', 'ctv', 'unknown'][1 + (person + i) % 5],
    person % 50 <> 0,
    case when kind_draw >= 990 then ['Luleå', 'Boden', 'Kiruna'][1 + person % 3] end,
    'bench'
from draws
"""


def generate(path: Path, n_events: int) -> None:
    from core.contract import THEMES
    from warehouse.db import open_warehouse

    started = time.perf_counter()
    with open_warehouse(path) as con:
        con.execute(GENERATE_CATALOG, [N_CONTENTS, list(THEMES)])
        chunk = 10_000_000
        for start in range(0, n_events, chunk):
            con.execute(GENERATE_EVENTS, {
                "persons": max(1, n_events // EVENTS_PER_PERSON), "days": DAYS,
                "contents": N_CONTENTS, "start": start, "stop": min(n_events, start + chunk),
            })
    print(f"  generated {n_events:,} events in {time.perf_counter() - started:.0f} s", flush=True)


BUILD_CHILD = """
import json, resource, sys, time
from datetime import date
sys.path.insert(0, {root!r})
from features.build import build_features
started = time.perf_counter()
result = build_features({path!r}, date(2026, 6, 30))
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"persons": result.persons, "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "peak_mib": usage.ru_maxrss / 1024, "steps": result.step_seconds}}))
"""


def measure(path: Path, n_events: int | None) -> None:
    """Build features on the warehouse at `path` in a child process and print the figures."""
    load_before = os.getloadavg()
    output = subprocess.run(
        [sys.executable, "-c", BUILD_CHILD.format(root=str(ROOT), path=str(path))],
        check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    figures = json.loads(output)
    load_after = os.getloadavg()
    if n_events is None:
        from warehouse.db import open_warehouse
        with open_warehouse(path, read_only=True) as con:
            n_events = con.execute("select count(*) from raw.events").fetchone()[0]
    seconds = figures["seconds"]
    print(f"  {n_events:>13,} events: {figures['persons']:,} persons in {seconds:.1f} s "
          f"({n_events / seconds:,.0f} events/s), CPU {figures['cpu_seconds']:.0f} s, "
          f"peak RSS {figures['peak_mib']:,.0f} MiB, load average before "
          f"{' / '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' / '.join(f'{x:.2f}' for x in load_after)}", flush=True)
    for step, step_seconds in figures["steps"].items():
        print(f"      {step:55s} {step_seconds:7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", nargs="+", default=["1e7"],
                        help="Event counts to measure, e.g. 1e7 1e8")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/norrut-bench-features"),
                        help="Holds one warehouse per event count (events-N/), reused when present")
    parser.add_argument("--warehouse", type=Path,
                        help="Measure on this existing warehouse instead (nothing is generated)")
    parser.add_argument("--generate-only", action="store_true",
                        help="Generate the missing warehouses in --workdir, build nothing")
    args = parser.parse_args()
    from features.settings import FeatureSettings

    print(f"DuckDB memory_limit {FeatureSettings().memory_limit} (FeatureSettings default); "
          f"cpus {os.cpu_count()}")
    if args.warehouse is not None:
        if not args.warehouse.exists():
            parser.error(f"no warehouse at {args.warehouse}")
        measure(args.warehouse, None)
        return
    for text in args.events:
        n_events = int(float(text))
        path = args.workdir / f"events-{n_events}" / "warehouse.duckdb"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            generate(path, n_events)
        if not args.generate_only:
            measure(path, n_events)


if __name__ == "__main__":
    main()
