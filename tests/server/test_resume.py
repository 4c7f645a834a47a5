"""Resume: clients that drop at random moments get exactly what they missed."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from hub import keys
from hub.session import position_sig
from tests.support.harness import Client
from tests.support.inprocess import RunningHub


async def test_many_clients_random_drops_exact_continuity(hub: RunningHub) -> None:
    created = await hub.session()
    cap = hub.client(created, "captioner", name="Captioner")
    await cap.connect()
    readers = [hub.client(created, "participant", name=f"P{n}") for n in range(12)]
    for reader in readers:
        await reader.connect()
    rng = random.Random(20261127)
    lines = [f"line {n}" for n in range(200)]

    async def captioner() -> None:
        for n, text in enumerate(lines, 1):
            await cap.ok({"type": "caption", "text": text, "seq": n})
            if n % 10 == 0:
                await asyncio.sleep(0.01)

    async def chaos(reader: Client) -> None:
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0.01, 0.3))
            await reader.drop()
            await asyncio.sleep(rng.uniform(0, 0.05))
            welcome = await reader.connect(resume=True)
            assert welcome["channels"]["public"]["recovered"] is True

    await asyncio.gather(captioner(), *(chaos(r) for r in readers))
    for reader in readers:
        got = await reader.wait_for(lambda c: len(c.kinds("caption")) >= len(lines)
                                    and c.kinds("caption"))
        assert [e["data"]["text"] for e in got] == lines  # in order, none missing, none twice
    for client in (cap, *readers):
        await client.close()


async def test_resume_from_any_earlier_offset(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    cap = meeting["captioner"]
    for n in range(1, 31):
        await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
    screen = meeting["screen"]
    await screen.wait_for(lambda c: len(c.kinds("caption")) == 30)
    epoch = screen.positions["public"]["epoch"]
    top = screen.positions["public"]["offset"]
    for offset in [*sorted(random.Random(7).sample(range(top), 6)), top]:
        late = Client(hub.ws_base, meeting["session"]["id"], meeting["session"]["tokens"]["screen"])
        late.positions = {"public": {"epoch": epoch, "offset": offset}}
        welcome = await late.connect(resume=True)
        assert welcome["channels"]["public"] == {
            "epoch": epoch, "offset": offset, "recovered": True,
            "sig": position_sig(hub.app[keys.SESSIONS].position_key,
                                meeting["session"]["id"], "public", epoch, offset)}
        await late.wait_for(lambda c, o=offset: len(c.events) == top - o or o == top)
        assert [e["offset"] for e in late.events] == list(range(offset + 1, top + 1))
        await late.close()


async def test_unknown_epoch_gets_a_fresh_snapshot(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    await meeting["captioner"].ok({"type": "caption", "text": "hello", "seq": 1})
    late = Client(hub.ws_base, meeting["session"]["id"], meeting["session"]["tokens"]["screen"])
    late.positions = {"public": {"epoch": "someotherepoch", "offset": 1}}
    welcome = await late.connect(resume=True)
    assert welcome["channels"]["public"]["recovered"] is False
    assert welcome["channels"]["public"]["epoch"] != "someotherepoch"
    assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]] == ["hello"]
    await late.close()


async def test_a_signed_offset_above_the_top_changes_the_epoch(meeting: dict[str, Any]) -> None:
    """A client shows a position the server signed that the log no longer holds: history
    went backwards, so the epoch moves and nobody can resume into reused offsets. (A bare
    claim changes nothing: tests/system/test_security_resume.py.)"""
    hub: RunningHub = meeting["server"]
    screen = meeting["screen"]
    await meeting["captioner"].ok({"type": "caption", "text": "one", "seq": 1})
    await screen.wait_for(lambda c: c.kinds("caption"))
    epoch = screen.positions["public"]["epoch"]
    late = Client(hub.ws_base, meeting["session"]["id"], meeting["session"]["tokens"]["screen"])
    sig = position_sig(hub.app[keys.SESSIONS].position_key, meeting["session"]["id"],
                       "public", epoch, 999)  # as if it had been sent, then lost
    late.positions = {"public": {"epoch": epoch, "offset": 999, "sig": sig}}
    welcome = await late.connect(resume=True)
    assert welcome["channels"]["public"]["recovered"] is False
    assert welcome["channels"]["public"]["epoch"] != epoch
    # Every reader of the old epoch is asked to resume, and gets a fresh snapshot.
    await asyncio.wait_for(screen.closed.wait(), 10)
    again = await screen.connect(resume=True)
    assert again["channels"]["public"]["recovered"] is False
    assert again["channels"]["public"]["epoch"] == welcome["channels"]["public"]["epoch"]
    await meeting["captioner"].connect(resume=True)
    await meeting["captioner"].ok({"type": "caption", "text": "two", "seq": 2})
    await screen.wait_for(lambda c: c.kinds("caption"))
    await late.close()


async def test_slow_reader_is_cut_off_and_resumes_without_loss(hub_factory: Any) -> None:
    hub: RunningHub = await hub_factory(outbox_frames=16, caption_per_10s=10_000)
    created = await hub.session()
    cap = hub.client(created, "captioner", name="Captioner")
    fast = hub.client(created, "screen")
    slow = hub.client(created, "screen")
    slow.small_buffers = True
    for client in (cap, fast, slow):
        await client.connect()
    slow.reader.cancel()  # stops reading: its socket and then its outbox fill up
    await asyncio.gather(slow.reader, return_exceptions=True)
    big = "x" * 9000
    lines = [f"{n} {big}" for n in range(400)]
    for n, text in enumerate(lines, 1):
        await cap.ok({"type": "caption", "text": text, "seq": n})
    got = await fast.wait_for(
        lambda c: len(c.kinds("caption")) == len(lines) and c.kinds("caption"))
    assert [e["data"]["text"] for e in got] == lines
    frames = []
    while True:  # the slow reader was told to go and resume
        try:
            raw = await asyncio.wait_for(slow.ws.recv(), 10)
        except Exception:
            break
        frames.append(raw)
    assert any('"type":"bye"' in f and '"reconnect":true' in f for f in frames)
    slow.events = [json.loads(f) for f in frames if '"type":"event"' in f]
    positions_seen = {e["offset"] for e in slow.events}
    slow.positions["public"]["offset"] = max(positions_seen, default=0)
    slow.events = []
    await slow.connect(resume=True)
    assert slow.welcome["channels"]["public"]["recovered"] is True
    rest = await slow.wait_for(lambda c: c.positions["public"]["offset"] == len(lines)
                               and c.kinds("caption"))
    first_missing = len(positions_seen) + 1
    assert [e["data"]["text"] for e in rest] == lines[first_missing - 1:]
    for client in (cap, fast, slow):
        await client.close()
