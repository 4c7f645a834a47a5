"""The product's own voice pages carrying real audio, inside a network namespace.

    unshare --net --pid --fork --kill-child --mount-proc -- python -m tests.support.media_pages

prints one JSON object on its last stdout line (tests/web/test_web_voice_media.py asserts on
it). Inside the fresh namespace (tests/support/media_netns.py sets up `lo` and the veth pair): a
real `hub serve` with its private Janus (ICE on the veth address only: the hub's default
leaves out loopback), and three Chromiums whose fake microphones play the room's sound
(the audio desk page), a remote speaker's speech (a participant page) and silence (a
remote listener's participant page). Everything is driven from the pages' own controls;
a moderator (a protocol client) gives and ends the floor.

1. The listener presses "Listen" before the desk exists: its silence floor.
2. The desk starts from its page: the listener hears the room (its "Sound arriving" meter).
3. The participant is given the floor and switches the microphone on from the prompt: the
   desk's loudspeaker meter rises; the moderator ends the turn: silence again.
4. Janus is killed (-9): the hub starts it again (a media reset) and the listener's and
   the desk's pages join again by themselves; the time until the listener hears the room
   again is reported (`listener_back_s`; the target is 5 s: printed, not asserted).

Levels are the pages' <meter> values (0-100 on a -60..0 dBFS scale, what people see),
sampled every 100 ms. Every wait is bounded; one that runs out is reported (`"heard":
false`...) rather than raised, so the test shows what was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.harness import Client, HubProcess, create_session
from tests.support.media_netns import MediaBrowsers, setup_network
from tests.support.media_sounds import silence_wav, speech_wav

ROOM_TEXT = ("Good morning everyone, and welcome to the workshop. The chair opens the "
             "session and gives the floor to the first speaker in the room.")
FLOOR_S = 2.0
SPEAK_S = 4.0
AFTER_S = 2.0
WAIT_S = 25.0


async def meter_series(page: Any, selector: str, seconds: float) -> list[float]:
    """The values a page's <meter> shows, sampled every 100 ms for `seconds`."""
    return list(await page.evaluate(
        """([sel, ms]) => new Promise((resolve) => {
             const values = [];
             const timer = setInterval(() => values.push(document.querySelector(sel).value), 100);
             setTimeout(() => { clearInterval(timer); resolve(values); }, ms);
           })""", [selector, int(seconds * 1000)]))


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


async def wait_meter(page: Any, selector: str, test: Any, timeout: float = WAIT_S) -> bool:
    """True once one second of the meter's values passes `test` (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test(mean(await meter_series(page, selector, 1.0))):
            return True
    return False


async def state_of(page: Any, selector: str, wanted: str, timeout: float = WAIT_S) -> str:
    """Wait until `selector`'s data-state is `wanted`; return the last state seen."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = await page.locator(selector).get_attribute("data-state") or ""
        if state == wanted:
            break
        await asyncio.sleep(0.2)
    return state


def janus_child(hub: HubProcess) -> int:
    """The pid of the private Janus `hub` runs (its child named janus), or 0."""
    assert hub.proc is not None
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text.split("(", 1)[1].rsplit(")", 1)
        if name == "janus" and int(rest.split()[1]) == hub.proc.pid:
            return int(stat.parent.name)
    return 0


