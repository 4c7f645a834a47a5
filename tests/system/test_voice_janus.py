"""Voice with a real Janus: the hub runs a private one, and the tests speak to Janus's own
API as pages (and attackers) would. No audio flows here (that needs the network-namespace
harness); what is checked is who Janus lets in, and when it throws them out."""

from __future__ import annotations

import os
import shutil
import signal
from typing import Any

import pytest

from hub import keys
from tests.support.harness import Client
from tests.support.inprocess import RunningHub
from tests.support.janus_probe import JanusAdmin, JanusPage, JanusRefused, until

pytestmark = pytest.mark.skipif(shutil.which("janus") is None,
                                reason="janus is not installed (scripts/test-deps.sh)")
AUDIOBRIDGE, STREAMING = "janus.plugin.audiobridge", "janus.plugin.streaming"


@pytest.fixture
async def voice_hub(hub_factory: Any) -> RunningHub:
    hub: RunningHub = await hub_factory(media="auto")
    return hub


async def floor_to(hub: RunningHub, created: dict[str, Any], who: Client,
                   mod: Client, **live: Any) -> str:
    """`who` asks for the floor and a moderator gives it; the item id."""
    asked = await who.ok({"type": "ask", "kind": "floor", "text": "I wish to speak",
                          "key": f"floor-{who.welcome['you']['id']}"})
    await mod.ok({"type": "moderate", "item": asked["item"], "action": "live", **live})
    return str(asked["item"])


async def people(hub: RunningHub) -> tuple[dict[str, Any], Client, Client, Client]:
    created = await hub.session(settings={"premoderation": False})
    mod = hub.client(created, "moderator", name="Moderator")
    alice = hub.client(created, "participant", name="Alice")
    bob = hub.client(created, "participant", name="Bob")
    for client in (mod, alice, bob):
        await client.connect()
    return created, mod, alice, bob


async def participant_ids(probe: JanusPage, room: int) -> set[int]:
    listed = await probe.send({"request": "listparticipants", "room": room})
    return {p["id"] for p in listed.get("participants", [])}


async def test_voice_is_on_and_the_room_and_mountpoint_exist(voice_hub: RunningHub) -> None:
    _created, mod, alice, _bob = await people(voice_hub)
    assert alice.welcome["session"]["voice"]["voice"] == "on"
    await alice.wait_for(lambda c: any(f["type"] == "media" for f in c.frames))
    listen = await alice.ok({"type": "media", "want": "listen"})
    assert listen["janus"] == "/janus"  # through the hub's own origin (hub/media/proxy.py)
    assert listen["mountpoint"] > 0 and listen["pin"] and listen["expires"] > 0
    assert listen["ice_servers"] == []
    admin = JanusAdmin(voice_hub.data)
    probe = await admin.probe(AUDIOBRIDGE)
    assert (await probe.send({"request": "exists", "room": listen["mountpoint"]}))["exists"]
    streaming = await admin.probe(STREAMING)
    info = await streaming.send({"request": "info", "id": listen["mountpoint"]})
    assert info["info"]["id"] == listen["mountpoint"]
    # The listen token works on Janus for the Streaming plugin, and only for it.
    page = await JanusPage(voice_hub.base + listen["janus"], listen["token"]).open(STREAMING)
    assert page.handle
    with pytest.raises(JanusRefused):
        await JanusPage(voice_hub.base + listen["janus"], listen["token"]).open(AUDIOBRIDGE)
    # The hub forwards Janus's API only, never its admin API.
    from tests.support.harness import ahttp

    for path in ("/janus/admin", "/janus/../admin", "/janus/1/2/3"):
        assert (await ahttp("GET", voice_hub.base + path))[0] == 404
    status = await voice_hub_ready(voice_hub)
    assert status.splitlines() == ["ready", "voice on"]
    for client in (mod, alice):
        await client.close()


async def voice_hub_ready(hub: RunningHub) -> str:
    from tests.support.harness import ahttp

    status, body, _ = await ahttp("GET", f"{hub.base}/readyz")
    assert status == 200
    return str(body)


