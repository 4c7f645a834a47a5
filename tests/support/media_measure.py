"""Figures from what the media test page recorded (pure functions, no I/O).

A level series is `[[t_ms, rms], ...]`: `t_ms` in epoch milliseconds (comparable across
pages and browsers of one machine), `rms` of a 10.7 ms AnalyserNode window, sampled
every 5 ms (tests/support/media/harness.js). A stats snapshot is what `media.stats(name)`
returns.

Mouth-to-ear latency with a tone marker: the sender's fake microphone plays a tone burst
every period (tests/support/media_sounds.tone_wav). The sender's page meters its own captured
track, the receiver's page meters the received one; `onsets` finds where each burst
starts in both series and `latencies` pairs each received onset with the latest sent
one before it. The figure includes Opus encoding and packetisation in the sender,
the network path (here loopback/veth: no real link delay), Janus (AudioBridge: decode,
mix, re-encode; Streaming: relay), the receiver's jitter buffer, decoding and WebAudio.
It leaves out what happens before the sender's capture track (a real microphone's
converter and the OS capture buffer) and after the receiver's analyser (the output
device's buffer and the loudspeaker), a few tens of milliseconds on real devices. Both
series are measured the same way, so the analyser window mostly cancels out; the 5 ms
sampling adds up to 5 ms of jitter.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

Levels = Sequence[Sequence[float]]


def window(levels: Levels, start_ms: float, end_ms: float) -> list[float]:
    """The RMS values sampled in [start_ms, end_ms)."""
    return [rms for t, rms in levels if start_ms <= t < end_ms]


def energy(values: Sequence[float]) -> float:
    """The RMS of a run of RMS samples (the level of that stretch of sound); 0 when empty."""
    if not values:
        return 0.0
    return math.sqrt(sum(v * v for v in values) / len(values))


def span_ms(levels: Levels) -> float:
    """How much time a level series covers."""
    return float(levels[-1][0] - levels[0][0]) if len(levels) > 1 else 0.0


def onsets(levels: Levels, on: float | None = None, off: float | None = None,
           quiet_ms: float = 200.0, rise_ms: float = 30.0) -> list[float]:
    """Times where a burst starts: the level reaches `on` within `rise_ms` of a stretch of
    at least `quiet_ms` below `off`. By default `on` and `off` are a quarter and a tenth
    of the loudest sample, so sender and receiver series are each read on their own
    scale."""
    if not levels:
        return []
    peak = max(rms for _, rms in levels)
    on = peak / 4 if on is None else on
    off = peak / 10 if off is None else off
    found: list[float] = []
    quiet_since: float | None = None  # start of the current (or last) quiet stretch
    last_quiet = 0.0
    for t, rms in levels:
        if rms < off:
            if quiet_since is None:
                quiet_since = t
            last_quiet = t
        elif quiet_since is not None and t - last_quiet > rise_ms:
            quiet_since = None  # neither quiet nor a clean rise: sound, not a marker
        elif rms >= on:
            if quiet_since is not None and last_quiet - quiet_since >= quiet_ms:
                found.append(t)
            quiet_since = None
    return found


def latencies(sent: Sequence[float], received: Sequence[float],
              max_ms: float = 900.0) -> list[float]:
    """For each received onset, the time since the latest sent onset before it (when that
    is below `max_ms`, which must be less than the marker's period)."""
    out: list[float] = []
    for r in received:
        before = [s for s in sent if s <= r]
        if before and r - before[-1] <= max_ms:
            out.append(r - before[-1])
    return out


def summary(values: Sequence[float]) -> dict[str, float]:
    """count, min, median, p90 and max of a list of figures (empty: count 0)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return {"count": len(ordered), "min": ordered[0], "median": statistics.median(ordered),
            "p90": p90, "max": ordered[-1]}


IP_UDP_BYTES = 28  # IPv4 header (20) + UDP header (8) per packet


def bitrate(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Received kbit/s between two stats snapshots of one peer connection.

    - `payload`: Opus payload (inbound-rtp bytesReceived);
    - `rtp`: payload plus RTP headers and header extensions;
    - `wire`: everything on the selected candidate pair (SRTP, SRTCP, STUN, DTLS) plus
      the IPv4 and UDP headers of each packet: what the listener's link carries."""
    seconds = (after["t"] - before["t"]) / 1000
    if seconds <= 0:
        raise ValueError("the second snapshot must be later than the first")

    def delta(part: str, key: str) -> float:
        a, b = (before.get(part) or {}).get(key, 0), (after.get(part) or {}).get(key, 0)
        return float(b - a)

    payload = delta("inbound", "bytesReceived")
    rtp = payload + delta("inbound", "headerBytesReceived")
    wire = delta("pair", "bytesReceived") + IP_UDP_BYTES * delta("pair", "packetsReceived")
    kbps = 8 / seconds / 1000
    return {"payload": payload * kbps, "rtp": rtp * kbps, "wire": wire * kbps,
            "seconds": seconds}
