"""The portal over HTTP: sessions, refusals, downloads, the audit log, throttling and CSRF."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from portal_fixtures import (
    CREATIVE_ITEMS,
    FAST_TEST_HASHER,
    add_user,
    write_creative_report,
    write_export_run,
    write_health_report,
    write_lift_result,
)

from portal.app import create_app

PASSWORD = "northern lights 2026"
SEGMENT_URL = "/runs/2026-11-01/v1/top-decile"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def built(home):
    """An export run with one written segment, and two accounts."""
    segments = write_export_run(home.exports_dir)
    add_user(home.users_file, "maria", PASSWORD)
    add_user(home.users_file, "admin", PASSWORD, is_admin=True)
    return segments["top-decile"]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def client(home, built, clock):
    with TestClient(create_app(home, clock=clock, password_hasher=FAST_TEST_HASHER)) as test_client:
        yield test_client


def login_form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, name: str = "maria", password: str = PASSWORD,
            next_path: str = "/"):
    return client.post("/login", data={"user_name": name, "password": password,
                                       "form_token": login_form_token(client),
                                       "next": next_path},
                       follow_redirects=False)


def csrf_token_of(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def route_paths(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, concrete URL) the app serves, with the fixture's names filled in."""
    values = {"as_of": "2026-11-01", "version_folder": "v1", "segment_name": "top-decile",
              "destination": "meta", "part": "1", "kind": "add"}
    found = []
    # The routes sit in included routers; iter_route_contexts flattens them (FastAPI ≥ 0.137).
    for route in iter_route_contexts(client.app.routes):
        if isinstance(route.original_route, APIRoute):
            for method in route.methods:
                found.append((method, route.path.format(**values)))
    return found


def test_every_route_but_the_login_refuses_without_a_session(client):
    # Given the app's routes and no session
    routes = [(method, url) for method, url in route_paths(client) if url != "/login"]
    assert len(routes) >= 6, f"expected all portal routes, found {routes}"

    for method, url in routes:
        # When each is requested anonymously
        response = client.request(method, url, follow_redirects=False)

        # Then pages redirect to the login and downloads answer 401, revealing nothing
        if "/download/" in url or "/changes/" in url:
            assert response.status_code == 401, f"{method} {url} must answer 401"
        else:
            assert response.status_code == 303, f"{method} {url} must redirect"
            assert response.headers["location"].startswith("/login"), url
        assert "top-decile" not in response.text and "madid" not in response.text, url


def test_an_anonymous_visit_returns_to_the_page_after_signing_in(client):
    # Given an anonymous visit to a segment page
    redirect = client.get(SEGMENT_URL, follow_redirects=False)
    next_path = redirect.headers["location"].split("next=")[1]

    # When the user signs in from there
    response = sign_in(client, next_path=SEGMENT_URL)

    # Then she lands on the page she asked for
    assert next_path == "%2Fruns%2F2026-11-01%2Fv1%2Ftop-decile"
    assert response.status_code == 303 and response.headers["location"] == SEGMENT_URL


def test_login_does_not_redirect_to_another_site(client):
    response = sign_in(client, next_path="//evil.example/phish")

    assert response.status_code == 303
    assert response.headers["location"] == "/", "only paths on this site are followed"


def test_session_cookie_is_httponly_and_samesite(client):
    response = sign_in(client)

    cookie = response.headers["set-cookie"].lower()
    assert "norrut_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie, "Secure only when configured"


def test_secure_cookies_when_configured(home, built):
    with TestClient(create_app(home, secure_cookies=True)) as client:
        cookie = sign_in(client).headers["set-cookie"].lower()

    assert "; secure" in cookie


def test_signed_in_user_sees_runs_segment_and_lift_pages(client, home):
    # Given a campaign result and a signed-in user
    write_lift_result(home.exports_dir)
    sign_in(client)

    # When she opens the pages
    runs = client.get("/")
    segment = client.get(SEGMENT_URL)
    lift = client.get("/lift")

    # Then they show what a campaign manager needs
    assert runs.status_code == 200
    for expected in ("top-decile", "2026-11-01", "0.81", "3.2×", "nature-curious-stockholm",
                     "1,000 people needed, 412 found", "TikTok needs at least 1,000 people"):
        assert expected in runs.text, f"runs page lacks {expected!r}"
    assert segment.status_code == 200
    assert segment.text.count("<svg") == 3, "gains chart and two profile charts"
    assert "Northern lights" in segment.text and "Stockholm (SE-AB)" in segment.text
    assert f"{SEGMENT_URL}/download/meta/1" in segment.text
    assert f"{SEGMENT_URL}/download/the_trade_desk/2" in segment.text
    assert lift.status_code == 200
    assert "winter-2026-meta" in lift.text and "+100 %" in lift.text


