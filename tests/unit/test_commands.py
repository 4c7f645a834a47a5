"""The item lifecycle, votes, captions and session changes, decided and folded purely."""

from __future__ import annotations

import pytest

from hub.domain import commands, fact_kinds, views
from hub.domain.commands import Actor
from hub.domain.fact_kinds import apply
from hub.domain.items import STATUSES, TRANSITIONS
from hub.errors import HubError
from tests.support.domain_helpers import (
    ALICE,
    BOB,
    CAPTIONER,
    MOD,
    NAIROBI,
    ask,
    make_session,
    moderate,
    run,
)


def test_ask_is_pending_under_premoderation_and_idempotent_on_key() -> None:
    state = make_session()
    first = ask(state, text="What about access?", key="q1")
    again = run(state, commands.ask(state, ALICE, kind="question", text="other text", key="q1",
                                    lang=None, anonymous=False, on_behalf=None, now=3000))
    assert again == {"item": first, "duplicate": True}
    assert len(state.items) == 1
    assert state.items[first].status == "pending"
    assert state.items[first].origin == "remote"
    assert state.order == []


def test_same_key_from_another_identity_is_another_item() -> None:
    state = make_session()
    assert ask(state, ALICE, key="k") != ask(state, BOB, key="k")


def test_without_premoderation_items_are_approved_and_queued() -> None:
    state = make_session(premoderation=False)
    item = ask(state)
    assert state.items[item].status == "approved"
    assert state.order == [item]


def test_origins_room_remote_and_hub() -> None:
    state = make_session()
    hub_item = ask(state, NAIROBI, key="h")
    room_item = run(state, commands.ask(state, MOD, kind="floor", text="I wish to speak",
                                        key="m", lang=None, anonymous=False,
                                        on_behalf={"name": "Fatou Diop", "affiliation": "ISOC"},
                                        now=1))["item"]
    assert state.items[hub_item].origin == "hub:Nairobi"
    room = state.items[room_item]
    assert (room.origin, room.author, room.affiliation) == ("room", "Fatou Diop", "ISOC")
    assert room.status == "approved"  # a moderator adding a room speaker approves it


def test_participant_cannot_ask_on_behalf() -> None:
    state = make_session()
    with pytest.raises(HubError) as err:
        ask(state, on_behalf={"name": "X", "affiliation": ""})
    assert err.value.code == "forbidden"


@pytest.mark.parametrize(
    ("text", "code"), [("   ", "bad_request"), ("x" * 2001, "too_large")]
)
def test_bad_item_text(text: str, code: str) -> None:
    state = make_session()
    with pytest.raises(HubError) as err:
        ask(state, text=text)
    assert err.value.code == code


def test_unknown_kind_is_bad_request() -> None:
    state = make_session()
    with pytest.raises(HubError) as err:
        ask(state, kind="speech")
    assert err.value.code == "bad_request"


def test_anonymous_items_hide_the_author_on_public_only() -> None:
    state = make_session(premoderation=False)
    item = ask(state, anonymous=True)
    public = views.public_item(state.items[item])
    assert public["author"] is None
    assert views.own_item(state.items[item])["author"] == "Alice"
    assert views.moderation_item(state.items[item])["author_id"] == ALICE.id


def test_anonymous_refused_when_the_session_forbids_it() -> None:
    state = make_session(anonymous=False)
    with pytest.raises(HubError) as err:
        ask(state, anonymous=True)
    assert err.value.code == "forbidden"


def test_full_lifecycle_approve_live_done() -> None:
    state = make_session()
    a, b = ask(state, key="a"), ask(state, key="b")
    moderate(state, a, "approve")
    moderate(state, b, "approve")
    assert state.order == [a, b]
    moderate(state, a, "live")
    assert state.live == a and state.order == [b]
    moderate(state, b, "live")  # the live item becomes done
    assert state.items[a].status == "done"
    assert state.live == b and state.order == []
    moderate(state, b, "done")
    assert state.live is None and state.items[b].status == "done"


