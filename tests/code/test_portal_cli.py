"""`norrut users ...` and `norrut serve`, and the users file they keep."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from norrut.cli.app import build_app
from portal.users import UserStore

PASSWORD = "kiruna in winter"


def run_cli(*args: str, stdin: str | None = None):
    return CliRunner().invoke(build_app(), list(args), input=stdin)


def test_users_add_with_password_stdin_stores_only_an_argon2_hash(home):
    # When an admin is added from a script
    result = run_cli("users", "add", "maria", "--admin", "--password-stdin",
                     stdin=PASSWORD + "\n")

    # Then the users file holds her with a hash, never the password, readable by the owner only
    assert result.exit_code == 0, result.output
    text = home.users_file.read_text()
    assert PASSWORD not in text
    record = json.loads(text)["users"]["maria"]
    assert record["password_hash"].startswith("$argon2id$") and record["is_admin"] is True
    assert os.stat(home.users_file).st_mode & 0o777 == 0o600
    assert UserStore(home.users_file).authenticate("maria", PASSWORD) is not None
    assert UserStore(home.users_file).authenticate("maria", PASSWORD + "x") is None


def test_users_add_prompts_twice_and_refuses_a_mismatch(home):
    # When the two typed passwords differ, then match
    result = run_cli("users", "add", "erik",
                     stdin=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")

    # Then the prompt repeats and the user is added as a campaign manager
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert UserStore(home.users_file).get("erik").is_admin is False


@pytest.mark.parametrize(("name", "password", "message"), [
    ("maria", "short", "at least 10 characters"),
    ("../etc", PASSWORD, "is not allowed"),
    ("", PASSWORD, "is not allowed"),
])
def test_users_add_rejects_bad_input_and_writes_nothing(home, name, password, message):
    result = run_cli("users", "add", name, "--password-stdin", stdin=password + "\n")

    assert result.exit_code == 2
    assert message in result.output
    assert not home.users_file.exists(), "nothing is written for bad input"


def test_adding_an_existing_user_fails_and_keeps_the_old_password(home):
    # Given maria
    run_cli("users", "add", "maria", "--password-stdin", stdin=PASSWORD + "\n")

    # When she is added again with another password
    result = run_cli("users", "add", "maria", "--password-stdin", stdin="another password\n")

    # Then that fails and her password is unchanged
    assert result.exit_code == 2 and "already exists" in result.output
    assert UserStore(home.users_file).authenticate("maria", PASSWORD) is not None


def test_users_list_and_remove(home):
    # Given two accounts
    run_cli("users", "add", "maria", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    run_cli("users", "add", "erik", "--password-stdin", stdin=PASSWORD + "\n")

    # When one is removed and the rest listed
    removed = run_cli("users", "remove", "erik")
    listed = run_cli("users", "list")
    missing = run_cli("users", "remove", "nobody")

    # Then only maria is left, shown in a table row without any hash
    assert removed.exit_code == 0
    assert listed.exit_code == 0, listed.output
    assert re.search(r"│ maria\s*│ administrator\s*│ \d{4}-\d\d-\d\dT", listed.output), \
        listed.output
    assert "erik" not in listed.output
    assert "argon2" not in listed.output
    assert missing.exit_code == 2 and "no user named 'nobody'" in missing.output


def test_users_list_as_json_gives_name_role_and_date_but_no_hash(home):
    # Given an administrator and a campaign manager
    run_cli("users", "add", "maria", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    run_cli("users", "add", "erik", "--password-stdin", stdin=PASSWORD + "\n")

    # When listed as JSON
    listed = run_cli("users", "list", "--json")

    # Then each account is there by name and role, and no hash is
    assert listed.exit_code == 0, listed.output
    accounts = json.loads(listed.output)
    assert [(a["name"], a["role"]) for a in accounts] == [
        ("erik", "campaign manager"), ("maria", "administrator")]
    assert all(a["created_at"] for a in accounts)
    assert "argon2" not in listed.output


def test_users_list_without_accounts_says_how_to_add_one(home):
    listed = run_cli("users", "list")
    assert listed.exit_code == 0, listed.output
    assert "norrut users add NAME --admin" in listed.output


def test_a_corrupt_users_file_is_reported_and_left_alone(home):
    # Given a users file someone broke by hand
    home.users_file.parent.mkdir(parents=True, exist_ok=True)
    home.users_file.write_text("{broken")

    result = run_cli("users", "add", "maria", "--password-stdin", stdin=PASSWORD + "\n")

    assert result.exit_code == 2 and "cannot be read" in result.output
    assert home.users_file.read_text() == "{broken", "the broken file is not overwritten"


def test_serve_prints_the_url_and_how_to_add_a_user(home, monkeypatch):
    # Given no accounts and uvicorn replaced by a recorder
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options, app=app))

    result = run_cli("serve", "--port", "8123")

    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert "norrut users add NAME --admin" in result.output
    assert started["host"] == "127.0.0.1" and started["port"] == 8123
    assert started["proxy_headers"] is False, "no forwarded header is trusted by default"


def test_serve_trusts_forwarded_addresses_only_from_the_named_proxy(home, monkeypatch):
    # Given uvicorn replaced by a recorder
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options, app=app))

    # When the portal is served behind a reverse proxy at 10.0.0.5
    result = run_cli("serve", "--forwarded-allow-ips", "10.0.0.5")

    # Then uvicorn takes the client address from that proxy's X-Forwarded-For only
    assert result.exit_code == 0, result.output
    assert started["proxy_headers"] is True
    assert started["forwarded_allow_ips"] == "10.0.0.5"


@pytest.mark.slow
def test_norrut_serve_answers_on_its_port_and_refuses_anonymous_downloads(home):
    # Given `norrut serve` running in its own process on a free port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", "from norrut.cli.app import main; main()", "serve", "--port",
         str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "norrut serve did not start in 30 s"
                time.sleep(0.2)

        # When the login page and a download are fetched without an account
        download = httpx.get(
            f"http://127.0.0.1:{port}/runs/2026-11-01/v1/top-decile/download/meta/1", timeout=5)

        # Then the login page is served and the download refused
        assert login.status_code == 200 and "Sign in" in login.text
        assert download.status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in output