def test_the_model_health_page_shows_the_alarm_and_its_pictures(client, home):
    # Given a signed-in user before any monitor run
    sign_in(client)
    # then the page says there is no health yet
    empty = client.get("/model-health")
    assert empty.status_code == 200 and "No model health yet" in empty.text
    # when the monitor has written its health file
    write_health_report(home.health_file)
    page = client.get("/model-health")
    # then the alarm, the decile, AUC, lift and drift pictures and the trend are shown
    assert page.status_code == 200
    assert "population stability index above 0.2 for 1 feature(s): n_view_7d 0.350" in page.text
    assert page.text.count("<svg") == 6
    assert "Scored 2026-10-12 by version 1" in page.text and "on 2026-11-02" in page.text


@pytest.mark.parametrize("file_name", ["generic.csv", "meta.csv", "the_trade_desk-0001.json",
                                       "the_trade_desk-0002.json"])
def test_download_returns_exactly_the_bytes_the_manifest_vouches_for(client, built, file_name):
    # Given a signed-in user and a file listed in the manifest
    sign_in(client)
    entry = next(entry for entry in built.manifest["files"] if entry["file"] == file_name)
    part = 2 if file_name.endswith("0002.json") else 1

    # When she downloads it by destination name
    response = client.get(f"{SEGMENT_URL}/download/{entry['destination']}/{part}")

    # Then she gets the exact bytes whose SHA-256 is in the manifest, as an attachment
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
    assert response.content == built.file_bytes[file_name]
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"


def test_each_download_is_recorded_in_the_audit_log(client, home, built):
    # Given a signed-in user
    sign_in(client)
    meta = next(entry for entry in built.manifest["files"] if entry["destination"] == "meta")

    # When she downloads the Meta file twice
    client.get(f"{SEGMENT_URL}/download/meta/1")
    client.get(f"{SEGMENT_URL}/download/meta/1")

    # Then the audit log has two entries saying who fetched what
    lines = home.download_audit_log.read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert {key: entry[key] for key in ("user", "as_of", "version", "segment", "destination",
                                        "file", "sha256", "bytes", "outcome")} == {
        "user": "maria", "as_of": "2026-11-01", "version": 1, "segment": "top-decile",
        "destination": "meta", "file": "meta.csv", "sha256": meta["sha256"],
        "bytes": meta["bytes"], "outcome": "served"}
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", entry["time"])
    assert os.stat(home.download_audit_log).st_mode & 0o777 == 0o600


def test_a_file_changed_since_export_is_refused_and_the_refusal_logged(client, home, built):
    # Given a Meta file altered after the export wrote its manifest
    (built.folder / "meta.csv").write_bytes(b"madid\n00000000-0000-4000-8000-000000000001\n")
    sign_in(client)

    # When it is requested
    response = client.get(f"{SEGMENT_URL}/download/meta/1")

    # Then nothing of it is sent and the refusal is in the audit log
    assert response.status_code == 409
    assert "00000000-0000-4000-8000-000000000001" not in response.text
    assert "does not match the manifest" in response.text
    entry = json.loads(home.download_audit_log.read_text().splitlines()[-1])
    assert entry["outcome"] == "refused" and entry["file"] == "meta.csv"


