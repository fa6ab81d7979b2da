"""The sign-in throttle and the bound on password hashes (issue 16, breaks 8 and 13).

Attempts are counted before the password is checked, per user name, per client address and
per (name, address), and make further tries wait 2, 4, 8 … seconds; at most a few argon2
hashes run at once. Concurrent requests go through one TestClient per simulated browser (each
with its own address and cookies) so they really run side by side; the hasher counts checks.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from itertools import islice
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient
from portal_fixtures import add_user

from portal.app import create_app
from portal.auth import LoginThrottle
from portal.users import PasswordCheckSlots, UserStore

PASSWORD = "northern lights 2026"
GATE_TIMEOUT_SECONDS = 20


class FrozenClock:
    """Time stands still unless a test moves it, so no test has to sleep through a delay."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class CountingHasher(PasswordHasher):
    """Cheap argon2, but every verify is counted and held until the test opens the gate."""

    def __init__(self, gate_open: bool = True) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.gate = threading.Event()
        if gate_open:
            self.gate.set()
        self.checked = 0
        self.running = 0
        self.peak_running = 0
        self.hashes_checked: list[str] = []
        self._lock = threading.Lock()

    def verify(self, password_hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.checked += 1
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            self.hashes_checked.append(str(password_hash))
        try:
            # Held open so concurrent requests overlap in the check, as under real load.
            time.sleep(0.05)
            assert self.gate.wait(GATE_TIMEOUT_SECONDS), "the test never opened the gate"
            return super().verify(password_hash, password)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def clock():
    return FrozenClock()


@pytest.fixture
def accounts(home):
    add_user(home.users_file, "maria", PASSWORD)
    return home


def portal(home, clock, hasher, **options):
    options.setdefault("password_check_slots", PasswordCheckSlots(slots=2, max_waiting=40))
    return create_app(home, clock=clock, password_hasher=hasher, **options)


def sign_in_from(app, address: str, name: str, password: str) -> httpx.Response:
    """One sign-in from its own browser at `address`: fetch the form, post it."""
    browser = TestClient(app, client=(address, 50_000))
    form = browser.get("/login")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)
    return browser.post("/login", data={"user_name": name, "password": password,
                                        "form_token": token, "next": "/"},
                        follow_redirects=False)


def sign_in_at_once(app, attempts: list[tuple[str, str, str]]) -> list[httpx.Response]:
    """All attempts (address, name, password) posted together, released by one barrier."""
    barrier = threading.Barrier(len(attempts))

    def attempt(address: str, name: str, password: str) -> httpx.Response:
        browser = TestClient(app, client=(address, 50_000))
        token = re.search(r'name="form_token" value="([^"]+)"',
                          browser.get("/login").text).group(1)
        barrier.wait(timeout=GATE_TIMEOUT_SECONDS)
        return browser.post("/login", data={"user_name": name, "password": password,
                                            "form_token": token, "next": "/"},
                            follow_redirects=False)

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(lambda args: attempt(*args), attempts))


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    return dict(Counter(response.status_code for response in responses))


def test_30_concurrent_wrong_passwords_for_one_user_check_at_most_the_limit(accounts, clock):
    # Given a portal allowing 5 failures per user name before a delay
    hasher = CountingHasher()
    app = portal(accounts, clock, hasher, max_failed_logins=5)

    # When one client posts 30 wrong passwords for maria at the same moment
    responses = sign_in_at_once(app, [("10.6.6.6", "maria", f"wrong password {n}")
                                      for n in range(30)])

    # Then only 5 passwords were hashed; the other 25 were told to wait without a check
    assert hasher.checked == 5, f"{hasher.checked} passwords checked, the limit is 5"
    assert statuses(responses) == {401: 5, 429: 25}
    assert all(int(response.headers["retry-after"]) >= 1
               for response in responses if response.status_code == 429)


def test_15_user_names_from_one_client_check_at_most_the_per_client_limit(accounts, clock):
    # Given a portal allowing 10 failures per client address
    hasher = CountingHasher()
    app = portal(accounts, clock, hasher, max_failed_logins_per_client=10)

    # When one client tries 15 different user names at once (a password spray)
    responses = sign_in_at_once(app, [("10.6.6.6", f"guess{n}", "Winter2026!")
                                      for n in range(15)])

    # Then at most 10 passwords were hashed and the rest refused without a check
    assert hasher.checked == 10, f"{hasher.checked} checked, the per-client limit is 10"
    assert statuses(responses) == {401: 10, 429: 5}


def test_a_strangers_failures_do_not_lock_the_real_user_out(accounts, clock):
    # Given a stranger who keeps failing for maria, waiting out every delay to fail again
    hasher = CountingHasher()
    app = portal(accounts, clock, hasher)
    for _ in range(12):
        response = sign_in_from(app, "10.6.6.6", "maria", "wrong password")
        if response.status_code == 429:
            clock.now += int(response.headers["retry-after"])
            response = sign_in_from(app, "10.6.6.6", "maria", "wrong password")
        assert response.status_code == 401
    assert sign_in_from(app, "10.6.6.6", "maria", PASSWORD).status_code == 429, (
        "the stranger's own address must still be slowed down")

    # When maria signs in from her own address with the right password
    signed_in = sign_in_from(app, "192.0.2.10", "maria", PASSWORD)

    # Then she gets in at once: the stranger's failures are not her lock-out
    assert signed_in.status_code == 303
    assert "norrut_session" in signed_in.headers["set-cookie"]


