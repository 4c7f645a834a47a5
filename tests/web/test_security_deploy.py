"""The operator's side of security: secrets, file modes, the relay, Origin/CSP, the report's
stylesheet and the organizer's stored links.

Each attack is tried against a real `hub serve` / `hub relay` process (or an in-process
server on loopback) and must now get a defined refusal.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import websockets

from hub.config import Config, secret_problem
from hub.datadir import secure_data_dir
from hub.log.archive import Archive
from hub.log.base import Batch
from hub.tokens import Signer
from tests.support.browser import open_with_storage
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session, free_port
from tests.support.inprocess import HubFactory
from tests.support.relay_rooms import open_room

STRONG = secrets.token_urlsafe(32)


def run_cli(*args: str, env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m hub.cli ARGS` to its end (a refusal exits at once)."""
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          check=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------- 1. placeholder secrets


@pytest.mark.parametrize("value", [
    "change-me", "change-me-too", "changeme", "CHANGE_ME", "secret", "admin", "password",
    "change-me-change-me-change-me-change-me",  # long, still the example's words
    "replace-me-with-a-real-secret-please-ok",
    "your-secret-here-0123456789-abcdefghijk",
])
def test_known_placeholders_are_refused_whatever_their_length(value: str) -> None:
    problem = secret_problem("HUB_SECRET", value)
    assert problem is not None and problem.startswith("HUB_SECRET is a known placeholder")
    assert "secrets.token_urlsafe(32)" in problem


def test_short_and_repetitive_secrets_are_refused_and_random_ones_taken() -> None:
    assert "is 31 characters long" in str(secret_problem("HUB_ADMIN_KEY", "k" * 20 + "0123456789A"))
    assert "repeats a few characters" in str(secret_problem("HUB_ADMIN_KEY", "ab" * 20))
    assert secret_problem("HUB_ADMIN_KEY", "0123456789abcdefghijklmnopqrstuv") is None  # 32
    for _ in range(200):
        assert secret_problem("HUB_SECRET", secrets.token_urlsafe(32)) is None
    assert secret_problem("HUB_ADMIN_KEY", ADMIN_KEY) is None  # the tests' own key
    config = Config(secret="change-me-too", admin_key="short", metrics_token=STRONG)
    assert [p.split(" ")[0] for p in config.weak_secrets()] == ["HUB_SECRET", "HUB_ADMIN_KEY"]
    assert Config().weak_secrets() == []  # unset: generated


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("HUB_SECRET", "change-me-too", "is a known placeholder"),  # the old hub.env.example
    ("HUB_ADMIN_KEY", "change-me", "is a known placeholder"),
    ("HUB_ADMIN_KEY", "x7Gq2mZ0pLw9Rt4vB8nK", "is 20 characters long"),
    ("HUB_METRICS_TOKEN", "change-me", "is a known placeholder"),
])
def test_hub_serve_refuses_to_start_with_a_weak_secret(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = {"HUB_ADMIN_KEY": ADMIN_KEY, variable: value}
    done = run_cli("serve", "--host", "127.0.0.1", "--port", str(free_port()),
                   "--data", str(tmp_path / "data"), env=env)
    assert done.returncode == 2, done
    assert f"hub cannot start: {variable} {says}" in done.stderr
    assert "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'" in done.stderr
    assert value not in done.stderr  # the value itself is not echoed
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_hub_relay_refuses_to_start_with_a_weak_admin_key(tmp_path: Path) -> None:
    token = Signer(STRONG, STRONG).mint("s01", "hub", identity="h1", name="Room")
    done = run_cli("relay", "--upstream", "https://meeting.example.org", "--port",
                   str(free_port()), "--data", str(tmp_path / "relay"),
                   env={"HUB_ADMIN_KEY": "admin", "HUB_RELAY_TOKEN": token})
    assert done.returncode == 2, done
    assert "relay cannot start: HUB_ADMIN_KEY is a known placeholder" in done.stderr


async def test_without_secrets_the_hub_generates_long_ones_and_a_placeholder_forges_nothing(
    tmp_path: Path,
) -> None:
    """The original attack: with `HUB_SECRET=change-me-too` (the old example) anyone could
    sign a moderator token for a public session id and read its report. That server
    cannot run any more; one left without a secret makes its own, and a token signed with
    the placeholder is refused."""
    hub = HubProcess(tmp_path / "data", env={"HUB_ADMIN_KEY": "", "HUB_SECRET": ""}).start()
    try:
        line = next(ln for ln in hub.output().splitlines() if "generated the admin key" in ln)
        key = line.rsplit(" ", 1)[1]
        assert len(key) >= 32
        status, created, _ = await ahttp("POST", f"{hub.url}/api/sessions",
                                         {"title": "Open meeting", "state": "live"}, token=key)
        assert status == 201, created
        forged = Signer("change-me-too", "change-me").mint(created["id"], "moderator")
        status, body, _ = await ahttp(
            "GET", f"{hub.url}/api/sessions/{created['id']}/report?format=json", token=forged)
        assert status == 401 and body["error"]["code"] == "unauthorized", body
        with sqlite3.connect(tmp_path / "data" / "hub.sqlite3") as db:
            stored = dict(db.execute("SELECT key, value FROM meta"))
        assert len(stored["secret"]) >= 32 and stored["admin_key"] == key
    finally:
        hub.terminate()


def test_a_short_key_stored_by_hand_is_not_run_with(tmp_path: Path) -> None:
    """Generated keys were always 32+ characters; a shorter stored one was put there by
    hand: the hub stops with the same message (setting HUB_ADMIN_KEY overrides it)."""
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "hub.sqlite3") as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('admin_key', 'letmein')")
    done = run_cli("serve", "--host", "127.0.0.1", "--port", str(free_port()),
                   "--data", str(data), env={"HUB_ADMIN_KEY": ""})
    assert done.returncode == 2, done
    assert "HUB_ADMIN_KEY (the one stored with the state) is 7 characters long" in done.stderr
    hub = HubProcess(data, env={"HUB_ADMIN_KEY": STRONG}).start()
    hub.terminate()


