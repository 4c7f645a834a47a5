"""Voice end to end: the hub, its private Janus and Chromium pages, inside a fresh network
namespace (tests/support/media_netns.py says why and how), driven by the hub's real grants.

    unshare --net --pid --fork --kill-child --mount-proc -- \\
        python -m tests.support.voice_scenarios meeting

prints one JSON object on its last stdout line; tests/system/test_voice_audio.py asserts on it.

`VoiceLab` runs the hub in this process (`create_app(Config(media="auto",
media_ice_enforce="v0"))`: the hub starts and watches its own private Janus, ICE on the
namespace's veth only) and serves the media harness's measurement page
(tests/support/media/harness.{html,js}) from the hub's own origin, so that pages reach Janus
through the hub's `/janus` as the product pages do. People are protocol clients
(tests/support/harness.Client) on the hub's websocket: they ask for grants with `media`, and a
page joins Janus with what the grant says (its token, room, id, mountpoint, pin) and
nothing else: no API secret, no admin key.

The meeting, in order (every wait bounded; a wait that runs out is reported, not raised,
so the test shows the figures measured so far):

1. a listener (`media want: listen`) watches the session's mountpoint: its silence floor;
2. the audio desk (`media want: desk`) joins the room publishing the room's sound (a
   speech WAV): the listener hears it; the desk's own floor (the room's mix without
   itself: silence while nobody speaks);
3. Bob, who has no floor, asks to speak: refused;
4. Alice asks for the floor, a moderator puts it live (`moderate live`), Alice asks to
   speak and her page joins with the grant: the desk hears her; the moderator marks it
   done: the hub kicks her on Janus, the desk hears silence again although her page goes
   on sending;
5. pages that try the room with Alice's stale token, a forged token and a listen token
   are refused by Janus; the desk hears nothing meanwhile;
6. a hub (Nairobi) takes the floor the same way and is heard at the desk;
7. the interventions' recordings, fetched from the hub's API and decoded;
8. Janus is killed with SIGKILL while the listener hears the desk; the hub restarts it;
   the listener's and the desk's pages ask for new grants after the `media` frame with
   a new `run` and join again; the time from the kill to the first audio the listener
   receives above its floor.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.harness import ADMIN_KEY, Client, ahttp, create_session
from tests.support.media_measure import energy, window
from tests.support.media_netns import (
    ADAPTER_JS,
    JANUS_JS,
    PAGE_DIR,
    VETH,
    MediaBrowsers,
    setup_network,
)
from tests.support.media_scenarios import collect, levels, page_now, wait_level, wait_metered
from tests.support.media_sounds import silence_wav, speech_wav

FLOOR_S = 2.0  # silence measured before anyone speaks
SPEAK_S = 3.0  # level measured while someone is live
AFTER_S = 2.0  # level measured after the turn ended
WAIT_S = 20.0  # bound of every wait for a change to be heard
PAGE_PATH = "/_media_harness"
DESK_TEXT = ("Good morning everyone, and welcome to the workshop. This is the room's sound "
             "from the venue's mixer, carried by the audio desk to the remote listeners.")


def heard_threshold(floor: float) -> float:
    """A level "well above" a silence floor (the harness's own rule)."""
    return max(10 * floor, floor + 0.005)


def quiet_threshold(floor: float, speaking: float) -> float:
    return floor + 0.1 * (speaking - floor)


def first_above(series: list[list[float]], threshold: float, since: float,
                span_ms: float = 50.0) -> float | None:
    """The first time after `since` where the level over the next `span_ms` is above
    `threshold` (epoch ms), or None."""
    points = [p for p in series if p[0] >= since]
    for i, (t, _) in enumerate(points):
        stretch = [rms for u, rms in points[i:] if u < t + span_ms]
        if len(stretch) >= 3 and energy(stretch) > threshold:
            return float(t)
    return None


async def _serve_harness(request: web.Request) -> web.StreamResponse:
    files = {"janus.js": JANUS_JS, "adapter.js": ADAPTER_JS,
             "harness.html": PAGE_DIR / "harness.html", "harness.js": PAGE_DIR / "harness.js"}
    path = files.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})