def test_live_records_the_turn_and_its_speaking_time() -> None:
    state = make_session(speaking_time=120)
    a = ask(state)
    moderate(state, a, "approve")
    moderate(state, a, "live", now=5000)
    assert views.floor_data(state) == {"item": a, "speaker": "Alice", "since": 5000, "limit": 120}
    b = ask(state, key="b")
    moderate(state, b, "approve")
    moderate(state, b, "live", now=6000, seconds=30)
    assert state.live_limit == 30


def test_reject_records_the_reason_and_edit_changes_text() -> None:
    state = make_session()
    a, b = ask(state, key="a"), ask(state, key="b")
    moderate(state, a, "edit", text="A clearer question?")
    assert state.items[a].text == "A clearer question?" and state.items[a].edited
    moderate(state, b, "reject", text="Off topic")
    assert state.items[b].status == "rejected" and state.items[b].reason == "Off topic"
    assert not state.items[b].public


def test_edit_needs_text() -> None:
    state = make_session()
    a = ask(state)
    with pytest.raises(HubError) as err:
        moderate(state, a, "edit")
    assert err.value.code == "bad_request"


def test_move_reorders_and_checks_before() -> None:
    state = make_session(premoderation=False)
    a, b, c = (ask(state, key=k) for k in "abc")
    moderate(state, c, "move", before=a)
    assert state.order == [c, a, b]
    moderate(state, c, "move", before=None)
    assert state.order == [a, b, c]
    with pytest.raises(HubError) as err:
        moderate(state, a, "move", before="nope")
    assert err.value.code == "conflict"
    with pytest.raises(HubError):
        moderate(state, a, "move", before=a)


def test_merge_moves_votes_without_double_counting() -> None:
    state = make_session(premoderation=False)
    a, b = ask(state, key="a"), ask(state, BOB, key="b")
    run(state, commands.vote(state, ALICE, b, False))
    run(state, commands.vote(state, BOB, a, False))
    run(state, commands.vote(state, ALICE, a, False))
    moderate(state, b, "merge", into=a)
    assert state.items[b].status == "merged" and state.items[b].into == a
    assert state.items[b].votes == 0
    assert state.items[a].votes == 2  # Alice voted on both: she counts once
    assert state.order == [a]


@pytest.mark.parametrize("into", [None, "missing"])
def test_merge_needs_a_real_target(into: str | None) -> None:
    state = make_session()
    a = ask(state)
    with pytest.raises(HubError) as err:
        moderate(state, a, "merge", into=into)
    assert err.value.code in ("bad_request", "not_found")


def test_merge_into_itself_or_a_closed_item_conflicts() -> None:
    state = make_session()
    a, b = ask(state, key="a"), ask(state, key="b")
    moderate(state, b, "reject")
    for target in (a, b):
        with pytest.raises(HubError) as err:
            moderate(state, a, "merge", into=target)
        assert err.value.code == "conflict"


def test_every_illegal_transition_is_a_conflict() -> None:
    for action, (sources, _target) in TRANSITIONS.items():
        for status in STATUSES:
            if status in sources:
                continue
            state = make_session()
            item = ask(state)
            _force(state, item, status)
            with pytest.raises(HubError) as err:
                if action == "withdraw":
                    run(state, commands.withdraw(state, ALICE, item))
                elif action == "forward":
                    run(state, commands.forward(state, NAIROBI, item, None, 1))
                elif action == "decline":
                    run(state, commands.decline(state, NAIROBI, item, None))
                else:
                    moderate(state, item, action, text="t", into=item, before=None)
            assert err.value.code == "conflict", (action, status)


def _force(state, item: str, status: str) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    state.items[item] = replace(state.items[item], status=status, hub=NAIROBI.id)


def test_withdraw_only_by_the_author() -> None:
    state = make_session(premoderation=False)
    a = ask(state)
    with pytest.raises(HubError) as err:
        run(state, commands.withdraw(state, BOB, a))
    assert err.value.code == "forbidden"
    run(state, commands.withdraw(state, ALICE, a))
    assert state.items[a].status == "withdrawn" and state.order == []


