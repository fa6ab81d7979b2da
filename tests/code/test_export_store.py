"""The exports folder's layout and documents, and that every reader and writer sees one layout."""

from __future__ import annotations

import json
from datetime import date

import pytest

from activation import export_store
from activation.export_rewrite import segment_folders
from activation.export_store import (
    ExportDocumentError,
    document_text,
    find_run,
    lift_file_path,
    lift_files,
    list_runs,
    manifest_path,
    newest_version_with_segment,
    next_version,
    parse_as_of_folder,
    parse_version_folder,
    publish_run_folder,
    read_manifest,
    read_run_info,
    run_folder,
    segment_folder,
    versions_with_segment,
    write_manifest,
    write_run_info,
)
from activation.lift import LiftInputError, newest_export_as_of, newest_export_version
from portal import exports as portal_exports
from portal.lift import list_lift_results

AS_OF = date(2026, 11, 1)


def _segment(exports_dir, as_of: str, version_folder: str, segment: str = "top-decile"):
    folder = exports_dir / as_of / version_folder / segment
    folder.mkdir(parents=True)
    write_manifest(folder, {"manifest_version": 1, "files": []})
    return folder


def test_the_layout_is_as_of_then_version_then_segment(tmp_path):
    assert run_folder(tmp_path, AS_OF, 3) == tmp_path / "2026-11-01" / "v3"
    assert segment_folder(tmp_path, AS_OF, 3, "top-decile") == (
        tmp_path / "2026-11-01" / "v3" / "top-decile")
    assert manifest_path(tmp_path / "s") == tmp_path / "s" / "manifest.json"
    assert export_store.run_info_path(tmp_path / "v1") == tmp_path / "v1" / "run.json"
    assert lift_file_path(tmp_path, "spring") == tmp_path / "lift" / "spring.json"


@pytest.mark.parametrize(("name", "expected"), [
    ("v1", 1), ("v12", 12), ("v999999", 999999),
    ("v0", None), ("v01", None), ("v1000000", None), ("v1\n", None), ("V1", None),
    ("v", None), ("1", None), ("v1 ", None), ("v١", None),
])
def test_version_folder_names(name, expected):
    assert parse_version_folder(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("2026-11-01", AS_OF), ("2026-13-45", None), ("20261101", None), ("2026-11-01\n", None),
    (".tmp-export-2026-11-01-1-0123abcd", None), ("lift", None), ("٢٠٢٦-11-01", None),
])
def test_as_of_folder_names(name, expected):
    assert parse_as_of_folder(name) == expected


def test_runs_are_plain_folders_with_matching_names_oldest_first(tmp_path):
    # given runs, and beside them what is not a finished run
    _segment(tmp_path, "2026-11-02", "v1")
    _segment(tmp_path, "2026-11-01", "v10")
    _segment(tmp_path, "2026-11-01", "v2")
    _segment(tmp_path, "2026-11-01", "v01")
    _segment(tmp_path, "not-a-date", "v1")
    _segment(tmp_path, ".tmp-export-2026-11-01-1-0123abcd", "v1")
    (tmp_path / "2026-11-01" / "v3").symlink_to(tmp_path / "2026-11-01" / "v2")
    (tmp_path / "2026-11-01" / "v4").write_text("a file, not a run")
    # when listing, then only the runs, by date and version number
    assert [(run.as_of.isoformat(), run.version) for run in list_runs(tmp_path)] == [
        ("2026-11-01", 2), ("2026-11-01", 10), ("2026-11-02", 1)]
    found = find_run(tmp_path, AS_OF, 10)
    assert found is not None and found.folder == tmp_path / "2026-11-01" / "v10"
    assert found.segment_folders() == [tmp_path / "2026-11-01" / "v10" / "top-decile"]
    assert find_run(tmp_path, AS_OF, 3) is None, "a linked version folder is no run"
    assert list_runs(tmp_path / "missing") == []


def test_next_version_counts_every_entry_of_a_version_name(tmp_path):
    assert next_version(tmp_path, AS_OF) == 1
    _segment(tmp_path, "2026-11-01", "v2")
    assert next_version(tmp_path, AS_OF) == 3
    # a file made by hand takes its name too: a run is never renamed onto it
    (tmp_path / "2026-11-01" / "v7").write_text("by hand")
    assert next_version(tmp_path, AS_OF) == 8


