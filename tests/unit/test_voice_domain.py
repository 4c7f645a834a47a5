"""The voice rules, pure: who may publish now, the voice facts and the interventions; and
the credentials derived for Janus and TURN."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hub.domain import commands, voice
from hub.domain.commands import Actor
from hub.domain.erasure import LogEntry, scrub
from hub.domain.fact_kinds import apply, project
from hub.domain.session import new_session
from hub.domain.snapshot import dump_state, restore
from hub.errors import HubError
from hub.media import grants
from tests.support.domain_helpers import ALICE, BOB, MOD, NAIROBI, ask, make_session, moderate, run

DESK = Actor("d1", "desk", "Desk")
DESK2 = Actor("d2", "desk", "Desk two")


def session() -> voice.SessionState:  # type: ignore[name-defined]
    state = make_session(premoderation=False)
    for actor in (DESK, DESK2):
        run(state, commands.join(state, actor.id, actor.role, actor.name, None, False, 1000))
    return state


def speak(state: object, actor: Actor, now: int = 5000) -> dict[str, object]:
    return run(state, voice.grant(state, actor, "speak", False, now))  # type: ignore[arg-type]


def refusal(call: object) -> tuple[str, str | None]:
    with pytest.raises(HubError) as err:
        call()  # type: ignore[operator]
    return err.value.code, err.value.extra.get("reason")


def test_only_the_live_remote_author_may_speak() -> None:
    state = session()
    assert voice.speaker_now(state, 3000) is None
    item = ask(state, ALICE, kind="floor", key="f")
    assert refusal(lambda: speak(state, ALICE)) == ("conflict", "not_your_turn")
    moderate(state, item, "live", now=3000)
    assert voice.speaker_now(state, 3000) == ALICE.id
    assert refusal(lambda: speak(state, BOB)) == ("conflict", "not_your_turn")
    assert speak(state, ALICE)["item"] == item
    assert state.voice.since == 5000 and len(state.voice.interventions) == 1
    speak(state, ALICE, 6000)  # again: no new fact, the same intervention
    assert state.voice.since == 5000 and len(state.voice.interventions) == 1
    moderate(state, item, "done", now=9000)
    assert voice.speaker_now(state, 9000) is None
    assert state.voice.interventions[0].end == 9000
    assert refusal(lambda: speak(state, ALICE, 9500)) == ("conflict", "not_your_turn")


def test_room_speakers_and_items_added_for_them_do_not_speak_through_the_hub() -> None:
    state = session()
    run(state, commands.join(state, "r1", "participant", "Rita", None, True, 1000))
    room = ask(state, Actor("r1", "participant", "Rita"), kind="floor", key="r")
    moderate(state, room, "live", now=3000)
    assert state.items[room].origin == "room" and voice.speaker_now(state, 3000) is None
    added = run(state, commands.ask(state, MOD, kind="floor", text="Speaker in the room",
                                    key="m", lang=None, anonymous=False,
                                    on_behalf={"name": "Dr. Li"}, backing=None, now=3000))["item"]
    moderate(state, str(added), "live", now=4000)
    assert voice.speaker_now(state, 4000) is None
    # A moderator may not ask for a speak grant at all.
    assert refusal(lambda: run(state, voice.grant(state, MOD, "speak", False, 4000)))[0] == \
        "forbidden"


def test_a_hub_speaks_for_its_room() -> None:
    state = session()
    item = ask(state, NAIROBI, kind="floor", key="h")
    moderate(state, item, "live", now=3000)
    assert voice.speaker_now(state, 3000) == NAIROBI.id
    speak(state, NAIROBI)
    assert state.voice.interventions[0].origin.startswith("hub:")


def test_speaking_time_ban_erasure_and_close_end_the_microphone() -> None:
    state = session()
    item = ask(state, ALICE, kind="floor", key="f")
    moderate(state, item, "live", now=10_000, seconds=60)
    assert voice.speaker_now(state, 10_000 + 60_000 + voice.GRACE_MS) == ALICE.id
    assert voice.speaker_now(state, 10_001 + 60_000 + voice.GRACE_MS) is None
    speak(state, ALICE, 20_000)
    record = state.voice.interventions[0]
    assert record.ended(200_000) == 10_000 + 60_000 + voice.GRACE_MS  # capped by the limit
    run(state, commands.ban(state, MOD, ALICE.id, None, False))
    assert voice.speaker_now(state, 30_000) is None
    # Closing the session ends the desk and the speaker.
    other = session()
    item = ask(other, BOB, kind="floor", key="b")
    moderate(other, item, "live", now=3000)
    run(other, voice.grant(other, DESK, "desk", False, 3000))
    assert voice.desk_now(other, 3000) == DESK.id
    run(other, commands.change_session(other, MOD, new_state="closed", settings=None))
    assert voice.speaker_now(other, 4000) is None and voice.desk_now(other, 4000) is None


def test_mute_unmute_and_cut() -> None:
    state = session()
    with pytest.raises(HubError):
        voice.control(state, MOD, "mute", 1000)  # nothing live
    item = ask(state, BOB, kind="floor", key="b")
    moderate(state, item, "live", now=3000)
    speak(state, BOB, 4000)
    run(state, voice.control(state, MOD, "mute", 5000))
    assert voice.desired(state, 5000).muted
    assert voice.control(state, MOD, "mute", 5000).fact is None  # already muted
    run(state, voice.control(state, MOD, "unmute", 6000))
    assert not voice.desired(state, 6000).muted
    run(state, voice.control(state, MOD, "cut", 7000))
    assert voice.speaker_now(state, 7000) is None
    assert state.voice.interventions[0].end == 7000
    assert refusal(lambda: speak(state, BOB, 8000)) == ("conflict", "cut")
    # The next turn starts fresh.
    again = ask(state, BOB, kind="floor", key="b2")
    moderate(state, again, "live", now=9000)
    assert not voice.turn_voice(state).cut and speak(state, BOB, 9500)
    with pytest.raises(HubError):
        voice.control(state, MOD, "loud", 1)


def test_the_desk_cuts_only_while_it_holds_the_desk() -> None:
    state = session()
    item = ask(state, BOB, kind="floor", key="b")
    moderate(state, item, "live", now=3000)
    speak(state, BOB, 4000)
    # Not holding the desk: refused, whatever the state of the floor.
    assert refusal(lambda: voice.control(state, DESK, "cut", 4500)) == ("conflict", "not_desk")
    run(state, voice.grant(state, DESK, "desk", False, 4600))
    # Holding it: never mute, unmute (restore) — those are the moderators'.
    for action in ("mute", "unmute"):
        assert refusal(lambda a=action: voice.control(state, DESK, a, 4700))[0] == "forbidden"
    # Another desk that does not hold it is refused too.
    assert refusal(lambda: voice.control(state, DESK2, "cut", 4800)) == ("conflict", "not_desk")
    decision = voice.control(state, DESK, "cut", 5000)
    assert decision.fact is not None
    assert decision.fact["by"] == DESK.id and decision.fact["by_role"] == "desk"
    run(state, decision)
    assert voice.speaker_now(state, 5000) is None and state.voice.interventions[0].end == 5000
    assert refusal(lambda: speak(state, BOB, 6000)) == ("conflict", "cut")
    data = voice.voice_data(state)
    assert data["cut"] is True and data["cut_by"] == "desk"
    assert voice.control(state, DESK, "cut", 6000).fact is None  # cut already: nothing new
    # A desk taken over may not cut any more.
    run(state, voice.grant(state, DESK2, "desk", True, 7000))
    again = ask(state, BOB, kind="floor", key="b2")
    moderate(state, again, "live", now=8000)
    assert voice.voice_data(state)["cut_by"] is None  # a new turn
    assert refusal(lambda: voice.control(state, DESK, "cut", 8500)) == ("conflict", "not_desk")
    run(state, voice.control(state, MOD, "cut", 9000))
    assert voice.voice_data(state)["cut_by"] == "moderator"


def test_a_cut_fact_from_before_desk_cuts_reads_as_the_moderators() -> None:
    state = session()
    item = ask(state, BOB, kind="floor", key="b")
    moderate(state, item, "live", now=3000)
    fact = voice.control(state, MOD, "cut", 4000).fact
    assert fact is not None
    del fact["by_role"]
    apply(state, fact)
    assert voice.voice_data(state)["cut_by"] == "moderator"


def test_one_desk_a_takeover_only_when_asked() -> None:
    state = session()
    run(state, voice.grant(state, DESK, "desk", False, 1000))
    assert voice.desk_now(state, 1000) == DESK.id and state.voice.desk_gen == 1
    assert voice.grant(state, DESK, "desk", False, 2000).fact is None  # the same desk again
    assert refusal(lambda: voice.grant(state, DESK2, "desk", False, 2000)) == \
        ("conflict", "desk_active")
    fact = voice.grant(state, DESK2, "desk", True, 3000).fact
    assert fact is not None and fact["took_over"] == DESK.id
    apply(state, fact)
    assert voice.desk_now(state, 3000) == DESK2.id and state.voice.desk_gen == 2
    assert voice.desk_now(state, 3000 + voice.DESK_GRANT_MS + 1) is None  # a grant ends
    assert refusal(lambda: voice.grant(state, ALICE, "desk", False, 1))[0] == "forbidden"
    assert refusal(lambda: voice.grant(state, ALICE, "loud", False, 1))[0] == "bad_request"


def test_voice_events_and_snapshots() -> None:
    state = session()
    item = ask(state, ALICE, kind="floor", key="f", anonymous=True)
    decision = commands.moderate(state, MOD, item, "live", now=3000)
    events = project(state, decision.fact or {})
    voices = [e for e in events if e[1] == "voice"]
    assert [c for c, _, _ in voices] == ["public", "moderation"]
    assert voices[0][2]["item"] == item and voices[0][2]["speaker"] is None  # anonymous
    assert "speaker_id" not in voices[0][2] and voices[1][2]["speaker_id"] == ALICE.id
    apply(state, decision.fact or {})
    fact = voice.grant(state, ALICE, "speak", False, 4000).fact
    assert fact is not None
    events = project(state, fact)
    assert events[0][2]["since"] == 4000
    # A whole state put back (the store lost it) keeps the voice facts.
    apply(state, fact)
    copy = new_session("s1")
    restore(copy, {"state": dump_state(state)})
    assert copy.voice == state.voice


def test_erasure_keeps_the_intervention_without_the_person() -> None:
    state = session()
    item = ask(state, ALICE, kind="floor", key="f")
    facts = [commands.moderate(state, MOD, item, "live", now=3000).fact]
    apply(state, facts[0] or {})
    facts.append(voice.grant(state, ALICE, "speak", False, 4000).fact)
    cleaned = scrub([LogEntry(1, f) for f in facts if f], ALICE.id, "alias1")
    assert all(ALICE.id not in str(entry.fact) for entry in cleaned)


def test_credentials_are_derived_and_decodable() -> None:
    key = grants.media_key("s" * 40)
    room = grants.room_id(key, "sess1")
    assert 0 < room < 2**48 and room == grants.room_id(key, "sess1")
    assert room != grants.room_id(key, "sess2")
    assert room != grants.room_id(grants.media_key("t" * 40), "sess1")
    token = grants.token(key, "sess1", "p1", grants.SPEAK, 7, 1_800_000_000)
    info = grants.parse_token(token)
    assert info == grants.TokenInfo(room, "s", 7, 1_800_000_000)
    assert token != grants.token(key, "sess1", "p2", grants.SPEAK, 7, 1_800_000_000)
    assert grants.parse_token("hv1.hub.x") is None and grants.parse_token("other") is None
    pid = grants.participant_id(key, "sess1", "p1", grants.DESK, 3)
    assert grants.parse_participant(pid) == (grants.DESK, 3) and pid < 2**53
    spid = grants.participant_id(key, "sess1", "p1", grants.SPEAK, 12)
    assert grants.parse_participant(spid) == (grants.SPEAK, 12)


def test_turn_credentials_follow_coturn_use_auth_secret() -> None:
    username, credential = grants.turn_credentials("north-wind", "p1", 1_800_000_000)
    assert username == "1800000000:p1"
    expected = base64.b64encode(hmac.new(b"north-wind", b"1800000000:p1",
                                         hashlib.sha1).digest()).decode()
    assert credential == expected
    servers = grants.ice_servers(["stun:stun.example.org:3478", "turn:turn.example.org:3478",
                                  "turns:turn.example.org:5349"], "north-wind", "p1",
                                 1_799_000_000, 1_000_000)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    assert servers[1]["urls"] == ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
    assert servers[1]["username"] == "1800000000:p1" and servers[1]["credential"] == expected
    assert grants.ice_servers([], None, "p1", 0, 60) == []


def test_a_ban_or_closing_tells_everyone_the_microphone_closed() -> None:
    state = session()
    item = ask(state, ALICE, kind="floor", key="f")
    moderate(state, item, "live", now=3000)
    run(state, voice.grant(state, DESK, "desk", False, 3000))
    ban = commands.ban(state, MOD, ALICE.id, None, False).fact or {}
    events = [e for e in project(state, ban) if e[1] == "voice"]
    assert events and events[0][2]["item"] is None and events[0][2]["desk"] is True
    apply(state, ban)
    close = commands.change_session(state, MOD, new_state="closed", settings=None).fact or {}
    events = [e for e in project(state, close) if e[1] == "voice"]
    assert events and events[0][2]["desk"] is False
    # A ban of someone else, with nothing of voice changing: no voice event.
    other = session()
    fact = commands.ban(other, MOD, BOB.id, None, False).fact or {}
    assert not [e for e in project(other, fact) if e[1] == "voice"]


def test_a_closed_session_grants_nothing() -> None:
    state = session()
    run(state, commands.change_session(state, MOD, new_state="closed", settings=None))
    for actor, want in ((ALICE, "listen"), (DESK, "desk"), (ALICE, "speak")):
        assert refusal(lambda a=actor, w=want: voice.grant(state, a, w, False, 1)) == (
            "conflict", "closed")


def test_talking_is_on_at_once_off_after_a_hold_and_coarse() -> None:
    Talking, nxt = voice.Talking, voice.talking_next
    hold = voice.TALK_HOLD_MS
    # Nobody on air: nothing, whatever Janus says.
    assert nxt(Talking(), None, True, 10, 1000) == Talking()
    on = nxt(Talking(), "i1", True, 10, 1000)
    assert on.shown() == ("i1", True, 3) and on.heard_at == 1000
    # A pause shorter than the hold: still talking (no flip, no announcement).
    pause = nxt(on, "i1", False, 127, 1000 + hold - 1)
    assert pause.talking and pause.level >= 1
    off = nxt(pause, "i1", False, 127, 1000 + hold)
    assert not off.talking
    # The level is a peak over the latest readings, at most 1 while not talking.
    assert off.level <= 1
    quiet = off
    for t in range(3):
        quiet = nxt(quiet, "i1", False, 127, 5000 + t)
    assert quiet.shown() == ("i1", False, 0)
    assert nxt(quiet, "i1", False, 30, 6000).shown() == ("i1", False, 1)
    # Talking, the level follows the loudest recent reading, at least 1.
    loud = nxt(quiet, "i1", True, 20, 7000)
    assert loud.level == 3
    assert nxt(loud, "i1", True, None, 7250).level == 3  # still in the peak window
    assert nxt(nxt(nxt(loud, "i1", True, None, 7250), "i1", True, None, 7500), "i1", True,
               None, 7750).level == 1  # talking with no reading: at least 1
    # Another item: afresh (the previous speaker's hold does not carry over).
    assert nxt(on, "i2", False, None, 1001).shown() == ("i2", False, 0)
    assert [voice.level_bucket(d) for d in (None, 127, 60, 45, 30, 10)] == [0, 0, 0, 1, 2, 3]
    assert on.frame() == {"type": "talking", "item": "i1", "talking": True, "level": 3}


def test_on_air_is_the_speaker_who_took_their_grant() -> None:
    state = session()
    item = ask(state, BOB, kind="floor", key="b")
    moderate(state, item, "live", now=3000)
    assert voice.on_air(state, 3500) is None  # live, microphone not on yet
    speak(state, BOB, 4000)
    assert voice.on_air(state, 4500) == item
    run(state, voice.control(state, MOD, "cut", 5000))
    assert voice.on_air(state, 5500) is None