def test_votes_one_per_identity_with_undo() -> None:
    state = make_session(premoderation=False)
    a = ask(state)
    assert run(state, commands.vote(state, BOB, a, False))["votes"] == 1
    assert run(state, commands.vote(state, BOB, a, False)) == {"item": a, "votes": 1, "voted": True}
    assert commands.vote(state, BOB, a, False).fact is None
    assert run(state, commands.vote(state, BOB, a, True))["votes"] == 0
    assert state.items[a].votes == 0


def test_votes_only_on_approved_questions_and_comments() -> None:
    state = make_session()
    pending = ask(state, key="p")
    with pytest.raises(HubError) as err:
        run(state, commands.vote(state, BOB, pending, False))
    assert err.value.code == "conflict"
    floor = ask(state, kind="floor", key="f")
    moderate(state, floor, "approve")
    with pytest.raises(HubError):
        run(state, commands.vote(state, BOB, floor, False))
    with pytest.raises(HubError) as err:
        run(state, commands.vote(state, BOB, "i999", False))
    assert err.value.code == "not_found"


def test_closed_session_accepts_no_items_votes_or_captions() -> None:
    state = make_session(premoderation=False)
    a = ask(state)
    run(state, commands.change_session(state, MOD, new_state="closed"))
    for attempt in (
        lambda: ask(state, key="late"),
        lambda: run(state, commands.vote(state, BOB, a, False)),
        lambda: run(state, commands.caption(state, CAPTIONER, lines=["x"], lang=None, final=True,
                                            seq=None, now=1)),
    ):
        with pytest.raises(HubError) as err:
            attempt()
        assert err.value.code == "conflict"
    # An idempotent retry of an item accepted before closing still answers.
    assert ask(state, key="k") == a


def test_caption_seq_is_idempotent_per_language() -> None:
    state = make_session()

    def cap(text: str, seq: int | None, lang: str | None = None) -> dict[str, object]:
        return run(state, commands.caption(state, CAPTIONER, lines=[text], lang=lang, final=True,
                                           seq=seq, now=10))

    cap("one", 1)
    assert cap("one again", 1)["duplicate"] is True
    cap("un", 1, "fr-FR")
    assert [c.text for c in state.captions] == ["one", "un"]
    assert state.caption_seq == {"en": 1, "fr": 1}
    with pytest.raises(HubError) as err:
        cap("hola", 2, "es")
    assert err.value.code == "bad_request"
    with pytest.raises(HubError) as err:
        cap("x" * 10_001, 3)
    assert err.value.code == "too_large"


def test_captions_record_the_floor() -> None:
    state = make_session(premoderation=False)
    a = ask(state)
    moderate(state, a, "live", now=1)
    run(state, commands.caption(state, CAPTIONER, lines=["Thank you"], lang=None, final=True,
                                seq=None, now=2))
    line = state.captions[-1]
    assert (line.item, line.speaker) == (a, "Alice")


def test_partial_captions_are_not_in_the_transcript() -> None:
    state = make_session()
    run(state, commands.caption(state, CAPTIONER, lines=["Hel"], lang=None, final=False,
                                seq=None, now=1))
    assert state.captions == [] and state.partial["en"].text == "Hel"
    run(state, commands.caption(state, CAPTIONER, lines=["Hello"], lang=None, final=True,
                                seq=None, now=2))
    assert state.partial == {} and [c.text for c in state.captions] == ["Hello"]


def test_session_changes_and_settings_validation() -> None:
    state = make_session()
    assert commands.change_session(state, MOD, new_state="live").fact is None
    organizer = Actor("organizer", "organizer", "Organizer")
    with pytest.raises(HubError) as err:
        commands.change_session(state, MOD, settings={"item_max": 500})
    assert err.value.code == "forbidden"  # a moderator changes only list_closed, speaking_time
    run(state, commands.change_session(state, organizer, title="New title",
                                       settings={"item_max": 500}, languages=["fr", "en"]))
    assert state.title == "New title" and state.settings.item_max == 500
    assert state.floor_language == "fr"
    for bad in ({"nope": 1}, {"item_max": 0}, {"premoderation": "yes"}):
        with pytest.raises(HubError):
            commands.change_session(state, organizer, settings=bad)
    with pytest.raises(HubError):
        commands.change_session(state, MOD, new_state="paused")
    with pytest.raises(HubError):
        commands.change_session(state, MOD, languages=["english!"])


