"""The product's own voice pages carrying real audio, inside a network namespace.

    unshare --net --pid --fork --kill-child --mount-proc -- python -m tests.media_pages

prints one JSON object on its last stdout line (tests/test_web_voice_media.py asserts on
it). Inside the fresh namespace (tests/media_netns.py sets up `lo` and the veth pair): a
real `hub serve` with its private Janus (ICE on the veth address only: the hub's default
leaves out loopback), the audio desk page in a Chromium whose fake microphone is silent,
and a remote participant's page in a Chromium whose fake microphone speaks. The desk is
started from its page; the moderator (a protocol client) gives the participant the floor;
the participant switches the microphone on from the prompt. What the desk plays to the
loudspeakers is read from the desk page's own loudspeaker meter (`#desk-out-level`, 0-100
on a -60..0 dBFS scale, what the technician sees): before the turn, while the participant
speaks, and after the moderator ends the turn (the hub closes the microphone on Janus).

Every wait is bounded; one that runs out is reported (`"heard": false`...) rather than
raised, so the test shows what was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.harness import Client, HubProcess, create_session
from tests.media_netns import CHROMIUM, CHROMIUM_MEDIA_ARGS, setup_network
from tests.media_sounds import silence_wav, speech_wav

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


async def run(folder: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    address = setup_network()
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
        for client in (chair, amina):
            await client.connect()
            clients.append(client)
        result["voice"] = amina.welcome["session"]["voice"]["voice"]
        async with async_playwright() as pw:
            browsers = []
            for wav in (silence, speech):
                browsers.append(await pw.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[*CHROMIUM_MEDIA_ARGS, f"--use-file-for-fake-audio-capture={wav}"]))
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

            desk = await page_in(browsers[0], created["links"]["desk"], "desk")
            await desk.locator("#desk-start").click()
            result["desk_state"] = await state_of(desk, "#desk-setup", "live")
            out = "#desk-out-level"
            result["floor"] = mean(await meter_series(desk, out, FLOOR_S))

            token = amina.welcome["you"]["token"]
            speaker = await page_in(
                browsers[1], f"{hub.url}/s/{sid}/participant#token={token}", "participant",
                {f"igf:{sid}:participant:hello": {"name": "Amina"},
                 f"igf:{sid}:participant:id": {"join": token, "token": token}})
            asked = await amina.ok({"type": "ask", "kind": "floor", "text": "May I speak?",
                                    "key": "floor-amina"})
            await chair.ok({"type": "moderate", "item": asked["item"], "action": "live"})
            await speaker.locator("#speak-start").click(timeout=WAIT_S * 1000)
            result["speak_state"] = await state_of(speaker, "#speak", "live")
            floor = result["floor"]
            result["heard"] = await wait_meter(desk, out, lambda v: v > floor + 15)
            result["speaking"] = mean(await meter_series(desk, out, SPEAK_S))
            result["mic_level"] = mean(await meter_series(speaker, "#speak-level", 1.0))

            await chair.ok({"type": "moderate", "item": asked["item"], "action": "done"})
            result["speak_after_done"] = await state_of(speaker, "#speak", "off")
            result["quiet_again"] = await wait_meter(desk, out, lambda v: v < floor + 5)
            result["after"] = mean(await meter_series(desk, out, AFTER_S))
            result["page_errors"] = problems
            for browser in browsers:
                await browser.close()
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
        result = asyncio.run(asyncio.wait_for(run(Path(tmp)), 170))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
