"""Resume positions: a client's bare claim never changes a session's epoch; a position the
server signed and the log no longer holds does (history went backwards), so readers never
resume into reused offsets, and a forged resume offset changes nothing for anyone."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from hub import keys
from hub.session import position_key, position_sig
from tests.support.harness import Client, HubProcess, create_session
from tests.support.inprocess import RunningHub
from tests.support.redis_server import RedisProcess


def test_a_position_signature_names_session_channel_epoch_and_offset() -> None:
    key = position_key("a secret long enough for the test, 32+")
    sig = position_sig(key, "s1", "public", "E1", 7)
    assert sig == position_sig(key, "s1", "public", "E1", 7)
    others = {
        position_sig(key, "s2", "public", "E1", 7),
        position_sig(key, "s1", "private:someone", "E1", 7),
        position_sig(key, "s1", "public", "E2", 7),
        position_sig(key, "s1", "public", "E1", 8),
        position_sig(position_key("another secret, another deployment!!"), "s1", "public",
                     "E1", 7),
    }
    assert sig not in others and len(others) == 5
    assert len(sig) == 16


async def test_every_position_the_server_sends_is_signed(hub: RunningHub) -> None:
    created = await hub.session()
    cap = hub.client(created, "captioner", name="Cap")
    reader = hub.client(created, "participant", name="Reader")
    for each in (cap, reader):
        await each.connect()
    await cap.ok({"type": "caption", "text": "one", "seq": 1})
    (event,) = await reader.wait_for(lambda c: c.kinds("caption"))
    key = hub.app[keys.SESSIONS].position_key
    assert event["sig"] == position_sig(key, created["id"], "public", event["epoch"],
                                        event["offset"])
    welcome = reader.welcome["channels"]["private"]
    private = f"private:{reader.welcome['you']['id']}"
    assert welcome["sig"] == position_sig(key, created["id"], private, welcome["epoch"],
                                          welcome["offset"])
    for each in (cap, reader):
        await each.close()


@pytest.mark.parametrize("sig", [None, "", "AAAAAAAAAAAAAAAA", "not base64 at all ☃"])
async def test_a_bare_or_forged_claim_gets_a_fresh_snapshot_and_changes_nothing(
    meeting: dict[str, Any], sig: str | None,
) -> None:
    hub: RunningHub = meeting["server"]
    screen = meeting["screen"]
    await meeting["captioner"].ok({"type": "caption", "text": "one", "seq": 1})
    await screen.wait_for(lambda c: c.kinds("caption"))
    epoch = screen.positions["public"]["epoch"]
    attacker = Client(hub.ws_base, meeting["session"]["id"],
                      meeting["session"]["tokens"]["participant"], name="Attacker")
    claim: dict[str, Any] = {"epoch": epoch, "offset": 10**6}
    if sig is not None:
        claim["sig"] = sig
    attacker.positions = {"public": claim, "private": {"epoch": epoch, "offset": 0}}
    for _ in range(3):  # again and again: never a reset
        welcome = await attacker.connect(resume=True)
        assert welcome["channels"]["public"]["recovered"] is False
        assert welcome["channels"]["public"]["epoch"] == epoch
        assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]] == ["one"]
        attacker.positions = {"public": dict(claim), "private": {"epoch": epoch, "offset": 0}}
    # The bystander was never asked to resume, and still reads live.
    await meeting["captioner"].ok({"type": "caption", "text": "two", "seq": 2})
    await screen.wait_for(lambda c: len(c.kinds("caption")) == 2)
    assert not screen.closed.is_set()
    await attacker.close()


async def test_a_signature_of_another_channel_or_session_proves_nothing(
    meeting: dict[str, Any],
) -> None:
    """A participant holds real signatures (its own private channel's): shown for the
    public channel, or above the top of its own channel with another offset, they fail."""
    hub: RunningHub = meeting["server"]
    screen = meeting["screen"]
    alice = meeting["alice"]
    private = alice.positions["private"]
    epoch = private["epoch"]
    for forged in (
        {"public": {"epoch": epoch, "offset": 10**6, "sig": private["sig"]},
         "private": dict(private)},
        {"public": dict(alice.positions["public"]),
         "private": {"epoch": epoch, "offset": private["offset"] + 50, "sig": private["sig"]}},
    ):
        again = Client(hub.ws_base, meeting["session"]["id"], alice.token)
        again.positions = forged
        welcome = await again.connect(resume=True)
        assert welcome["channels"]["public"]["recovered"] is False
        assert welcome["channels"]["public"]["epoch"] == epoch
        await again.close()
    assert not screen.closed.is_set()


# -- storage that came back without its data, while no process remembered ---------------


async def _meeting_then_loss(
    hub: HubProcess, save: Callable[[], None], lose: Callable[[], None], *, restarts: bool,
) -> None:
    """Captions 1-3, then `save` (the backup), captions 4-8 that one reader got, the hub
    stops, `lose` (storage comes back as the backup), the hub starts again. The reader's
    signed position proves the loss: the epoch changes, everybody gets a fresh snapshot,
    and nobody resumes into the offsets the meeting reuses; a bare claim changed nothing.
    `restarts`: `save` stops and starts the hub (its clients then resume)."""
    hub.start()
    created = await create_session(hub.url, "Restored", state="live")
    sid, tokens = created["id"], created["tokens"]
    cap = Client(hub.ws_url, sid, tokens["captioner"], name="Cap")
    reader = Client(hub.ws_url, sid, tokens["screen"])
    early = Client(hub.ws_url, sid, tokens["screen"])  # leaves after caption 3
    for each in (cap, reader, early):
        await each.connect()
    for n in range(1, 4):
        await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
    await early.wait_for(lambda c: len(c.kinds("caption")) == 3)
    await early.close()
    save()
    if restarts:
        for each in (cap, reader):
            await asyncio.wait_for(each.closed.wait(), 10)
            await each.connect(resume=True)
    for n in range(4, 9):
        await cap.ok({"type": "caption", "text": f"c{n}", "seq": n})
    await reader.wait_for(lambda c: len(c.kinds("caption")) == 8)
    old = reader.positions["public"]
    hub.terminate()
    lose()
    hub.start()
    try:
        # A bare claim of the same position: a fresh snapshot of what the log holds, and
        # the epoch stays (the server has no proof that it ever sent offset 8).
        bare = Client(hub.ws_url, sid, tokens["screen"])
        bare.positions = {"public": {"epoch": old["epoch"], "offset": old["offset"]}}
        welcome = await bare.connect(resume=True)
        assert welcome["channels"]["public"]["recovered"] is False
        assert welcome["channels"]["public"]["epoch"] == old["epoch"]
        assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]] == [
            "c1", "c2", "c3"]
        # The reader shows what the server signed: history went backwards.
        welcome = await reader.connect(resume=True)
        new = welcome["channels"]["public"]
        assert new["recovered"] is False and new["epoch"] != old["epoch"]
        assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]] == [
            "c1", "c2", "c3"]
        await asyncio.wait_for(bare.closed.wait(), 10)  # told to resume: old epoch
        # The meeting goes on at the reused offsets, under the new epoch only.
        await cap.connect(resume=True)
        assert cap.welcome["channels"]["public"]["recovered"] is False
        await cap.ok({"type": "caption", "text": "after", "seq": 9})
        got = await reader.wait_for(lambda c: [e for e in c.kinds("caption")
                                               if e["data"]["text"] == "after"])
        assert got[0]["epoch"] == new["epoch"]
        # A reader that left before the loss (its offset is below the restored top) resumes
        # with a fresh snapshot too, never into the new events of the old epoch's offsets.
        welcome = await early.connect(resume=True)
        assert welcome["channels"]["public"]["recovered"] is False
        assert [c["text"] for c in welcome["snapshot"]["captions"]["en"]][-1] == "after"
        for each in (cap, reader, early, bare):
            await each.close()
    finally:
        hub.kill()


async def test_sqlite_restored_from_an_older_copy_is_detected_after_a_restart(
    tmp_path: Path,
) -> None:
    data, backup = tmp_path / "data", tmp_path / "backup"
    hub = HubProcess(data, env={"HUB_SECRET": secrets.token_urlsafe(32)})

    def save() -> None:  # a consistent copy: the hub stopped for it, then goes on
        hub.terminate()
        shutil.copytree(data, backup)
        hub.start()

    def lose() -> None:
        shutil.rmtree(data)
        shutil.copytree(backup, data)

    await _meeting_then_loss(hub, save, lose, restarts=True)


@pytest.mark.redis
async def test_redis_restored_from_an_older_snapshot_is_detected_after_a_restart(
    tmp_path: Path,
) -> None:
    server = RedisProcess(tmp_path / "redis")
    server.start()
    hub = HubProcess(tmp_path / "data", redis_url=server.url,
                     env={"HUB_SECRET": secrets.token_urlsafe(32)})

    def save() -> None:
        with redis.Redis.from_url(server.url) as client:
            client.save()  # dump.rdb: what a restart loads

    def lose() -> None:
        server.kill()
        server.start()

    try:
        await _meeting_then_loss(hub, save, lose, restarts=False)
    finally:
        hub.kill()
        server.kill()