def test_notes_go_only_to_participants_and_hubs() -> None:
    state = make_session()
    decision = commands.note(state, MOD, ALICE.id, "You are next", now=7)
    assert fact_kinds.project(state, decision.fact or {}) == [
        (f"private:{ALICE.id}", "note", {"text": "You are next", "from": "Moderator", "ts": 7})]
    run(state, decision)
    assert views.snapshot(state, "participant", ALICE.id)["notes"] == [
        {"text": "You are next", "from": "Moderator", "ts": 7}]
    assert views.snapshot(state, "participant", BOB.id)["notes"] == []
    with pytest.raises(HubError) as err:
        commands.note(state, MOD, CAPTIONER.id, "hi")
    assert err.value.code == "conflict"
    with pytest.raises(HubError) as err:
        commands.note(state, MOD, "ghost", "hi")
    assert err.value.code == "not_found"


def test_hub_status_records_attendees() -> None:
    state = make_session()
    run(state, commands.hub_status(state, NAIROBI, attendees=42, now=5))
    assert state.hubs[NAIROBI.id].attendees == 42
    assert commands.hub_status(state, NAIROBI, attendees=42, now=6).fact is None
    with pytest.raises(HubError):
        commands.hub_status(state, NAIROBI, attendees=-1, now=7)
    run(state, commands.hub_status(state, NAIROBI, connected=True, now=8))
    roll = views.snapshot(state, "moderator", MOD.id)["hubs"]
    assert roll == [{"hub": NAIROBI.id, "name": "Nairobi", "place": {}, "attendees": 42,
                     "connected": True, "last_seen": 8, "waiting": 0, "jump": None}]


def test_projection_keeps_pending_items_off_public() -> None:
    state = make_session()
    decision = commands.ask(state, ALICE, kind="question", text="Q", key="k", lang=None,
                            anonymous=False, on_behalf=None, now=1)
    channels = [channel for channel, _, _ in fact_kinds.project(state, decision.fact or {})]
    assert channels == ["moderation", f"private:{ALICE.id}"]
    apply(state, decision.fact or {})
    approve = commands.moderate(state, MOD, "i1", "approve")
    channels = [channel for channel, _, _ in fact_kinds.project(state, approve.fact or {})]
    assert channels == ["public", "moderation", f"private:{ALICE.id}", "public", "moderation"]


def test_snapshot_per_role() -> None:
    state = make_session()
    mine = ask(state, ALICE, key="a")
    theirs = ask(state, BOB, key="b")
    public = ask(state, BOB, key="c")
    moderate(state, public, "approve")
    alice = views.snapshot(state, "participant", ALICE.id)
    assert {i["id"] for i in alice["items"]} == {mine, public}
    assert "author_id" not in alice["items"][0]
    screen = views.snapshot(state, "screen", "x")
    assert {i["id"] for i in screen["items"]} == {public}
    mod = views.snapshot(state, "moderator", MOD.id)
    assert {i["id"] for i in mod["items"]} == {mine, theirs, public}
    assert "votes" not in screen and "votes" in alice


def test_points_of_order_go_to_the_top_in_arrival_order() -> None:
    state = make_session(premoderation=False)
    a, b = ask(state, key="a"), ask(state, key="b")
    p1 = ask(state, BOB, kind="point_of_order", text="Point of order", key="p1")
    p2 = ask(state, NAIROBI, kind="point_of_order", text="Point of order too", key="p2")
    assert state.order == [p1, p2, a, b]


def test_closed_list_takes_only_points_of_order() -> None:
    state = make_session()
    run(state, commands.change_session(state, MOD, settings={"list_closed": True}))
    with pytest.raises(HubError) as err:
        ask(state, kind="floor", key="late")
    assert err.value.code == "conflict" and "closed" in err.value.message
    point = ask(state, kind="point_of_order", text="Order!", key="po")
    moderate(state, point, "approve")
    assert state.order == [point]
    # A moderator can still add a room speaker to a closed list.
    room = run(state, commands.ask(state, MOD, kind="floor", text="Last speaker", key="m",
                                   lang=None, anonymous=False, on_behalf={"name": "Chair"},
                                   now=1))["item"]
    assert state.order == [point, room]


