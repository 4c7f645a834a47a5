"""Several `hub serve --redis` processes serving one meeting through one real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import Client, HubProcess, ahttp, create_session
from tests.support.redis_server import RedisProcess


@pytest.fixture
def instances(tmp_path: Path, redis_url: str) -> Iterator[list[HubProcess]]:
    """Three hub processes on the shared test Redis, under a key prefix of their own."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis_url, redis_prefix=prefix)
            for n in range(3)]
    for hub in hubs:
        hub.start()
    yield hubs
    for hub in hubs:
        hub.kill()


def client(hub: HubProcess, created: dict[str, Any], role: str, **hello: Any) -> Client:
    return Client(hub.ws_url, created["id"], created["tokens"][role], **hello)


async def test_captions_cross_instances_in_order(instances: list[HubProcess]) -> None:
    a, b, c = instances
    created = await create_session(a.url, "Main session", state="live")
    cap = client(a, created, "captioner")
    readers = [client(hub, created, "participant", name=f"P{n}")
               for n, hub in enumerate([b, c, b, c, a])]
    for each in (cap, *readers):
        await each.connect()
    # Presence counts every instance's connections, not only the reader's own.
    await readers[-1].wait_for(lambda r: any(
        f["type"] == "presence" and f["participants"] == 5 and f["captioners"] == 1
        for f in r.frames))
    lines = [f"line {n}" for n in range(1, 101)]
    for n, text in enumerate(lines, 1):
        await cap.ok({"type": "caption", "text": text, "seq": n})
    for reader in readers:
        got = await reader.wait_for(lambda r: len(r.kinds("caption")) == 100 and r.kinds("caption"))
        assert [e["data"]["text"] for e in got] == lines
    for each in (cap, *readers):
        await each.close()


async def test_moderators_on_two_instances_race_one_wins(instances: list[HubProcess]) -> None:
    a, b, _ = instances
    created = await create_session(a.url, "Race", state="live")
    alice = client(b, created, "participant", name="Alice")
    mod_a = client(a, created, "moderator", name="Room moderator")
    mod_b = client(b, created, "moderator", name="Remote moderator")
    for each in (alice, mod_a, mod_b):
        await each.connect()
    for n in range(15):
        item = (await alice.ok({"type": "ask", "kind": "question", "text": f"q{n}",
                                "key": f"k{n}"}))["item"]
        await mod_a.wait_for(lambda m, i=item: any(e["data"]["id"] == i
                                                   for e in m.kinds("item", "moderation")))
        await mod_b.wait_for(lambda m, i=item: any(e["data"]["id"] == i
                                                   for e in m.kinds("item", "moderation")))
        replies = await asyncio.gather(
            mod_a.request({"type": "moderate", "item": item, "action": "approve"}),
            mod_b.request({"type": "moderate", "item": item, "action": "reject", "text": "dup"}),
        )
        assert sorted(r["type"] for r in replies) == ["ack", "error"], replies
        assert [r["code"] for r in replies if r["type"] == "error"] == ["conflict"]
    # Both moderators see the same final statuses, in the same order.
    final_a = await mod_a.wait_for(lambda m: len(m.kinds("item", "moderation")) >= 30
                                   and m.kinds("item", "moderation"))
    final_b = await mod_b.wait_for(lambda m: len(m.kinds("item", "moderation")) >= 30
                                   and m.kinds("item", "moderation"))
    assert [e["data"]["status"] for e in final_a] == [e["data"]["status"] for e in final_b]
    for each in (alice, mod_a, mod_b):
        await each.close()


async def test_kill_9_one_instance_clients_move_and_resume(instances: list[HubProcess]) -> None:
    a, b, _ = instances
    created = await create_session(b.url, "Failover", state="live")
    cap = client(b, created, "captioner")
    on_a = [client(a, created, "participant", name=f"A{n}") for n in range(5)]
    for each in (cap, *on_a):
        await each.connect()
    for n in range(1, 21):
        await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
    for each in on_a:
        await each.wait_for(lambda r: len(r.kinds("caption")) == 20)
    a.kill()
    for each in on_a:
        await asyncio.wait_for(each.closed.wait(), 10)
    for n in range(21, 41):  # the meeting goes on while they are away
        await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
    for each in on_a:  # they reconnect to another instance
        each.url = each.url.replace(a.ws_url, b.ws_url)
        welcome = await each.connect(resume=True)
        assert all(ch["recovered"] for ch in welcome["channels"].values())
    await cap.ok({"type": "caption", "text": "c41", "seq": 41})
    for each in on_a:
        got = await each.wait_for(lambda r: len(r.kinds("caption")) == 41 and r.kinds("caption"))
        assert [e["data"]["text"] for e in got] == [f"c{n}" for n in range(1, 42)]
    for each in (cap, *on_a):
        await each.close()