@pytest.mark.parametrize("url", [
    "/runs/2026-11-02/v1/top-decile",
    "/runs/2026-11-01/v2/top-decile",
    "/runs/2026-11-01/v1/no-such-segment",
    "/runs/2026-11-01/1/top-decile",
    f"{SEGMENT_URL}/download/tiktok/1",
    f"{SEGMENT_URL}/download/meta/2",
    f"{SEGMENT_URL}/download/meta/0",
    f"{SEGMENT_URL}/download/meta/-1",
    f"{SEGMENT_URL}/download/meta/x",
    f"{SEGMENT_URL}/download/meta/%C2%B9",
    f"{SEGMENT_URL}/download/manifest.json/1",
    f"{SEGMENT_URL}/download/meta.csv/1",
    "/runs/2026-11-01/v1/%2E%2E/download/meta/1",
    "/runs/2026-11-01/v1/top-decile%2F..%2F..%2F..%2Fportal/download/meta/1",
    "/runs/..%2F..%2F..%2Fetc/v1/top-decile",
    "/runs/2026-11-01/v1/%2Fetc%2Fpasswd/download/meta/1",
    "/runs/%2Fetc/v1/passwd",
    f"{SEGMENT_URL}/download/..%2F..%2Fportal%2Fusers.json/1",
    f"{SEGMENT_URL}/download/%2Fetc%2Fpasswd/1",
    "/runs/2026-11-01/v1/top-decile/download/meta/1/../../../../run.json",
    "/static/../app.py",
    "/static/%2E%2E/app.py",
    "/static/..%2Fapp.py",
])
def test_unknown_names_and_traversal_attempts_give_404(client, url):
    # Given a signed-in user
    sign_in(client)

    # When she asks for something that is not a listed export file
    response = client.get(url, follow_redirects=False)

    # Then the answer is 404 and no file content leaks
    assert response.status_code == 404, f"{url} answered {response.status_code}"
    assert "password_hash" not in response.text and "madid" not in response.text


def test_a_manifest_naming_a_file_outside_its_folder_serves_nothing(client, home, built):
    # Given a tampered manifest whose Meta entry points at the users file
    manifest = dict(built.manifest)
    manifest["files"] = [dict(entry, file="../../../../portal/users.json")
                         if entry["destination"] == "meta" else entry
                         for entry in manifest["files"]]
    (built.folder / "manifest.json").write_text(json.dumps(manifest))
    sign_in(client)

    # When the Meta file is requested
    response = client.get(f"{SEGMENT_URL}/download/meta/1")
    page = client.get(SEGMENT_URL)

    # Then nothing is served and the page says the entry is unusable
    assert response.status_code == 404
    assert "password_hash" not in response.text
    assert "unusable file name" in page.text


def test_after_five_failed_logins_the_next_try_waits_with_429_and_retry_after(client, clock):
    # Given five wrong passwords for maria from one browser
    for attempt in range(5):
        response = sign_in(client, password=f"wrong password {attempt}")
        assert response.status_code == 401, f"attempt {attempt + 1} is just wrong"

    # When she then tries the right password straight away
    blocked = sign_in(client)

    # Then she is told how long to wait, and another account is not affected
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "2", "the first delay is 2 seconds"
    assert "Too many failed sign-in attempts" in blocked.text
    assert "wait 2 seconds" in blocked.text
    assert "norrut_session" not in blocked.headers.get("set-cookie", "")
    with TestClient(client.app) as another_browser:
        assert sign_in(another_browser, name="admin").status_code == 303

    # And once the delay has passed the right password works (a delay, not a lock-out)
    clock.now += 2
    assert sign_in(client).status_code == 303


@pytest.mark.parametrize("link", ["symlink", "hard link"])
def test_a_listed_file_linked_from_outside_the_exports_is_not_served(client, home, built,
                                                                     tmp_path, link):
    # Given meta.csv replaced by a link to a file elsewhere, listed with that file's hash
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"madid\nfb46f81c-1000-448a-bd06-be27838dce0e\n")
    (built.folder / "meta.csv").unlink()
    if link == "symlink":
        (built.folder / "meta.csv").symlink_to(outside)
    else:
        os.link(outside, built.folder / "meta.csv")
    manifest = dict(built.manifest)
    manifest["files"] = [dict(entry, sha256=hashlib.sha256(outside.read_bytes()).hexdigest())
                         if entry["destination"] == "meta" else entry
                         for entry in manifest["files"]]
    (built.folder / "manifest.json").write_text(json.dumps(manifest))
    sign_in(client)

    # When it is requested
    response = client.get(f"{SEGMENT_URL}/download/meta/1")

    # Then the answer is the same 404 for either kind of link, and nothing of it is sent
    assert response.status_code == 404, f"a {link} must not be served"
    assert "fb46f81c" not in response.text
    assert client.get(f"{SEGMENT_URL}/download/generic/1").status_code == 200


