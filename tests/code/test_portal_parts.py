"""The portal's parts on their own: the export reader, charts, sessions and lift files."""

from __future__ import annotations

import json
import os

from portal_fixtures import write_export_run, write_lift_result

from portal import audit, charts, exports, lift
from portal.auth import SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS, SessionStore


def test_runs_are_listed_newest_first_and_unfinished_runs_are_ignored(tmp_path):
    # Given two finished runs, a run still being written (hidden folder) and stray folders
    write_export_run(tmp_path, as_of="2026-11-01", version=1)
    write_export_run(tmp_path, as_of="2026-11-01", version=2)
    (tmp_path / ".tmp-export-1234" / "top-decile").mkdir(parents=True)
    (tmp_path / "2026-11-02" / "v3.partial").mkdir(parents=True)
    (tmp_path / "lift").mkdir()

    runs = exports.list_runs(tmp_path)

    assert [(run.as_of, run.version) for run in runs] == [("2026-11-01", 2), ("2026-11-01", 1)]
    assert [segment.name for segment in runs[0].segments] == ["top-decile"]


def test_a_segment_listed_in_run_json_but_missing_is_reported(tmp_path):
    built = write_export_run(tmp_path, segments=("top-decile", "top-20pct"))
    for path in built["top-20pct"].folder.iterdir():
        path.unlink()
    built["top-20pct"].folder.rmdir()

    run = exports.list_runs(tmp_path)[0]

    assert run.problem == "segment folders missing: top-20pct"


def test_trade_desk_parts_are_numbered_in_manifest_order(tmp_path):
    segment = write_export_run(tmp_path)["top-decile"]

    run = exports.find_run(tmp_path, "2026-11-01", 1)
    found = run.find_segment("top-decile")

    assert found.part_count("the_trade_desk") == 2
    assert found.find_file("the_trade_desk", 2).file == "the_trade_desk-0002.json"
    assert exports.resolve_file(found, found.find_file("meta", 1)) == (
        segment.folder / "meta.csv").resolve()


def test_chart_labels_are_escaped():
    # Given a theme name someone typed into the catalog with markup in it
    svg = str(charts.share_bars([("<script>alert(1)</script>", 0.5)], 'Top "themes"'))

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg and "Top &quot;themes&quot;" in svg


def test_gains_chart_draws_one_bar_per_decile_and_the_random_line():
    gains = [{"decile": decile, "cumulative_gain": decile / 10 + 0.05} for decile in range(1, 11)]

    svg = str(charts.gains_chart(gains, "Gains"))

    assert svg.count("<rect") == 10
    assert "<polyline" in svg


def test_sessions_end_after_being_idle():
    # Given a session and a clock
    now = [1_000.0]
    store = SessionStore(clock=lambda: now[0])
    token, _ = store.create("maria")

    # When the session is used within the idle limit, then left idle past it
    now[0] += SESSION_IDLE_SECONDS - 1
    still_valid = store.get(token)
    now[0] += SESSION_IDLE_SECONDS + 1

    assert still_valid is not None
    assert store.get(token) is None


def test_a_sign_in_forgets_the_sessions_that_expired_unseen():
    # Given sessions whose browsers were closed without signing out (their tokens never return)
    now = [1_000.0]
    store = SessionStore(clock=lambda: now[0])
    idle_token, _ = store.create("maria")
    kept_token, _ = store.create("erik")
    old_token, _ = store.create("anna")
    now[0] += SESSION_IDLE_SECONDS - 10
    assert store.get(kept_token) is not None and store.get(old_token) is not None
    now[0] += 20  # maria's session is now idle past the limit; erik's and anna's are not

    # When someone signs in
    store.create("lena")

    # Then only the expired session is gone from memory
    assert len(store) == 3
    assert store.get(idle_token) is None and store.get(kept_token) is not None
    # And a session used all along goes at the first sign-in after its maximum age
    while now[0] + SESSION_IDLE_SECONDS / 2 < 1_000.0 + SESSION_MAX_SECONDS:
        now[0] += SESSION_IDLE_SECONDS / 2
        assert store.get(kept_token) is not None
    now[0] = 1_000.0 + SESSION_MAX_SECONDS + 1
    store.create("olof")
    assert len(store) == 1, "erik's too old, the others idle: only olof's session is left"


