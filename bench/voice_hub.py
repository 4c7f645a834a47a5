"""Voice benchmark through the hub: its private Janus, its rooms and its grants.

Built on tests/support/voice_scenarios.VoiceLab: as root it re-runs itself in a fresh network
namespace where the hub runs in-process with `media="auto"` (its own private Janus, ICE
on the namespace's veth only) and serves the media harness's page from its own origin,
so the pages reach Janus through the hub's `/janus`, holding only what the hub's `media`
grants give them. The audio desk's Chromium publishes a tone marker with speech between
the bursts (tests/support/media_sounds.marked_speech_wav: a 100 ms 1 kHz burst every 2 s) as the
room's sound; a remote speaker's Chromium publishes the same kind of sound.

1. **Listeners** (`media want: listen`): one listener identity's grant, and N handles
   watching the session's mountpoint in one page (one Janus session: a grant is per
   identity, a page per listener would measure Chromium, not Janus). For each N
   (cumulative), after a settling pause, over `--seconds`: Janus CPU (utime + stime from
   /proc) in % of one core and per listener ((CPU with N - CPU with none) / N), Janus RSS,
   the bitrate per listener (median over listeners: Opus payload, RTP, and on the wire:
   every byte of the selected candidate pair plus 28 bytes of IPv4/UDP headers per
   packet, tests/support/media_measure.bitrate), how many hear, and the mouth-to-ear latency from
   the desk's captured marker to the first listener's received one.
2. **Floor to audio**, `--turns` times: a participant asks for the floor; the moderator
   sends `moderate live` (the clock starts); the participant's client waits for the
   `voice` event naming its item live (what its page reacts to), asks `media want:
   speak`, and its page joins the room with the grant and publishes at once (a real
   person clicks "microphone on" first: not counted); the clock stops at the first
   audio above the desk's floor received by the desk's page. Then the latency from the
   speaker's captured marker to the desk's received one, and `moderate done`.

Run by hand (root; scripts/test-deps.sh installs what it needs):

    .venv/bin/python bench/voice_hub.py --listeners 1 10 25 50 --seconds 10 --turns 5
    .venv/bin/python bench/voice_hub.py --listeners 1 --bitrate 16000   # another room bitrate
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.harness import Client, create_session
from tests.support.media_measure import bitrate, latencies, onsets, summary
from tests.support.media_netns import cpu_seconds, namespace_unavailable, rss_mb, run_in_namespace
from tests.support.media_scenarios import collect, levels, page_now, wait_level
from tests.support.media_sounds import marked_speech_wav, silence_wav, speech_wav
from tests.support.voice_scenarios import (
    VoiceLab,
    first_above,
    heard_threshold,
    join_room,
    quiet_threshold,
    watch,
)

SETTLE_S = 2.0
HEARD = 0.01  # level (RMS) above which a listener counts as hearing the marker


async def janus_cpu(lab: VoiceLab, seconds: float) -> float:
    """Janus's CPU over `seconds`, as a fraction of one core."""
    pid = lab.janus_pid()
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)


async def marker_latency(sender: Any, sent_name: str, receiver: Any, name: str,
                         since: float) -> dict[str, float]:
    sent = await levels(sender, sent_name, since)
    heard = await levels(receiver, name, since)
    return summary(latencies(onsets(sent), onsets(heard)))


async def listeners_phase(args: argparse.Namespace, lab: VoiceLab, listener: Any,
                          desk: Any, grant: dict[str, Any]) -> tuple[float, list[Any]]:
    await asyncio.sleep(SETTLE_S)
    base_cpu = await janus_cpu(lab, args.seconds)
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    first = True
    for count in sorted(set(args.listeners)):
        new = [f"s{i}" for i in range(len(names), count)]
        if first:  # the page's Janus session, with the grant's token
            await watch(listener, new.pop(0), grant)
            first = False
        for start in range(0, len(new), 10):  # ten offers at a time
            await listener.evaluate(
                "([names, m, pin]) => Promise.all(names.map((n) => media.stream(n, m, pin)))",
                [new[start:start + 10], grant["mountpoint"], grant["pin"]])
        names = [f"s{i}" for i in range(count)]
        await asyncio.sleep(SETTLE_S)
        since = await page_now(listener)
        before = await listener.evaluate("n => media.statsAll(n)", names)
        cpu = await janus_cpu(lab, args.seconds)
        after = await listener.evaluate("n => media.statsAll(n)", names)
        loud = await listener.evaluate("([n, s]) => media.loudness(n, s)", [names, since])
        rates = [bitrate(b, a) for b, a in zip(before, after, strict=True)]
        rows.append({
            "listeners": count,
            "janus_cpu_pct": round(100 * cpu, 2),
            "janus_cpu_pct_per_listener": round(100 * (cpu - base_cpu) / count, 3),
            "janus_rss_mb": round(rss_mb(lab.janus_pid()), 1),
            "wire_kbps": round(statistics.median(r["wire"] for r in rates), 1),
            "rtp_kbps": round(statistics.median(r["rtp"] for r in rates), 1),
            "payload_kbps": round(statistics.median(r["payload"] for r in rates), 1),
            "hearing": sum(level > HEARD for level in loud),
            "latency_ms": (await marker_latency(desk, "D:sent", listener, "s0", since)
                           if args.sound == "marked" else {"count": 0}),
        })
        print(json.dumps(rows[-1]), file=sys.stderr)
    return base_cpu, rows