def test_turns_record_speaking_time() -> None:
    state = make_session(premoderation=False)
    a, b = ask(state, key="a"), ask(state, key="b")
    moderate(state, a, "live", now=10_000)
    moderate(state, b, "live", now=70_000)  # a's turn ends when b takes the floor
    moderate(state, b, "done", now=100_000)
    assert [(t.item, t.started, t.ended) for t in state.turns] == [
        (a, 10_000, 70_000), (b, 70_000, 100_000)]
    assert [t.seconds(0) for t in state.turns] == [60.0, 30.0]


def test_flags_for_the_report() -> None:
    state = make_session(premoderation=False)
    item = ask(state)
    created = run(state, commands.flag(state, MOD, kind="takeaway", text="Connectivity first",
                                       item=item, caption=None, flag_id=None, delete=False,
                                       now=5))
    fid = created["id"]
    assert state.flags[fid].text == "Connectivity first" and state.flags[fid].item == item
    with pytest.raises(HubError) as err:
        commands.flag(state, MOD, kind="takeaway", text="x", item=None, caption=3, flag_id=None,
                      delete=False, now=6)
    assert err.value.code == "not_found"  # no caption line with that seq
    run(state, commands.caption(state, CAPTIONER, lines=["We must fund IXPs"], lang=None,
                                final=True, seq=3, now=6))
    run(state, commands.flag(state, MOD, kind="call_to_action", text="Fund IXPs", item=None,
                             caption=3, flag_id=fid, delete=False, now=6))
    assert state.flags[fid].kind == "call_to_action" and state.flags[fid].caption == 3
    snap = views.snapshot(state, "moderator", MOD.id)
    assert snap["flags"][0]["text"] == "Fund IXPs"
    assert "flags" not in views.snapshot(state, "participant", ALICE.id)
    run(state, commands.flag(state, MOD, kind=None, text=None, item=None, caption=None,
                             flag_id=fid, delete=True, now=7))
    assert state.flags == {}
    for bad in ({"kind": "summary", "text": "x"}, {"kind": "takeaway", "text": " "}):
        with pytest.raises(HubError):
            commands.flag(state, MOD, item=None, caption=None, flag_id=None, delete=False,
                          now=8, **bad)


def test_a_hub_attendee_asks_the_hub_which_forwards_it() -> None:
    state = make_session()
    attendee = Actor("a1", "participant", "Wanjiru")
    run(state, commands.join(state, attendee.id, "participant", "Wanjiru", None, False, 1,
                             hub=NAIROBI.id))
    item = ask(state, attendee, text="What about rural Kenya?", key="a")
    local = state.items[item]
    assert (local.status, local.origin, local.hub) == ("local", "hub:Nairobi", NAIROBI.id)
    run(state, commands.hub_status(state, NAIROBI, attendees=30, now=2))  # backing <= 30
    channels = [c for c, _, _ in fact_kinds.project(state, commands.forward(
        state, NAIROBI, item, 12, 3).fact or {})]
    assert f"private:{NAIROBI.id}" in channels and "moderation" in channels
    with pytest.raises(HubError) as err:
        run(state, commands.forward(state, Actor("h2", "hub", "Dhaka"), item, 3, 3))
    assert err.value.code == "forbidden"  # only the hub it was asked through
    run(state, commands.forward(state, NAIROBI, item, 12, 3))
    forwarded = state.items[item]
    assert (forwarded.status, forwarded.backing) == ("pending", 12)
    moderate(state, item, "approve")
    assert views.public_item(state.items[item])["backing"] == 12
    other = ask(state, attendee, text="Off topic", key="b")
    run(state, commands.decline(state, NAIROBI, other, "Not for the meeting"))
    assert state.items[other].status == "rejected"
    assert state.items[other].reason == "Not for the meeting"
