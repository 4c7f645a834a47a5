"""The live speaker's talking state from Janus to the moderators and the desk, with real
audio: the hub, its private Janus and a Chromium page inside a fresh network namespace
(tests/support/voice_scenarios.py's `VoiceLab`).

    unshare --net --pid --fork --kill-child --mount-proc -- \\
        python -m tests.support.voice_levels_scenario talking

prints one JSON object on its last stdout line; tests/system/test_voice_levels.py asserts on it.

The speaker's fake microphone plays synthesised speech followed by PAUSE_S of silence, in
a loop. In order (every wait bounded; a wait that runs out is reported, not raised):

1. before anyone is on air: no `talking` frame;
2. Alice is given the floor and her page publishes: the moderator's and the desk's
   websocket clients get `talking: true` with a level above the floor (0);
3. while she pauses (the silence in her sound, her turn still live): `talking: false`;
4. she speaks again: `talking: true`;
5. the moderator marks her item done: `talking: false` with `item: null`.

A moderator connecting while she is on air gets the current state right after `welcome`.

Also reported: every `talking` frame the moderator got (to count them: a frame only on a
change), and whether a participant (not staff, not the desk) got any.

The `console` scenario (tests/web/test_web_voice_levels.py) does the same turn with the
product's moderator console and desk page open in Chromium, and reports what they showed:
every text the "Speaking now" line took (a MutationObserver: the announcements a screen
reader makes of that polite live region), its `aria-live`, and the level meter's values.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.harness import Client, create_session
from tests.support.media_sounds import speech_wav
from tests.support.voice_scenarios import VoiceLab, give_floor, join_room

PAUSE_S = 6.0  # the silence after the speech in the speaker's sound (then it loops)
WAIT_S = 20.0  # bound of every wait


def talking_frames(client: Client) -> list[dict[str, Any]]:
    return [f for f in client.frames if f["type"] == "talking"]


async def wait_frame(client: Client, since: int, predicate: Any,
                     timeout: float = WAIT_S) -> dict[str, Any] | None:
    """The first `talking` frame after the `since`-th one that satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in talking_frames(client)[since:]:
            if predicate(frame):
                return frame
        await asyncio.sleep(0.05)
    return None


async def talking(folder: Path) -> dict[str, Any]:
    speech = speech_wav(folder / "speech.wav", pause_s=PAUSE_S)
    result: dict[str, Any] = {}
    async with VoiceLab(folder / "lab") as lab:
        created = await create_session(lab.base, state="live",
                                       settings={"premoderation": False})
        sid = created["id"]

        def client(role: str, name: str) -> Client:
            return Client(lab.ws_base, sid, created["tokens"][role], name=name)

        mod, desk = client("moderator", "Moderator"), client("desk", "Audio desk")
        alice, bob = client("participant", "Alice"), client("participant", "Bob")
        people = (mod, desk, alice, bob)
        for person in people:
            await person.connect()
        result["voice"] = mod.welcome["session"]["voice"]["voice"]
        await desk.ok({"type": "media", "want": "desk"})

        # 1. Nobody on air: nothing said.
        await asyncio.sleep(1.0)
        result["before"] = talking_frames(mod)

        # 2. Alice on air, speaking.
        item, _ = await give_floor(alice, mod, "floor-alice")
        grant = await alice.ok({"type": "media", "want": "speak"})
        page = await lab.page(await lab.browser(speech), "alice")
        await join_room(page, "A", grant)
        on = await wait_frame(mod, 0, lambda f: f["item"] == item and f["talking"])
        result["speaking"] = on
        result["desk_speaking"] = await wait_frame(
            desk, 0, lambda f: f["item"] == item and f["talking"])
        # The loudest level told while she speaks (the admin API's level, when found).
        await asyncio.sleep(2.0)
        result["levels_while_speaking"] = [f["level"] for f in talking_frames(mod)
                                           if f["item"] == item and f["talking"]]
        lookup = lab.media.levels._handles
        result["handle_found"] = any(key[0] == sid for key in lookup)
        # A moderator who connects now is told at once (after `welcome` and `media`).
        late = client("moderator", "Late moderator")
        await late.connect()
        result["late"] = await wait_frame(late, 0, lambda f: f["item"] == item, timeout=5)
        await late.close()

        # 3. Her pause: talking false, the turn still live.
        seen = len(talking_frames(mod))
        paused = await wait_frame(mod, seen, lambda f: f["item"] == item and not f["talking"],
                                  timeout=WAIT_S + PAUSE_S)
        result["paused"] = paused
        result["still_live_when_paused"] = (
            paused is not None and mod.kinds("voice", "moderation")[-1]["data"]["item"] == item)

        # 4. She speaks again (the sound loops).
        seen = len(talking_frames(mod))
        result["again"] = await wait_frame(mod, seen,
                                           lambda f: f["item"] == item and f["talking"],
                                           timeout=WAIT_S + PAUSE_S)

        # 5. Her turn ends: talking false, nobody on air.
        seen = len(talking_frames(mod))
        await mod.ok({"type": "moderate", "item": item, "action": "done"})
        result["ended"] = await wait_frame(mod, seen,
                                           lambda f: f["item"] is None and not f["talking"])
        result["desk_ended"] = await wait_frame(
            desk, 0, lambda f: f["item"] is None and not f["talking"])
        result["frames"] = talking_frames(mod)
        result["participant_frames"] = talking_frames(alice) + talking_frames(bob)
        result["talking_in_log"] = [e for c in people for e in c.events
                                    if e["kind"] == "talking"]
        result["sent_total"] = lab.media.levels.frames
        for person in people:
            await person.close()
    return result