async def turns_phase(args: argparse.Namespace, lab: VoiceLab, sid: str,
                      tokens: dict[str, str], mod: Client, desk: Any,
                      speaker_browser: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    floor, _ = await collect(desk, "D", SETTLE_S)
    threshold = heard_threshold(floor)
    for n in range(args.turns):
        person = Client(lab.ws_base, sid, tokens["participant"], name=f"Speaker {n + 1}")
        await person.connect()
        page = await lab.page(speaker_browser, f"speaker{n}")
        asked = await person.ok({"type": "ask", "kind": "floor", "text": "I wish to speak",
                                 "key": f"floor-{n}"})
        item = asked["item"]
        live_sent = time.time() * 1000
        await mod.ok({"type": "moderate", "item": item, "action": "live"})
        await person.wait_for(lambda c, item=item: any(
            e["kind"] == "voice" and e["data"].get("item") == item for e in c.events))
        told = time.time() * 1000
        grant = await person.ok({"type": "media", "want": "speak"})
        granted = time.time() * 1000
        await join_room(page, f"S{n}", grant)
        joined = time.time() * 1000
        heard = await wait_level(desk, "D", lambda level: level > threshold)
        first = first_above(await levels(desk, "D", live_sent), threshold, live_sent)
        sending = first_above(await levels(page, f"S{n}:sent", live_sent), HEARD, live_sent)
        since = await page_now(desk)
        await asyncio.sleep(args.turn_seconds)
        row = {"turn": n + 1, "heard": heard,
               "floor_to_audio_ms": None if first is None else round(first - live_sent),
               # where the time goes: the voice event reaches the speaker, the grant, the
               # page's Janus session, join, offer/answer, ICE and DTLS, then audio
               "told_ms": round(told - live_sent), "granted_ms": round(granted - live_sent),
               "joined_ms": round(joined - live_sent),
               "sending_ms": None if sending is None else round(sending - live_sent),
               "latency_ms": await marker_latency(page, f"S{n}:sent", desk, "D", since)}
        speaking, _ = await collect(desk, "D", 0.5)
        await mod.ok({"type": "moderate", "item": item, "action": "done"})
        quiet = quiet_threshold(floor, max(speaking, threshold))
        row["quiet_after"] = await wait_level(desk, "D", lambda level, q=quiet: level < q,
                                              over_s=1.0)
        await page.context.close()
        await person.close()
        out.append(row)
        print(json.dumps(row), file=sys.stderr)
    return out


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from hub.media import manager

    manager.ROOM_BITRATE = args.bitrate or manager.ROOM_BITRATE
    if args.prebuffering is not None:
        manager.ROOM_PREBUFFERING = args.prebuffering
    if args.sound == "speech":  # continuous speech: the bitrate of a busy room
        marked = speech_wav(folder / "speech.wav")
    else:
        marked = marked_speech_wav(folder / "marked.wav")
    silence = silence_wav(folder / "silence.wav")
    async with VoiceLab(folder / "lab") as lab:
        created = await create_session(lab.base, state="live",
                                       settings={"premoderation": False})
        sid, tokens = created["id"], created["tokens"]
        mod = Client(lab.ws_base, sid, tokens["moderator"], name="Moderator")
        desk_c = Client(lab.ws_base, sid, tokens["desk"], name="Audio desk")
        lis = Client(lab.ws_base, sid, tokens["participant"], name="Listener")
        for person in (mod, desk_c, lis):
            await person.connect()
        speakers = await lab.browser(marked)
        desk = await lab.page(speakers, "desk")
        listener = await lab.page(await lab.browser(silence), "listeners")
        await join_room(desk, "D", await desk_c.ok({"type": "media", "want": "desk"}))
        grant = await lis.ok({"type": "media", "want": "listen"})
        base_cpu, rows = await listeners_phase(args, lab, listener, desk, grant)
        turns = await turns_phase(args, lab, sid, tokens, mod, desk, speakers)
        for person in (mod, desk_c, lis):
            await person.close()
    return {"bitrate": manager.ROOM_BITRATE, "sound": args.sound,
            "prebuffering": manager.ROOM_PREBUFFERING,
            "base_janus_cpu_pct": round(100 * base_cpu, 2),
            "rows": rows, "turns": turns}


def show(result: dict[str, Any]) -> None:
    def lat(figures: dict[str, float]) -> str:
        if not figures.get("count"):
            return "-"
        return f"{figures['median']:.0f} / {figures['p90']:.0f} (n={figures['count']})"

    print(f"room default_bitrate {result['bitrate']}, default_prebuffering "
          f"{result['prebuffering']}, sound {result['sound']}; Janus CPU "
          f"with the desk publishing and the forward, no listener: "
          f"{result['base_janus_cpu_pct']} % of a core")
    print("| listeners | Janus CPU % | CPU % per listener | Janus RSS MB | wire kbit/s "
          "| RTP kbit/s | Opus kbit/s | hearing | desk → listener ms (median / p90) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in result["rows"]:
        print(f"| {row['listeners']} | {row['janus_cpu_pct']} | "
              f"{row['janus_cpu_pct_per_listener']} | {row['janus_rss_mb']} | "
              f"{row['wire_kbps']} | {row['rtp_kbps']} | {row['payload_kbps']} | "
              f"{row['hearing']}/{row['listeners']} | {lat(row['latency_ms'])} |")
    if result["turns"]:
        print()
        print("| turn | moderate live → first audio at the desk, ms | of which: voice event "
              "at the speaker / grant / page joined and up / first sound captured, ms "
              "| speaker → desk ms (median / p90) | silent after done |")
        print("|---:|---:|---:|---:|---|")
        for row in result["turns"]:
            print(f"| {row['turn']} | {row['floor_to_audio_ms']} | {row['told_ms']} / "
                  f"{row['granted_ms']} / {row['joined_ms']} / {row['sending_ms']} | "
                  f"{lat(row['latency_ms'])} "
                  f"| {row['quiet_after']} |")
        figures = [r["floor_to_audio_ms"] for r in result["turns"]
                   if r["floor_to_audio_ms"] is not None]
        if figures:
            print(f"\nfloor to audio: {summary(figures)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, nargs="+", default=[1, 10, 25, 50])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measuring window per listener count")
    parser.add_argument("--turns", type=int, default=5, help="turns given and timed")
    parser.add_argument("--turn-seconds", type=float, default=6.0,
                        help="how long each speaker talks (latency window)")
    parser.add_argument("--bitrate", type=int, default=0,
                        help="the room's Opus bitrate (default: the hub's, "
                             "hub.media.manager.ROOM_BITRATE)")
    parser.add_argument("--prebuffering", type=int, default=None,
                        help="the room's default_prebuffering, packets (default: the "
                             "hub's, hub.media.manager.ROOM_PREBUFFERING)")
    parser.add_argument("--sound", choices=["marked", "speech"], default="marked",
                        help="what the desk and the speakers publish: speech between tone "
                             "markers (latencies; default) or continuous speech (the "
                             "bitrate of a busy room; no latency figures)")
    parser.add_argument("--inside", action="store_true",
                        help="(internal) run in the namespace made for this run")
    args = parser.parse_args()
    if args.inside:
        with tempfile.TemporaryDirectory(prefix="hub-media-bench-") as tmp:
            result = asyncio.run(measure(args, Path(tmp)))
        sys.stdout.write(json.dumps(result) + "\n")
        return
    reason = namespace_unavailable()
    if reason:
        sys.exit(f"voice_hub: {reason}")
    steps = len(set(args.listeners)) + 1
    result = run_in_namespace(
        "bench.voice_hub",
        ["--inside", "--seconds", str(args.seconds), "--bitrate", str(args.bitrate),
         "--turns", str(args.turns), "--sound", args.sound,
         *(["--prebuffering", str(args.prebuffering)] if args.prebuffering is not None
           else []),
         "--turn-seconds", str(args.turn_seconds),
         "--listeners", *[str(v) for v in args.listeners]],
        timeout=150 + steps * (args.seconds + 30) + 2 * max(args.listeners)
        + args.turns * (args.turn_seconds + 30))
    show(result)


if __name__ == "__main__":
    main()
