"""Facts have types: every kind is declared once (hub.domain.facts), each session kind is
folded and projected through one table (hub.domain.fact_kinds), each event kind folded
through one (hub.domain.forum.FOLDS); a kind this version does not know is a clear
error wherever facts are folded, and a hub meeting one stops following that session or
event instead of crashing or skipping it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.domain import commands, relay, voice
from hub.domain import forum as forum_domain
from hub.domain.commands import Actor, Decision
from hub.domain.fact_kinds import KINDS, apply, project
from hub.domain.facts import FORUM_SHAPES, SESSION_SHAPES, UnknownFact
from hub.domain.programme import Organizer, ProgrammeRow
from hub.domain.session import SessionState, new_session
from hub.domain.snapshot import dump_state
from hub.errors import UNAVAILABLE, HubError
from hub.forums import Forums
from hub.log import Batch
from hub.log.embedded import EmbeddedLog, new_epoch_id
from hub.metrics import Metrics
from hub.session import Session, Sessions
from hub.session_digest import SessionDigests
from tests.support.harness import ahttp
from tests.support.inprocess import RunningHub

MOD = Actor("m1", "moderator", "Moderator")
ORG = Actor("organizer", "organizer", "Organizer")
ALICE = Actor("p1", "participant", "Alice")
BOB = Actor("p2", "participant", "Bob")
CARLA = Actor("p3", "participant", "Carla")
NAIROBI = Actor("h1", "hub", "Nairobi")
AMINA = Actor("a1", "participant", "Amina")  # in Nairobi's room
CAPTIONER = Actor("c1", "captioner", "Captioner")
DESK = Actor("d1", "desk", "Audio desk")
RELAY_KINDS = {"mirror", "relay_resync", "relay_link", "relay_sent"}
NEWER = "poll"  # a kind no version of the hub writes yet
NEWER_MESSAGE = r"fact kind 'poll' .*is unknown to this version; written by a newer hub\?"


def shape_problems(facts: Iterable[Mapping[str, Any]], shapes: Mapping[str, type]) -> list[str]:
    """What in `facts` its declared kind does not say: an unknown kind, a required key
    missing, a key the kind does not declare."""
    problems = []
    for fact in facts:
        shape = shapes.get(fact["kind"])
        if shape is None:
            problems.append(f"{fact['kind']}: not declared")
            continue
        required, optional = shape.__required_keys__, shape.__optional_keys__
        missing, extra = required - set(fact), set(fact) - required - optional
        if missing or extra:
            problems.append(f"{fact['kind']}: missing {sorted(missing)}, "
                            f"undeclared {sorted(extra)}")
    return problems


# -- the table ----------------------------------------------------------------------


def test_every_declared_session_kind_has_a_fold_and_a_projection_in_the_one_table() -> None:
    assert set(KINDS) == set(SESSION_SHAPES)
    assert RELAY_KINDS <= set(KINDS)  # a relay's kinds are rows, not what is left over
    for handlers in KINDS.values():
        assert callable(handlers.fold) and callable(handlers.project)


def test_every_declared_event_kind_has_a_fold() -> None:
    assert set(forum_domain.FOLDS) == set(FORUM_SHAPES)
    assert all(callable(fold) for fold in forum_domain.FOLDS.values())


def test_the_declared_keys_are_the_optional_ones_at_run_time_too() -> None:
    items = SESSION_SHAPES["items"]
    assert {"kind", "action", "by", "by_name", "items"} == items.__required_keys__
    assert "order" in items.__optional_keys__
    assert SESSION_SHAPES["note"].__required_keys__ >= {"from", "to"}


# -- what a scripted meeting stores -------------------------------------------------


async def _meeting(session: Session) -> None:
    """Every command a meeting sees, through a real session on the embedded log."""
    async def run(decide: Any) -> dict[str, Any]:
        return await session.execute(decide)

    for actor, hub in ((MOD, None), (ALICE, None), (BOB, None), (CARLA, None),
                       (NAIROBI, None), (AMINA, NAIROBI.id), (CAPTIONER, None), (DESK, None)):
        await run(lambda st, a=actor, h=hub: commands.join(
            st, a.id, a.role, a.name, None, False, 1100, hub=h))
    await run(lambda st: commands.change_session(st, ORG, new_state="live", now=1200))
    await run(lambda st: commands.change_session(
        st, ORG, settings={"speaking_time": 120}, title="Data governance", now=1300))
    first = (await run(lambda st: commands.ask(
        st, ALICE, kind="question", text="Who owns the data?", key="k1", lang=None,
        anonymous=False, on_behalf=None, now=2000)))["item"]
    second = (await run(lambda st: commands.ask(
        st, BOB, kind="comment", text="Communities do.", key="k2", lang=None,
        anonymous=False, on_behalf=None, now=2100)))["item"]
    third = (await run(lambda st: commands.ask(
        st, CARLA, kind="question", text="And the hubs?", key="k3", lang=None,
        anonymous=True, on_behalf=None, now=2200)))["item"]
    fourth = (await run(lambda st: commands.ask(
        st, CARLA, kind="question", text="Off topic", key="k4", lang=None,
        anonymous=False, on_behalf=None, now=2300)))["item"]
    fifth = (await run(lambda st: commands.ask(
        st, BOB, kind="question", text="Taken back", key="k5", lang=None,
        anonymous=False, on_behalf=None, now=2400)))["item"]
    await run(lambda st: commands.moderate(st, MOD, third, "edit", text="And the hubs' say?",
                                           now=2450))
    for item in (first, second, third):
        await run(lambda st, i=item: commands.moderate(st, MOD, i, "approve", now=2500))
    await run(lambda st: commands.moderate(st, MOD, fourth, "reject", text="off topic",
                                           now=2600))
    await run(lambda st: commands.withdraw(st, BOB, fifth))
    await run(lambda st: commands.vote(st, BOB, first, False, now=2700))
    await run(lambda st: commands.vote(st, BOB, first, True, now=2710))
    await run(lambda st: commands.vote(st, CARLA, first, False, now=2720))
    await run(lambda st: commands.moderate(st, MOD, second, "move", before=first, now=2800))
    await run(lambda st: commands.moderate(st, MOD, third, "merge", into=first, now=2850))
    await run(lambda st: commands.hub_status(st, NAIROBI, attendees=30, now=2900))
    await run(lambda st: commands.hub_status(st, NAIROBI, connected=True, now=2910))
    local = (await run(lambda st: commands.ask(
        st, AMINA, kind="question", text="From Nairobi", key="k6", lang=None,
        anonymous=False, on_behalf=None, now=2950)))["item"]
    kept = (await run(lambda st: commands.ask(
        st, AMINA, kind="comment", text="Stays here", key="k7", lang=None,
        anonymous=False, on_behalf=None, now=2960)))["item"]
    await run(lambda st: commands.forward(st, NAIROBI, local, 12, now=2970))
    await run(lambda st: commands.decline(st, NAIROBI, kept, "answered in the room"))
    await run(lambda st: commands.moderate(st, MOD, first, "live", now=3000))
    await run(lambda st: voice.grant(st, ALICE, "speak", False, 3100))
    await run(lambda st: voice.control(st, MOD, "mute", 3200))
    await run(lambda st: voice.grant(st, DESK, "desk", False, 3250))
    await run(lambda st: voice.control(st, MOD, "cut", 3300))
    await run(lambda st: commands.caption(st, CAPTIONER, lines=["Data is a commons."],
                                          lang="en", final=True, seq=1, now=3400))
    await run(lambda st: commands.caption(st, CAPTIONER, lines=["Partial"], lang=None,
                                          final=False, seq=None, now=3450))
    flagged = (await run(lambda st: commands.flag(
        st, MOD, kind="takeaway", text="Data is a commons", item=first, caption=1,
        flag_id=None, delete=False, now=3500)))["id"]
    await run(lambda st: commands.flag(st, MOD, kind=None, text=None, item=None, caption=None,
                                       flag_id=flagged, delete=True, now=3510))
    await run(lambda st: commands.flag(st, MOD, kind="call_to_action", text="Fund hubs",
                                       item=None, caption=None, flag_id=None, delete=False,
                                       now=3520))
    await run(lambda st: commands.moderate(st, MOD, first, "done", now=3600))
    await run(lambda st: commands.note(st, MOD, ALICE.id, "Thank you", now=3700))
    await run(lambda st: commands.floor(st, ORG, ordering="arrival", weights={},
                                        budgets={"government": 600}))
    await run(lambda st: commands.ban(st, MOD, CARLA.id, "spam", False))
    await run(lambda st: commands.ban(st, MOD, CARLA.id, None, True))
    await run(lambda st: commands.name_token(st, ORG, identity="m2", role="moderator",
                                             name="Second moderator", expires=9_999_999_999,
                                             now=3800))
    await run(lambda st: commands.rotate(st, ORG, "participant"))
    await session.erase(BOB.id)


def _relay_facts() -> list[Mapping[str, Any]]:
    """Every kind a hub's relay writes, decided and folded as the relay does."""
    state = new_session("relay-1")
    created = commands.create(title="Nairobi: the meeting", languages=None, state="live",
                              settings=None, now=1000)
    created["relay"] = {"upstream": "https://meeting.example", "hub": NAIROBI.id,
                        "hub_name": NAIROBI.name}
    written: list[Mapping[str, Any]] = [created]
    apply(state, created)

    def run(decision: Decision) -> dict[str, Any]:
        if decision.fact is not None:
            written.append(decision.fact)
            apply(state, decision.fact)
        return decision.result

    for actor in (NAIROBI, AMINA):
        run(commands.join(state, actor.id, actor.role, actor.name, None, False, 1000))
    position = {"epoch": "E1", "offset": 0, "recovered": False}
    run(relay.resync(state, {
        "type": "welcome", "channels": {"public": position, "private": position},
        "session": {"id": "s1", "title": "Main session", "state": "live", "languages": ["en"]},
        "snapshot": {"items": [], "order": [], "captions": {"en": []}, "partial": {},
                     "floor": {"item": None, "speaker": None, "since": None, "limit": None}},
    }, 2000))
    run(relay.link(state, True, 2100))
    run(relay.mirror(state, "public", {"type": "event", "channel": "public", "epoch": "E1",
                                       "offset": 1, "kind": "caption", "ts": 2200,
                                       "data": {"text": "Welcome", "lang": "en"}}))
    asked = run(commands.ask(state, AMINA, kind="question", text="From the room", key="r1",
                             lang=None, anonymous=False, on_behalf=None, now=2300))["item"]
    run(commands.forward(state, NAIROBI, asked, 4, now=2400))
    run(relay.sent(state, {"op": "ask", "item": asked}, "u1"))
    restored = {"kind": "restored", "state": dump_state(state), "ts": 2500}
    written.append(restored)
    apply(new_session("relay-1"), restored)
    return written