class VoiceLab:
    """The hub (with its private Janus) and Chromium inside the namespace."""

    def __init__(self, folder: Path, **config: Any) -> None:
        self.folder = folder
        self.config = config
        self.app: web.Application | None = None
        self.base = ""
        self._runner: web.AppRunner | None = None
        self.browsers = MediaBrowsers()

    async def __aenter__(self) -> VoiceLab:
        from hub.app import create_app
        from hub.config import Config

        try:
            setup_network()
            self.app = create_app(Config(
                data=str(self.folder / "data"), admin_key=ADMIN_KEY, media="auto",
                media_ice_enforce=VETH, **self.config))
            self.app.router.add_get(PAGE_PATH + "/{name}", _serve_harness)
            self._runner = web.AppRunner(self.app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
            await self.wait_voice_on()
            await self.browsers.__aenter__()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def media(self) -> Any:
        from hub import keys

        assert self.app is not None
        (plane,) = self.app[keys.MEDIA].planes.values()  # the private Janus's
        return plane

    @property
    def ws_base(self) -> str:
        return self.base.replace("http://", "ws://")

    async def wait_voice_on(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.media.state != "on":
            if time.monotonic() > deadline:
                raise RuntimeError(f"voice is not on: {self.media.reason}")
            await asyncio.sleep(0.05)

    def janus_pid(self) -> int:
        process = self.media.process
        assert process is not None and process.proc is not None, "no private Janus"
        return int(process.proc.pid)

    async def browser(self, wav: Path) -> Any:
        """A Chromium whose fake microphone plays `wav` (in a loop)."""
        return await self.browsers.launch(wav)

    async def page(self, browser: Any, name: str) -> Any:
        """The measurement page, served by the hub (same origin as `/janus`)."""
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda exc: print(f"{name}: page error: {exc}", file=sys.stderr))
        await page.goto(f"{self.base}{PAGE_PATH}/harness.html")
        return page

    async def close(self) -> None:
        await self.browsers.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# -------------------------------------------------------------- pages holding grants

async def connect(page: Any, grant: dict[str, Any]) -> None:
    """The page opens a Janus session with the grant's token only (no API secret)."""
    await page.evaluate("([url, token]) => media.connect(url, null, token)",
                        [grant["janus"], grant["token"]])


async def join_room(page: Any, name: str, grant: dict[str, Any], speak: bool = True) -> None:
    """AudioBridge join as the grant says (room, id, display, token), then publish."""
    await connect(page, grant)
    await page.evaluate(
        "([n, r, s, extra]) => media.bridge(n, r, s, extra)",
        [name, grant["room"], speak,
         {"id": grant["id"], "display": grant["display"], "token": grant["token"]}])


async def watch(page: Any, name: str, grant: dict[str, Any]) -> None:
    await connect(page, grant)
    await page.evaluate("([n, m, pin]) => media.stream(n, m, pin)",
                        [name, grant["mountpoint"], grant["pin"]])


async def refused(coro: Any) -> str | None:
    """Run a page action expected to be refused; the refusal's text, or None if it worked."""
    try:
        await coro
    except Exception as exc:  # Playwright wraps the page's rejection
        return str(exc).splitlines()[0][:300]
    return None


async def give_floor(who: Client, mod: Client, key: str) -> tuple[str, float]:
    """`who` asks for the floor; a moderator puts it live. The item and the epoch ms at
    which `moderate live` was sent."""
    asked = await who.ok({"type": "ask", "kind": "floor", "text": "I wish to speak",
                          "key": key})
    sent = time.time() * 1000
    await mod.ok({"type": "moderate", "item": asked["item"], "action": "live"})
    return str(asked["item"]), sent


async def media_frames(client: Client) -> list[dict[str, Any]]:
    return [f for f in client.frames if f["type"] == "media" and "voice" in f]


def ogg_figures(ogg: Path) -> dict[str, float]:
    """Length (s) and RMS of an Ogg Opus file (opusdec, then sox's stat)."""
    wav = ogg.with_suffix(".wav")
    subprocess.run(["opusdec", "--quiet", "--rate", "48000", str(ogg), str(wav)],
                   check=True, capture_output=True, timeout=60)
    stat = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, timeout=60,
                          check=True).stderr.decode()
    figures = {}
    for line in stat.splitlines():
        key, _, value = line.partition(":")
        figures[key.strip()] = value.strip()
    return {"seconds": float(figures["Length (seconds)"]),
            "rms": float(figures["RMS     amplitude"])}