def test_lift_is_computed_from_treated_and_holdout_counts(tmp_path):
    write_lift_result(tmp_path, "winter-2026-meta")
    (tmp_path / "lift" / "no-holdout.json").write_text(
        json.dumps({"campaign": "no-holdout", "treated": {"persons": 10, "converted": 1}}))

    results = {result.campaign: result for result in lift.list_lift_results(tmp_path)}

    assert abs(results["winter-2026-meta"].relative_lift - 1.0) < 1e-9, "6 % vs 3 % is +100 %"
    assert results["winter-2026-meta"].confidence_interval == (0.2, 3.1)
    assert results["no-holdout"].relative_lift is None
    assert "needs 'treated' and 'holdout'" in results["no-holdout"].problem


def test_malformed_optional_parts_of_a_manifest_are_left_out(tmp_path):
    # Given a manifest whose gains and profile rows are partly nonsense
    built = write_export_run(tmp_path)["top-decile"]
    manifest = dict(built.manifest)
    manifest["gains_by_decile"] = [{"decile": 1, "cumulative_gain": "a lot"},
                                   {"decile": 2, "cumulative_gain": 0.4}, "row"]
    manifest["interest_profile"] = {"themes": [{"theme": "coast", "share": None},
                                               {"theme": "forest", "share": 0.2}],
                                    "regions": "SE-AB"}
    (built.folder / "manifest.json").write_text(json.dumps(manifest))

    segment = exports.find_run(tmp_path, "2026-11-01", 1).find_segment("top-decile")

    assert [row["decile"] for row in segment.gains_by_decile] == [2]
    assert segment.profile("themes", "theme") == [("forest", 0.2)]
    assert segment.profile("regions", "region") == []


def test_a_file_symlinked_out_of_its_segment_folder_is_not_resolved(tmp_path):
    # Given a segment whose meta.csv was replaced by a link to a file elsewhere
    segment_folder = write_export_run(tmp_path / "exports")["top-decile"].folder
    secret = tmp_path / "secret.txt"
    secret.write_text("not an audience")
    (segment_folder / "meta.csv").unlink()
    (segment_folder / "meta.csv").symlink_to(secret)

    segment = exports.find_run(tmp_path / "exports", "2026-11-01", 1).find_segment("top-decile")

    assert exports.resolve_file(segment, segment.find_file("meta", 1)) is None
    assert exports.resolve_file(segment, segment.find_file("generic", 1)) is not None


def test_a_hard_link_in_a_segment_folder_is_not_resolved(tmp_path):
    # Given a segment whose meta.csv is a hard link to a file outside the exports tree
    segment_folder = write_export_run(tmp_path / "exports")["top-decile"].folder
    secret = tmp_path / "secret.txt"
    secret.write_text("not an audience")
    (segment_folder / "meta.csv").unlink()
    os.link(secret, segment_folder / "meta.csv")

    segment = exports.find_run(tmp_path / "exports", "2026-11-01", 1).find_segment("top-decile")

    # Then it is refused like a symlink, though it is a regular file in the folder
    assert exports.resolve_file(segment, segment.find_file("meta", 1)) is None
    assert exports.open_file(segment, segment.find_file("meta", 1)) is None
    with exports.open_file(segment, segment.find_file("generic", 1)) as handle:
        assert handle.read().startswith(b"person_id,id_type,score,rank,decile")


def test_the_download_log_gives_the_newest_entries_first_and_counts_every_unreadable_line(
        tmp_path):
    # Given a log of 30 downloads with a torn line early on and a stray value late
    log = tmp_path / "audit" / "downloads.jsonl"
    for number in range(30):
        audit.record_download(log, user="maria", as_of="2026-03-12", version=1,
                              segment="north", destination="meta", file=f"f{number}.csv",
                              sha256="0" * 64, size_bytes=number, outcome="served")
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, '{"time": "2026-03-12T10:00\n')
    lines.insert(25, "[1, 2]\n")
    log.write_text("".join(lines), encoding="utf-8")

    # When the newest 5 are read
    entries, unreadable = audit.read_entries(log, limit=5)

    # Then they are the last five written, newest first, and both bad lines are counted
    assert [entry["file"] for entry in entries] == ["f29.csv", "f28.csv", "f27.csv", "f26.csv",
                                                   "f25.csv"]
    assert unreadable == 2
    assert len(audit.read_entries(log)[0]) == 30