async def _embedded(tmp_path: Path) -> tuple[EmbeddedLog, Sessions]:
    log = EmbeddedLog(str(tmp_path / "data"))
    await log.start()
    return log, Sessions(log, Metrics(), b"k" * 32)


async def test_every_fact_a_scripted_meeting_stores_is_of_a_declared_kind_and_shape(
    tmp_path: Path,
) -> None:
    log, sessions = await _embedded(tmp_path)
    try:
        fact = commands.create(title="Workshop", languages=["en", "fr"], state="scheduled",
                               settings=None, now=1000)
        session = await sessions.create("facts-1", fact, new_epoch_id())
        assert session is not None
        await _meeting(session)
        stored = [b.fact for b in await log.batches("facts-1", 0, 1000)]
    finally:
        await sessions.close()
        await log.close()
    written = stored + _relay_facts()
    assert shape_problems(written, SESSION_SHAPES) == []
    # The scenario writes every kind (so the check above covers each declared shape).
    assert {f["kind"] for f in written} == set(SESSION_SHAPES)


def _rows() -> list[ProgrammeRow]:
    day = 1_780_000_000_000 - 1_780_000_000_000 % 86_400_000 + 9 * 3_600_000
    return [ProgrammeRow(line=n, external_id=f"WS{n}", title=f"Workshop {n}",
                         start=day + n * 3_600_000, end=day + (n + 1) * 3_600_000,
                         room="Room 1", track="Access", kind="workshop",
                         organizers=(Organizer("Amina Diallo", "amina@example.org"),),
                         languages=("en",)) for n in (1, 2)]