def test_after_her_own_typo_the_real_user_waits_only_a_short_bounded_delay(accounts, clock):
    # Given 40 failures for maria from 40 stranger addresses, and one typo of her own
    hasher = CountingHasher()
    app = portal(accounts, clock, hasher)
    for n in range(40):
        assert sign_in_from(app, f"10.6.6.{n}", "maria", "wrong").status_code == 401
    assert sign_in_from(app, "192.0.2.10", "maria", "typo password").status_code == 401

    # When she tries again with the right password straight away
    refused = sign_in_from(app, "192.0.2.10", "maria", PASSWORD)

    # Then she waits at most the account-wide cap (30 s), however many failures there were
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 30, f"maria must wait at most 30 s, was told {wait} s"
    clock.now += wait
    assert sign_in_from(app, "192.0.2.10", "maria", PASSWORD).status_code == 303


def test_the_delay_grows_2_4_8_seconds_after_the_free_failures(accounts, clock):
    # Given five free failures for maria from one address
    app = portal(accounts, clock, CountingHasher())
    for _ in range(5):
        assert sign_in_from(app, "10.6.6.6", "maria", "wrong").status_code == 401

    # When each next try comes right away, and then once the delay has passed
    waits = []
    for _ in range(4):
        refused = sign_in_from(app, "10.6.6.6", "maria", "wrong")
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        clock.now += waits[-1] - 1
        assert sign_in_from(app, "10.6.6.6", "maria", "wrong").status_code == 429, (
            "one second early is still too early")
        clock.now += 1
        assert sign_in_from(app, "10.6.6.6", "maria", "wrong").status_code == 401

    # Then each failure doubled the wait
    assert waits == [2, 4, 8, 16]


def test_the_delay_is_capped_and_forgotten_after_an_idle_hour(clock):
    # Given a throttle and an address failing 40 times for one name, each time after its wait
    throttle = LoginThrottle(clock=clock, max_delay_seconds=900.0, forget_after_seconds=3600.0)
    waits = []
    for _ in range(40):
        attempt = throttle.begin("maria", "10.6.6.6")
        if not attempt.admitted:
            waits.append(attempt.retry_after_seconds)
            clock.now += attempt.retry_after_seconds
            assert throttle.begin("maria", "10.6.6.6").admitted

    # Then the wait never passed the cap, and an hour without attempts starts afresh
    assert max(waits) == 900, f"waits were {waits}"
    clock.now += 3600
    for _ in range(5):
        assert throttle.begin("maria", "10.6.6.6").admitted, "an idle hour forgets the failures"


def test_the_throttle_tracks_a_bounded_number_of_keys(clock):
    # Given a throttle that keeps at most 300 keys
    throttle = LoginThrottle(clock=clock, max_tracked_keys=300)

    # When 10,000 different names are tried from 10,000 addresses
    for n in range(10_000):
        throttle.begin(f"name{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")

    # Then memory stays bounded: only the most recent keys are kept
    assert throttle.tracked_keys() == 300


def test_addresses_of_one_ipv6_network_count_as_one_client(clock):
    # Given a throttle allowing 3 failures per client
    throttle = LoginThrottle(clock=clock, free_failures_per_client=3)

    # When one client takes a fresh address of its IPv6 /64 for every name it tries
    admitted = [throttle.begin(f"guess{n}", f"2001:db8:0:7::{n + 1:x}").admitted
                for n in range(6)]

    # Then the addresses share one count, and another network does not
    assert admitted == [True, True, True, False, False, False]
    assert throttle.begin("guess9", "2001:db8:0:8::1").admitted

    # And an IPv4 address written IPv4-mapped is the same client as written plainly
    for n in range(3):
        assert throttle.begin(f"other{n}", "192.0.2.20").admitted
    assert not throttle.begin("other9", "::ffff:192.0.2.20").admitted


def test_password_checks_run_at_most_two_at_once(accounts, clock):
    # Given a portal with two check slots and a slow hasher
    hasher = CountingHasher()
    app = portal(accounts, clock, hasher,
                 password_check_slots=PasswordCheckSlots(slots=2, max_waiting=20))

    # When 12 unknown user names from 12 addresses sign in at once (the decoy path)
    responses = sign_in_at_once(app, [(f"10.0.0.{n}", f"nobody{n}", "wrong password")
                                      for n in range(12)])

    # Then every one was checked, never more than two at a time
    assert statuses(responses) == {401: 12}
    assert hasher.checked == 12, "an unknown name costs a check like a known one"
    assert hasher.peak_running == 2, f"peak {hasher.peak_running} checks at once"