async def test_janus_refuses_forged_tokens_and_speakers_without_the_floor(
        voice_hub: RunningHub) -> None:
    created, mod, alice, bob = await people(voice_hub)
    refused = await bob.request({"type": "media", "want": "speak"})
    assert refused["code"] == "conflict" and refused["reason"] == "not_your_turn"
    await floor_to(voice_hub, created, alice, mod)
    grant = await alice.ok({"type": "media", "want": "speak"})
    # Bob forges a token of the hub's shape: Janus itself refuses it.
    forged = grant["token"].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(JanusRefused) as err:
        await JanusPage(voice_hub.base + grant["janus"], forged).open(AUDIOBRIDGE)
    assert err.value.code == 403
    # A listener's own token cannot join the room either (not its plugin, not allowed).
    listen = await bob.ok({"type": "media", "want": "listen"})
    with pytest.raises(JanusRefused):
        await JanusPage(voice_hub.base + listen["janus"], listen["token"]).open(AUDIOBRIDGE)
    # Someone with a valid Janus token of their own but not in the room's allowed list:
    admin = JanusAdmin(voice_hub.data)
    intruder = await admin.probe(AUDIOBRIDGE)
    with pytest.raises(JanusRefused):
        await intruder.join({**grant, "token": intruder.token})
    # The speaker's own grant joins.
    page = await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    joined = await page.join(grant)
    assert joined["id"] == grant["id"]
    for client in (mod, alice, bob):
        await client.close()


async def test_the_turn_ends_on_janus(voice_hub: RunningHub) -> None:
    """Done: the speaker is kicked from the room on Janus, and their token joins no more."""
    created, mod, alice, _bob = await people(voice_hub)
    item = await floor_to(voice_hub, created, alice, mod)
    grant = await alice.ok({"type": "media", "want": "speak"})
    assert grant["item"] == item
    await alice.wait_for(lambda c: any(e["kind"] == "voice" and e["data"]["since"]
                                       for e in c.events))
    page = await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    await page.join(grant)
    probe = await JanusAdmin(voice_hub.data).probe(AUDIOBRIDGE)
    assert grant["id"] in await participant_ids(probe, grant["room"])
    await mod.ok({"type": "moderate", "item": item, "action": "done"})

    async def gone() -> bool:
        return grant["id"] not in await participant_ids(probe, grant["room"])

    await until(gone)
    with pytest.raises(JanusRefused):  # the token itself is gone from Janus
        await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    refused = await alice.request({"type": "media", "want": "speak"})
    assert refused["reason"] == "not_your_turn"
    await mod.wait_for(lambda c: any(e["kind"] == "voice" and e["data"]["item"] is None
                                     for e in c.kinds("voice", "moderation")))
    for client in (mod, alice):
        await client.close()


async def test_speaking_time_over_and_cut_close_the_microphone(voice_hub: RunningHub) -> None:
    created, mod, alice, bob = await people(voice_hub)
    # A one-second turn: after it (and the grace), Janus no longer lets the speaker in.
    await floor_to(voice_hub, created, alice, mod, seconds=1)
    grant = await alice.ok({"type": "media", "want": "speak"})
    page = await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    await page.join(grant)
    probe = await JanusAdmin(voice_hub.data).probe(AUDIOBRIDGE)

    async def kicked() -> bool:
        return grant["id"] not in await participant_ids(probe, grant["room"])

    await until(kicked, timeout=20)
    # Cut: Bob has the floor, joins, a moderator cuts; he is out and may not come back.
    await floor_to(voice_hub, created, bob, mod)
    grant = await bob.ok({"type": "media", "want": "speak"})
    page = await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    await page.join(grant)
    assert (await mod.ok({"type": "voice", "action": "mute"}))["action"] == "mute"

    async def muted() -> bool:
        listed = await probe.send({"request": "listparticipants", "room": grant["room"]})
        return any(p["id"] == grant["id"] and p.get("muted") for p in listed["participants"])

    await until(muted)
    await mod.ok({"type": "voice", "action": "cut"})
    await until(lambda: _absent(probe, grant))
    again = await bob.request({"type": "media", "want": "speak"})
    assert again["code"] == "conflict" and again["reason"] == "cut"
    for client in (mod, alice, bob):
        await client.close()


