"""Bounded channel history in Redis, and the archive of closed sessions."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import HubFactory


async def test_history_is_bounded_and_old_offsets_get_a_snapshot(
    hub_factory: HubFactory, redis_url: str, redis_prefix: str
) -> None:
    hub = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix, history=50,
                              caption_per_10s=10_000)
    created = await hub.session()
    sid = created["id"]
    cap = hub.client(created, "captioner")
    screen = hub.client(created, "screen")
    await cap.connect()
    await screen.connect()
    early = dict(screen.positions["public"])
    for n in range(1, 401):
        await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
    client = aioredis.Redis.from_url(redis_url)
    try:
        kept = await client.xlen(f"{redis_prefix}:{{{sid}}}:ch:public")
        batches = await client.xlen(f"{redis_prefix}:{{{sid}}}:log")
    finally:
        await client.aclose()
    assert kept < 400 and batches >= 400  # the state log itself is kept whole
    late = Client(hub.ws_base, sid, created["tokens"]["screen"])
    late.positions = {"public": early}
    welcome = await late.connect(resume=True)
    assert welcome["channels"]["public"]["recovered"] is False  # trimmed: a fresh snapshot
    assert welcome["snapshot"]["captions"]["en"][-1]["text"] == "c400"
    for each in (cap, screen, late):
        await each.close()


async def test_closed_session_is_archived_and_stays_readable(
    hub_factory: HubFactory, redis_url: str, redis_prefix: str
) -> None:
    first = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix)
    created = await first.session()
    sid, tokens = created["id"], created["tokens"]
    cap = first.client(created, "captioner")
    await cap.connect()
    for n in range(1, 6):
        await cap.ok({"type": "caption", "text": f"line {n}", "seq": n})
    status, _, _ = await ahttp("PATCH", f"{first.base}/api/sessions/{sid}", {"state": "closed"},
                               token=ADMIN_KEY)
    assert status == 200
    archive = first.data / "archive" / f"{sid}.jsonl"
    client = aioredis.Redis.from_url(redis_url)
    try:
        for _ in range(100):
            if archive.exists() and not await client.exists(f"{redis_prefix}:{{{sid}}}:head"):
                break
            await _tick()
        assert archive.exists()
        assert await client.exists(f"{redis_prefix}:{{{sid}}}:head") == 0  # freed in Redis
    finally:
        await client.aclose()
    # Another instance on the same data directory still serves the finished meeting.
    second = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix,
                               data=str(first.data))
    status, body, _ = await ahttp(
        "GET", f"{second.base}/api/sessions/{sid}/transcript?format=json", token=tokens["screen"])
    assert status == 200 and [c["text"] for c in body["cues"]] == [f"line {n}" for n in range(1, 6)]
    screen = Client(second.ws_base, sid, tokens["screen"])
    welcome = await screen.connect()
    assert welcome["session"]["state"] == "closed"
    # Reopened, it goes on from where it was, in Redis again.
    status, _, _ = await ahttp("PATCH", f"{second.base}/api/sessions/{sid}", {"state": "live"},
                               token=ADMIN_KEY)
    assert status == 200
    cap2 = Client(second.ws_base, sid, tokens["captioner"])
    await cap2.connect()
    await cap2.ok({"type": "caption", "text": "line 6", "seq": 6})
    got = await screen.wait_for(lambda c: c.kinds("caption"))
    assert got[0]["data"]["text"] == "line 6"
    for each in (cap, cap2, screen):
        await each.close()


async def _tick() -> None:
    await asyncio.sleep(0.05)