def test_sign_ins_beyond_the_queue_get_503_at_once_and_are_not_counted(accounts, clock):
    # Given one check slot, room for two waiting, and a hasher held until the test says so
    hasher = CountingHasher(gate_open=False)
    app = portal(accounts, clock, hasher,
                 password_check_slots=PasswordCheckSlots(slots=1, max_waiting=2))

    # When 10 sign-ins arrive together while the first check is still running
    barrier = threading.Barrier(10)

    def attempt(n: int) -> httpx.Response:
        browser = TestClient(app, client=(f"10.0.1.{n}", 50_000))
        token = re.search(r'name="form_token" value="([^"]+)"',
                          browser.get("/login").text).group(1)
        barrier.wait(timeout=GATE_TIMEOUT_SECONDS)
        return browser.post("/login", data={"user_name": "maria", "password": "wrong",
                                            "form_token": token}, follow_redirects=False)

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(attempt, n) for n in range(10)]
        # Then seven are answered 503 while the three in line are still held
        answered_early = [future.result() for future in
                          islice(as_completed(futures, timeout=GATE_TIMEOUT_SECONDS), 7)]
        assert hasher.checked <= 3
        hasher.gate.set()
        answered = [future.result() for future in futures]

    assert statuses(answered_early) == {503: 7}
    assert all(response.headers["retry-after"] == "2" for response in answered_early)
    assert statuses(answered) == {401: 3, 503: 7}
    assert hasher.checked == 3, "no password is checked beyond the slot and its queue"
    # And a busy answer is not a failure: maria's address may still sign in straight away
    assert sign_in_from(app, "10.0.1.0", "maria", PASSWORD).status_code == 303


def test_an_unknown_name_is_checked_against_a_hash_as_costly_as_the_accounts(home):
    # Given an account hashed with one set of argon2 parameters, and a store whose own hasher
    # uses other (argon2-cffi's default, 64 MiB) parameters
    add_user(home.users_file, "maria", PASSWORD)
    stored = extract_parameters(UserStore(home.users_file).hasher.hash("x"))
    account = extract_parameters(
        json.loads(home.users_file.read_text())["users"]["maria"]["password_hash"])
    assert stored != account, "the test needs two different parameter sets"
    hasher = CountingHasher()
    store = UserStore(home.users_file, hasher)

    # When a name that does not exist signs in
    assert store.authenticate("nobody", PASSWORD) is None

    # Then the password was checked against a decoy with the account's parameters
    assert hasher.checked == 1
    assert extract_parameters(hasher.hashes_checked[0]) == account


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="reads /proc and binds 127.0.0.x source addresses")
def test_a_real_portal_stays_small_under_40_concurrent_unknown_user_logins(home):
    # Given `norrut serve` in its own process, with argon2-cffi's default 64 MiB per hash
    UserStore(home.users_file).add("maria", PASSWORD)
    slots = PasswordCheckSlots().slots
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", "from norrut.cli.app import main; main()", "serve", "--port",
         str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        rss_before_kib = status_kib(process.pid, "VmRSS")

        # When 40 browsers, each from its own loopback address, sign in as unknown users at once
        started = time.monotonic()
        barrier = threading.Barrier(40)

        def attempt(n: int) -> tuple[int, float]:
            transport = httpx.HTTPTransport(local_address=f"127.0.0.{n + 2}")
            with httpx.Client(base_url=base, transport=transport, timeout=30) as browser:
                token = re.search(r'name="form_token" value="([^"]+)"',
                                  browser.get("/login").text).group(1)
                barrier.wait(timeout=30)
                sent = time.monotonic()
                response = browser.post("/login", data={
                    "user_name": f"nobody{n}", "password": "wrong password",
                    "form_token": token}, follow_redirects=False)
                return response.status_code, time.monotonic() - sent

        with ThreadPoolExecutor(max_workers=40) as pool:
            results = list(pool.map(attempt, range(40)))
        elapsed = time.monotonic() - started
        peak_kib = status_kib(process.pid, "VmHWM")
    finally:
        process.terminate()
        process.wait(timeout=15)

    # Then every one was answered (checked, or told the portal is busy) and the peak memory
    # grew by at most the hashes the slots allow, plus a margin for threads and buffers
    codes = [code for code, _ in results]
    latencies = sorted(seconds for _, seconds in results)
    growth_mib = (peak_kib - rss_before_kib) / 1024
    print(f"\n40 concurrent unknown-user logins: statuses {dict(Counter(codes))}, "
          f"RSS {rss_before_kib / 1024:.0f} MiB before, peak {peak_kib / 1024:.0f} MiB "
          f"(+{growth_mib:.0f} MiB, {slots} check slots), p99 {latencies[-1]:.2f} s, "
          f"all in {elapsed:.1f} s")
    assert set(codes) <= {401, 503}, f"unexpected answers {Counter(codes)}"
    assert growth_mib < (slots + 1) * 64, (
        f"peak memory grew {growth_mib:.0f} MiB with {slots} slots of 64 MiB")
    assert latencies[-1] < 10, f"p99 {latencies[-1]:.1f} s"


def wait_until_serving(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/login", timeout=2)
            return
        except httpx.TransportError:
            assert process.poll() is None, "norrut serve stopped while starting"
            assert time.monotonic() < deadline, "norrut serve did not start in 30 s"
            time.sleep(0.2)


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {field}")