WATCH_JS = """([line, meter]) => {
  window.__talk = { texts: [], levels: [] };
  const node = document.querySelector(line);
  new MutationObserver(() => window.__talk.texts.push(node.textContent))
    .observe(node, { childList: true, characterData: true, subtree: true });
  setInterval(() => window.__talk.levels.push(document.querySelector(meter).value), 100);
}"""


async def product_page(lab: VoiceLab, browser: Any, url: str, name: str,
                       storage: dict[str, Any], problems: list[str]) -> Any:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda exc: problems.append(f"{name}: {exc}"))
    await context.add_init_script(
        "(() => { const items = " + json.dumps(storage) + ";"
        " for (const [k, v] of Object.entries(items))"
        " localStorage.setItem(k, JSON.stringify(v)); })();")
    await page.goto(url)
    await page.locator(".conn[data-state='live']").wait_for()
    return page


async def text_is(page: Any, selector: str, text: str, timeout: float = WAIT_S) -> bool:
    try:
        await page.wait_for_function(
            "([sel, text]) => document.querySelector(sel).textContent === text",
            arg=[selector, text], timeout=timeout * 1000)
    except Exception:  # Playwright's TimeoutError: reported, not raised
        return False
    return True


async def console(folder: Path) -> dict[str, Any]:
    from tests.support.media_sounds import silence_wav

    speech = speech_wav(folder / "speech.wav", pause_s=PAUSE_S)
    silence = silence_wav(folder / "silence.wav")
    result: dict[str, Any] = {}
    problems: list[str] = []
    async with VoiceLab(folder / "lab") as lab:
        created = await create_session(lab.base, state="live",
                                       settings={"premoderation": False})
        sid = created["id"]
        mod = Client(lab.ws_base, sid, created["tokens"]["moderator"], name="Chair")
        alice = Client(lab.ws_base, sid, created["tokens"]["participant"], name="Alice")
        for person in (mod, alice):
            await person.connect()
        quiet = await lab.browser(silence)
        console_page = await product_page(
            lab, quiet, created["links"]["moderator"], "moderator",
            {f"igf:{sid}:moderator:hello": {"name": "Co-chair"}}, problems)
        desk_page = await product_page(lab, quiet, created["links"]["desk"], "desk", {},
                                       problems)
        line, desk_line = "#mod-voice-talking", "#desk-talking"
        await console_page.evaluate(WATCH_JS, [line, "#mod-voice-level"])
        await desk_page.evaluate(WATCH_JS, [desk_line, "#desk-talk-level"])
        result["aria_live"] = await console_page.get_attribute(line, "aria-live")
        result["desk_aria_live"] = await desk_page.get_attribute(desk_line, "aria-live")
        result["hidden_before"] = await console_page.locator(line).is_hidden()

        item, _ = await give_floor(alice, mod, "floor-alice")
        grant = await alice.ok({"type": "media", "want": "speak"})
        page = await lab.page(await lab.browser(speech), "alice")
        await join_room(page, "A", grant)
        result["speaking"] = await text_is(console_page, line, "Speaking now")
        result["desk_speaking"] = await text_is(desk_page, desk_line, "Speaking now")
        await asyncio.sleep(2.0)
        result["paused"] = await text_is(console_page, line, "Not speaking",
                                         timeout=WAIT_S + PAUSE_S)
        result["again"] = await text_is(console_page, line, "Speaking now",
                                        timeout=WAIT_S + PAUSE_S)
        await mod.ok({"type": "moderate", "item": item, "action": "done"})
        result["hidden_after"] = False
        with contextlib.suppress(Exception):
            await console_page.locator(line).wait_for(state="hidden", timeout=WAIT_S * 1000)
            result["hidden_after"] = True
        await asyncio.sleep(0.5)  # the pages' meters are sampled every 100 ms: one more sample
        result["texts"] = (await console_page.evaluate("window.__talk"))["texts"]
        result["levels"] = (await console_page.evaluate("window.__talk"))["levels"]
        result["desk_texts"] = (await desk_page.evaluate("window.__talk"))["texts"]
        result["desk_levels"] = (await desk_page.evaluate("window.__talk"))["levels"]
        result["page_errors"] = problems
        for person in (mod, alice):
            await person.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["talking", "console"])
    parser.add_argument("--tag", default="run",
                        help="put in the temporary folder's name (and so in the command "
                             "lines of Janus and Chromium) to find leftovers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"hub-media-{args.tag}-") as tmp:
        run = talking if args.scenario == "talking" else console
        result = asyncio.run(asyncio.wait_for(run(Path(tmp)), 200))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
