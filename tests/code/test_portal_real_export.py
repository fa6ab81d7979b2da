"""The portal serves what the real exporter (activation.export_run) writes, not only our fixtures."""

from __future__ import annotations

import hashlib
import re

import pytest
from activation_fixtures import AS_OF, ChampionStore, scored_warehouse, shared_champion_store
from fastapi.testclient import TestClient
from portal_fixtures import add_user

from portal.app import create_app

PASSWORD = "luleå river in spring"


@pytest.fixture(scope="session")
def champion_store(tmp_path_factory) -> ChampionStore:
    """The activation tests' registered champion, shared for the whole test session."""
    return shared_champion_store(tmp_path_factory)


@pytest.mark.slow
def test_portal_lists_shows_and_serves_a_real_export_run(home, tmp_path, champion_store):
    # Given a real export run: a scored warehouse exported with two segments, one too small
    from activation.definitions import parse_segments
    from activation.export_run import SegmentsToExport, export_segments

    warehouse_path, _ = scored_warehouse(tmp_path, champion_store, n_persons=400)
    config = parse_segments({"min_audience_size": 100, "segments": [
        {"name": "top-half", "description": "The better-scored half", "select": {"top_deciles": 5}},
        {"name": "top-tenth", "description": "Too small here", "select": {"top_deciles": 1}},
    ]})
    report = export_segments(warehouse_path, home.exports_dir, AS_OF, SegmentsToExport(config))
    assert [segment.name for segment in report.segments_written] == ["top-half"]
    add_user(home.users_file, "maria", PASSWORD)

    with TestClient(create_app(home)) as client:
        page = client.get("/login")
        token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"user_name": "maria", "password": PASSWORD,
                                    "form_token": token, "next": "/"})

        # When she opens the list and the segment
        runs = client.get("/")
        segment_url = f"/runs/{AS_OF.isoformat()}/v{report.version}/top-half"
        segment = client.get(segment_url)

        # Then both show the run, with the skipped segment and the pictures
        assert runs.status_code == 200 and "top-half" in runs.text
        assert "top-tenth" in runs.text and "below the minimum audience size" in runs.text
        assert "cannot be read" not in runs.text and "missing" not in runs.text
        assert segment.status_code == 200
        assert segment.text.count("<svg") == 3, "gains, themes and regions from the real manifest"

        # And every file listed in the manifest downloads with its manifest SHA-256
        written = report.segments_written[0].files
        assert written, "the real export wrote files"
        parts: dict[str, int] = {}
        for file in written:
            parts[file.destination] = parts.get(file.destination, 0) + 1
            response = client.get(f"{segment_url}/download/{file.destination}/"
                                  f"{parts[file.destination]}")
            assert response.status_code == 200, file.file
            assert hashlib.sha256(response.content).hexdigest() == file.sha256, file.file
