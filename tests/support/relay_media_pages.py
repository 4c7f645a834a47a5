"""Real audio between a hub's relay and the meeting, inside a network namespace.

    unshare --net --pid --fork --kill-child --mount-proc -- \
        python -m tests.support.relay_media_pages

prints one JSON object on its last stdout line (tests/system/test_relay_voice_media.py asserts on
it). Inside the fresh namespace (tests/support/media_netns.py sets up `lo` and the veth pair): a
meeting (`hub serve` with its private Janus, ICE on the veth address only) and a real
`hub relay` of it, and three Chromiums whose fake microphones play the room's sound (the
meeting's audio desk page), the hub's spokesperson (the relay's hub page) and silence
(an attendee's page on the relay). The pages are the product's, driven by their controls:

1. The desk starts at the meeting; the relay's attendee presses "Listen" on the relay's
   page: it hears the meeting's room (the grant came through the relay, the signalling
   through the relay's /janus, the audio straight from the meeting's Janus).
2. The hub asks for the floor in its room; the meeting's chair gives it; the relay's hub
   page switches its microphone on from the prompt: the meeting's desk hears the hub.
3. The chair ends the turn: the relay's hub page switches its microphone off and the desk
   hears silence again.

Levels are the pages' <meter> values (0-100 on -60..0 dBFS), sampled every 100 ms. Every
wait is bounded; one that runs out is reported rather than raised.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.media_netns import MediaBrowsers, setup_network
from tests.support.media_pages import (
    FLOOR_S,
    ROOM_TEXT,
    SPEAK_S,
    WAIT_S,
    mean,
    meter_series,
    state_of,
    wait_meter,
)
from tests.support.media_sounds import silence_wav, speech_wav

JANUS_PATH = re.compile(r"/janus(/|$)")


async def run(folder: Path) -> dict[str, Any]:
    address = setup_network()
    room_sound = speech_wav(folder / "room.wav", text=ROOM_TEXT)
    speech = speech_wav(folder / "speech.wav")
    silence = silence_wav(folder / "silence.wav")
    meeting = HubProcess(folder / "meeting", env={"HUB_MEDIA_URL": ""}).start()
    relay: HubProcess | None = None
    result: dict[str, Any] = {"address": address}
    clients: list[Client] = []
    try:
        created = await create_session(meeting.url, "Voice across a hub", state="live",
                                       settings={"premoderation": False})
        sid = created["id"]
        code, minted, _ = await ahttp("POST", f"{meeting.url}/api/sessions/{sid}/tokens",
                                      {"role": "hub", "name": "Nairobi hub"}, token=ADMIN_KEY)
        assert code == 201, minted
        relay = HubProcess(folder / "relay", command="relay",
                           env={"HUB_RELAY_TOKEN": minted["token"]},
                           args=["--upstream", meeting.url, "--insecure"]).start()
        code, status, _ = await ahttp("GET", f"{relay.url}/api/relay", token=ADMIN_KEY)
        assert code == 200, status
        links = status["links"]
        chair = Client(meeting.ws_url, sid, created["tokens"]["moderator"], name="Chair")
        hub = Client(relay.ws_url, sid, links["hub"].split("#token=")[1])
        for client in (chair, hub):
            await client.connect()
            clients.append(client)
        media = await hub.wait_for(lambda c: [f for f in c.frames if f.get("type") == "media"
                                              and f.get("voice") == "on"], timeout=WAIT_S)
        result["voice"] = media[-1]["voice"]
        async with MediaBrowsers() as chromiums:
            browsers = [await chromiums.launch(wav) for wav in (room_sound, speech, silence)]
            problems: list[str] = []
            janus_urls: set[str] = set()

            async def page_in(browser: Any, url: str, name: str) -> Any:
                context = await browser.new_context()
                page = await context.new_page()
                page.on("pageerror", lambda exc: problems.append(f"{name}: {exc}"))
                if name.startswith("relay"):  # where the relay's pages send Janus requests
                    page.on("request", lambda r: janus_urls.add(r.url.split("/janus")[0])
                            if JANUS_PATH.match(urlsplit(r.url).path) else None)
                await page.goto(url)
                return page

            # The meeting's desk publishes the room's sound.
            desk = await page_in(browsers[0], created["links"]["desk"], "desk")
            await desk.locator("#desk-start").click()
            result["desk_state"] = await state_of(desk, "#desk-setup", "live")
            out = "#desk-out-level"
            result["floor"] = mean(await meter_series(desk, out, FLOOR_S))

            # An attendee in the hub's room listens on the relay's page.
            listener = await page_in(browsers[2], links["attendee"], "relay-attendee")
            await listener.locator("#join-name").fill("Wanjiru")
            await listener.locator("#join-name").press("Enter")
            await listener.locator("#listen-toggle").click(timeout=WAIT_S * 1000)
            result["listen_state"] = await state_of(listener, "#listen", "listening")
            result["listener_heard_room"] = await wait_meter(
                listener, "#listen-level", lambda v: v > 25)
            result["listen_room"] = mean(await meter_series(listener, "#listen-level", 2.0))

            # The hub asks for the floor; the meeting gives it; the relay's hub page speaks.
            spokes = await page_in(browsers[1], links["hub"], "relay-hub")
            await hub.ok({"type": "ask", "kind": "floor", "text": "Nairobi asks to speak",
                          "key": "nairobi-floor"})
            item = (await chair.wait_for(lambda c: [
                e["data"] for e in c.kinds("item", "moderation")
                if e["data"]["text"] == "Nairobi asks to speak"], timeout=WAIT_S))[0]
            await chair.ok({"type": "moderate", "item": item["id"], "action": "live"})
            await spokes.locator("#speak-start").click(timeout=WAIT_S * 1000)
            result["speak_state"] = await state_of(spokes, "#speak", "live")
            floor = result["floor"]
            result["heard"] = await wait_meter(desk, out, lambda v: v > floor + 15)
            result["speaking"] = mean(await meter_series(desk, out, SPEAK_S))

            # The turn ends at the meeting: the hub's page stops, the desk hears silence.
            await chair.ok({"type": "moderate", "item": item["id"], "action": "done"})
            result["speak_after_done"] = await state_of(spokes, "#speak", "off")
            result["quiet_again"] = await wait_meter(desk, out, lambda v: v < floor + 5)
            result["relay_pages_janus"] = sorted(janus_urls)
            result["relay_url"] = relay.url
            result["page_errors"] = problems
    finally:
        for client in clients:
            await client.close()
        if relay is not None:
            relay.terminate()
        meeting.terminate()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default="run", help="put in the temporary folder's name")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"hub-relay-media-{args.tag}-") as tmp:
        result = asyncio.run(asyncio.wait_for(run(Path(tmp)), 190))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