def test_versions_with_a_segment_are_those_holding_its_manifest(tmp_path):
    _segment(tmp_path, "2026-11-01", "v1")
    _segment(tmp_path, "2026-11-01", "v2", segment="other")
    _segment(tmp_path, "2026-11-01", "v3")
    assert versions_with_segment(tmp_path, "top-decile", AS_OF) == [1, 3]
    assert newest_version_with_segment(tmp_path, "top-decile", AS_OF) == 3
    assert newest_version_with_segment(tmp_path, "top-decile", date(2026, 11, 2)) is None


def test_documents_are_written_as_indented_utf8_json_and_read_back(tmp_path):
    document = {"segment": {"description": "Närheten till fjällen"}, "erasures": [],
                "files_withdrawn": []}
    write_manifest(tmp_path, document)
    write_run_info(tmp_path, {"version": 1})
    text = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert text == document_text(document) == json.dumps(document, indent=2,
                                                         ensure_ascii=False) + "\n"
    assert "Närheten" in text
    assert read_manifest(tmp_path) == document
    assert read_run_info(tmp_path) == {"version": 1}


@pytest.mark.parametrize(("content", "reason", "missing"), [
    (None, "is missing", True),
    ("{not json", "cannot be read", False),
    ("[1, 2]", "is not a JSON object", False),
])
def test_an_unusable_document_says_why(tmp_path, content, reason, missing):
    if content is not None:
        (tmp_path / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(ExportDocumentError, match=f"^manifest.json {reason}") as raised:
        read_manifest(tmp_path)
    assert raised.value.missing is missing and raised.value.path == tmp_path / "manifest.json"


def test_publishing_never_replaces_an_existing_version(tmp_path):
    temp = tmp_path / ".tmp-export-x"
    temp.mkdir()
    assert publish_run_folder(temp, tmp_path, AS_OF, 1) == tmp_path / "2026-11-01" / "v1"
    again = tmp_path / ".tmp-export-y"
    again.mkdir()
    with pytest.raises(FileExistsError):
        publish_run_folder(again, tmp_path, AS_OF, 1)
    assert again.is_dir()


def test_lift_files_leave_out_hidden_and_other_files(tmp_path):
    folder = tmp_path / "lift"
    folder.mkdir()
    for name in ("b.json", "a.json", ".tmp-lift-a-1-0123abcd.json", "notes.txt"):
        (folder / name).write_text("{}")
    (folder / "dir.json").mkdir()
    assert [path.name for path in lift_files(tmp_path)] == ["a.json", "b.json"]
    assert [result.file_name for result in list_lift_results(tmp_path)] == ["a.json", "b.json"]
    assert lift_files(tmp_path / "missing") == []


def test_export_lift_erasure_and_portal_see_the_same_runs(tmp_path):
    # given runs and look-alikes that the three modules once told apart by three patterns
    for version_folder in ("v1", "v2", "v01", "v1000000", "v0"):
        _segment(tmp_path, "2026-11-01", version_folder)
    _segment(tmp_path, "2026-13-45", "v1")
    # then each of them sees v1 and v2 of 2026-11-01 only
    portal_runs = [(run.as_of, run.version) for run in portal_exports.list_runs(tmp_path)]
    assert portal_runs == [("2026-11-01", 2), ("2026-11-01", 1)]
    assert segment_folders(tmp_path) == [tmp_path / "2026-11-01" / v / "top-decile"
                                         for v in ("v1", "v2")]
    assert newest_export_version(tmp_path, "top-decile", AS_OF) == 2
    assert newest_export_as_of(tmp_path, "top-decile") == AS_OF
    assert next_version(tmp_path, AS_OF) == 3
    with pytest.raises(LiftInputError, match="as of 2026-11-01 v1, v2$"):
        newest_export_version(tmp_path, "top-decile", date(2026, 11, 2))
    # and the portal finds a run by the names of a request, or nothing
    assert portal_exports.find_run(tmp_path, "2026-11-01", 2).folder == (
        tmp_path / "2026-11-01" / "v2")
    assert portal_exports.find_run(tmp_path, "2026-13-45", 1) is None