def test_a_segment_rewritten_after_an_opt_out_says_so_and_offers_no_withdrawn_file(
        client, built):
    # Given a manifest rewritten after an opt-out (activation/export_rewrite.py): generic.csv
    # rewritten without 2 rows, meta.csv withdrawn and deleted
    manifest = dict(built.manifest)
    meta = next(entry for entry in manifest["files"] if entry["destination"] == "meta")
    manifest["files"] = [entry for entry in manifest["files"] if entry is not meta]
    manifest["files_withdrawn"] = [dict(meta, withdrawn=True, at="2026-11-20T08:00:00Z",
                                        reason="not the bytes the manifest describes")]
    manifest["erasures"] = [{"optout_run_id": "r1", "at": "2026-11-20T08:00:00Z",
                             "rows_removed": 2, "files_rewritten": ["generic.csv"],
                             "files_withdrawn": ["meta.csv"]}]
    (built.folder / "manifest.json").write_text(json.dumps(manifest))
    (built.folder / "meta.csv").unlink()
    sign_in(client)

    # When the segment page and the withdrawn file are requested
    page = client.get(SEGMENT_URL)
    download = client.get(f"{SEGMENT_URL}/download/meta/1")

    # Then the page says what was done and the withdrawn file has no download button
    assert page.status_code == 200
    assert ("Rewritten on 2026-11-20 08:00 UTC after an opt-out: 2 rows removed from "
            "generic.csv; withdrawn: meta.csv.") in page.text
    assert "Withdrawn after an opt-out (not downloadable)" in page.text
    assert f"{SEGMENT_URL}/download/meta/1" not in page.text
    assert f"{SEGMENT_URL}/download/generic/1" in page.text
    assert download.status_code == 404


def test_the_content_security_policy_allows_no_script_and_nothing_from_elsewhere(client):
    # When any page is fetched
    policy = client.get("/login").headers["content-security-policy"]

    # Then the policy says exactly what portal/README.md says: no script from anywhere, only
    # this site's style sheet and images, forms posted only here, never framed
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_login_without_the_form_token_is_refused(client):
    # Given a login post forged by another site: no form token matching the login cookie
    client.get("/login")
    response = client.post("/login", data={"user_name": "maria", "password": PASSWORD,
                                           "form_token": "forged", "next": "/"},
                           follow_redirects=False)

    # Then it is refused and no session is made
    assert response.status_code == 403
    assert "norrut_session" not in response.headers.get("set-cookie", "")


def test_logout_needs_the_csrf_token(client):
    # Given a signed-in user
    sign_in(client)
    token = csrf_token_of(client.get("/").text)

    # When a forged logout without the token is posted
    forged = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)

    # Then it is refused and the session still works
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200

    # And a real logout with the token ends the session
    logout = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert logout.status_code == 303 and logout.headers["location"] == "/login"


def test_after_logout_the_old_session_cookie_is_refused(client):
    # Given a session cookie captured while signed in
    sign_in(client)
    old_cookie = client.cookies.get("norrut_session")
    client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/").text)})

    # When the old cookie is replayed
    client.cookies.set("norrut_session", old_cookie)
    page = client.get("/", follow_redirects=False)
    download = client.get(f"{SEGMENT_URL}/download/meta/1")

    # Then nothing is shown or sent
    assert page.status_code == 303
    assert download.status_code == 401


def test_a_removed_account_is_signed_out(client, home):
    # Given a signed-in user whose account is then removed
    from portal.users import UserStore

    sign_in(client)
    UserStore(home.users_file).remove("maria")

    # Then her session no longer opens anything
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get(f"{SEGMENT_URL}/download/meta/1").status_code == 401


def test_only_admins_see_the_download_log(client):
    # Given a download by maria
    sign_in(client)
    client.get(f"{SEGMENT_URL}/download/meta/1")

    # When maria, then an admin, open the log
    as_user = client.get("/admin/downloads")
    client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/").text)})
    sign_in(client, name="admin")
    as_admin = client.get("/admin/downloads")

    # Then only the admin sees it, with maria's download in it
    assert as_user.status_code == 403
    assert as_admin.status_code == 200
    assert "maria" in as_admin.text and "meta.csv" in as_admin.text