# ---------------------------------------------------------------- 11. file modes


async def test_data_folder_and_every_file_are_owner_only_after_a_real_start(
    tmp_path: Path,
) -> None:
    """An old data folder (0755, files 0644, as today's main leaves it) is tightened at
    start with a warning; what the hub writes afterwards (SQLite with -wal and -shm) is
    0600, whatever the umask it was started with."""
    data = tmp_path / "data"
    (data / "archive").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "archive", 0o755)
    old = data / "archive" / "old.jsonl"
    old.write_text("{}\n")
    os.chmod(old, 0o644)
    previous = os.umask(0o022)
    try:
        hub = HubProcess(data).start()
    finally:
        os.umask(previous)
    try:
        created = await create_session(hub.url, "Modes", state="live")
        cap = Client(hub.ws_url, created["id"], created["tokens"]["captioner"], name="Cap")
        await cap.connect()
        await cap.ok({"type": "caption", "text": "written to the log", "seq": 1})
        await cap.close()
        files = ["hub.sqlite3", "hub.sqlite3-wal", "hub.sqlite3-shm", "archive/old.jsonl"]
        for name in files:
            assert (data / name).exists(), name
            assert mode(data / name) == 0o600, (name, oct(mode(data / name)))
        assert mode(data) == 0o700 and mode(data / "archive") == 0o700
        warnings = [ln for ln in hub.output().splitlines() if "now owner only" in ln]
        assert len(warnings) == 3, warnings  # the folder, archive/ and old.jsonl
    finally:
        hub.terminate()
    hub.start()  # nothing loose any more: no warning the second time
    hub.terminate()
    assert hub.output().count("now owner only") == 3


def test_archive_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        archive = Archive(str(tmp_path / "data"))
        archive.write("ses1", [Batch("ses1", 1, "e", 0, {"kind": "created"}, ())])
    finally:
        os.umask(previous)
    assert mode(tmp_path / "data" / "archive") == 0o700
    assert mode(tmp_path / "data" / "archive" / "ses1.jsonl") == 0o600


def test_secure_data_dir_leaves_symlinks_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not the hub's")
    os.chmod(outside, 0o644)
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o750)  # whatever the umask another test left (an in-process `hub` command)
    (data / "link").symlink_to(outside)
    previous = os.umask(0o022)
    try:
        changed = secure_data_dir(str(data))
    finally:
        os.umask(previous)
    assert changed == [f"{data}: mode 0750 -> 0700"]
    assert mode(outside) == 0o644


# ---------------------------------------------------------------- 12. the relay


def hub_link(room_main: HubProcess, sid: str, token: str) -> str:
    return f"{room_main.url}/s/{sid}/hub#token={token}"