async def fetch_recordings(lab: VoiceLab, session: str, token: str, count: int,
                           folder: Path) -> dict[str, Any]:
    """Wait (bounded) until `count` interventions are listed with audio; decode each."""
    listed: dict[str, Any] = {}
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        status, body, _ = await ahttp("GET", f"{lab.base}/api/sessions/{session}/interventions",
                                      token=token)
        listed = body if status == 200 else {"status": status, "body": str(body)[:300]}
        items = listed.get("interventions", [])
        if len(items) >= count and all(i.get("audio") for i in items):
            break
        await asyncio.sleep(0.5)
    out: dict[str, Any] = {"listed": listed, "audio": []}
    for item in listed.get("interventions", []):
        if not item.get("audio"):
            continue
        status, body, headers = await asyncio.to_thread(_get_bytes, lab.base + item["audio"],
                                                        token)
        entry: dict[str, Any] = {"n": item["n"], "status": status,
                                 "type": headers.get("Content-Type", "")}
        if status == 200:
            ogg = folder / f"intervention-{item['n']}.ogg"
            ogg.write_bytes(body)
            entry["magic"] = body[:4].decode(errors="replace")
            entry.update(ogg_figures(ogg))
        out["audio"].append(entry)
    return out


def _get_bytes(url: str, token: str) -> tuple[int, bytes, dict[str, str]]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def forge(token: str) -> str:
    """A token of the hub's shape for the same room and turn, with a made-up MAC."""
    head = token.rsplit(".", 1)[0]
    return head + "." + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")[:32]


# ---------------------------------------------------------------------- the meeting

async def turn(lab: VoiceLab, desk: Any, floor: float, speaker: Client, mod: Client,
               page: Any, name: str, key: str) -> dict[str, Any]:
    """One remote turn heard at the desk: given, spoken, done; its figures."""
    out: dict[str, Any] = {}
    item, live_sent = await give_floor(speaker, mod, key)
    grant = await speaker.ok({"type": "media", "want": "speak"})
    out["grant_item_ok"] = grant.get("item") == item
    await join_room(page, name, grant)
    joined = await page_now(page)
    threshold = heard_threshold(floor)
    out["heard"] = await wait_level(desk, "D", lambda level: level > threshold)
    first = first_above(await levels(desk, "D", live_sent), threshold, live_sent)
    out["floor_to_audio_ms"] = None if first is None else first - live_sent
    start = await page_now(desk)
    out["speaking"], _ = await collect(desk, "D", SPEAK_S)
    sent = await levels(page, f"{name}:sent", start)
    out["sent"] = energy([rms for _, rms in sent])
    done_at = await page_now(desk)
    await mod.ok({"type": "moderate", "item": item, "action": "done"})
    out["spoken_s"] = (done_at - (first if first is not None else joined)) / 1000
    quiet = quiet_threshold(floor, out["speaking"])
    out["quiet_again"] = await wait_level(desk, "D", lambda level: level < quiet, over_s=1.0)
    out["after"], _ = await collect(desk, "D", AFTER_S)
    # The speaker's page still holds its peer connection and its microphone: it is the
    # hub's kick on Janus, not the page, that silenced it.
    out["page_still_sending"] = energy(
        [rms for _, rms in await levels(page, f"{name}:sent", done_at)]) > 0.01
    out["grant"] = {k: grant[k] for k in ("room", "id", "token", "janus", "display")}
    return out