async def _absent(probe: JanusPage, grant: dict[str, Any]) -> bool:
    return grant["id"] not in await participant_ids(probe, grant["room"])


async def test_a_desk_takes_over_only_when_asked(voice_hub: RunningHub) -> None:
    created = await voice_hub.session()
    one = voice_hub.client(created, "desk", name="Desk A")
    two = voice_hub.client(created, "desk", name="Desk B")
    await one.connect()
    await two.connect()
    first = await one.ok({"type": "media", "want": "desk"})
    page = await JanusPage(voice_hub.base + first["janus"], first["token"]).open(AUDIOBRIDGE)
    await page.join(first)
    refused = await two.request({"type": "media", "want": "desk"})
    assert refused["code"] == "conflict" and refused["reason"] == "desk_active"
    assert "Desk A" in refused["message"]
    second = await two.ok({"type": "media", "want": "desk", "take_over": True})
    assert second["id"] != first["id"]
    probe = await JanusAdmin(voice_hub.data).probe(AUDIOBRIDGE)
    await until(lambda: _absent(probe, first))
    await one.wait_for(lambda c: any(e["data"]["desk_id"] == two.welcome["you"]["id"]
                                     for e in c.kinds("voice")))
    page2 = await JanusPage(voice_hub.base + second["janus"], second["token"]).open(AUDIOBRIDGE)
    await page2.join(second)
    with pytest.raises(JanusRefused):  # the old desk's grant is void on Janus
        await JanusPage(voice_hub.base + first["janus"], first["token"]).open(AUDIOBRIDGE)
    # A participant cannot take the desk at all.
    someone = voice_hub.client(created, "participant", name="P")
    await someone.connect()
    assert (await someone.request({"type": "media", "want": "desk"}))["code"] == "forbidden"
    for client in (one, two, someone):
        await client.close()