def test_the_relay_takes_no_token_on_the_command_line(tmp_path: Path) -> None:
    token = Signer(STRONG, STRONG).mint("s01", "hub", identity="h1", name="Room")
    for args in (["--upstream", "https://meeting.example.org", "--token", token],
                 ["--upstream", f"https://meeting.example.org/s/s01/hub#token={token}"]):
        done = run_cli("relay", *args, "--data", str(tmp_path / "relay"))
        assert done.returncode == 2, done
        assert "does not go on the command line" in done.stderr
        assert "HUB_RELAY_TOKEN" in done.stderr and "--token-file" in done.stderr
    assert not (tmp_path / "relay").exists()


def test_the_relay_wants_https_unless_insecure(tmp_path: Path) -> None:
    token = Signer(STRONG, STRONG).mint("s01", "hub", identity="h1", name="Room")
    done = run_cli("relay", "--upstream", "http://meeting.example.org",
                   "--data", str(tmp_path / "relay"), env={"HUB_RELAY_TOKEN": token})
    assert done.returncode == 2, done
    assert "is not https" in done.stderr and "--insecure" in done.stderr
    (tmp_path / "link.txt").write_text(f"http://meeting.example.org/s/s01/hub#token={token}\n")
    done = run_cli("relay", "--token-file", str(tmp_path / "link.txt"),
                   "--data", str(tmp_path / "relay"))
    assert done.returncode == 2 and "is not https" in done.stderr, done


async def test_relay_links_reach_the_terminal_and_a_private_file_never_the_log(
    tmp_path: Path,
) -> None:
    async with open_room(tmp_path) as room:
        output = room.relay.output()
        logged = [json.loads(ln) for ln in output.splitlines() if ln.startswith("{")]
        assert any("relay of" in entry["message"] for entry in logged)
        tokens = [link.split("#token=")[1] for link in room.links.values()]
        for entry in logged:
            text = json.dumps(entry)
            assert "#token=" not in text and room.hub_token not in text, entry
            assert not any(token in text for token in tokens), entry
        printed = [ln.strip() for ln in output.splitlines() if not ln.startswith("{")]
        for who, link in room.links.items():
            assert f"{who}: {link}" in printed
        links_file = room.relay.data / "relay-links.txt"
        assert mode(links_file) == 0o600 and mode(room.relay.data) == 0o700
        assert all(link in links_file.read_text() for link in room.links.values())
        assert mode(room.relay.data / "hub.sqlite3") == 0o600
        # The hub's token is not in the relay's process arguments (`ps` shows those).
        assert room.relay.proc is not None
        cmdline = await asyncio.to_thread(Path(f"/proc/{room.relay.proc.pid}/cmdline").read_bytes)
        assert room.hub_token.encode() not in cmdline and b"token=" not in cmdline
        # /metrics is off on a relay (it serves a room's network).
        status, _, _ = await ahttp("GET", f"{room.relay.url}/metrics")
        assert status == 404
        status, _, _ = await ahttp("GET", f"{room.relay.url}/metrics", token=ADMIN_KEY)
        assert status == 404


async def test_relay_listens_on_loopback_by_default_and_says_how_to_serve_the_room(
    tmp_path: Path,
) -> None:
    main = HubProcess(tmp_path / "main").start()
    relay: subprocess.Popen[str] | None = None
    try:
        created = await create_session(main.url, "Main session", state="live")
        code, minted, _ = await ahttp("POST", f"{main.url}/api/sessions/{created['id']}/tokens",
                                      {"role": "hub", "name": "Accra hub"}, token=ADMIN_KEY)
        assert code == 201, minted
        link = tmp_path / "hub-link.txt"
        link.write_text(hub_link(main, created["id"], minted["token"]) + "\n")
        port = free_port()
        relay = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "hub.cli", "relay", "--token-file", str(link), "--insecure",
             "--port", str(port), "--data", str(tmp_path / "relay")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "HUB_ADMIN_KEY": ADMIN_KEY, "HUB_METRICS_TOKEN": STRONG})
        assert relay.stdout is not None
        printed: list[str] = []
        while not any("(also in" in ln for ln in printed):
            line = await asyncio.to_thread(relay.stdout.readline)
            assert line, relay.stderr.read() if relay.stderr else ""
            printed.append(line)
        assert "start with --host 0.0.0.0" in "".join(printed)
        assert all("127.0.0.1" in ln for ln in printed if "#token=" in ln)
        table = await asyncio.to_thread(Path("/proc/net/tcp").read_text)
        listening = [row.split()[1] for row in table.splitlines()[1:]  # loopback only
                     if row.split()[3] == "0A" and row.split()[1].endswith(f":{port:04X}")]
        assert listening == [f"0100007F:{port:04X}"]
        # With a metrics token set, /metrics on the relay wants it.
        for _ in range(100):
            status, _, _ = await ahttp("GET", f"http://127.0.0.1:{port}/healthz")
            if status == 200:
                break
            await asyncio.sleep(0.05)
        assert (await ahttp("GET", f"http://127.0.0.1:{port}/metrics"))[0] == 401
        assert (await ahttp("GET", f"http://127.0.0.1:{port}/metrics", token=STRONG))[0] == 200
    finally:
        if relay is not None:
            relay.terminate()
            await asyncio.to_thread(relay.communicate, timeout=20)
        main.terminate()


