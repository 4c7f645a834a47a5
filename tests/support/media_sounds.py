"""Test sounds made at test time (speech by flite, else espeak-ng; tone markers;
silence), and figures of what Janus recorded (`recording_figures`).

Every file is 48 kHz mono 16-bit WAV, what Chromium's fake microphone
(`--use-file-for-fake-audio-capture`) plays best. Chromium plays the file in a loop, so
each sound is laid out to loop: speech with a short pause at its end, one tone burst per
period.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SPEECH = ("Thank you chair. I am speaking from the remote hub in Nairobi. We support the "
          "proposal on capacity building, and we ask that the next session keeps time "
          "for remote interventions from the global south.")
TONE_HZ = 1000
TONE_MS = 100
TONE_PERIOD_S = 1.0


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode(errors="replace")[-2000:]
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {said}")


def speech_wav(path: Path, text: str = SPEECH, pause_s: float = 0.4) -> Path:
    """Synthesised speech followed by `pause_s` of silence."""
    raw = path.with_suffix(".raw.wav")
    if shutil.which("flite"):  # clearer than espeak-ng
        _run(["flite", "-t", text, "-o", str(raw)])
    elif shutil.which("espeak-ng"):
        _run(["espeak-ng", "-w", str(raw), text])
    else:
        raise RuntimeError("neither flite nor espeak-ng is installed (scripts/test-deps.sh)")
    _run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(path),
          "norm", "-3", "pad", "0", str(pause_s)])
    raw.unlink()
    return path


def tone_wav(path: Path, period_s: float = TONE_PERIOD_S, tone_ms: int = TONE_MS,
             hz: int = TONE_HZ) -> Path:
    """One period of the tone marker: a `tone_ms` sine burst, then silence to `period_s`.

    Looped by Chromium, it gives a burst every `period_s` seconds: the onsets that
    tests/support/media_measure.py pairs between sender and receiver."""
    burst = tone_ms / 1000
    _run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(path),
          "synth", f"{burst}", "sine", str(hz), "vol", "0.5",
          "fade", "t", "0.002", f"{burst}", "0.002", "pad", "0", f"{period_s - burst}"])
    return path


def marked_speech_wav(path: Path, period_s: float = 2.0, tone_ms: int = TONE_MS) -> Path:
    """A tone marker with speech between the bursts: what a speaker sounds like on the
    wire (bitrate) with onsets that can still be found (latency).

    Each period: a loud burst (RMS 0.64), 200 ms of silence, speech kept quieter (peaks
    at 0.25, so a 10 ms window stays below a quarter of the burst's level), then 300 ms
    of silence before the next burst."""
    burst = tone_ms / 1000
    speech_s = period_s - burst - 0.5
    if speech_s <= 0:
        raise ValueError("the period must leave room for speech")
    speech = speech_wav(path.with_suffix(".speech.wav"), pause_s=0)
    marker = path.with_suffix(".marker.wav")
    _run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(marker),
          "synth", f"{burst}", "sine", str(TONE_HZ), "vol", "0.9",
          "fade", "t", "0.002", f"{burst}", "0.002", "pad", "0", "0.2"])
    words = path.with_suffix(".words.wav")
    _run(["sox", str(speech), str(words), "trim", "0", f"{speech_s}", "norm", "-12",
          "pad", "0", "0.3"])
    _run(["sox", str(marker), str(words), str(path)])
    for part in (speech, marker, words):
        part.unlink()
    return path


def silence_wav(path: Path, seconds: float = 1.0) -> Path:
    """Silence, for the fake microphone of a browser that only listens."""
    _run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(path),
          "trim", "0", str(seconds)])
    return path


def wav_seconds(path: Path) -> float:
    """The length of a sound file in seconds (sox's soxi)."""
    out = subprocess.run(["soxi", "-D", str(path)], capture_output=True, timeout=30,
                         check=True)
    return float(out.stdout)


def recording_figures(mjr: Path) -> dict[str, float]:
    """Length in seconds and RMS level of a Janus audio recording (.mjr, Opus).

    `janus-pp-rec` (Debian `janus-tools`) turns it into Ogg Opus next to it, as the hub
    serves interventions; `opusdec` (Debian `opus-tools`) decodes that for sox."""
    opus, wav = mjr.with_suffix(".opus"), mjr.with_suffix(".wav")
    _run(["janus-pp-rec", "-o", "-d", "1", str(mjr), str(opus)])
    _run(["opusdec", "--quiet", "--rate", "48000", str(opus), str(wav)])
    stat = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, timeout=60,
                          check=True).stderr.decode()
    figures = {}
    for line in stat.splitlines():
        key, _, value = line.partition(":")
        figures[key.strip()] = value.strip()
    return {"seconds": float(figures["Length (seconds)"]),
            "rms": float(figures["RMS     amplitude"])}
