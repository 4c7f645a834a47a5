"""Media scenarios run inside a fresh network namespace (see tests/support/media_netns.py).

    unshare --net --pid --fork --kill-child --mount-proc -- \\
        python -m tests.support.media_scenarios bridge|stream

prints one JSON object on its last stdout line; tests/system/test_media_harness.py asserts on
it. Both scenarios: a listener B joins, its silence floor is measured, a speaker A joins
publishing generated speech, B's level while A speaks is measured, A leaves, B's level
after is measured, and A's recording (a .mjr made by AudioBridge) is decoded and
measured. "bridge": B is a participant of the AudioBridge room. "stream": the
room's mix goes by `rtp_forward` to a Streaming mountpoint on 127.0.0.1 in the
namespace, and B watches the mountpoint (the likely path for remote listeners).

Every wait is bounded; a wait that runs out is reported (`"heard": false`...) rather
than raised, so the test shows the figures measured so far.
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

from tests.support.media_measure import energy, span_ms, window
from tests.support.media_netns import MediaLab, cpu_seconds
from tests.support.media_sounds import recording_figures, silence_wav, speech_wav

ROOM = 1234
MOUNTPOINT = 1
FORWARD_PORT = 5002  # inside the namespace: nothing else binds it
FLOOR_S = 2.0  # silence measured before the speaker joins
SPEAK_S = 3.0  # level measured while the speaker is live
AFTER_S = 2.0  # level measured after the speaker left
WAIT_S = 20.0  # bound of every wait for a change to be heard


async def levels(page: Any, name: str, since: float = 0) -> list[list[float]]:
    """The level series the page metered for `name` since `since` (epoch ms)."""
    return list(await page.evaluate("([n, s]) => media.levels(n, s)", [name, since]))


async def page_now(page: Any) -> float:
    return float(await page.evaluate("media.now()"))


async def collect(page: Any, name: str, seconds: float) -> tuple[float, list[list[float]]]:
    """Wait `seconds` of page time and return the level of that stretch and its series."""
    start = await page_now(page)
    await asyncio.sleep(seconds)
    series = await levels(page, name, start)
    return energy([rms for _, rms in series]), series


async def wait_level(page: Any, name: str, test: Any, timeout: float = WAIT_S,
                     over_s: float = 0.5) -> bool:
    """Poll until the level of the last `over_s` seconds passes `test`; False at the bound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        end = await page_now(page)
        recent = window(await levels(page, name, end - over_s * 1000), 0, end + 1)
        if recent and test(energy(recent)):
            return True
        await asyncio.sleep(0.1)
    return False


async def wait_metered(page: Any, name: str, seconds: float) -> bool:
    """Wait until the page has metered `name` for `seconds` (bounded)."""
    deadline = time.monotonic() + WAIT_S + seconds
    while time.monotonic() < deadline:
        if span_ms(await levels(page, name)) >= seconds * 1000:
            return True
        await asyncio.sleep(0.1)
    return False


async def run(kind: str, transport: str, folder: Path) -> dict[str, Any]:
    speech = speech_wav(folder / "speech.wav")
    silence = silence_wav(folder / "silence.wav")
    async with MediaLab(folder / "lab") as lab:
        assert lab.api is not None
        await lab.api.create_bridge(ROOM)
        if kind == "stream":
            await lab.api.create_mountpoint(MOUNTPOINT, FORWARD_PORT)
            await lab.api.forward_bridge(ROOM, FORWARD_PORT)
        listener = await lab.page(await lab.browser(silence), "B", transport)
        speaker = await lab.page(await lab.browser(speech), "A", transport)
        if kind == "stream":
            await listener.evaluate("m => media.stream('B', m)", MOUNTPOINT)
        else:
            await listener.evaluate("r => media.bridge('B', r, false)", ROOM)
        result: dict[str, Any] = {"kind": kind, "transport": transport,
                                  "address": lab.address}
        result["metered"] = await wait_metered(listener, "B", 0.5)
        result["floor"], _ = await collect(listener, "B", FLOOR_S)
        before = await listener.evaluate("media.stats('B')")

        # A's audio is recorded as the hub will record an intervention (a .mjr per
        # participant, turned into sound by janus-pp-rec).
        recording = folder / "recordings" / "A"
        recording.parent.mkdir()
        await speaker.evaluate(
            "([r, f]) => media.bridge('A', r, true, {record: true, filename: f})",
            [ROOM, str(recording)])
        floor = result["floor"]
        result["heard"] = await wait_level(
            listener, "B", lambda level: level > max(10 * floor, floor + 0.005))
        speak_start = await page_now(listener)
        result["speaking"], _ = await collect(listener, "B", SPEAK_S)
        sent = await levels(speaker, "A:sent", speak_start)
        result["sent"] = energy([rms for _, rms in sent])
        after_speaking = await listener.evaluate("media.stats('B')")

        await speaker.evaluate("media.leave('A')")
        speaking = result["speaking"]
        result["quiet_again"] = await wait_level(
            listener, "B", lambda level: level < floor + 0.1 * (speaking - floor), over_s=1.0)
        result["after"], _ = await collect(listener, "B", AFTER_S)
        result["stats_before"], result["stats_speaking"] = before, after_speaking
        mjrs = sorted(recording.parent.glob("*.mjr"))
        result["recordings"] = [recording_figures(mjr) for mjr in mjrs]
        result["spoken_s"] = SPEAK_S
        result["janus_cpu_s"] = cpu_seconds(lab.janus.pid) if lab.janus else None
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["bridge", "stream"])
    parser.add_argument("--transport", choices=["http", "ws"], default="http",
                        help="how the pages reach Janus")
    parser.add_argument("--tag", default="run",
                        help="put in the temporary folder's name (and so in the command "
                             "lines of Janus and Chromium) to find leftovers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"hub-media-{args.tag}-") as tmp:
        result = asyncio.run(asyncio.wait_for(run(args.kind, args.transport, Path(tmp)), 150))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
