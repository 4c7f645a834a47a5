"""Events over HTTP: create one, import its programme (CSV, iCalendar), all or nothing,
again without duplicates; who may; `hub import`; surviving kill -9; two instances."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.programme_data import programme_csv, programme_ics
from tests.support.harness import ADMIN_KEY, HubProcess, ahttp
from tests.support.inprocess import RunningHub

EVENT = {"id": "igf26", "title": "IGF 2026", "start": "2026-06-22", "end": "2026-06-26",
         "timezone": "Europe/Oslo", "venue": "Lillestrøm", "languages": ["en", "fr", "ar"]}
CSV = ("id,title,start,end,room,track,type,organizers,languages\r\n"
       "WS1,Meaningful connectivity,2026-06-23 09:00,2026-06-23 10:30,Room A,"
       "Digital inclusion,workshop,Amina Diallo <amina@example.org>,en;fr\r\n"
       "WS2,AI and elections,2026-06-23 11:00,2026-06-23 12:00,Room B,AI governance,"
       "open forum,Li Wei <li@example.org>; Omar Haddad,en;ar\r\n")


async def make_event(base: str, **extra: Any) -> dict[str, Any]:
    status, body, _ = await ahttp("POST", f"{base}/api/events", {**EVENT, **extra},
                                  token=ADMIN_KEY)
    assert status == 201, body
    return dict(body)


async def upload(base: str, data: str | bytes, kind: str = "text/csv", event: str = "igf26",
                 query: str = "", token: str | None = ADMIN_KEY) -> tuple[int, Any]:
    text = data.decode() if isinstance(data, bytes) else data
    status, body, _ = await ahttp("POST", f"{base}/api/events/{event}/programme{query}", text,
                                  token=token, content_type=kind)
    return status, body


async def test_an_event_is_created_read_and_listed_publicly(hub: RunningHub) -> None:
    created = await make_event(hub.base)
    assert created["id"] == "igf26" and created["site"] == "/e/igf26"
    assert created["event"]["timezone"] == "Europe/Oslo"
    status, body, _ = await ahttp("POST", f"{hub.base}/api/events", EVENT, token=ADMIN_KEY)
    assert status == 409 and body["error"]["code"] == "conflict"
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events")
    assert status == 200 and [e["id"] for e in body["events"]] == ["igf26"]
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/nope")
    assert status == 404
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/..%2Fetc")
    assert status == 404


async def test_a_programme_makes_sessions_and_the_same_file_again_changes_nothing(
    hub: RunningHub,
) -> None:
    await make_event(hub.base)
    status, body = await upload(hub.base, CSV)
    assert status == 200, body
    assert (body["rows"], body["created"], body["updated"], body["unchanged"]) == (2, 2, 0, 0)
    assert [s["session"] for s in body["sessions"]] == ["igf26-1", "igf26-2"]
    status, again = await upload(hub.base, CSV)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    status, event, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert event["imports"] == 1  # the same file appended nothing
    first = event["programme"][0]
    assert (first["session"], first["title"], first["day"], first["report"]) == (
        "igf26-1", "Meaningful connectivity", "2026-06-23", "none")
    assert first["organizers"] == [{"name": "Amina Diallo"}]  # no emails for the public
    status, staff, _ = await ahttp("GET", f"{hub.base}/api/events/igf26", token=ADMIN_KEY)
    assert staff["programme"][0]["organizers"][0]["email"] == "amina@example.org"
    # the sessions exist, with the programme's title and languages
    status, session, _ = await ahttp("GET", f"{hub.base}/api/sessions/igf26-2",
                                     token=ADMIN_KEY)
    assert status == 200 and session["title"] == "AI and elections"
    assert session["languages"] == ["en", "ar"]
    # a changed title reaches the session; a new row is a new session
    changed = CSV.replace("AI and elections", "\"AI, elections and trust\"") + (
        "WS3,Youth voices,2026-06-24 09:00,2026-06-24 10:00,Room A,Youth,workshop,,en\r\n")
    status, body = await upload(hub.base, changed)
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 1, 1), body
    status, session, _ = await ahttp("GET", f"{hub.base}/api/sessions/igf26-2",
                                     token=ADMIN_KEY)
    assert session["title"] == "AI, elections and trust"
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions", token=ADMIN_KEY)
    assert sorted(s["id"] for s in listed["sessions"]) == ["igf26-1", "igf26-2", "igf26-3"]


async def test_a_bad_programme_gets_line_numbered_problems_and_nothing_is_imported(
    hub: RunningHub,
) -> None:
    await make_event(hub.base)
    bad = CSV + ("WS4,Late,2026-06-23 15:00,2026-06-23 14:00,Room C,,workshop,,en\r\n"
                 "WS1,Twice,2026-06-23 16:00,2026-06-23 17:00,Room C,,workshop,,en\r\n"
                 "WS5,=HYPERLINK(\"http://x\"),2026-06-23 18:00,2026-06-23 19:00,,,,,en\r\n")
    status, body = await upload(hub.base, bad)
    assert status == 400 and body["error"]["code"] == "bad_request"
    lines = {p["line"] for p in body["error"]["problems"]}
    assert {4, 5, 6} <= lines, body
    assert body["error"]["message"].startswith("nothing was imported: line ")
    status, event, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert event["programme"] == [] and event["imports"] == 0
    status, listed, _ = await ahttp("GET", f"{hub.base}/api/sessions", token=ADMIN_KEY)
    assert listed["sessions"] == []
    # outside the event's days: the whole import is refused
    outside = CSV.replace("2026-06-23 11:00", "2026-07-23 11:00").replace(
        "2026-06-23 12:00", "2026-07-23 12:00")
    status, body = await upload(hub.base, outside)
    assert status == 400 and body["error"]["problems"][0]["line"] == 3, body
    # a file over 10 MB: a clear answer, nothing read into sessions
    status, body = await upload(hub.base, "id,title,start,end\r\n" + "x" * (10 * 1024 * 1024))
    assert status in (400, 413), body
    assert "10 MB" in body["error"]["message"] or "bytes" in body["error"]["message"]
    status, event, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert event["imports"] == 0


async def test_an_icalendar_programme_and_a_dry_run(hub: RunningHub) -> None:
    await make_event(hub.base)
    ics = programme_ics(12)
    status, body = await upload(hub.base, ics, "text/calendar", query="?dry_run=1")
    assert status == 200 and body["dry_run"] and body["created"] == 12, body
    status, event, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert event["programme"] == []  # a dry run changes nothing
    status, body = await upload(hub.base, ics, "text/calendar")
    assert status == 200 and body["created"] == 12, body
    status, event, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert len(event["programme"]) == 12
    assert all(s["room"] and s["track"] for s in event["programme"])


async def test_only_the_secretariat_creates_events_and_imports(hub: RunningHub) -> None:
    await make_event(hub.base)
    await upload(hub.base, CSV)
    session_organizer = await _session_organizer_token(hub, "igf26-1")
    for token, wanted in ((None, 401), ("nonsense", 401), (session_organizer, 403)):
        status, body, _ = await ahttp("POST", f"{hub.base}/api/events",
                                      {**EVENT, "id": "other"}, token=token)
        assert status == wanted, body
        status, body = await upload(hub.base, CSV, token=token)
        assert status == wanted, body
        status, body, _ = await ahttp("PATCH", f"{hub.base}/api/events/igf26",
                                      {"title": "Mine"}, token=token)
        assert status == wanted, body
        status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions", token=token)
        assert status == wanted, body


async def _session_organizer_token(hub: RunningHub, session_id: str) -> str:
    """An organizer-role token of one session (not the admin key), as the Secretariat's
    links give a session's organizer."""
    from hub import keys

    signer = hub.app[keys.SIGNER]
    return signer.mint(session_id, "organizer", expires=signer.link_expiry())