def relay_rows(data: Path, sid: str) -> int:
    with sqlite3.connect(data / "hub.sqlite3") as db:
        return sum(db.execute(f"SELECT count(*) FROM {table} WHERE {column}=?", (sid,))
                   .fetchone()[0] for table, column in (("sessions", "id"),
                                                        ("batches", "session"),
                                                        ("frames", "session")))


async def test_a_session_the_meeting_deletes_is_deleted_on_the_relay(tmp_path: Path) -> None:
    async with open_room(tmp_path) as room:
        captioner = room.upstream("captioner", name="Captioner")
        await captioner.connect()
        reader = room.local("attendee", name="Attendee")
        await reader.connect()
        await captioner.ok({"type": "caption", "text": "a line the room keeps", "seq": 1})
        await reader.wait_for(lambda c: c.kinds("caption"))
        await captioner.close()
        assert relay_rows(room.relay.data, room.sid) > 0
        status, _, _ = await ahttp("DELETE", f"{room.main.url}/api/sessions/{room.sid}",
                                   token=ADMIN_KEY)
        assert status == 200
        assert room.relay.proc is not None
        assert await asyncio.to_thread(room.relay.proc.wait, 20) == 0  # the relay stops
        await asyncio.wait_for(reader.closed.wait(), 10)
        assert reader.close_code == 4504
        assert relay_rows(room.relay.data, room.sid) == 0
        assert not (room.relay.data / "relay-links.txt").exists()
        assert "its copy here is deleted too" in room.relay.output()


async def test_a_relay_that_was_away_when_the_meeting_deleted_deletes_on_return(
    tmp_path: Path,
) -> None:
    async with open_room(tmp_path) as room:
        captioner = room.upstream("captioner", name="Captioner")
        await captioner.connect()
        await captioner.ok({"type": "caption", "text": "said before the deletion", "seq": 1})
        await room.wait_status(lambda s: s["events_mirrored"] >= 1)
        await captioner.close()
        room.relay.terminate()
        status, _, _ = await ahttp("DELETE", f"{room.main.url}/api/sessions/{room.sid}",
                                   token=ADMIN_KEY)
        assert status == 200
        assert relay_rows(room.relay.data, room.sid) > 0
        room.relay.start()
        assert room.relay.proc is not None
        assert await asyncio.to_thread(room.relay.proc.wait, 20) == 0
        assert relay_rows(room.relay.data, room.sid) == 0


# ---------------------------------------------------------------- 13. Origin, CSP, report


async def test_forwarded_host_is_not_an_origin_without_trust_proxy(
    hub_factory: HubFactory,
) -> None:
    """A page on evil.example sends X-Forwarded-Host: evil.example itself: without
    HUB_TRUST_PROXY that header is the client's word, and the handshake is refused."""
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    for trust, allowed in ((False, False), (True, True)):
        hub = await hub_factory(trust_proxy=trust)
        created = await hub.session()
        url = f"{hub.ws_base}/ws/{created['id']}"
        if allowed:
            async with websockets.connect(url, origin=websockets.Origin("https://evil.example"),
                                          additional_headers=forged):
                pass
        else:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(url, origin=websockets.Origin("https://evil.example"),
                                         additional_headers=forged)
            assert refused.value.response.status_code == 403
        if not allowed:  # (an allowed SSE stream would stay open)
            status, _, _ = await ahttp("GET", f"{hub.base}/sse/{created['id']}?token="
                                       f"{created['tokens']['screen']}",
                                       headers={"Origin": "https://evil.example", **forged})
            assert status == 403