async def run(folder: Path) -> dict[str, Any]:
    address = setup_network()
    room_sound = speech_wav(folder / "room.wav", text=ROOM_TEXT)
    speech = speech_wav(folder / "speech.wav")
    silence = silence_wav(folder / "silence.wav")
    hub = HubProcess(folder / "data", env={"HUB_MEDIA_URL": ""}).start()
    result: dict[str, Any] = {"address": address}
    clients: list[Client] = []
    try:
        created = await create_session(hub.url, "Voice in the room", state="live",
                                       settings={"premoderation": False})
        sid = created["id"]
        chair = Client(hub.ws_url, sid, created["tokens"]["moderator"], name="Chair")
        amina = Client(hub.ws_url, sid, created["tokens"]["participant"], name="Amina")
        bo = Client(hub.ws_url, sid, created["tokens"]["participant"], name="Bo")
        for client in (chair, amina, bo):
            await client.connect()
            clients.append(client)
        result["voice"] = amina.welcome["session"]["voice"]["voice"]
        async with MediaBrowsers() as chromiums:
            browsers = [await chromiums.launch(wav) for wav in (room_sound, speech, silence)]
            problems: list[str] = []

            async def page_in(browser: Any, url: str, name: str,
                              storage: dict[str, Any] | None = None) -> Any:
                context = await browser.new_context()
                page = await context.new_page()
                page.on("pageerror", lambda exc: problems.append(f"{name}: {exc}"))
                if storage:
                    await context.add_init_script(
                        "(() => { const items = " + json.dumps(storage) + ";"
                        " for (const [k, v] of Object.entries(items))"
                        " localStorage.setItem(k, JSON.stringify(v)); })();")
                await page.goto(url)
                return page

            def participant(who: Client, name: str) -> tuple[str, dict[str, Any]]:
                token = who.welcome["you"]["token"]
                return (f"{hub.url}/s/{sid}/participant#token={token}",
                        {f"igf:{sid}:participant:hello": {"name": name},
                         f"igf:{sid}:participant:id": {"join": token, "token": token}})

            # A remote listener, before the desk: the silence floor of what it receives.
            url, storage = participant(bo, "Bo")
            listener = await page_in(browsers[2], url, "listener", storage)
            await listener.locator("#listen-toggle").click()
            result["listen_state"] = await state_of(listener, "#listen", "listening")
            heard_level = "#listen-level"
            result["listen_floor"] = mean(await meter_series(listener, heard_level, FLOOR_S))

            # The desk publishes the room's sound: the listener hears it.
            desk = await page_in(browsers[0], created["links"]["desk"], "desk")
            await desk.locator("#desk-start").click()
            result["desk_state"] = await state_of(desk, "#desk-setup", "live")
            listen_floor = result["listen_floor"]
            result["listener_heard_room"] = await wait_meter(
                listener, heard_level, lambda v: v > listen_floor + 15)
            result["listen_room"] = mean(await meter_series(listener, heard_level, 2.0))
            out = "#desk-out-level"
            result["floor"] = mean(await meter_series(desk, out, FLOOR_S))

            # A remote participant is given the floor and speaks: the desk plays them.
            url, storage = participant(amina, "Amina")
            speaker = await page_in(browsers[1], url, "speaker", storage)
            asked = await amina.ok({"type": "ask", "kind": "floor", "text": "May I speak?",
                                    "key": "floor-amina"})
            await chair.ok({"type": "moderate", "item": asked["item"], "action": "live"})
            await speaker.locator("#speak-start").click(timeout=WAIT_S * 1000)
            result["speak_state"] = await state_of(speaker, "#speak", "live")
            floor = result["floor"]
            result["heard"] = await wait_meter(desk, out, lambda v: v > floor + 15)
            result["speaking"] = mean(await meter_series(desk, out, SPEAK_S))
            result["mic_level"] = mean(await meter_series(speaker, "#speak-level", 1.0))

            # The turn ends: the page switches the microphone off, the desk hears silence.
            await chair.ok({"type": "moderate", "item": asked["item"], "action": "done"})
            result["speak_after_done"] = await state_of(speaker, "#speak", "off")
            result["quiet_again"] = await wait_meter(desk, out, lambda v: v < floor + 5)
            result["after"] = mean(await meter_series(desk, out, AFTER_S))

            # Janus killed: the hub starts it again; the pages join again by themselves.
            pid = janus_child(hub)
            result["janus_found"] = pid > 0
            if pid:
                killed = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                back = await wait_meter(listener, heard_level,
                                        lambda v: v > listen_floor + 15, timeout=30)
                result["listener_back"] = back
                result["listener_back_s"] = round(time.monotonic() - killed, 2) if back else None
                result["desk_after_reset"] = await state_of(desk, "#desk-setup", "live")
                result["listen_after_reset"] = await state_of(listener, "#listen", "listening")
            result["page_errors"] = problems
    finally:
        for client in clients:
            await client.close()
        hub.terminate()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default="run", help="put in the temporary folder's name")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"hub-media-pages-{args.tag}-") as tmp:
        result = asyncio.run(asyncio.wait_for(run(Path(tmp)), 190))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