def test_hub_import_reads_a_file_and_prints_problems_with_their_lines(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data").start()
    try:
        asyncio.run(make_event(hub.url))
        good, bad = tmp_path / "programme.csv", tmp_path / "broken.csv"
        good.write_text(CSV)
        bad.write_text(CSV + "WS9,Oops,2026-06-23 25:00,2026-06-23 26:00,,,,,en\r\n")
        run = [sys.executable, "-m", "hub.cli", "import", "--event", "igf26", "--url", hub.url,
               "--admin-key", ADMIN_KEY]
        out = subprocess.run([*run, str(bad)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, out
        assert "nothing was imported" in out.stderr and "broken.csv:4:" in out.stderr
        out = subprocess.run([*run, "--dry-run", str(good)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0 and "would import 2 sessions" in out.stdout, out
        out = subprocess.run([*run, str(good)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "2 new, 0 changed, 0 unchanged" in out.stdout, out
        out = subprocess.run([*run, str(tmp_path / "missing.csv")], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 2 and "cannot read" in out.stderr
    finally:
        hub.kill()


def test_an_event_and_its_programme_survive_kill_9(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data").start()
    try:
        asyncio.run(make_event(hub.url))
        status, body = asyncio.run(upload(hub.url, programme_csv(40)))
        assert status == 200 and body["created"] == 40
        hub.kill()
        hub.start()
        status, event, _ = asyncio.run(ahttp("GET", f"{hub.url}/api/events/igf26"))
        assert status == 200 and len(event["programme"]) == 40
        status, body = asyncio.run(upload(hub.url, programme_csv(40)))
        assert body["unchanged"] == 40, body  # by external id, after the restart too
    finally:
        hub.kill()


async def test_two_instances_on_one_redis_serve_the_same_programme(
    tmp_path: Path, redis_url: str
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis_url, redis_prefix=prefix).start()
            for n in range(2)]
    try:
        await make_event(hubs[0].url)
        status, event, _ = await ahttp("GET", f"{hubs[1].url}/api/events/igf26")
        assert status == 200 and event["programme"] == []  # the second one now follows it
        status, body = await upload(hubs[0].url, CSV)
        assert status == 200, body
        for _ in range(100):  # the import arrives through the live feed
            status, event, _ = await ahttp("GET", f"{hubs[1].url}/api/events/igf26")
            if len(event["programme"]) == 2:
                break
            await asyncio.sleep(0.05)
        assert [s["session"] for s in event["programme"]] == ["igf26-1", "igf26-2"]
        # both import at once: one programme fact, no duplicate sessions
        bigger = CSV + "WS3,Youth voices,2026-06-24 09:00,2026-06-24 10:00,Room A,,,,en\r\n"
        answers = await asyncio.gather(upload(hubs[0].url, bigger), upload(hubs[1].url, bigger))
        assert all(status == 200 for status, _ in answers), answers
        status, event, _ = await ahttp("GET", f"{hubs[1].url}/api/events/igf26")
        assert [s["session"] for s in event["programme"]] == ["igf26-1", "igf26-2", "igf26-3"]
        assert event["imports"] == 2
    finally:
        for hub in hubs:
            hub.kill()
