"""When a session closed (`SessionState.closed_at`): folded from the `session` fact that
moves it to closed, the last close when it was reopened; kept by a snapshot; and the
session digest (hub.session_digest) that the Secretariat's dashboard reads, folded from the
log or taken from a held session, and only what changed read again."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.domain import commands
from hub.domain.fact_kinds import apply
from hub.domain.session import CLOSED, LIVE, SCHEDULED, new_session
from hub.domain.snapshot import dump_state
from hub.log import Batch
from hub.session_digest import SessionDigest, fold, of_state
from tests.support.domain_helpers import MOD, make_session, run
from tests.support.harness import ADMIN_KEY, ahttp
from tests.support.inprocess import RunningHub


def change(state: Any, new_state: str, now: int) -> dict[str, Any]:
    return run(state, commands.change_session(state, MOD, new_state=new_state, now=now))


def test_a_session_closes_at_the_time_of_the_fact() -> None:
    state = make_session()
    assert state.closed_at is None
    change(state, CLOSED, 50_000)
    assert (state.state, state.closed_at) == (CLOSED, 50_000)


def test_reopened_then_closed_again_keeps_the_last_close() -> None:
    state = make_session()
    change(state, CLOSED, 50_000)
    change(state, LIVE, 60_000)
    assert state.closed_at is None  # live again: not closed
    change(state, CLOSED, 90_000)
    assert state.closed_at == 90_000


def test_a_change_that_does_not_move_the_state_keeps_the_close() -> None:
    state = make_session()
    change(state, CLOSED, 50_000)
    run(state, commands.change_session(state, MOD, new_state=CLOSED, title="Renamed",
                                       now=70_000))
    assert (state.title, state.closed_at) == ("Renamed", 50_000)


def test_only_a_change_is_stamped() -> None:
    state = make_session()
    decision = commands.change_session(state, MOD, new_state=LIVE, now=5)
    assert decision.fact is None  # already live: nothing to stamp, nothing appended
    fact = commands.change_session(state, MOD, new_state=CLOSED, now=7).fact
    assert fact is not None and fact["ts"] == 7


def test_created_closed_closes_at_creation_and_a_snapshot_keeps_it() -> None:
    state = new_session("s1")
    apply(state, commands.create(title="Archive", languages=None, state=CLOSED,
                                 settings=None, now=1234))
    assert state.closed_at == 1234
    restored = new_session("s1")
    apply(restored, {"kind": "restored", "state": dump_state(state), "ts": 9})
    assert restored.closed_at == 1234


def test_a_close_written_before_facts_had_a_time_takes_the_batch_time() -> None:
    digest = SessionDigest("s1", "", SCHEDULED, None)
    created = commands.create(title="W", languages=None, state=LIVE, settings=None, now=1)
    digest = fold(digest, Batch("s1", 1, "e1", 1, created, ()))
    old_close = {"kind": "session", "by": "organizer", "state": CLOSED}  # no `ts`
    digest = fold(digest, Batch("s1", 2, "e1", 4242, old_close, ()))
    assert (digest.title, digest.state, digest.closed_at) == ("W", CLOSED, 4242)
    assert (digest.offset, digest.epoch) == (2, "e1")


def test_the_digest_of_a_state_is_what_the_fold_says() -> None:
    state = make_session()
    change(state, CLOSED, 777)
    digest = of_state(state)
    assert (digest.id, digest.title, digest.state, digest.closed_at) == (
        "s1", "Workshop", CLOSED, 777)


async def test_the_digest_follows_the_log_and_reads_only_what_changed(hub: RunningHub) -> None:
    created = await hub.session(title="Digest me", state="scheduled")
    sid = created["id"]
    sessions = hub.app[keys.SESSIONS]
    digests = hub.app[keys.DIGESTS]
    await sessions.forget(sid)  # not held: the digest folds its log
    first = (await digests.of([sid]))[sid]
    assert first is not None and (first.state, first.title, first.closed_at) == (
        SCHEDULED, "Digest me", None)

    status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}",
                                  {"state": "closed"}, token=ADMIN_KEY)
    assert status == 200, body
    closed_at = sessions.held_one(sid).state.closed_at  # type: ignore[union-attr]
    assert closed_at is not None
    await sessions.forget(sid)

    event_log = hub.app[keys.LOG]
    reads: list[int] = []
    real = event_log.batches

    async def counted(session: str, after: int, limit: int = 1000) -> list[Batch]:
        reads.append(after)
        return await real(session, after, limit)

    event_log.batches = counted  # type: ignore[method-assign]
    try:
        second = (await digests.of([sid]))[sid]
        assert second is not None and (second.state, second.closed_at) == (CLOSED, closed_at)
        assert reads == [first.offset]  # only the batches after the cached position
        reads.clear()
        again = (await digests.of([sid, "no-such-session"]))
        assert again == {sid: second, "no-such-session": None}
        assert reads == []  # the head has not moved: nothing read
    finally:
        event_log.batches = real  # type: ignore[method-assign]


async def test_a_held_session_is_read_from_its_state(hub: RunningHub) -> None:
    created = await hub.session(title="Held", state="live")
    sid = created["id"]
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"state": "closed"},
                               token=ADMIN_KEY)
    assert status == 200
    held = hub.app[keys.SESSIONS].held_one(sid)
    assert held is not None
    digest = (await hub.app[keys.DIGESTS].of([sid]))[sid]
    assert digest == of_state(held.state)
    assert digest is not None and digest.closed_at == held.state.closed_at


async def test_the_figures_fold_is_the_session_state_without_its_captions(
    hub: RunningHub,
) -> None:
    created = await hub.session(title="Figures", state="live")
    sid = created["id"]
    alice = hub.client(created, "participant", name="Alice",
                       profile={"stakeholder": "academia"})
    captioner = hub.client(created, "captioner", name="Captioner")
    await alice.connect()
    await captioner.connect()
    try:
        await alice.ok({"type": "ask", "kind": "question", "text": "Who pays?",
                             "key": "q1"})
        await captioner.ok({"type": "caption", "text": "Welcome all"})
    finally:
        await alice.close()
        await captioner.close()
    sessions = hub.app[keys.SESSIONS]
    held = sessions.held_one(sid)
    assert held is not None and held.state.captions
    whole = held.state
    await sessions.forget(sid)
    digests = hub.app[keys.DIGESTS]
    folded = (await digests.states([sid]))[sid]
    assert folded is not None and folded is not whole
    assert folded.captions == [] and folded.keys == {}
    assert folded.identities == whole.identities and folded.items == whole.items
    assert (folded.offset, folded.epoch, folded.state) == (
        whole.offset, whole.epoch, whole.state)

    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"state": "closed"},
                               token=ADMIN_KEY)
    assert status == 200
    await sessions.forget(sid)
    again = (await digests.states([sid]))[sid]
    assert again is folded  # the same fold, brought up to date
    assert again.state == CLOSED and again.closed_at is not None
    digest = (await digests.of([sid]))[sid]
    assert digest is not None and digest.closed_at == again.closed_at
    assert (await digests.states(["no-such-one"])) == {"no-such-one": None}
