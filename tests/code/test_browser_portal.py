"""A real Chromium signs in to the portal, opens an audience and downloads its Meta file."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from portal_fixtures import (
    add_user,
    write_creative_report,
    write_export_run,
    write_health_report,
    write_lift_result,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PASSWORD = "midnight sun over Luleå"


def _browser_missing(reason: str) -> None:
    """In CI a missing browser is a failure; on a developer's machine the test is skipped."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must run the browser test; `make browser` installs chromium)")
    pytest.skip(f"{reason}; install it with `make browser`")


@pytest.fixture
def portal_url(home):
    """The portal served by uvicorn on a free localhost port in a background thread."""
    import uvicorn

    from portal.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(home), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _playwright():
    """Playwright's sync API, once the browser is known to be there."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("the playwright package is not installed")
    if not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))):
        _browser_missing(f"{CHROMIUM} is not installed")
    return sync_playwright


@pytest.mark.browser
def test_campaign_manager_signs_in_opens_an_audience_and_downloads_the_meta_file(
        home, portal_url, tmp_path):
    # Given a browser, an export run and a campaign manager's account
    sync_playwright = _playwright()
    built = write_export_run(home.exports_dir)["top-decile"]
    write_lift_result(home.exports_dir)
    write_health_report(home.health_file)
    write_creative_report(home.exports_dir)
    add_user(home.users_file, "maria", PASSWORD, is_admin=True)
    meta_entry = next(entry for entry in built.manifest["files"]
                      if entry["destination"] == "meta")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True,
                                       viewport={"width": 1280, "height": 900}).new_page()
            # The Content-Security-Policy must not block anything the pages use.
            console = []
            page.on("console", lambda message: console.append(message.text))

            # When she opens the portal she is sent to the sign-in page
            page.goto(portal_url + "/")
            assert page.url.startswith(portal_url + "/login"), "an anonymous visit must sign in"
            page.screenshot(path=SCREENSHOTS / "01-login.png", full_page=True)

            # And when she signs in she sees the audiences
            page.get_by_label("User name").fill("maria")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(portal_url + "/")
            assert page.get_by_role("heading", name="Audiences", exact=True).is_visible()
            page.screenshot(path=SCREENSHOTS / "02-audiences.png", full_page=True)

            # And she opens the audience and its pictures are there
            page.get_by_role("link", name="top-decile").click()
            page.wait_for_url("**/runs/2026-11-01/v1/top-decile")
            assert page.locator("svg.chart").count() == 3, "gains, themes and regions charts"
            page.screenshot(path=SCREENSHOTS / "03-segment.png", full_page=True)

            # And she downloads the Meta file
            with page.expect_download() as download_info:
                page.get_by_role("link", name="Download meta.csv for Meta (Facebook and "
                                               "Instagram)").click()
            downloaded = tmp_path / "meta-download.csv"
            download_info.value.save_as(downloaded)

            # Then the bytes are exactly those the manifest vouches for
            assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == meta_entry["sha256"], (
                "the downloaded Meta file must match the manifest's SHA-256")

            # And the other pages render for her too
            page.goto(portal_url + "/lift")
            assert page.get_by_role("heading", name="Campaign results").is_visible()
            page.screenshot(path=SCREENSHOTS / "04-campaign-results.png", full_page=True)
            page.get_by_role("link", name="Model health").click()
            page.wait_for_url("**/model-health")
            assert page.get_by_role("heading", name="Model health").is_visible()
            assert page.get_by_role("alert").is_visible(), "the drift alarm is shown"
            assert page.locator("svg.chart").count() == 6, (
                "two decile charts, AUC, lift and base rate over time, the drifted features")
            page.screenshot(path=SCREENSHOTS / "06-model-health.png", full_page=True)
            page.get_by_role("link", name="What works").click()
            page.wait_for_url("**/what-works")
            assert page.get_by_role("heading", name="What works", exact=True).is_visible()
            assert page.locator("svg.chart").count() == 3, "films, themes and campaigns charts"
            assert page.get_by_text("not a causal effect").is_visible()
            page.screenshot(path=SCREENSHOTS / "07-what-works.png", full_page=True)
            with page.expect_download() as report_download:
                page.get_by_role("link", name="Download CSV").click()
            report_csv = tmp_path / "what-works.csv"
            report_download.value.save_as(report_csv)
            assert report_csv.read_text().startswith("as_of_date,dimension,item_id,")
            page.goto(portal_url + "/admin/downloads")
            assert page.get_by_role("cell", name="maria").is_visible(), "her download is logged"
            page.screenshot(path=SCREENSHOTS / "05-download-log.png", full_page=True)

            # And signing out ends the session
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url("**/login")
            page.goto(portal_url + "/")
            assert page.url.startswith(portal_url + "/login"), "signed out means signed out"
            blocked = [text for text in console if "Content Security Policy" in text]
            assert not blocked, f"the policy blocked something the pages use: {blocked}"
        finally:
            browser.close()


@pytest.mark.browser
def test_the_segment_page_shows_why_this_audience_and_what_changed(
        home, portal_url, tmp_path, tmp_path_factory, monkeypatch):
    from activation_fixtures import NEXT_DAY, export_two_days, shared_champion_store

    from activation.definitions import parse_segments
    from activation.export_run import SegmentsToExport
    from activation.exporters import EXPORTERS

    # Given two real exports a day apart (someone opted out, withdrew, moved away, moved in)
    sync_playwright = _playwright()
    for exporter in EXPORTERS.values():  # every platform takes the small world's segment
        monkeypatch.setattr(exporter, "own_minimum", 1)
    days = export_two_days(home.warehouse_path, home.exports_dir,
                           shared_champion_store(tmp_path_factory),
                           SegmentsToExport(parse_segments({
                               "min_audience_size": 20, "holdout_fraction": 0,
                               "destination_settings": {"google_ads": {"app_id": "se.x.app"}},
                               "segments": [{"name": "north", "description": "Stockholm.",
                                             "where": {"regions": ["SE-AB"]}}]})))
    manifest = (days.second.folder / "north" / "manifest.json").read_text()
    add_user(home.users_file, "maria", PASSWORD)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True,
                                       viewport={"width": 1280, "height": 900}).new_page()
            page.goto(portal_url + "/login")
            page.get_by_label("User name").fill("maria")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(portal_url + "/")
            # When she opens the second day's audience
            page.goto(f"{portal_url}/runs/{NEXT_DAY.isoformat()}/v1/north")
            # Then she reads why this audience, and what changed since the last upload
            assert page.get_by_role("heading", name="Why this audience").is_visible()
            assert page.locator("ol.drivers li").count() >= 1
            assert page.get_by_role("heading", name="What changed since the last upload"
                                    ).is_visible()
            page.screenshot(path=SCREENSHOTS / "06-segment-changes.png", full_page=True)
            # And she downloads who left Meta's list: the bytes the manifest vouches for
            with page.expect_download() as download_info:
                page.get_by_role("link", name="Download meta-remove.csv, who left, for Meta "
                                               "(Facebook and Instagram)").click()
            downloaded = tmp_path / "meta-remove.csv"
            download_info.value.save_as(downloaded)
            assert hashlib.sha256(downloaded.read_bytes()).hexdigest() in manifest
            assert len(downloaded.read_text().splitlines()) == 1 + 3, "header and three who left"
        finally:
            browser.close()
