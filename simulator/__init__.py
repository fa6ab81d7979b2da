"""A synthetic world of engagement events that follows shared/CONTRACT.md, with its hidden truth.

`norrut simulate OUT` (or `simulator.world.simulate_world(OUT, WorldSettings(...))`) writes:

- `OUT/inbox/` event files `events-<first day>-<last day>-<nn>.<suffix>`, contiguous day ranges,
  formats in turn JSON lines (`.jsonl.gz`, `.ndjson`, `.ndjson.gz`, `.jsonl`), CSV (`.csv`,
  `.csv.gz`) and Parquet. `occurred_at` is mixed per row in JSON and CSV: Stockholm time with
  `+01:00`/`+02:00`, UTC with `Z`, or epoch milliseconds (a JSON integer); Parquet files hold
  either ISO text or int64 epoch ms. JSON consent is a real boolean; CSV files write
  `true/false` or `1/0`; CSV column order differs per file. All instants are whole seconds.
- `OUT/catalog.csv` (contract §2, themes `|`-separated), `OUT/optouts.csv` (contract §3, about
  0.5% of persons, all of them with events; their events load normally at ingest).
- `OUT/truth/`: `persons.parquet` (hidden traits incl. the baseline log-hazard, one row per
  person), `hazard.npy`
  (float32 persons × (days + 30), expected intent events per person and day; rows in
  persons.parquet order, columns from `first_day` in truth.json), `intent_days.parquet` and
  `future_outcomes.parquet` (realised intent events per person, day and type; the latter only
  for the 30 hidden days after `end`), `truth.json` (with the readiness walk's parameters,
  `truth_version` 2), and `expected_ingest.json` (below). Read them with `simulator.truth`:
  `true_intent_probability(OUT, as_of, horizon_days, intent_types)` is the oracle, the best
  prediction possible at as_of (every hidden trait and today's readiness known, the future
  walk averaged over); `clairvoyant_intent_probability(...)` also knows the realised future
  hazard, which no predictor can; `realised_intent(...)` is what happened.
- `OUT/world.json`: the arguments and headline counts.

`truth/expected_ingest.json` (`expected_ingest_version` 1) is what a correct ingestion of the
whole inbox in one go reports:

- `events`: distinct valid event_ids loaded. `intent_events`: how many of them are intents.
  `persons`: distinct person_ids among them. Opt-outs are not applied at ingest.
- `duplicates_skipped`: valid rows whose event_id was already stored, by an earlier row of the
  same file or by another file: (valid rows in loaded files) − `events`. Split into
  `duplicates_within_file` (a file's valid rows minus its distinct event_ids, summed) and
  `duplicates_across_files` (the rest). Rows of files skipped as already loaded and of
  quarantined files are not counted.
- `rows_quarantined`: reason → rows, every reason code listed (0 when not planted);
  `rows_quarantined_total`. Each bad row breaks exactly one rule and has an event_id no valid
  row has. E-mails are planted only outside person_id; phone numbers and IP addresses put into
  person_id match the person_id pattern, so `pii_*` never competes with `bad_person_id`.
  `malformed_row` is a JSON line that is not valid JSON or not an object, or a CSV record
  with the wrong number of fields.
- `files_loaded`: event files loaded (including files with some bad rows; the catalog is not
  counted). `files_quarantined` / `quarantined_files` [{file, reason}]: a truncated gzip
  (`unreadable_file`, a copy of another file's rows cut mid-stream, so no event is lost) and
  `events-export.xlsx` (`unknown_extension`).
- `files_skipped_same_content` [{file, same_content_as}]: a byte-identical copy of a loaded
  file under another name; skipped as already loaded (same SHA-256), counted neither as a
  loaded file nor as duplicates (whichever name comes first is the one loaded).
- `unknown_columns` {file: [columns]} and `unknown_column_count` (sum over loaded files).
- `optouts`: persons in optouts.csv, and per kind (`erasure`, `objection`) the persons and
  their loaded events (`events_of_erasure_persons`, ...), for checking `norrut optout`.
- `first_event_at`, `last_event_at` (UTC, `Z`), and `files`: per event file, in name order,
  `rows` (data rows incl. bad ones, excluding a CSV header), `rows_loaded` and
  `duplicates_skipped` when files are loaded in name order, `rows_quarantined`,
  `unknown_columns`.
"""