def test_a_broken_manifest_shows_a_note_not_an_error(client, home):
    # Given a second run whose manifest is cut off half-way
    other = write_export_run(home.exports_dir, as_of="2026-11-02")["top-decile"]
    manifest_path = other.folder / "manifest.json"
    manifest_path.write_text(manifest_path.read_text()[:200])
    sign_in(client)

    # When the pages are opened
    runs = client.get("/")
    segment = client.get("/runs/2026-11-02/v1/top-decile")
    download = client.get("/runs/2026-11-02/v1/top-decile/download/meta/1")

    # Then both say the manifest cannot be read and nothing is offered
    assert runs.status_code == 200 and "manifest.json cannot be read" in runs.text
    assert segment.status_code == 200 and "could not be read" in segment.text
    assert "/download/" not in segment.text
    assert download.status_code == 404


def test_a_manifest_without_optional_parts_still_renders(client, home):
    # Given a run whose manifest has no gains, no profile and no skipped destinations
    write_export_run(home.exports_dir, as_of="2026-11-03", with_optional=False,
                     segments_skipped=())
    sign_in(client)

    # When its segment page is opened
    page = client.get("/runs/2026-11-03/v1/top-decile")

    # Then it renders with notes in place of the pictures
    assert page.status_code == 200
    assert "This export has no gains figures." in page.text
    assert "No theme profile in this export." in page.text
    assert "/download/meta/1" in page.text


def test_an_unreadable_lift_file_shows_a_note(client, home):
    # Given a lift folder with one good and one broken result
    write_lift_result(home.exports_dir, "spring-2027-tiktok")
    (home.exports_dir / "lift" / "broken.json").write_text("{not json")
    sign_in(client)

    page = client.get("/lift")

    assert page.status_code == 200
    assert "spring-2027-tiktok" in page.text
    assert "broken.json cannot be read" in page.text


def test_the_portal_writes_nothing_in_the_exports_folder(client, home):
    # Given the exports folder as written by the export
    def snapshot():
        return sorted((str(path), path.stat().st_mtime_ns, path.stat().st_size)
                      for path in home.exports_dir.rglob("*"))
    before = snapshot()

    # When a user browses and downloads everything
    sign_in(client)
    client.get("/")
    client.get(SEGMENT_URL)
    client.get("/lift")
    for part in (1, 2):
        client.get(f"{SEGMENT_URL}/download/the_trade_desk/{part}")

    # Then the exports folder is untouched
    assert snapshot() == before


def test_what_works_shows_the_ranking_with_its_people_and_says_it_is_no_causal_effect(
        client, home):
    # given a stored creative report
    write_creative_report(home.exports_dir)
    sign_in(client)
    # when a signed-in campaign manager opens "What works"
    page = client.get("/what-works")
    # then it shows a chart per dimension, each item with its people and range, the small ones
    # as too small, and the sentence that this is a correlation, not a causal effect
    assert page.status_code == 200
    assert page.text.count('class="chart"') == 3, "one chart each: films, themes, campaigns"
    assert "correlation with adjustment, not a causal effect" in page.text
    assert "Mountains in Kiruna (film-003)" in page.text and "+15.0 points" in page.text
    assert "1,200" in page.text and "+11.1 to +18.9" in page.text
    assert page.text.count("too few people to rank") == 2
    assert "Northern lights" in page.text and 'href="/what-works"' in page.text
    assert page.text.index("film-003") < page.text.index("img-010") < page.text.index(
        "film-005")


def test_the_what_works_csv_holds_every_item_with_its_counts_and_interval(client, home):
    import csv
    import io

    from insight.creatives import REPORT_COLUMNS

    write_creative_report(home.exports_dir)
    # without a session the file is refused like every download
    assert client.get("/what-works/download/report.csv").status_code == 401
    sign_in(client)
    response = client.get("/what-works/download/report.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "what-works-2026-11-02.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert {(row["dimension"], row["item_id"]) for row in rows} == {
        (dimension, item) for dimension, item, *_ in CREATIVE_ITEMS}
    strong = next(row for row in rows if row["item_id"] == "film-003")
    assert (strong["rank"], strong["n_engaged"], strong["is_ranked"]) == ("1", "1200", "true")
    small = next(row for row in rows if row["item_id"] == "film-099")
    assert (small["rank"], small["is_ranked"]) == ("", "false")


def test_what_works_without_a_report_says_so_and_offers_no_file(client):
    sign_in(client)
    page = client.get("/what-works")
    assert page.status_code == 200 and "No report yet" in page.text
    assert client.get("/what-works/download/report.csv").status_code == 404