def _event_facts() -> list[Mapping[str, Any]]:
    """Every kind an event's log holds, decided and folded as the hub does."""
    state = forum_domain.new_forum("igf26")
    written: list[Mapping[str, Any]] = []

    def run(fact: Any) -> None:
        if fact is not None:
            written.append(fact)
            forum_domain.apply(state, fact)

    run(forum_domain.create({"title": "IGF", "start": "2026-05-28", "end": "2026-05-29",
                             "timezone": "UTC"}, now=1))
    run(forum_domain.change(state, {"venue": "Kyoto", "languages": ["en", "fr"]}, now=2))
    run(forum_domain.import_programme(state, _rows(), source="csv", by="t", now=3))
    session = state.programme()[0].session
    run(forum_domain.register_hub(state, {"name": "Nairobi hub", "kind": "regional",
                                          "city": "Nairobi", "country": "KE"},
                                  hub_id="hub1", now=4))
    run(forum_domain.replace_hub_link(state, "hub1", now=5))
    run(forum_domain.remove_hub(state, "hub1", now=6))
    body = {"takeaways": ["Data is a commons"], "summary": "A summary"}
    run(forum_domain.save_report(state, session, body, publish=False, closed=True, by="t",
                                 now=7))
    run(forum_domain.save_report(state, session, {}, publish=True, closed=True, by="t", now=8))
    run(forum_domain.withdraw_report(state, session, by="t", now=9))
    run(forum_domain.keep_figures(state, [("gender", "women")], now=10))
    return written


