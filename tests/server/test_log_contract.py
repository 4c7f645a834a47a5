"""The EventLog contract, one suite run against every backend (hub/log/base.py)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hub.log import EventLog, Head, LogConflict, LogUnavailable
from hub.log.embedded import EmbeddedLog
from hub.log.redis import RedisLog
from tests.support.log_backends import DELIVERY_TIMEOUT, EPOCH, Backend, Inbox, batch, event, fill
from tests.support.redis_server import RedisProcess, free_port


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("redis-cluster", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Every case runs on the embedded log, one Redis and a 3-primary Redis Cluster."""
    if request.param == "embedded":
        opened = Backend("embedded", lambda: EmbeddedLog(str(tmp_path)))
    else:
        if request.param == "redis":
            url: str = request.getfixturevalue("redis_url")
        else:
            url = request.getfixturevalue("redis_cluster").url
        prefix: str = request.getfixturevalue("redis_prefix")
        opened = Backend(request.param,
                         lambda: RedisLog(url, data_dir=str(tmp_path), prefix=prefix))
    yield opened
    for log in opened.opened:
        await log.close()


@pytest.fixture
async def log(backend: Backend) -> EventLog:
    return await backend.open()


async def test_create_then_create_again_returns_false(log: EventLog) -> None:
    first = batch("ses1", 1, event("public", 1))
    assert await log.create(first)
    assert not await log.create(batch("ses1", 1, event("public", 1), epoch="other", note="b"))
    assert await log.head("ses1") == Head(1, EPOCH)
    assert await log.batches("ses1", 0) == [first]
    assert await log.frames("ses1", "public", 0) == [(1, first.events[0].frame)]


async def test_head_of_unknown_session_is_none(log: EventLog) -> None:
    assert await log.head("nope") is None
    assert await log.batches("nope", 0) == []
    assert await log.frames("nope", "public", 0) == []


async def test_append_extends_gap_free(log: EventLog) -> None:
    made = await fill(log, "ses1", 5)
    assert await log.head("ses1") == Head(5, EPOCH)
    assert await log.batches("ses1", 0) == made


@pytest.mark.parametrize("offset", [1, 2, 4, 7])
async def test_append_with_wrong_offset_conflicts_with_head(log: EventLog, offset: int) -> None:
    made = await fill(log, "ses1", 2)
    with pytest.raises(LogConflict) as caught:
        await log.append(batch("ses1", offset, event("public", 9)))
    assert caught.value.head == Head(2, EPOCH)
    assert await log.batches("ses1", 0) == made  # nothing stored
    assert [off for off, _ in await log.frames("ses1", "public", 0)] == [1, 2]


async def test_append_with_wrong_epoch_conflicts_with_head(log: EventLog) -> None:
    made = await fill(log, "ses1", 2)
    with pytest.raises(LogConflict) as caught:
        await log.append(batch("ses1", 3, event("public", 3), epoch="stale"))
    assert caught.value.head == Head(2, EPOCH)
    assert await log.batches("ses1", 0) == made


async def test_append_to_unknown_session_conflicts_without_head(log: EventLog) -> None:
    with pytest.raises(LogConflict) as caught:
        await log.append(batch("nope", 1))
    assert caught.value.head is None
    assert await log.head("nope") is None