async def test_redis_restart_with_persistence_loses_nothing(tmp_path: Path) -> None:
    redis = RedisProcess(tmp_path / "redis", appendonly=True)
    redis.start()
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis.url) for n in range(2)]
    try:
        for hub in hubs:
            hub.start()
        a, b = hubs
        created = await create_session(a.url, "Redis restart", state="live")
        cap = client(a, created, "captioner")
        reader = client(b, created, "participant", name="Reader")
        for each in (cap, reader):
            await each.connect()
        for n in range(1, 11):
            await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
        redis.stop()
        status, _, _ = await ahttp("GET", f"{a.url}/readyz")
        assert status == 503
        refused = await cap.request({"type": "caption", "text": "c11", "seq": 11})
        assert refused["type"] == "error" and refused["code"] == "unavailable"
        assert not cap.closed.is_set() and not reader.closed.is_set()  # connections kept
        redis.start()
        for hub in hubs:
            await _until_ready(hub)
        again = await cap.ok({"type": "caption", "text": "c11", "seq": 11})  # retried by seq
        assert not again.get("duplicate")
        for n in range(12, 16):
            await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
        got = await reader.wait_for(lambda r: len(r.kinds("caption")) == 15 and r.kinds("caption"))
        assert [e["data"]["text"] for e in got] == [f"c{n}" for n in range(1, 16)]
        for each in (cap, reader):
            await each.close()
    finally:
        for hub in hubs:
            hub.kill()
        redis.kill()


async def _until_ready(hub: HubProcess, timeout: float = 20.0) -> None:
    async def poll() -> None:
        while True:
            if (await ahttp("GET", f"{hub.url}/readyz"))[0] == 200:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_a_deleted_session_is_gone_on_every_instance(instances: list[HubProcess]) -> None:
    from tests.support.harness import ADMIN_KEY

    a, b, _ = instances
    created = await create_session(a.url, "To delete", state="live")
    reader = client(b, created, "participant", name="Reader")
    await reader.connect()
    status, _, _ = await ahttp("DELETE", f"{a.url}/api/sessions/{created['id']}",
                               token=ADMIN_KEY)
    assert status == 200
    await asyncio.wait_for(reader.closed.wait(), 20)  # B notices on its next catch-up
    assert reader.close_code == 4504
    status, _, _ = await ahttp("GET", f"{b.url}/api/sessions/{created['id']}",
                               token=created["tokens"]["screen"])
    assert status == 404


async def test_a_join_storm_on_two_instances_at_once(instances: list[HubProcess]) -> None:
    """Both instances append identities to one session as fast as they can: every join is
    welcomed (no 'busy'), and nobody is asked to resume (no false 'history went back')."""
    a, b, _ = instances
    created = await create_session(a.url, "Storm", state="live")
    screen = client(a, created, "screen")
    await screen.connect()
    people = [client((a, b)[n % 2], created, "participant", name=f"P{n}") for n in range(200)]
    await asyncio.gather(*(p.connect() for p in people))
    cap = client(b, created, "captioner")
    await cap.connect()
    await cap.ok({"type": "caption", "text": "everyone here", "seq": 1})
    for each in (screen, *people):
        await each.wait_for(lambda c: c.kinds("caption"))
        assert not each.closed.is_set()
    for each in (screen, cap, *people):
        await each.close()


async def test_redis_back_without_its_data_the_session_is_put_back(tmp_path: Path) -> None:
    """No persistence, Redis restarts empty: the instances hold the state and write it back
    under a fresh epoch; readers get recovered: false and a fresh snapshot, never wrong
    state, and the meeting goes on."""
    redis = RedisProcess(tmp_path / "redis", appendonly=False)
    redis.start()
    shared = {"HUB_SECRET": "shared-secret-for-both-instances-of-this-test"}
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis.url, env=shared) for n in range(2)]
    try:
        for hub in hubs:
            hub.start()
        a, b = hubs
        created = await create_session(a.url, "Amnesia", state="live")
        cap = client(a, created, "captioner")
        reader = client(b, created, "participant", name="Reader")
        for each in (cap, reader):
            await each.connect()
        for n in range(1, 6):
            await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
        await reader.wait_for(lambda r: len(r.kinds("caption")) == 5)
        old_epoch = reader.positions["public"]["epoch"]
        redis.kill()
        redis.start()  # empty: no AOF, no RDB
        await asyncio.wait_for(reader.closed.wait(), 30)
        welcome = await reader.connect(resume=True)
        assert welcome["channels"]["public"]["recovered"] is False
        assert welcome["channels"]["public"]["epoch"] != old_epoch
        assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]] == [
            f"c{n}" for n in range(1, 6)]
        await asyncio.wait_for(cap.closed.wait(), 30)
        await cap.connect(resume=True)
        again = await cap.ok({"type": "caption", "text": "c5", "seq": 5})
        assert again.get("duplicate")  # the caption seq survived with the state
        await cap.ok({"type": "caption", "text": "c6", "seq": 6})
        # The reader's events from before the reset are still in its list: wait for c6.
        got = await reader.wait_for(lambda r: [e for e in r.kinds("caption")
                                               if e["data"]["text"] == "c6"])
        assert len(got) == 1
        for each in (cap, reader):
            await each.close()
    finally:
        for hub in hubs:
            hub.kill()
        redis.kill()