def test_every_fact_an_event_stores_is_of_a_declared_kind_and_shape() -> None:
    written = _event_facts()
    assert shape_problems(written, FORUM_SHAPES) == []
    assert {f["kind"] for f in written} == set(FORUM_SHAPES)


# -- a kind this version does not know ----------------------------------------------


def test_folding_or_projecting_an_unknown_kind_names_it() -> None:
    state: SessionState = new_session("s1")
    unknown: Any = {"kind": NEWER, "ts": 1}
    with pytest.raises(UnknownFact, match=NEWER_MESSAGE) as folded:
        apply(state, unknown)
    assert folded.value.kind == NEWER
    with pytest.raises(UnknownFact, match=NEWER_MESSAGE):
        project(state, unknown)
    with pytest.raises(UnknownFact, match=NEWER_MESSAGE):
        forum_domain.apply(forum_domain.new_forum("igf26"), unknown)


async def _append_unknown(log: EmbeddedLog, key: str) -> None:
    head = await log.head(key)
    assert head is not None
    await log.append(Batch(key, head.offset + 1, head.epoch, 5000, {"kind": NEWER, "ts": 5000},
                           ()))


async def test_loading_a_session_whose_log_holds_an_unknown_kind_is_refused_saying_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    log, sessions = await _embedded(tmp_path)
    try:
        for session_id in ("facts-1", "facts-2"):
            await sessions.start_log(session_id, commands.create(
                title="Workshop", languages=None, state="live", settings=None, now=1000),
                new_epoch_id())
        await _append_unknown(log, "facts-1")
        with caplog.at_level(logging.ERROR, logger="hub.session"):
            with pytest.raises(HubError, match=NEWER_MESSAGE) as refused:
                await sessions.get("facts-1")
        assert refused.value.code == UNAVAILABLE
        assert "facts-1" in refused.value.message
        assert any("stops following" in r.getMessage() for r in caplog.records)
        assert (await sessions.get("facts-2")).state.title == "Workshop"  # the rest go on
    finally:
        await sessions.close()
        await log.close()


