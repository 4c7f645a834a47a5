"""Transcript export: final caption lines of one language as timed cues, and their renderings.

Pure functions, no I/O. `build_cues` turns caption lines into `Cue`s; `to_txt`, `to_vtt` and
`to_srt` render them as text, and `to_json` as JSON-ready dicts. `EXPORT_FORMATS` maps a format
name to its media type and string renderer for the HTTP layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from hub.domain.captions import CaptionLine

__all__ = [
    "EXPORT_FORMATS",
    "MAX_CUE_MS",
    "MIN_CUE_MS",
    "MS_PER_CHAR",
    "Cue",
    "Renderer",
    "build_cues",
    "reading_time_ms",
    "to_json",
    "to_srt",
    "to_txt",
    "to_vtt",
]

MIN_CUE_MS: Final = 1500
"""Shortest reading time given to a cue."""
MAX_CUE_MS: Final = 7000
"""Longest time a cue stays on screen."""
MS_PER_CHAR: Final = 60
"""Reading time per character of text."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One timed transcript line.

    `index` is 1-based; `start_ms` and `end_ms` are relative to the first caption of the
    transcript; `ts` is the caption's server time in ms since the Unix epoch.
    """

    index: int
    start_ms: int
    end_ms: int
    text: str
    lang: str
    speaker: str | None
    item: str | None
    seq: int | None
    ts: int


def reading_time_ms(text: str) -> int:
    """How long `text` stays on screen at most: 60 ms a character, within 1.5 s and 7 s."""
    return min(MAX_CUE_MS, max(MIN_CUE_MS, MS_PER_CHAR * len(text)))


def _text_lines(text: str) -> list[str]:
    """The non-blank lines of `text`, stripped; every Unicode line break splits a line."""
    return [stripped for line in text.splitlines() if (stripped := line.strip())]


def _clean_speaker(speaker: str | None) -> str | None:
    """`speaker` on one line with runs of whitespace collapsed; None when blank or unknown."""
    if speaker is None:
        return None
    return " ".join(speaker.split()) or None


def _same_post(a: CaptionLine, b: CaptionLine) -> bool:
    return a.ts == b.ts and a.seq is not None and a.seq == b.seq and a.speaker == b.speaker


def build_cues(lines: Sequence[CaptionLine], lang: str) -> list[Cue]:
    """The transcript of `lang`: one cue per final, non-blank caption line of that language.

    Lines keep their given order (captions arrive ordered by `ts`). Times are relative to the
    first kept line. Each cue lasts until the next one starts, at most `reading_time_ms` of its
    text; the last one lasts exactly that. A cue never starts before the previous one: when
    two lines share a `ts` (or a line is out of order), the later one starts 1 ms after the
    previous start, so cues are strictly ordered, never overlap and always end after they
    start. Text is normalized: line breaks become `\\n`, lines are stripped, blank lines
    dropped. A blank speaker becomes None.
    """
    kept: list[tuple[CaptionLine, str]] = []
    for line in lines:
        if not line.final or line.lang != lang:
            continue
        text = "\n".join(_text_lines(line.text))
        if not text:
            continue
        if kept and _same_post(kept[-1][0], line):
            # Lines posted together (one HTTP ingest body) are one cue of several lines.
            kept[-1] = (kept[-1][0], kept[-1][1] + "\n" + text)
        else:
            kept.append((line, text))
    if not kept:
        return []

    origin = kept[0][0].ts
    starts: list[int] = []
    for line, _ in kept:
        start = max(line.ts - origin, 0)
        if starts:
            start = max(start, starts[-1] + 1)
        starts.append(start)

    cues: list[Cue] = []
    for position, ((line, text), start) in enumerate(zip(kept, starts, strict=True)):
        end = start + reading_time_ms(text)
        if position + 1 < len(starts):
            end = min(end, starts[position + 1])
        cues.append(
            Cue(
                index=position + 1,
                start_ms=start,
                end_ms=end,
                text=text,
                lang=line.lang,
                speaker=_clean_speaker(line.speaker),
                item=line.item,
                seq=line.seq,
                ts=line.ts,
            )
        )
    return cues


def _clock(ms: int) -> tuple[int, int, int, int]:
    """Hours (unbounded), minutes, seconds and milliseconds of `ms` (negative counts as 0)."""
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return hours, minutes, seconds, millis


def _timestamp(ms: int, separator: str) -> str:
    """`HH:MM:SS<separator>mmm`; hours take more digits past 99."""
    hours, minutes, seconds, millis = _clock(ms)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def to_txt(cues: Sequence[Cue]) -> str:
    """Plain text, one line per cue: `[HH:MM:SS] Speaker: text`.

    The speaker is named when known and different from the previous cue's; the lines of a
    multi-line text are joined by spaces.
    """
    out: list[str] = []
    previous: str | None = None
    for cue in cues:
        hours, minutes, seconds, _ = _clock(cue.start_ms)
        text = " ".join(_text_lines(cue.text))
        speaker = _clean_speaker(cue.speaker)
        prefix = f"{speaker}: " if speaker is not None and speaker != previous else ""
        out.append(f"[{hours:02d}:{minutes:02d}:{seconds:02d}] {prefix}{text}".rstrip())
        previous = speaker
    return "".join(f"{line}\n" for line in out)


def _vtt_escape(text: str) -> str:
    """Escape `&`, `<` and `>` as WebVTT requires (so `-->` becomes `--&gt;`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT: the `WEBVTT` header, then one cue block per cue.

    A known speaker is a voice span (`<v Name>text`). The text keeps its lines, without blank
    ones; `&`, `<` and `>` are escaped in text and names, so no `-->` can end up in a cue.
    """
    blocks = ["WEBVTT"]
    for cue in cues:
        lines = [_vtt_escape(line) for line in _text_lines(cue.text)]
        speaker = _clean_speaker(cue.speaker)
        if speaker is not None:
            voice = f"<v {_vtt_escape(speaker)}>"
            lines = [voice + lines[0], *lines[1:]] if lines else [voice]
        timing = f"{_timestamp(cue.start_ms, '.')} --> {_timestamp(cue.end_ms, '.')}"
        blocks.append("\n".join([timing, *lines]))
    return "\n\n".join(blocks) + "\n"


# A line an SRT reader may take for a subtitle index when a timestamp-like line follows it.
_SRT_INDEX_LINE: Final = re.compile(r"-?[0-9]+\.?[0-9]*")


def _srt_lines(cue: Cue) -> list[str]:
    """The text lines of `cue` for SRT, named `Speaker: ` when the speaker is known.

    SRT has no escaping and readers resynchronize on an index line followed by a timing line,
    so a line holding only a number is joined to the next one.
    """
    lines = _text_lines(cue.text)
    speaker = _clean_speaker(cue.speaker)
    if speaker is not None:
        lines = [f"{speaker}: {lines[0]}", *lines[1:]] if lines else [f"{speaker}:"]
    out: list[str] = []
    for line in lines:
        if out and _SRT_INDEX_LINE.fullmatch(out[-1]):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip: per cue its number (from 1), `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text, blank line.

    A known speaker prefixes the text as `Name: `; blank lines inside the text are dropped.
    """
    blocks: list[str] = []
    for number, cue in enumerate(cues, start=1):
        timing = f"{_timestamp(cue.start_ms, ',')} --> {_timestamp(cue.end_ms, ',')}"
        blocks.append("\n".join([str(number), timing, *_srt_lines(cue)]) + "\n\n")
    return "".join(blocks)


def to_json(cues: Sequence[Cue]) -> list[dict[str, Any]]:
    """One JSON-ready dict per cue; `start` and `end` in seconds, rounded to the millisecond."""
    return [
        {
            "index": cue.index,
            "start": round(cue.start_ms / 1000, 3),
            "end": round(cue.end_ms / 1000, 3),
            "start_ms": cue.start_ms,
            "end_ms": cue.end_ms,
            "text": cue.text,
            "lang": cue.lang,
            "speaker": cue.speaker,
            "item": cue.item,
            "seq": cue.seq,
            "ts": cue.ts,
        }
        for cue in cues
    ]


Renderer = Callable[[Sequence[Cue]], str]
"""Renders cues as the body of an export file."""

EXPORT_FORMATS: Final[Mapping[str, tuple[str, Renderer]]] = {
    "txt": ("text/plain; charset=utf-8", to_txt),
    "vtt": ("text/vtt; charset=utf-8", to_vtt),
    "srt": ("application/x-subrip; charset=utf-8", to_srt),
}
"""Format name to (media type, renderer); JSON is served by the HTTP layer from `to_json`."""
