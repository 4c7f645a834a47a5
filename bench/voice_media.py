"""Voice benchmark: N listeners on one Janus Streaming mountpoint fed by an AudioBridge room.

Built on the media harness (tests/support/media_netns.py): as root it re-runs itself in a fresh
network namespace with a private Janus and Chromium. A speaker's Chromium publishes a
tone marker with speech between the bursts (a 100 ms 1 kHz burst every 2 s,
tests/support/media_sounds.marked_speech_wav; `--sound tone`: bursts alone) into an
AudioBridge room created with `default_bitrate`; the room's mix goes by `rtp_forward` to
a Streaming mountpoint; one listener's Chromium holds one peer connection to the room
itself ("bridge" listener, for comparison) and N peer connections watching the
mountpoint, all in one page. For each N (cumulative: listeners are added, not
restarted), after the new listeners are up and a settling pause, over `--seconds`:

- Janus CPU (utime + stime of the janus process from /proc) as % of one core, and per
  listener: (CPU with N listeners - CPU with none) / N;
- bitrate per listener, as the median over listeners: Opus payload, RTP, and on the
  wire (selected candidate pair bytes + IPv4/UDP headers, tests/support/media_measure.bitrate);
- mouth-to-ear latency of the first stream listener and of the bridge listener, from
  tone onsets (tests/media_measure: what the figure includes is written there);
- how many listeners heard the marker (level above 0.01).

Run by hand (root; `scripts/test-deps.sh` installs what it needs):

    .venv/bin/python bench/voice_media.py --listeners 1 10 25 50 --seconds 10
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
from tests.support.media_measure import bitrate, latencies, onsets, summary
from tests.support.media_netns import (
    MediaLab,
    cpu_seconds,
    namespace_unavailable,
    rss_mb,
    run_in_namespace,
)
from tests.support.media_sounds import marked_speech_wav, silence_wav, tone_wav

ROOM = 1234
MOUNTPOINT = 1
FORWARD_PORT = 5002
SETTLE_S = 2.0
HEARD = 0.01  # level (RMS) above which a listener counts as hearing the marker


async def janus_cpu(lab: MediaLab, seconds: float) -> tuple[float, float]:
    """Janus's CPU over `seconds`, as a fraction of one core, and the wall time measured."""
    assert lab.janus is not None
    cpu0, wall0 = cpu_seconds(lab.janus.pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, wall1 = cpu_seconds(lab.janus.pid), time.monotonic()
    return (cpu1 - cpu0) / (wall1 - wall0), wall1 - wall0


async def latency(speaker: Any, listener: Any, name: str, since: float) -> dict[str, float]:
    sent = await speaker.evaluate("([n, s]) => media.levels(n, s)", ["S:sent", since])
    heard = await listener.evaluate("([n, s]) => media.levels(n, s)", [name, since])
    return summary(latencies(onsets(sent), onsets(heard)))


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    if args.sound == "speech":
        tone = marked_speech_wav(folder / "marked.wav")
    else:
        tone = tone_wav(folder / "tone.wav")
    silence = silence_wav(folder / "silence.wav")
    async with MediaLab(folder / "lab") as lab:
        assert lab.api is not None and lab.janus is not None
        await lab.api.create_bridge(ROOM, default_bitrate=args.bitrate)
        await lab.api.create_mountpoint(MOUNTPOINT, FORWARD_PORT)
        await lab.api.forward_bridge(ROOM, FORWARD_PORT)
        speaker = await lab.page(await lab.browser(tone), "speaker")
        listener = await lab.page(await lab.browser(silence), "listeners")
        await speaker.evaluate("r => media.bridge('S', r, true)", ROOM)
        await listener.evaluate("r => media.bridge('bridge', r, false)", ROOM)
        await asyncio.sleep(SETTLE_S)
        base_cpu, _ = await janus_cpu(lab, args.seconds)
        rows: list[dict[str, Any]] = []
        names: list[str] = []
        for count in sorted(set(args.listeners)):
            new = [f"s{i}" for i in range(len(names), count)]
            for start in range(0, len(new), 10):  # ten offers at a time
                await listener.evaluate(
                    "([names, m]) => Promise.all(names.map((n) => media.stream(n, m)))",
                    [new[start:start + 10], MOUNTPOINT])
            names += new
            await asyncio.sleep(SETTLE_S)
            since = float(await listener.evaluate("media.now()"))
            before = await listener.evaluate("n => media.statsAll(n)", names)
            cpu, wall = await janus_cpu(lab, args.seconds)
            after = await listener.evaluate("n => media.statsAll(n)", names)
            levels = await listener.evaluate("([n, s]) => media.loudness(n, s)", [names, since])
            rates = [bitrate(b, a) for b, a in zip(before, after, strict=True)]
            rows.append({
                "listeners": count,
                "seconds": round(wall, 1),
                "janus_cpu_pct": round(100 * cpu, 2),
                "janus_cpu_pct_per_listener": round(100 * (cpu - base_cpu) / count, 3),
                "janus_rss_mb": round(rss_mb(lab.janus.pid), 1),
                "wire_kbps": round(statistics.median(r["wire"] for r in rates), 1),
                "rtp_kbps": round(statistics.median(r["rtp"] for r in rates), 1),
                "payload_kbps": round(statistics.median(r["payload"] for r in rates), 1),
                "hearing": sum(level > HEARD for level in levels),
                "latency_stream_ms": await latency(speaker, listener, "s0", since),
                "latency_bridge_ms": await latency(speaker, listener, "bridge", since),
            })
            print(json.dumps(rows[-1]), file=sys.stderr)
        return {"base_janus_cpu_pct": round(100 * base_cpu, 2), "bitrate": args.bitrate,
                "sound": args.sound, "rows": rows}


def show(result: dict[str, Any]) -> None:
    print(f"Janus CPU with the speaker, the bridge listener and the forward, no stream "
          f"listener: {result['base_janus_cpu_pct']} % of a core; room default_bitrate "
          f"{result['bitrate']}; sound: {result['sound']}")
    print("| listeners | Janus CPU % | CPU % per listener | Janus RSS MB | wire kbit/s "
          "| RTP kbit/s | Opus kbit/s | hearing | latency stream ms (median / p90) "
          "| latency bridge ms (median / p90) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in result["rows"]:
        def lat(figures: dict[str, float]) -> str:
            if not figures.get("count"):
                return "-"
            return f"{figures['median']:.0f} / {figures['p90']:.0f} (n={figures['count']})"

        print(f"| {row['listeners']} | {row['janus_cpu_pct']} | "
              f"{row['janus_cpu_pct_per_listener']} | {row['janus_rss_mb']} | "
              f"{row['wire_kbps']} | {row['rtp_kbps']} | {row['payload_kbps']} | "
              f"{row['hearing']}/{row['listeners']} | {lat(row['latency_stream_ms'])} | "
              f"{lat(row['latency_bridge_ms'])} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, nargs="+", default=[1, 10, 25, 50])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measuring window per listener count")
    parser.add_argument("--bitrate", type=int, default=32000,
                        help="the AudioBridge room's default_bitrate (Opus, bit/s)")
    parser.add_argument("--sound", choices=["speech", "tone"], default="speech",
                        help="speech between the markers (a speaker's bitrate; default) "
                             "or the markers alone")
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
        sys.exit(f"voice_media: {reason}")
    steps = len(set(args.listeners)) + 1
    forwarded = [str(v) for v in args.listeners]
    result = run_in_namespace(
        "bench.voice_media",
        ["--inside", "--seconds", str(args.seconds), "--bitrate", str(args.bitrate),
         "--sound", args.sound,
         "--listeners", *forwarded],
        timeout=120 + steps * (args.seconds + 30) + 2 * max(args.listeners))
    show(result)


if __name__ == "__main__":
    main()