async def test_the_figures_refuse_a_session_a_newer_hub_wrote_to_and_the_digest_skips_it(
    tmp_path: Path,
) -> None:
    """The event's figures fold every fact: they say why they cannot; the dashboard's
    digest reads only the `created` and `session` facts, so a newer kind changes nothing
    there."""
    log, sessions = await _embedded(tmp_path)
    digests = SessionDigests(log, sessions)
    try:
        await sessions.start_log("facts-1", commands.create(
            title="Workshop", languages=None, state="live", settings=None, now=1000),
            new_epoch_id())
        await _append_unknown(log, "facts-1")
        digest = (await digests.of(["facts-1"]))["facts-1"]
        assert digest is not None and digest.title == "Workshop" and digest.offset == 2
        with pytest.raises(HubError, match=NEWER_MESSAGE) as refused:
            await digests.states(["facts-1"])
        assert refused.value.code == UNAVAILABLE
    finally:
        await sessions.close()
        await log.close()


async def test_a_session_followed_here_stops_at_an_unknown_kind_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    log, sessions = await _embedded(tmp_path)
    try:
        await sessions.start_log("facts-1", commands.create(
            title="Workshop", languages=None, state="live", settings=None, now=1000),
            new_epoch_id())
        session = await sessions.get("facts-1")
        with caplog.at_level(logging.ERROR, logger="hub.session"):
            await _append_unknown(log, "facts-1")  # the append itself goes through
        assert isinstance(session.stopped, UnknownFact) and session.stopped.kind == NEWER
        assert session not in sessions.held()
        assert any("stops following" in r.getMessage() for r in caplog.records)
        with pytest.raises(HubError, match=NEWER_MESSAGE):
            await sessions.get("facts-1")
    finally:
        await sessions.close()
        await log.close()


async def test_a_hub_serving_a_session_a_newer_hub_wrote_to_tells_its_readers_to_come_back(
    hub: RunningHub,
) -> None:
    created = await hub.session()
    other = await hub.session()
    client = hub.client(created, "participant")
    await client.connect()
    log = hub.app[keys.LOG]
    assert isinstance(log, EmbeddedLog)
    await _append_unknown(log, created["id"])
    await asyncio.wait_for(client.closed.wait(), 10)
    assert client.close_code == 4002  # unavailable: reconnect with backoff
    token = created["tokens"]["moderator"]
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{created['id']}",
                                  token=token)
    assert status == 503 and body["error"]["code"] == UNAVAILABLE
    message = body["error"]["message"]
    assert f"fact kind '{NEWER}'" in message and "newer hub" in message
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{other['id']}",
                                  token=other["tokens"]["moderator"])
    assert status == 200 and body["id"] == other["id"]


async def test_an_event_whose_log_holds_an_unknown_kind_is_refused_saying_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    log, sessions = await _embedded(tmp_path)
    forums = Forums(log, sessions)
    try:
        event = forum_domain.create({"title": "IGF", "start": "2026-05-28", "timezone": "UTC"},
                                    now=1)
        loaded = await forums.create("igf26", event)
        assert loaded is not None
        with caplog.at_level(logging.ERROR, logger="hub.forums"):
            await _append_unknown(log, forum_domain.log_id("igf26"))  # followed: it stops
        assert isinstance(loaded.stopped, UnknownFact)
        assert any("stops following" in r.getMessage() for r in caplog.records)
        with pytest.raises(HubError, match=NEWER_MESSAGE) as refused:
            await forums.get("igf26")
        assert refused.value.code == UNAVAILABLE and "igf26" in refused.value.message
        fresh = Forums(log, sessions)  # another instance loading it from the log
        with pytest.raises(HubError, match=NEWER_MESSAGE):
            await fresh.get("igf26")
        await fresh.close()
    finally:
        await forums.close()
        await sessions.close()
        await log.close()