async def test_concurrent_appends_of_the_same_offset_one_wins(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    await fill(first, "ses1", 1)
    for offset in range(2, 22):
        rivals = [batch("ses1", offset, event("public", offset, who), note=who)
                  for who in ("a", "b")]
        results = await asyncio.gather(
            first.append(rivals[0]), second.append(rivals[1]), return_exceptions=True
        )
        winners = [r for r, res in zip(rivals, results, strict=True) if res is None]
        losers = [res for res in results if isinstance(res, LogConflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].head == Head(offset, EPOCH)
        assert await second.batches("ses1", offset - 1) == winners
        assert await first.frames("ses1", "public", offset - 1) == [
            (offset, winners[0].events[0].frame)
        ]


async def test_batches_paging_and_order(log: EventLog) -> None:
    made = await fill(log, "ses1", 10)
    assert await log.batches("ses1", 0, limit=3) == made[0:3]
    assert await log.batches("ses1", 3, limit=3) == made[3:6]
    assert await log.batches("ses1", 9, limit=3) == made[9:]
    assert await log.batches("ses1", 10) == []
    assert await log.batches("ses1", 4) == made[4:]
    pages, after = [], 0
    while page := await log.batches("ses1", after, limit=4):
        pages.append([b.offset for b in page])
        after = page[-1].offset
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]


async def test_frames_are_indexed_per_channel(log: EventLog) -> None:
    # Each channel has its own gap-free offsets; one batch may carry several channels.
    public = itertools.count(1)
    moderation = itertools.count(1)
    made = []
    for n in range(1, 9):
        events = [event("public", next(public), f"p{n}")]
        if n % 2 == 0:
            events.append(event("moderation", next(moderation), f"m{n}"))
        if n % 4 == 0:
            events.append(event("moderation", next(moderation), f"m{n}bis"))
        if n == 5:
            events.append(event("private:alice", 1, "a"))
        made.append(batch("ses1", n, *events))
    assert await log.create(made[0])
    for each in made[1:]:
        await log.append(each)

    def expected(channel: str) -> list[tuple[int, bytes]]:
        return [(ev.offset, ev.frame) for b in made for ev in b.events if ev.channel == channel]

    assert await log.frames("ses1", "public", 0) == expected("public")
    assert [off for off, _ in await log.frames("ses1", "public", 0)] == list(range(1, 9))
    assert await log.frames("ses1", "moderation", 0) == expected("moderation")
    assert await log.frames("ses1", "moderation", 2, limit=2) == expected("moderation")[2:4]
    assert await log.frames("ses1", "moderation", 5) == expected("moderation")[5:]
    assert await log.frames("ses1", "private:alice", 0) == expected("private:alice")
    assert await log.frames("ses1", "private:bob", 0) == []
    assert await log.frames("ses1", "public", 6, limit=1) == expected("public")[6:7]


async def test_new_epoch_replaces_only_the_matching_epoch(log: EventLog) -> None:
    await fill(log, "ses1", 2)
    assert await log.new_epoch("ses1", "not-the-epoch") == EPOCH
    fresh = await log.new_epoch("ses1", EPOCH)
    assert fresh != EPOCH
    assert await log.head("ses1") == Head(2, fresh)
    assert await log.new_epoch("ses1", EPOCH) == fresh  # a second, late caller gets the new one
    with pytest.raises(LogConflict) as caught:
        await log.append(batch("ses1", 3, event("public", 3)))
    assert caught.value.head == Head(2, fresh)
    await log.append(batch("ses1", 3, event("public", 3), epoch=fresh))
    assert await log.head("ses1") == Head(3, fresh)


async def test_meta_is_set_once(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    assert await first.meta("secret", "a") == "a"
    assert await first.meta("secret", "b") == "a"
    assert await second.meta("secret", "c") == "a"
    assert await second.meta("other", "z") == "z"


#: Whether other instances append to a backend's logs: one process owns the embedded store.
SHARED = {"embedded": False, "redis": True, "redis-cluster": True}


async def test_shared_says_whether_other_instances_append(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    assert first.shared is second.shared is SHARED[backend.name]
    assert (second is not first) is first.shared  # the embedded store: one instance
    made = await fill(second, "ses1", 2)
    assert await first.batches("ses1", 0) == made


async def test_listeners_get_batches_from_another_instance_in_order(backend: Backend) -> None:
    writer, reader = await backend.open(), await backend.open()
    inbox = Inbox()
    reader.listen("ses1", inbox)
    await backend.settle(reader)
    made = await fill(writer, "ses1", 6)
    await inbox.wait_count(6)
    assert inbox.batches == made


async def test_listeners_of_other_sessions_get_nothing(backend: Backend) -> None:
    writer, reader = await backend.open(), await backend.open()
    one, two = Inbox(), Inbox()
    reader.listen("ses1", one)
    reader.listen("ses2", two)
    await backend.settle(reader)
    await fill(writer, "ses1", 3)
    made = await fill(writer, "ses2", 2)
    await two.wait_count(2)
    await one.wait_count(3)
    assert two.batches == made
    assert one.offsets == [1, 2, 3]


async def test_unlisten_stops_delivery(backend: Backend) -> None:
    writer, reader = await backend.open(), await backend.open()
    gone, staying, sentinel = Inbox(), Inbox(), Inbox()
    reader.listen("ses1", gone)
    reader.listen("ses1", staying)
    reader.listen("ses2", sentinel)
    await backend.settle(reader)
    await fill(writer, "ses1", 1)
    await staying.wait_count(1)
    reader.unlisten("ses1", gone)
    await writer.append(batch("ses1", 2, event("public", 2)))
    # Listeners of a batch are called together: once `staying` has it, `gone` would too.
    await staying.wait_count(2)
    assert gone.offsets == [1]
    # The last listener of a session leaving unsubscribes; delivery is in publish
    # order, so a later batch of another session arriving shows nothing came for s1.
    reader.unlisten("ses1", staying)
    await backend.settle(reader)
    await writer.append(batch("ses1", 3, event("public", 3)))
    await fill(writer, "ses2", 1)
    await sentinel.wait_count(1)
    assert staying.offsets == [1, 2]
    assert gone.offsets == [1]


async def test_sessions_lists_every_session(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    assert await first.sessions() == []
    await fill(first, "ses2", 1)
    await fill(second, "ses1", 2)
    assert not await first.create(batch("ses1", 1))
    assert await first.sessions() == ["ses1", "ses2"]
    assert await second.sessions() == ["ses1", "ses2"]


async def test_delete_removes_a_session_and_nothing_else(backend: Backend) -> None:
    log = await backend.open()
    await fill(log, "gone", 3)
    kept = await fill(log, "kept", 2)
    assert await log.delete("gone")
    assert await log.head("gone") is None
    assert await log.batches("gone", 0) == [] and await log.frames("gone", "public", 0) == []
    assert await log.sessions() == ["kept"]
    assert await log.batches("kept", 0) == kept
    assert not await log.delete("gone")  # nothing left to delete
    assert await log.create(batch("gone", 1))  # the id can be used again


async def test_rewrite_replaces_the_whole_history(backend: Backend) -> None:
    """A person's erasure: batches, every channel's frames and the head are replaced at
    once, other sessions are untouched, and listeners of every instance hear of it."""
    log, other = await backend.open(), await backend.open()
    inbox = Inbox()
    other.listen("ses1", inbox)
    await backend.settle(other)
    await fill(log, "ses1", 2)
    await log.append(batch("ses1", 3, event("public", 3), event("private:p1", 1, "secret")))
    kept = await fill(log, "ses2", 2)
    await inbox.wait_count(3)
    fresh = [batch("ses1", 1, epoch="e2", note="clean"),
             batch("ses1", 2, event("public", 1, "clean"), event("private:p2", 1), epoch="e2")]
    await log.rewrite("ses1", Head(3, EPOCH), fresh)
    for reader in (log, other):
        assert await reader.head("ses1") == Head(2, "e2")
        assert await reader.batches("ses1", 0) == fresh
        assert await reader.frames("ses1", "public", 0) == [(1, fresh[1].events[0].frame)]
        assert await reader.frames("ses1", "private:p1", 0) == []
        assert await reader.frames("ses1", "private:p2", 0) == [(1, fresh[1].events[1].frame)]
        assert await reader.batches("ses2", 0) == kept
    await inbox.wait_count(4)
    assert inbox.batches[-1] == fresh[-1]
    await log.append(batch("ses1", 3, event("public", 2), epoch="e2"))  # and it goes on
    assert await log.head("ses1") == Head(3, "e2")


async def test_rewrite_against_a_moved_head_conflicts_and_changes_nothing(
    backend: Backend,
) -> None:
    log = await backend.open()
    made = await fill(log, "ses1", 3)
    fresh = [batch("ses1", 1, event("public", 1, "clean"), epoch="e2")]
    for stale in (Head(2, EPOCH), Head(3, "other")):
        with pytest.raises(LogConflict) as caught:
            await log.rewrite("ses1", stale, fresh)
        assert caught.value.head == Head(3, EPOCH)
    with pytest.raises(LogConflict):
        await log.rewrite("nope", Head(1, EPOCH), [batch("nope", 1, epoch="e2")])
    assert await log.head("ses1") == Head(3, EPOCH)
    assert await log.batches("ses1", 0) == made
    assert [o for o, _ in await log.frames("ses1", "public", 0)] == [1, 2, 3]
    assert await log.head("nope") is None


async def test_rewrite_refuses_a_history_it_must_not_store(log: EventLog) -> None:
    await fill(log, "ses1", 2)
    head = Head(2, EPOCH)
    for wrong in ([], [batch("ses1", 1)], [batch("ses1", 2, epoch="e2")],
                  [batch("ses1", 1, epoch="e2"), batch("ses1", 2, epoch="e3")],
                  [batch("ses2", 1, epoch="e2")]):
        with pytest.raises(ValueError, match=r"rewrite|epoch"):
            await log.rewrite("ses1", head, wrong)
    assert await log.head("ses1") == head


async def test_ping_is_true_when_up_and_false_after_close(backend: Backend) -> None:
    log = await backend.open()
    assert await log.ping()
    await log.close()
    backend.opened.remove(log)
    assert not await log.ping()


# -- Redis only: the live feed survives losing its connection ------------------


@pytest.fixture
async def redis_logs(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[RedisLog]]]:
    """Opens started RedisLogs on the test's prefix, closed afterwards."""
    opened: list[RedisLog] = []

    async def open_log() -> RedisLog:
        log = RedisLog(redis_url, data_dir=str(tmp_path), prefix=redis_prefix)
        await log.start()
        opened.append(log)
        return log

    yield open_log
    for log in opened:
        await log.close()


async def kill_feed_connection(url: str, log: RedisLog) -> None:
    """CLIENT KILL TYPE pubsub, only this log's feed (the server may be shared)."""
    async with aioredis.Redis.from_url(url) as admin:
        clients = await admin.client_list(_type="pubsub")
        ids = [c["id"] for c in clients if c.get("name") == f"hub-feed-{log.instance_id}"]
        assert ids, clients
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id, _type="pubsub")


@pytest.mark.redis
async def test_redis_listener_recovers_after_client_kill(
    redis_url: str, redis_logs: Callable[[], Awaitable[RedisLog]]
) -> None:
    writer, reader = await redis_logs(), await redis_logs()
    resynced = asyncio.Event()
    reader.resync_hook = resynced.set
    inbox = Inbox()
    reader.listen("ses1", inbox)
    await reader.wait_subscribed()
    await fill(writer, "ses1", 2)
    await inbox.wait_count(2)

    await kill_feed_connection(redis_url, reader)
    await asyncio.wait_for(resynced.wait(), DELIVERY_TIMEOUT)
    # What was published while the feed was down is read back with `batches`.
    await writer.append(batch("ses1", 3, event("public", 3)))
    await inbox.wait_count(3)
    assert inbox.offsets[-1] == 3
    assert [b.offset for b in await reader.batches("ses1", 0)] == [1, 2, 3]
    assert await reader.ping()


@pytest.mark.redis
async def test_redis_outage_raises_log_unavailable_then_recovers(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path / "redis", appendonly=True)
    server.start()
    log = RedisLog(server.url, data_dir=str(tmp_path), prefix="outage")
    try:
        await log.start()
        resynced = asyncio.Event()
        log.resync_hook = resynced.set
        inbox = Inbox()
        log.listen("ses1", inbox)
        await log.wait_subscribed()
        await fill(log, "ses1", 1)
        await inbox.wait_count(1)

        server.kill()
        assert not await log.ping()
        with pytest.raises(LogUnavailable, match="did not answer"):
            await log.append(batch("ses1", 2, event("public", 2)))
        with pytest.raises(LogUnavailable):
            await log.head("ses1")

        server.start()
        await asyncio.wait_for(resynced.wait(), DELIVERY_TIMEOUT)
        await log.append(batch("ses1", 2, event("public", 2)))
        await inbox.wait_count(2)
        assert await log.ping()
    finally:
        await log.close()
        server.kill()


@pytest.mark.redis
async def test_redis_start_fails_clearly_without_server(tmp_path: Path) -> None:
    log = RedisLog(f"redis://127.0.0.1:{free_port()}/0", data_dir=str(tmp_path))
    with pytest.raises(LogUnavailable, match=re.escape("redis at redis://127.0.0.1")):
        await log.start()
    assert not await log.ping()
    await log.close()


async def test_an_events_log_is_kept_like_a_sessions(backend: Backend) -> None:
    """An event's log (`forum.<id>`, hub/forums.py) holds batches without channel events:
    stored, read past the head (no archive is looked for), refused on a moved head,
    delivered to listeners on another instance, listed with the sessions."""
    writer, reader = await backend.open(), await backend.open()
    inbox = Inbox()
    reader.listen("forum.igf26", inbox)
    await backend.settle(reader)
    made = [batch("forum.igf26", n) for n in range(1, 4)]
    assert await writer.create(made[0])
    for each in made[1:]:
        await writer.append(each)
    with pytest.raises(LogConflict):
        await writer.append(batch("forum.igf26", 3, note="rival"))
    assert await reader.head("forum.igf26") == Head(3, EPOCH)
    assert await reader.batches("forum.igf26", 0) == made
    assert await reader.batches("forum.igf26", 3) == []
    await inbox.wait_count(3)
    assert inbox.batches == made
    assert "forum.igf26" in await reader.sessions()
