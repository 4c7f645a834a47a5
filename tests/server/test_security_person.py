"""Per-person data: one person's erasure and export, the retention period, and
erasure that really erases (SQLite files, Redis streams, archive files)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
import pytest

from hub import keys, retention
from hub.domain import commands
from hub.domain.commands import Actor
from hub.domain.erasure import (
    ERASED_NAME,
    ERASED_TEXT,
    LogEntry,
    erased_fact,
    person_data,
    retention_expired,
    scrub,
)
from hub.domain.fact_kinds import apply
from hub.domain.session import SessionState, new_session
from hub.domain.snapshot import dump_state
from hub.session import fold_into_batches, position_sig
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import HubFactory, RunningHub
from tests.support.person_traces import BOB, MOD, NAME, Recorder, stored_bytes, traces

# A name, texts and a note no other data of a test contains: searched for in storage.
QUESTION = "Is the plugh-xyzzy budget public?"
OPEN_ITEM = "Second thought frobnicate-7"
NOTE = "Please wait, Quillington-note-42"

ALICE = Actor("p1", "participant", NAME)
CAP = Actor("c1", "captioner", "Captioner")


# -- the pure part: hub.domain.erasure ---------------------------------------------------




def meeting() -> tuple[Recorder, str, str, str]:
    """Alice asks (heard, with captions of her turn), votes, gets a note and leaves an open
    item; Bob asks and Alice votes for it."""
    rec = Recorder()
    for actor in (MOD, BOB, CAP):
        rec.join(actor)
    rec.join(ALICE, {"stakeholder": "academia", "country": "KE", "gender": "woman"})
    heard = rec.ask(ALICE, QUESTION, "a1")
    bobs = rec.ask(BOB, "What about the Bob topic?", "b1")
    rec.moderate(heard, "approve")
    rec.moderate(bobs, "approve")
    rec.run(commands.vote(rec.state, ALICE, bobs, False))
    rec.run(commands.vote(rec.state, BOB, heard, False))
    rec.run(commands.note(rec.state, MOD, ALICE.id, NOTE, rec.now))
    rec.moderate(heard, "live")
    rec.run(commands.caption(rec.state, CAP, lines=["Thank you for the question"], lang=None,
                             final=True, seq=1, now=rec.now))
    rec.moderate(heard, "done")
    waiting = rec.ask(ALICE, OPEN_ITEM, "a2")
    rec.moderate(waiting, "approve")
    return rec, heard, bobs, waiting


def fold(entries: list[LogEntry]) -> SessionState:
    state = new_session("s1")
    for entry in entries:
        apply(state, entry.fact)
    return state




def test_scrub_leaves_nothing_of_the_person_and_keeps_the_meeting() -> None:
    rec, heard, bobs, waiting = meeting()
    assert traces(rec.entries)  # the data is there to begin with
    scrubbed = scrub(rec.entries, ALICE.id, "alias-1")
    assert traces(scrubbed) == []
    assert ALICE.id.encode() not in orjson.dumps(scrubbed, default=list)
    assert "academia" not in orjson.dumps(scrubbed, default=list).decode()
    assert len(scrubbed) == len(rec.entries) - 1  # the note to her is dropped
    state = fold(scrubbed)
    # The meeting's record stays meaningful: the item, its turn, its captions, the votes.
    assert state.items[heard].status == "done"
    assert state.items[heard].text == ERASED_TEXT
    assert state.items[heard].author == ERASED_NAME and state.items[heard].anonymous
    assert state.items[heard].votes == 1
    assert state.items[bobs].votes == 1  # her vote still counts, cast by no one known
    assert state.items[bobs].text == "What about the Bob topic?"
    assert [t.item for t in state.turns] == [heard]
    assert state.captions[0].text == "Thank you for the question"
    assert state.captions[0].speaker is None
    assert rec.state.captions[0].speaker == NAME  # it was there before
    assert state.identities["alias-1"].name == ERASED_NAME
    assert state.identities["alias-1"].profile == {}
    assert ALICE.id not in state.identities and ALICE.id not in state.notes
    assert state.items[waiting].status == "approved"  # until the `erased` fact


def test_erased_fact_withdraws_open_items_and_refuses_the_identity() -> None:
    rec, heard, _, waiting = meeting()
    state = fold(scrub(rec.entries, ALICE.id, "alias-1"))
    fact = erased_fact(state, ALICE.id, "alias-1", 99_000)
    assert [i["id"] for i in fact["items"]] == [waiting]
    apply(state, fact)
    assert state.items[waiting].status == "withdrawn"
    assert waiting not in state.order
    assert state.items[heard].status == "done"
    assert state.erased == {ALICE.id}
    assert traces(fact) == []


def test_scrub_reaches_into_a_restored_state() -> None:
    rec, *_ = meeting()
    restored = [LogEntry(5, {"kind": "restored", "state": dump_state(rec.state), "ts": 5})]
    assert traces(restored)
    assert traces(scrub(restored, ALICE.id, "alias-1")) == []


def test_scrub_erases_the_name_of_a_named_token() -> None:
    rec = Recorder()
    org = Actor("organizer", "organizer", "Organizer")
    rec.run(commands.name_token(rec.state, org, identity="c9", role="captioner",
                                name=NAME, expires=10**10, now=rec.now))
    assert traces(rec.entries) and rec.state.tokens["c9"].name == NAME
    scrubbed = scrub(rec.entries, "c9", "alias-1")
    assert traces(scrubbed) == []
    assert fold(scrubbed).tokens["alias-1"].name == ERASED_NAME
    restored = [LogEntry(5, {"kind": "restored", "state": dump_state(rec.state), "ts": 5})]
    assert traces(scrub(restored, "c9", "alias-1")) == []


def test_scrub_keeps_other_people_whole() -> None:
    rec, *_ = meeting()
    scrubbed = scrub(rec.entries, BOB.id, "alias-2")
    assert len(traces(scrubbed)) == len(traces(rec.entries))  # Alice's data untouched


def test_rewritten_history_has_fresh_frames_under_the_new_epoch() -> None:
    rec, *_ = meeting()
    state = new_session("s1")
    state.epoch = "fresh"
    batches = fold_into_batches(state, scrub(rec.entries, ALICE.id, "alias-1"),
                                lambda c, e, o: position_sig(b"k" * 32, "s1", c, e, o))
    assert [b.offset for b in batches] == list(range(1, len(batches) + 1))
    frames = [ev.frame for b in batches for ev in b.events]
    assert frames and all(b'"epoch":"fresh"' in f and b'"sig":' in f for f in frames)
    assert traces(b"".join(frames)) == []
    assert not any(ev.channel == f"private:{ALICE.id}" for b in batches for ev in b.events)


def test_person_data_holds_everything_with_times() -> None:
    rec, heard, bobs, waiting = meeting()
    data = person_data(rec.state, rec.entries, ALICE.id)
    assert data["identity"]["name"] == NAME
    assert data["identity"]["profile"] == {"stakeholder": "academia", "country": "KE",
                                           "gender": "woman"}
    assert data["names"][0]["name"] == NAME and data["names"][0]["ts"] > 0
    assert {i["id"] for i in data["items"]} == {heard, waiting}
    assert any(i["text"] == QUESTION for i in data["items"])
    assert data["votes"] == [{"item": bobs, "voted": True, "ts": data["votes"][0]["ts"]}]
    assert data["voting_for"] == [bobs]
    assert [n["text"] for n in data["notes"]] == [NOTE]
    assert data["banned"] is None
    assert traces(person_data(rec.state, rec.entries, BOB.id)["items"]) == []


@pytest.mark.parametrize(("closed", "age_days", "days", "expired"), [
    (True, 366, 365, True),
    (True, 364, 365, False),
    (False, 1000, 365, False),  # open or scheduled sessions are never deleted by age
    (True, 1000, 0, False),  # 0: kept forever
])
def test_retention_expired(closed: bool, age_days: float, days: float, expired: bool) -> None:
    now = 2_000_000_000_000
    assert retention_expired(closed, now - int(age_days * 86_400_000), now, days) is expired


# -- over a real server ------------------------------------------------------------------


async def _hub(request: pytest.FixtureRequest, hub_factory: HubFactory,
               **config: Any) -> RunningHub:
    if request.param == "redis":
        config.update(redis_url=request.getfixturevalue("redis_url"),
                      redis_prefix=request.getfixturevalue("redis_prefix"))
    return await hub_factory(**config)


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def any_hub(request: pytest.FixtureRequest, hub_factory: HubFactory) -> RunningHub:
    return await _hub(request, hub_factory)




async def person_meeting(hub: RunningHub) -> dict[str, Any]:
    created = await hub.session(title="Erasure workshop")
    mod = hub.client(created, "moderator", name="Moderator")
    alice = hub.client(created, "participant", name=NAME,
                       profile={"stakeholder": "academia", "country": "KE"})
    bob = hub.client(created, "participant", name="Bob")
    cap = hub.client(created, "captioner", name="Captioner")
    for client in (mod, alice, bob, cap):
        await client.connect()
    heard = (await alice.ok({"type": "ask", "kind": "question", "text": QUESTION,
                             "key": "a1"}))["item"]
    bobs = (await bob.ok({"type": "ask", "kind": "question", "text": "Bob's own point",
                          "key": "b1"}))["item"]
    for item in (heard, bobs):
        await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    await alice.ok({"type": "vote", "item": bobs})
    await bob.ok({"type": "vote", "item": heard})
    await mod.ok({"type": "note", "to": alice.welcome["you"]["id"], "text": NOTE})
    await mod.ok({"type": "moderate", "item": heard, "action": "live"})
    await cap.ok({"type": "caption", "text": "Thanks for the budget question", "seq": 1})
    await mod.ok({"type": "moderate", "item": heard, "action": "done"})
    waiting = (await alice.ok({"type": "ask", "kind": "comment", "text": OPEN_ITEM,
                               "key": "a2"}))["item"]
    await alice.wait_for(lambda c: c.kinds("note"))
    return {"created": created, "mod": mod, "alice": alice, "bob": bob, "cap": cap,
            "heard": heard, "bobs": bobs, "waiting": waiting,
            "id": created["id"], "alice_id": alice.welcome["you"]["id"]}


async def test_export_then_erase_a_person(any_hub: RunningHub) -> None:
    hub = any_hub
    m = await person_meeting(hub)
    sid, who = m["id"], m["alice_id"]
    url = f"{hub.base}/api/sessions/{sid}"
    try:
        # The organizer's export, and the person's own with their personal token.
        status, export, headers = await ahttp("GET", f"{url}/people/{who}", token=ADMIN_KEY)
        assert status == 200, export
        assert "attachment" in headers["Content-Disposition"]
        assert export["identity"]["name"] == NAME
        assert export["identity"]["profile"] == {"stakeholder": "academia", "country": "KE"}
        assert {i["text"] for i in export["items"]} == {QUESTION, OPEN_ITEM}
        assert [v["item"] for v in export["votes"]] == [m["bobs"]]
        assert [n["text"] for n in export["notes"]] == [NOTE]
        assert all(n["ts"] > 0 for n in export["notes"]) and export["votes"][0]["ts"] > 0
        status, mine, _ = await ahttp("GET", f"{url}/me", token=m["alice"].token)
        assert status == 200 and mine == export
        assert traces(await stored_bytes(hub, sid))  # the data is stored to begin with

        status, answer, _ = await ahttp("DELETE", f"{url}/people/{who}", token=ADMIN_KEY)
        assert status == 200, answer
        assert answer["erased"] is True and answer["items"] == 2

        # Her connection is closed for good; her token is refused everywhere.
        await asyncio.wait_for(m["alice"].closed.wait(), 10)
        assert m["alice"].close_code == 4503
        again = Client(hub.ws_base, sid, m["alice"].token)
        with pytest.raises(RuntimeError, match="erased"):
            await again.connect()
        status, body, _ = await ahttp("GET", f"{url}/me", token=m["alice"].token)
        assert status == 403 and body["error"]["reason"] == "erased"
        status, body, _ = await ahttp("GET", f"{hub.base}/sse/{sid}?token={m['alice'].token}")
        assert status == 403 and body["error"]["reason"] == "erased"
        status, body, _ = await ahttp("GET", f"{url}/people/{who}", token=ADMIN_KEY)
        assert status == 404

        # Fresh readers, the transcript, the report, the moderation view: nothing of her.
        carol = hub.client(m["created"], "participant", name="Carol")
        mod2 = hub.client(m["created"], "moderator", name="Moderator two")
        for fresh in (carol, mod2):
            welcome = await fresh.connect()
            assert traces(welcome) == [], welcome
        items = {i["id"]: i for i in mod2.welcome["snapshot"]["items"]}
        assert items[m["heard"]]["status"] == "done" and items[m["heard"]]["votes"] == 1
        assert items[m["waiting"]]["status"] == "withdrawn"
        assert items[m["bobs"]]["text"] == "Bob's own point" and items[m["bobs"]]["votes"] == 1
        for path in ("transcript", "transcript?format=json", "report", "report?format=json",
                     "report?format=csv", "stats", "floor", ""):
            status, body, _ = await ahttp("GET", f"{url}/{path}".rstrip("/"), token=ADMIN_KEY)
            assert status == 200, (path, body)
            text = body if isinstance(body, str) else json.dumps(body)
            assert traces(text.encode()) == [], path
        status, transcript, _ = await ahttp("GET", f"{url}/transcript", token=ADMIN_KEY)
        assert "Thanks for the budget question" in transcript

        # The raw storage: SQLite file bytes after the VACUUM, or every Redis stream.
        assert traces(await stored_bytes(hub, sid)) == []

        # The others and the session go on: Bob resumes and asks, Carol votes.
        bob = m["bob"]
        await asyncio.wait_for(bob.closed.wait(), 10)  # told to resume: history reset
        await bob.connect(resume=True)
        assert traces(bob.welcome) == []
        new = (await bob.ok({"type": "ask", "kind": "question", "text": "Next one",
                             "key": "b2"}))["item"]
        await m["mod"].connect()
        await m["mod"].ok({"type": "moderate", "item": new, "action": "approve"})
        await carol.ok({"type": "vote", "item": new})
    finally:
        for client in (m["mod"], m["alice"], m["bob"], m["cap"]):
            await client.close()


async def test_erasure_refusals(hub: RunningHub) -> None:
    m = await person_meeting(hub)
    url = f"{hub.base}/api/sessions/{m['id']}"
    try:
        for token in (m["mod"].token, m["bob"].token, m["alice"].token):
            status, body, _ = await ahttp("DELETE", f"{url}/people/{m['alice_id']}",
                                          token=token)
            assert status == 403, body  # only the organizer erases
            status, body, _ = await ahttp("GET", f"{url}/people/{m['alice_id']}", token=token)
            assert status == 403, body  # and only the organizer exports someone else
        status, body, _ = await ahttp("DELETE", f"{url}/people/nobody-here", token=ADMIN_KEY)
        assert status == 404 and body["error"]["code"] == "not_found"
        status, body, _ = await ahttp("DELETE", f"{url}/people/organizer", token=ADMIN_KEY)
        assert status in (400, 404), body
        join_link = m["created"]["tokens"]["participant"]
        status, body, _ = await ahttp("GET", f"{url}/me", token=join_link)
        assert status == 400 and "personal token" in body["error"]["message"]
        status, body, _ = await ahttp("GET", f"{url}/me")
        assert status == 401
        status, _, _ = await ahttp("GET", f"{url}/me", token=m["bob"].token)
        assert status == 200  # nothing was erased by the refusals
        assert traces(await stored_bytes(hub, m["id"]))
    finally:
        for client in (m["mod"], m["alice"], m["bob"], m["cap"]):
            await client.close()


async def test_session_delete_erases_the_sqlite_file(hub: RunningHub) -> None:
    m = await person_meeting(hub)
    for client in (m["mod"], m["alice"], m["bob"], m["cap"]):
        await client.close()
    assert traces(await stored_bytes(hub, m["id"]))
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{m['id']}", token=ADMIN_KEY)
    assert status == 200
    assert traces(await stored_bytes(hub, m["id"])) == []


@pytest.mark.redis
@pytest.mark.parametrize("closed", [False, True], ids=["live", "archived"])
async def test_erasure_reaches_every_instance_and_the_archive(
    hub_factory: HubFactory, redis_url: str, redis_prefix: str, closed: bool
) -> None:
    """Two instances on one Redis: readers of the other instance are reloaded (the
    person's closed for good); a closed (archived) session's archive file is rewritten."""
    first = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix)
    # Instances that share a Redis share the data folder, where archives live.
    second = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix,
                               data=str(first.data))
    m = await person_meeting(first)
    sid = m["id"]
    there = Client(second.ws_base, sid, m["alice"].token)
    watcher = Client(second.ws_base, sid, m["created"]["tokens"]["moderator"], name="Watcher")
    await there.connect()
    await watcher.connect()
    assert traces(watcher.welcome)
    archive = first.data / "archive" / f"{sid}.jsonl"
    try:
        if closed:
            status, _, _ = await ahttp("PATCH", f"{first.base}/api/sessions/{sid}",
                                       {"state": "closed"}, token=ADMIN_KEY)
            assert status == 200
            for _ in range(200):  # the archive is written in the background
                if archive.exists():
                    break
                await asyncio.sleep(0.05)
            assert traces(archive.read_bytes())
        status, body, _ = await ahttp("DELETE", f"{first.base}/api/sessions/{sid}/people/"
                                      f"{m['alice_id']}", token=ADMIN_KEY)
        assert status == 200, body
        await asyncio.wait_for(there.closed.wait(), 10)
        assert there.close_code == 4503
        await asyncio.wait_for(watcher.closed.wait(), 10)
        welcome = await watcher.connect(resume=True)
        assert traces(welcome) == []
        assert archive.exists() is closed
        assert traces(await stored_bytes(first, sid)) == []
        status, report, _ = await ahttp("GET", f"{second.base}/api/sessions/{sid}/report",
                                        token=ADMIN_KEY)
        assert status == 200 and traces(report.encode()) == []
    finally:
        for client in (m["mod"], m["alice"], m["bob"], m["cap"], there, watcher):
            await client.close()


# -- the retention period ----------------------------------------------------------------


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def kept_hub(request: pytest.FixtureRequest, hub_factory: HubFactory) -> RunningHub:
    return await _hub(request, hub_factory, retention_days=0)


async def test_retention_sweep_deletes_only_closed_sessions_past_the_period(
    kept_hub: RunningHub,
) -> None:
    hub = kept_hub
    closed = await hub.session(title=f"Closed {NAME}")
    live = await hub.session(title="Still live")
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{closed['id']}",
                               {"state": "closed"}, token=ADMIN_KEY)
    assert status == 200
    event_log, sessions = hub.app[keys.LOG], hub.app[keys.SESSIONS]
    head = await event_log.head(closed["id"])
    assert head is not None
    last_ts = (await event_log.batches(closed["id"], head.offset - 1, 1))[0].ts
    day = 86_400_000
    assert await retention.sweep(event_log, sessions, days=30, now=last_ts + 29 * day) == []
    assert await retention.sweep(event_log, sessions, days=30, now=last_ts + 31 * day) == [
        closed["id"]]
    # Idempotent: a second sweep (another instance's) finds nothing more to do.
    assert await retention.sweep(event_log, sessions, days=30, now=last_ts + 31 * day) == []
    status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{closed['id']}",
                               token=ADMIN_KEY)
    assert status == 404
    status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{live['id']}", token=ADMIN_KEY)
    assert status == 200
    assert b"Zorbafrique" not in await stored_bytes(hub, closed["id"])


async def test_the_retention_task_runs_in_the_server(hub_factory: HubFactory,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """With a period of a few milliseconds and a short sweep interval, the server's own
    task deletes a closed session (and logs it) and leaves a live one."""
    hub = await hub_factory(retention_days=1e-7, retention_sweep=0.05)
    closed = await hub.session(title="Old meeting")
    live = await hub.session(title="Today")
    await ahttp("PATCH", f"{hub.base}/api/sessions/{closed['id']}", {"state": "closed"},
                token=ADMIN_KEY)
    caplog.set_level("INFO", logger="hub.retention")
    for _ in range(400):
        if closed["id"] not in await hub.app[keys.LOG].sessions():
            break
        await asyncio.sleep(0.05)
    assert closed["id"] not in await hub.app[keys.LOG].sessions()
    assert live["id"] in await hub.app[keys.LOG].sessions()
    assert any(closed["id"] in r.getMessage() for r in caplog.records)


def test_retention_settings_from_the_environment() -> None:
    from hub.config import Config

    assert Config().retention_days == 365
    assert Config.from_env({"HUB_RETENTION_DAYS": "0"}).retention_days == 0
    assert Config.from_env({"HUB_RETENTION_DAYS": "30"}).retention_days == 30