async def test_the_desk_cuts_the_speaker_on_janus(voice_hub: RunningHub) -> None:
    """The desk holding the desk cuts: the speaker is kicked on Janus and may not come
    back; a desk that does not hold the desk is refused, and the desk never mutes."""
    created, mod, alice, _bob = await people(voice_hub)
    desk = voice_hub.client(created, "desk", name="Desk A")
    other = voice_hub.client(created, "desk", name="Desk B")
    for client in (desk, other):
        await client.connect()
    await desk.ok({"type": "media", "want": "desk"})
    await floor_to(voice_hub, created, alice, mod)
    grant = await alice.ok({"type": "media", "want": "speak"})
    page = await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    await page.join(grant)
    probe = await JanusAdmin(voice_hub.data).probe(AUDIOBRIDGE)
    assert grant["id"] in await participant_ids(probe, grant["room"])
    refused = await other.request({"type": "voice", "action": "cut"})
    assert refused["code"] == "conflict" and refused["reason"] == "not_desk"
    assert (await desk.request({"type": "voice", "action": "mute"}))["code"] == "forbidden"
    assert grant["id"] in await participant_ids(probe, grant["room"])  # nothing changed
    assert (await desk.ok({"type": "voice", "action": "cut"}))["action"] == "cut"
    await until(lambda: _absent(probe, grant))
    with pytest.raises(JanusRefused):  # the speaker's token is gone from Janus
        await JanusPage(voice_hub.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    again = await alice.request({"type": "media", "want": "speak"})
    assert again["code"] == "conflict" and again["reason"] == "cut"
    await mod.wait_for(lambda c: any(e["data"]["cut"] and e["data"]["cut_by"] == "desk"
                                     for e in c.kinds("voice", "moderation")))
    for client in (mod, alice, desk, other):
        await client.close()


async def test_janus_killed_and_restarted(voice_hub: RunningHub) -> None:
    """kill -9 of Janus mid-meeting: the hub starts it again, makes the rooms again and
    tells pages (a new `run`); the text meeting goes on meanwhile."""
    import time

    created, mod, alice, _bob = await people(voice_hub)
    listen = await alice.ok({"type": "media", "want": "listen"})
    run = listen["run"]
    await floor_to(voice_hub, created, alice, mod)
    speak = await alice.ok({"type": "media", "want": "speak"})
    media = voice_hub.app[keys.MEDIA].planes["main"]
    assert media.process is not None and media.process.proc is not None
    started = time.monotonic()
    os.kill(media.process.proc.pid, signal.SIGKILL)
    await alice.ok({"type": "ask", "kind": "question", "text": "Still here?", "key": "k"})
    frame = await alice.wait_for(lambda c: next(
        (f for f in c.frames if f["type"] == "media" and f["voice"] == "on"
         and f["run"] not in (None, run)), None), timeout=15)
    print(f"media reset after {time.monotonic() - started:.2f} s")  # target: under 5 s
    probe = await JanusAdmin(voice_hub.data).probe(AUDIOBRIDGE)
    assert (await probe.send({"request": "exists", "room": listen["mountpoint"]}))["exists"]
    again = await alice.ok({"type": "media", "want": "listen"})
    assert again["run"] == frame["run"]
    page = await JanusPage(voice_hub.base + again["janus"], again["token"]).open(STREAMING)
    assert page.handle
    # The speaker's grant was put back: their page joins again with the grant it holds.
    rejoined = await JanusPage(voice_hub.base + speak["janus"], speak["token"]).open(AUDIOBRIDGE)
    await rejoined.join(speak)
    from tests.support.harness import ahttp

    _, metrics, _ = await ahttp("GET", f"{voice_hub.base}/metrics")
    assert 'hub_media_resets_total{janus="main"} 1.0' in str(metrics)
    assert 'hub_voice_up{janus="main"} 1.0' in str(metrics)
    for client in (mod, alice):
        await client.close()


async def test_interventions_api_report_transcript_and_deletion(voice_hub: RunningHub) -> None:
    """A remote intervention is recorded as a fact: listed for staff, in the report and the
    transcript; its recording is served as Ogg Opus; erasure and deletion remove it."""
    from hub.media import recordings
    from tests.support.harness import ADMIN_KEY, ahttp

    created, mod, alice, bob = await people(voice_hub)
    sid = created["id"]
    item = await floor_to(voice_hub, created, alice, mod)
    grant = await alice.ok({"type": "media", "want": "speak"})
    await mod.ok({"type": "moderate", "item": item, "action": "done"})
    item2 = await floor_to(voice_hub, created, bob, mod)
    await bob.ok({"type": "media", "want": "speak"})
    await mod.ok({"type": "moderate", "item": item2, "action": "done"})
    base = f"{voice_hub.base}/api/sessions/{sid}"
    status, body, _ = await ahttp("GET", f"{base}/interventions", token=mod.token)
    assert status == 200, body
    listed = body["interventions"]
    assert [(i["n"], i["item"], i["speaker"]) for i in listed] == [
        (1, item, "Alice"), (2, item2, "Bob")]
    assert listed[0]["origin"] == "remote" and listed[0]["end"] >= listed[0]["start"]
    assert listed[0]["audio"] is None  # no audio flowed here: nothing was recorded
    assert listed[0]["speaker_id"] == alice.welcome["you"]["id"]
    status, _, _ = await ahttp("GET", f"{base}/interventions", token=alice.token)
    assert status == 403
    # A recording as the conversion leaves it (the conversion itself needs audio: the
    # network-namespace tests): the API serves it, the report and the transcript link it.
    for n in (1, 2):
        path = recordings.audio_path(voice_hub.data, sid, n)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"OggS" + bytes(60))
    status, body, headers = await ahttp("GET", f"{base}/interventions/1/audio",
                                        token=mod.token)
    assert status == 200 and headers["Content-Type"] == "audio/ogg"
    status, _, _ = await ahttp("GET", f"{base}/interventions/9/audio", token=mod.token)
    assert status == 404
    status, report, _ = await ahttp("GET", f"{base}/report?format=json", token=ADMIN_KEY)
    remote = report["remote_interventions"]
    assert [r["speaker"] for r in remote["list"]] == ["Alice", "Bob"]
    assert remote["list"][0]["audio"] == f"/api/sessions/{sid}/interventions/1/audio"
    assert {t["dimension"] for t in remote["speaking_time"]} == {"origin", "stakeholder"}
    status, text, _ = await ahttp("GET", f"{base}/report?format=md", token=ADMIN_KEY)
    assert "## Remote interventions" in str(text)
    status, tr, _ = await ahttp("GET", f"{base}/transcript?format=json", token=alice.token)
    assert [i["audio"] for i in tr["interventions"]] == [
        f"/api/sessions/{sid}/interventions/{n}/audio" for n in (1, 2)]
    assert "speaker_id" not in tr["interventions"][0]
    # Erasing Alice removes her recording, not Bob's.
    status, _, _ = await ahttp("DELETE", f"{base}/people/{alice.welcome['you']['id']}",
                               token=ADMIN_KEY)
    assert status == 200
    assert not recordings.audio_path(voice_hub.data, sid, 1).exists()
    assert recordings.audio_path(voice_hub.data, sid, 2).exists()
    status, body, _ = await ahttp("GET", f"{base}/interventions", token=ADMIN_KEY)
    assert body["interventions"][0]["speaker"] is None  # the erased item is anonymous
    assert grant["token"] not in str(body)
    # Deleting the session removes every recording.
    for client in (mod, alice, bob):
        await client.close()
    status, _, _ = await ahttp("DELETE", base, token=ADMIN_KEY)
    assert status == 200
    assert not recordings.converted_dir(voice_hub.data, sid).exists()


