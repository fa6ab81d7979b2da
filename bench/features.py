"""Feature build speed and memory: seconds and peak RSS for 1e7 / 1e8 synthetic events.

Events are generated inside DuckDB (hash-based pseudo-random columns over range(n)), straight
into raw.events of a fresh warehouse, so generating 1e8 rows takes no Python loop and little
memory. The build then runs in a child process, whose peak RSS is the figure reported.

    .venv/bin/python bench/features.py --events 1e7 3e7 --workdir /tmp/norrut-bench-features
"""

from __future__ import annotations

import argparse
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
                        municipality, file_sha256, source_row_number)
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
    'bench',
    i
from draws
"""


def generate(path: Path, n_events: int) -> None:
    from norrut.contract import THEMES
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
import resource, sys, time
from datetime import date
sys.path.insert(0, {root!r})
from features.build import build_features
started = time.perf_counter()
result = build_features({path!r}, date(2026, 6, 30))
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{result.persons}} {{seconds:.1f}} {{peak:.0f}}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", nargs="+", default=["1e7"],
                        help="Event counts to measure, e.g. 1e7 1e8")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/norrut-bench-features"))
    args = parser.parse_args()
    from features.build import FeatureSettings

    print(f"DuckDB memory_limit {FeatureSettings().memory_limit} (FeatureSettings default); "
          f"cpus {os.cpu_count()}")
    rows = []
    for text in args.events:
        n_events = int(float(text))
        path = args.workdir / f"events-{n_events}" / "warehouse.duckdb"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            generate(path, n_events)
        output = subprocess.run(
            [sys.executable, "-c", BUILD_CHILD.format(root=str(ROOT), path=str(path))],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1].split()
        persons, seconds, peak = int(output[0]), float(output[1]), float(output[2])
        rows.append((n_events, persons, seconds, peak, os.getloadavg()))
        print(f"  {n_events:>13,} events: {persons:,} persons in {seconds:.1f} s "
              f"({n_events / seconds:,.0f} events/s), peak RSS {peak:,.0f} MiB, "
              f"load average {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