async def meeting(folder: Path) -> dict[str, Any]:
    speech = speech_wav(folder / "speech.wav")
    room_sound = speech_wav(folder / "room.wav", text=DESK_TEXT)
    silence = silence_wav(folder / "silence.wav")
    result: dict[str, Any] = {}
    async with VoiceLab(folder / "lab") as lab:
        created = await create_session(lab.base, state="live",
                                       settings={"premoderation": False})
        sid = created["id"]

        def client(role: str, name: str) -> Client:
            return Client(lab.ws_base, sid, created["tokens"][role], name=name)

        mod, desk_c = client("moderator", "Moderator"), client("desk", "Audio desk")
        alice, bob = client("participant", "Alice"), client("participant", "Bob")
        nairobi, lis = client("hub", "Nairobi hub"), client("participant", "Listener")
        people = (mod, desk_c, alice, bob, nairobi, lis)
        for person in people:
            await person.connect()
        result["voice"] = lis.welcome["session"]["voice"]
        speakers = await lab.browser(speech)
        listener = await lab.page(await lab.browser(silence), "listener")
        desk = await lab.page(await lab.browser(room_sound), "desk")

        # 1-2. The listener's floor, then the desk's input heard by the listener.
        listen = await lis.ok({"type": "media", "want": "listen"})
        await watch(listener, "L", listen)
        result["listener_metered"] = await wait_metered(listener, "L", 0.5)
        floor_l, _ = await collect(listener, "L", FLOOR_S)
        desk_grant = await desk_c.ok({"type": "media", "want": "desk"})
        await join_room(desk, "D", desk_grant)
        result["listen"] = {"floor": floor_l, "janus": listen["janus"]}
        result["listen"]["heard"] = await wait_level(
            listener, "L", lambda level: level > heard_threshold(floor_l))
        result["listen"]["hearing"], _ = await collect(listener, "L", SPEAK_S)
        result["listen"]["stats"] = await listener.evaluate("media.stats('L')")
        result["desk_metered"] = await wait_metered(desk, "D", 0.5)
        floor_d, _ = await collect(desk, "D", FLOOR_S)
        result["desk_floor"] = floor_d

        # 3. Without the floor, no grant.
        result["bob_speak"] = await bob.request({"type": "media", "want": "speak"})

        # 4. Alice is given the floor and heard at the desk; done: silence.
        alice_page = await lab.page(speakers, "alice")
        result["alice"] = await turn(lab, desk, floor_d, alice, mod, alice_page, "A",
                                     "floor-alice")

        # 5. Stale, forged and listen tokens: refused by Janus; the desk hears nothing.
        since = await page_now(desk)
        stale = dict(result["alice"]["grant"])
        attempts = {}
        for label, token in (("stale", stale["token"]), ("forged", forge(stale["token"])),
                             ("listen", (await bob.ok({"type": "media",
                                                       "want": "listen"}))["token"])):
            page = await lab.page(speakers, f"intruder-{label}")
            attempts[label] = await refused(join_room(page, "X", {**stale, "token": token}))
        await asyncio.sleep(1.0)
        desk_during = energy(window(await levels(desk, "D", since), since,
                                    await page_now(desk) + 1))
        result["intruders"] = {"refusals": attempts, "desk_level": desk_during}

        # 6. A hub takes the floor.
        hub_page = await lab.page(speakers, "nairobi")
        result["hub"] = await turn(lab, desk, floor_d, nairobi, mod, hub_page, "H",
                                   "floor-nairobi")
        for part in ("alice", "hub"):
            result[part].pop("grant", None)

        # 7. The recordings, through the hub's API.
        result["recordings"] = await fetch_recordings(lab, sid, created["tokens"]["moderator"],
                                                      2, folder)

        # 8. Janus killed -9 while the listener hears the desk; back within 5 s?
        result["recovery"] = await kill_and_recover(lab, listener, desk, lis, desk_c, floor_l)
        for person in people:
            await person.close()
    return result


async def kill_and_recover(lab: VoiceLab, listener: Any, desk: Any, lis: Client,
                           desk_c: Client, floor: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    threshold = heard_threshold(floor)
    out["hearing_before"] = await wait_level(listener, "L", lambda level: level > threshold)
    run_before = lab.media.run
    frames_before = len(lis.frames)
    pid = lab.janus_pid()
    killed_at = time.time() * 1000
    os.kill(pid, signal.SIGKILL)

    def new_run(client: Client) -> Any:
        return next((f for f in client.frames[frames_before:]
                     if f["type"] == "media" and f.get("voice") == "on"
                     and f.get("run") != run_before), None)

    # What a page does on a `media` frame with a new run: ask again, join again.
    frame = await lis.wait_for(new_run, timeout=30)
    out["media_frame_ms"] = time.time() * 1000 - killed_at
    out["new_run"] = frame["run"] != run_before
    out["janus_pid_changed"] = lab.janus_pid() != pid

    async def listener_back() -> None:
        grant = await lis.ok({"type": "media", "want": "listen"})
        await watch(listener, "L2", grant)

    async def desk_back() -> None:
        grant = await desk_c.ok({"type": "media", "want": "desk"})
        await join_room(desk, "D2", grant)

    await asyncio.gather(listener_back(), desk_back())
    out["heard"] = await wait_level(listener, "L2", lambda level: level > threshold)
    first = first_above(await levels(listener, "L2", killed_at), threshold, killed_at)
    out["recovery_ms"] = None if first is None else first - killed_at
    out["hearing_after"], _ = await collect(listener, "L2", SPEAK_S)
    out["floor"] = floor
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["meeting"])
    parser.add_argument("--tag", default="run",
                        help="put in the temporary folder's name (and so in the command "
                             "lines of Janus and Chromium) to find leftovers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"hub-media-{args.tag}-") as tmp:
        result = asyncio.run(asyncio.wait_for(meeting(Path(tmp)), 280))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