async def test_two_instances_share_one_janus(hub_factory: Any, redis_url: str,
                                             redis_prefix: str) -> None:
    """Two hub instances (one Redis) reconcile one shared Janus every second: they agree on
    the run, neither undoes what the other granted, and either one ends a turn."""
    import asyncio

    common = {"redis_url": redis_url, "redis_prefix": redis_prefix,
              "secret": "k4Vb9QmT2xWz7LpN3rYc8JhF5dGs6aEuKq1o"}
    a: RunningHub = await hub_factory(media="auto", **common)
    admin = JanusAdmin(a.data)
    b: RunningHub = await hub_factory(
        media=admin.api, media_admin_url=f"http://127.0.0.1:{admin.admin_port}/admin",
        media_admin_secret=admin.secret, **common)
    created = await a.session(settings={"premoderation": False})
    mod = a.client(created, "moderator", name="Moderator")
    alice = b.client(created, "participant", name="Alice")
    desk = b.client(created, "desk", name="Desk")
    for client in (mod, alice, desk):
        await client.connect()
    item = await floor_to(a, created, alice, mod)
    await alice.wait_for(lambda c: any(e["kind"] == "floor" and e["data"]["item"] == item
                                       for e in c.events))
    grant = await alice.ok({"type": "media", "want": "speak"})
    desk_grant = await desk.ok({"type": "media", "want": "desk"})
    listen_a = await mod.ok({"type": "media", "want": "listen"})
    assert listen_a["run"] == grant["run"]  # one Janus run, one id, whichever instance
    assert listen_a["mountpoint"] == grant["room"]
    speaker = await JanusPage(b.base + grant["janus"], grant["token"]).open(AUDIOBRIDGE)
    await speaker.join(grant)
    room = await JanusPage(b.base + desk_grant["janus"], desk_grant["token"]).open(AUDIOBRIDGE)
    await room.join(desk_grant)
    probe = await admin.probe(AUDIOBRIDGE)
    await asyncio.sleep(2.5)  # both instances reconcile at least twice meanwhile
    assert {grant["id"], desk_grant["id"]} <= await participant_ids(probe, grant["room"])
    forwarders = await probe.send({"request": "listforwarders", "room": grant["room"],
                                   "secret": _room_secret(a, created["id"])})
    assert len(forwarders["rtp_forwarders"]) == 1  # the room's mix goes out once
    await mod.ok({"type": "moderate", "item": item, "action": "done"})
    await until(lambda: _absent(probe, grant))
    assert desk_grant["id"] in await participant_ids(probe, grant["room"])
    for client in (mod, alice, desk):
        await client.close()


def _room_secret(hub: RunningHub, session: str) -> str:
    from hub.media import grants

    return grants.room_secret(hub.app[keys.MEDIA].key, session)