async def test_csp_connect_src_names_this_hub_only(hub_factory: HubFactory) -> None:
    hub = await hub_factory(public_url="https://hub.example.org")
    _, _, headers = await ahttp("GET", f"{hub.base}/healthz")
    policy = headers["Content-Security-Policy"]
    connect = re.search(r"connect-src ([^;]+);", policy)
    assert connect is not None
    sources = connect.group(1).split()
    host = hub.base.removeprefix("http://")
    assert sources == ["'self'", f"ws://{host}", f"wss://{host}", "ws://hub.example.org",
                       "wss://hub.example.org"]
    assert "ws:" not in sources and "wss:" not in sources
    # A forged Host cannot widen the policy: only a plain host[:port] is named.
    _, _, headers = await ahttp("GET", f"{hub.base}/healthz",
                                headers={"Host": "x.example; script-src *"})
    assert "script-src *" not in headers["Content-Security-Policy"]
    assert "script-src 'self';" in headers["Content-Security-Policy"]


async def test_the_html_report_links_a_real_stylesheet(hub_factory: HubFactory) -> None:
    hub = await hub_factory()
    created = await hub.session(title="Styled")
    status, html, _ = await ahttp("GET", f"{hub.base}/api/sessions/{created['id']}/report"
                                  "?format=html", token=ADMIN_KEY)
    assert status == 200
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert hrefs == ["/static/css/report.css"]
    status, css, headers = await ahttp("GET", f"{hub.base}{hrefs[0]}")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert "@media print" in css and "caption" in css
    # Right-to-left safe: logical sides only, no left/right.
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert not re.search(r"\b(left|right)\b", rules), re.findall(r".*\b(?:left|right)\b.*", rules)


# ---------------------------------------------------------------- 13. the organizer page


@pytest.mark.browser
@pytest.mark.timeout(120)
@pytest.mark.asyncio(loop_scope="module")
async def test_organizer_keeps_links_in_session_storage_and_moves_old_ones(
    hub_server: HubProcess, open_page: Any
) -> None:
    """Role links carry tokens: an old version left them in localStorage for any later
    user of the browser. Now they live in sessionStorage, and old entries move there."""
    created = await create_session(hub_server.url, "Stored links", state="live")
    old = {created["id"]: {"links": created["links"], "hubs": []}}
    page = await open_with_storage(open_page, f"{hub_server.url}/",
                                   {"igf.organizer.links": old}, name="organizer-storage")
    await page.locator("#admin-key").fill(ADMIN_KEY)
    await page.locator("#admin-key").press("Enter")
    links = page.locator(f'li[data-session="{created["id"]}"] input')
    await links.first.wait_for()
    local: Any = await page.evaluate("localStorage.getItem('igf.organizer.links')")
    session: Any = await page.evaluate("sessionStorage.getItem('igf.organizer.links')")
    assert local is None
    assert created["links"]["moderator"] in session
    everything: Any = await page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    assert "#token=" not in everything


# ---------------------------------------------------------------- the deploy files

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRETS = ("HUB_SECRET", "HUB_ADMIN_KEY", "HUB_METRICS_TOKEN")


def test_deploy_examples_ship_no_secret_and_compose_trusts_its_proxy() -> None:
    """What an operator copies must not start a hub with a value anyone can read here:
    every secret is left empty (generated), and the hubs behind nginx trust its headers."""
    example = (DEPLOY / "systemd" / "hub.env.example").read_text()
    for name in SECRETS:
        values = re.findall(rf"^{name}=(.*)$", example, re.M)
        assert values in ([], [""]), (name, values)
    assert re.search(r"^HUB_TRUST_PROXY=1$", example, re.M)
    compose = (DEPLOY / "compose.yaml").read_text()
    for name in SECRETS:
        for value in re.findall(rf"^\s+{name}: (.*)$", compose, re.M):
            assert value == f"${{{name}:-}}", (name, value)
    assert re.search(r'^    HUB_TRUST_PROXY: "1"$', compose, re.M)
    unit = (DEPLOY / "systemd" / "hub@.service").read_text()
    assert re.search(r"^StateDirectoryMode=0700$", unit, re.M)
    assert re.search(r"^UMask=0077$", unit, re.M)
