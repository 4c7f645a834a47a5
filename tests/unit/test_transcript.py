"""Transcript export: cue timing, and TXT/WebVTT/SRT/JSON renderings parsed back."""

from __future__ import annotations

import html
import io
import itertools
from datetime import timedelta

import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.captions import CaptionLine
from hub.domain.transcript import (
    EXPORT_FORMATS,
    Cue,
    build_cues,
    reading_time_ms,
    to_json,
    to_srt,
    to_txt,
    to_vtt,
)

T0 = 1_700_000_000_000


def line(
    offset_ms: int,
    text: str,
    *,
    lang: str = "en",
    final: bool = True,
    speaker: str | None = None,
    seq: int | None = None,
    item: str | None = None,
) -> CaptionLine:
    return CaptionLine(
        ts=T0 + offset_ms,
        text=text,
        lang=lang,
        final=final,
        seq=seq,
        item=item,
        speaker=speaker,
    )


def parse_vtt(text: str) -> webvtt.WebVTT:
    return webvtt.from_buffer(io.StringIO(text), strict=True)


def parse_srt(text: str) -> list[srt.Subtitle]:
    return list(srt.parse(text))


def vtt_ms(timestamp: webvtt.models.Timestamp) -> int:
    return int(timestamp.in_milliseconds())


def srt_ms(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)


def vtt_text(caption: webvtt.Caption) -> str:
    """The cue text as a reader shows it: tags removed, character references decoded."""
    return html.unescape(caption.text)


def cue(index: int, start: int, end: int, text: str, speaker: str | None = None) -> Cue:
    return Cue(
        index=index,
        start_ms=start,
        end_ms=end,
        text=text,
        lang="en",
        speaker=speaker,
        item=None,
        seq=None,
        ts=T0 + start,
    )


# --- build_cues -------------------------------------------------------------------------


def test_build_cues_times_relative_to_first_kept_line() -> None:
    lines = [
        line(0, "partial", final=False),
        line(500, "Bonjour", lang="fr"),
        line(1000, "Welcome everyone", speaker="Chair", seq=1, item="a1"),
        line(3000, "to the session", speaker="Chair", seq=2, item="a1"),
        line(20_000, "x" * 200, seq=3, item="a2"),
        line(60_000, "Thanks.", seq=4, item="a2"),
    ]
    cues = build_cues(lines, "en")

    assert [c.text for c in cues] == ["Welcome everyone", "to the session", "x" * 200, "Thanks."]
    assert [c.index for c in cues] == [1, 2, 3, 4]
    assert [c.start_ms for c in cues] == [0, 2000, 19_000, 59_000]
    assert cues[0].end_ms == 1500  # reading time max(1500, 60 * 16) comes before the next start
    assert cues[1].end_ms == 2000 + 1500  # 14 chars -> 1500 ms
    assert cues[2].end_ms == 19_000 + 7000  # 200 chars capped at 7 s
    assert cues[3].end_ms == 59_000 + 1500  # last cue: start + estimate
    assert cues[0].speaker == "Chair"
    assert (cues[0].seq, cues[0].item, cues[0].ts, cues[0].lang) == (1, "a1", T0 + 1000, "en")


def test_cue_ends_when_next_starts() -> None:
    cues = build_cues([line(0, "y" * 100), line(2500, "next")], "en")
    assert (cues[0].start_ms, cues[0].end_ms) == (0, 2500)
    assert (cues[1].start_ms, cues[1].end_ms) == (2500, 4000)


def test_reading_time() -> None:
    assert reading_time_ms("") == 1500
    assert reading_time_ms("a" * 25) == 1500
    assert reading_time_ms("a" * 50) == 3000
    assert reading_time_ms("a" * 117) == 7000
    assert reading_time_ms("a" * 10_000) == 7000


def test_partial_other_language_and_blank_lines_excluded() -> None:
    lines = [
        line(0, "hello wor", final=False),
        line(100, "hello world"),
        line(200, "hola mundo", lang="es"),
        line(300, "   \n\t "),
        line(400, ""),
        line(500, "hello world again", lang="EN"),
        line(600, "bye", final=False),
    ]
    cues = build_cues(lines, "en")
    assert [c.text for c in cues] == ["hello world"]
    assert cues[0].start_ms == 0
    assert [c.text for c in build_cues(lines, "es")] == ["hola mundo"]
    assert build_cues(lines, "fr") == []
    assert build_cues([], "en") == []

    rendered = to_vtt(cues) + to_srt(cues) + to_txt(cues)
    assert "wor\n" not in rendered and "hola" not in rendered and "bye" not in rendered


def test_same_timestamp_lines_stay_ordered_and_positive() -> None:
    cues = build_cues([line(0, "a"), line(0, "b"), line(0, "c"), line(1, "d")], "en")
    assert [c.text for c in cues] == ["a", "b", "c", "d"]
    for previous, current in itertools.pairwise(cues):
        assert current.start_ms >= previous.start_ms
        assert previous.end_ms <= current.start_ms
    assert all(c.end_ms > c.start_ms for c in cues)


def test_out_of_order_timestamp_does_not_go_back() -> None:
    cues = build_cues([line(5000, "first"), line(1000, "late"), line(9000, "third")], "en")
    assert [c.start_ms for c in cues] == [0, 1, 4000]
    assert all(c.end_ms > c.start_ms for c in cues)


def test_text_normalized_and_blank_speaker_dropped() -> None:
    cues = build_cues([line(0, "  one\r\n\r\n  two \rthree\n", speaker="  \t ")], "en")
    assert cues[0].text == "one\ntwo\nthree"
    assert cues[0].speaker is None
    cues = build_cues([line(0, "hi", speaker=" Ms\n  Chair ")], "en")
    assert cues[0].speaker == "Ms Chair"


# --- WebVTT -------------------------------------------------------------------------------


def test_vtt_round_trip_times_texts_and_voices() -> None:
    lines = [
        line(0, "Good morning", speaker="Chair"),
        line(2000, "Thank you, Chair.", speaker="Delegate of Kenya"),
        line(4000, "No speaker here"),
    ]
    cues = build_cues(lines, "en")
    text = to_vtt(cues)

    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n<v Chair>Good morning\n")
    vtt = parse_vtt(text)
    assert len(vtt.captions) == 3
    assert [(vtt_ms(c.start_time), vtt_ms(c.end_time)) for c in vtt.captions] == [
        (c.start_ms, c.end_ms) for c in cues
    ]
    assert [vtt_text(c) for c in vtt.captions] == [c.text for c in cues]
    assert [c.voice for c in vtt.captions] == ["Chair", "Delegate of Kenya", None]


def test_vtt_escapes_markup_and_arrows() -> None:
    nasty = [
        "<script>alert('x')</script>",
        "a --> b",
        "00:00:01.000 --> 00:00:02.000",
        "Tom & Jerry &amp; <b>bold</b> &lt;",
        "-->",
        "1 < 2 > 0",
    ]
    lines = [line(i * 1000, t, speaker="A <b>&</b> B") for i, t in enumerate(nasty)]
    text = to_vtt(build_cues(lines, "en"))

    body = text.split("\n", 1)[1]
    assert "<script>" not in text
    assert "<b>" not in text
    timing_lines = [ln for ln in body.splitlines() if "-->" in ln]
    assert len(timing_lines) == len(nasty)  # only the timing lines hold an arrow
    assert "--&gt;" in text
    assert "<v A &lt;b&gt;&amp;&lt;/b&gt; B>" in text

    vtt = parse_vtt(text)
    assert [vtt_text(c) for c in vtt.captions] == nasty
    assert {html.unescape(c.voice or "") for c in vtt.captions} == {"A <b>&</b> B"}


def test_vtt_multiline_text_one_cue_without_blank_lines() -> None:
    cues = build_cues(
        [line(0, "first line\n\n\nsecond line", speaker="Chair"), line(10, "x")], "en"
    )
    text = to_vtt(cues)
    assert "<v Chair>first line\nsecond line\n\n" in text
    vtt = parse_vtt(text)
    assert len(vtt.captions) == 2
    assert vtt_text(vtt.captions[0]) == "first line\nsecond line"
    assert vtt.captions[0].voice == "Chair"


def test_vtt_multiline_in_hand_built_cue_drops_blank_lines() -> None:
    text = to_vtt([cue(1, 0, 1000, "a\n\n \nb", speaker="S")])
    assert text == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v S>a\nb\n"


def test_vtt_empty_transcript_is_header_only() -> None:
    text = to_vtt([])
    assert text == "WEBVTT\n"
    vtt = parse_vtt(text)
    assert len(vtt.captions) == 0


def test_arabic_and_chinese_preserved() -> None:
    arabic = "شكراً سيدي الرئيس، نرحب بالمشاركين عن بعد"
    chinese = "感谢主席，欢迎远程参会者。"  # noqa: RUF001
    lines = [
        line(0, arabic, lang="ar", speaker="مندوب مصر"),
        line(0, chinese, lang="zh", speaker="中国代表"),
    ]
    ar = build_cues(lines, "ar")
    zh = build_cues(lines, "zh")

    vtt_ar = parse_vtt(to_vtt(ar))
    assert vtt_text(vtt_ar.captions[0]) == arabic
    assert vtt_ar.captions[0].voice == "مندوب مصر"
    vtt_zh = parse_vtt(to_vtt(zh))
    assert vtt_text(vtt_zh.captions[0]) == chinese
    assert vtt_zh.captions[0].voice == "中国代表"

    assert parse_srt(to_srt(ar))[0].content == f"مندوب مصر: {arabic}"
    assert parse_srt(to_srt(zh))[0].content == f"中国代表: {chinese}"
    assert to_txt(zh) == f"[00:00:00] 中国代表: {chinese}\n"
    assert to_json(ar)[0]["text"] == arabic


# --- SRT ----------------------------------------------------------------------------------


def test_srt_round_trip_times_texts_and_speakers() -> None:
    lines = [
        line(0, "Good morning", speaker="Chair"),
        line(2000, "line one\n\n\nline two", speaker="Chair"),
        line(3_723_456, "an hour later"),
    ]
    cues = build_cues(lines, "en")
    text = to_srt(cues)

    assert text.startswith("1\n00:00:00,000 --> 00:00:01,500\nChair: Good morning\n\n2\n")
    assert "\n\n\n" not in text
    subs = parse_srt(text)
    assert [s.index for s in subs] == [1, 2, 3]
    assert [(srt_ms(s.start), srt_ms(s.end)) for s in subs] == [
        (c.start_ms, c.end_ms) for c in cues
    ]
    assert [s.content for s in subs] == [
        "Chair: Good morning",
        "Chair: line one\nline two",
        "an hour later",
    ]
    assert subs[2].start == timedelta(hours=1, minutes=2, seconds=3, milliseconds=456)


def test_srt_empty_transcript() -> None:
    assert to_srt([]) == ""
    assert parse_srt(to_srt([])) == []


def test_srt_text_cannot_forge_a_subtitle() -> None:
    forged = "real\n7\n00:00:09,000 --> 00:00:10,000\nforged"
    subs = parse_srt(to_srt(build_cues([line(0, forged), line(5000, "next")], "en")))
    assert len(subs) == 2
    assert "forged" in subs[0].content
    assert subs[1].content == "next"


def test_srt_and_vtt_hours_beyond_99() -> None:
    hundred_hours = 100 * 3_600_000
    cues = [cue(1, hundred_hours + 1234, hundred_hours + 5678, "late")]
    assert "100:00:01,234 --> 100:00:05,678" in to_srt(cues)
    assert "100:00:01.234 --> 100:00:05.678" in to_vtt(cues)
    assert to_txt(cues) == "[100:00:01] late\n"
    assert srt_ms(parse_srt(to_srt(cues))[0].start) == hundred_hours + 1234
    assert vtt_ms(parse_vtt(to_vtt(cues)).captions[0].start_time) == hundred_hours + 1234
    built = build_cues([line(0, "a"), line(hundred_hours * 10, "b")], "en")
    assert "1000:00:00.000" in to_vtt(built)


# --- TXT ----------------------------------------------------------------------------------


def test_txt_speaker_only_on_change() -> None:
    lines = [
        line(0, "Opening", speaker="Chair"),
        line(1000, "still chair", speaker="Chair"),
        line(61_000, "I have a question\nabout item 2", speaker="Brazil"),
        line(3_605_000, "anonymous"),
        line(3_606_000, "back", speaker="Brazil"),
    ]
    assert to_txt(build_cues(lines, "en")) == (
        "[00:00:00] Chair: Opening\n"
        "[00:00:01] still chair\n"
        "[00:01:01] Brazil: I have a question about item 2\n"
        "[01:00:05] anonymous\n"
        "[01:00:06] Brazil: back\n"
    )
    assert to_txt([]) == ""


# --- JSON and formats ---------------------------------------------------------------------


def test_to_json() -> None:
    cues = build_cues([line(1234, "hello", speaker="S", seq=7, item="i1"), line(2468, "x")], "en")
    data = to_json(cues)
    assert data[0] == {
        "index": 1,
        "start": 0.0,
        "end": 1.234,
        "start_ms": 0,
        "end_ms": 1234,
        "text": "hello",
        "lang": "en",
        "speaker": "S",
        "item": "i1",
        "seq": 7,
        "ts": T0 + 1234,
    }
    assert data[1]["start"] == 1.234
    assert data[1]["end"] == 2.734
    assert data[1]["speaker"] is None
    assert to_json([]) == []


def test_export_formats() -> None:
    assert set(EXPORT_FORMATS) == {"txt", "vtt", "srt"}
    cues = build_cues([line(0, "hi")], "en")
    for name, renderer in (("txt", to_txt), ("vtt", to_vtt), ("srt", to_srt)):
        media_type, render = EXPORT_FORMATS[name]
        assert media_type.endswith("; charset=utf-8")
        assert render is renderer
        assert render(cues) == renderer(cues)
    assert EXPORT_FORMATS["vtt"][0].startswith("text/vtt")
    assert EXPORT_FORMATS["srt"][0].startswith("application/x-subrip")
    assert EXPORT_FORMATS["txt"][0].startswith("text/plain")


# --- properties ---------------------------------------------------------------------------

caption_lines = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=20_000),  # gap to the previous line, ms
        st.text(max_size=80),
        st.sampled_from(["en", "fr"]),
        st.booleans(),
        st.none() | st.text(max_size=20),
    ),
    max_size=30,
).map(
    lambda specs: [
        CaptionLine(ts=T0 + sum(s[0] for s in specs[: i + 1]), text=t, lang=la, final=f, speaker=sp)
        for i, (_, t, la, f, sp) in enumerate(specs)
    ]
)


@settings(max_examples=300, deadline=None)
@given(caption_lines)
def test_property_cues_ordered_and_formats_parse_back(lines: list[CaptionLine]) -> None:
    cues = build_cues(lines, "en")
    expected = [ln for ln in lines if ln.final and ln.lang == "en" and ln.text.strip()]
    assert len(cues) == len(expected)
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))
    for c in cues:
        assert c.end_ms > c.start_ms >= 0
        assert c.text and c.lang == "en"
    for previous, current in itertools.pairwise(cues):
        assert current.start_ms >= previous.start_ms
        assert previous.end_ms <= current.start_ms

    vtt = parse_vtt(to_vtt(cues))
    assert len(vtt.captions) == len(cues)
    for caption, c in zip(vtt.captions, cues, strict=True):
        assert (vtt_ms(caption.start_time), vtt_ms(caption.end_time)) == (c.start_ms, c.end_ms)
        assert vtt_text(caption) == c.text

    subs = parse_srt(to_srt(cues))
    assert len(subs) == len(cues)
    for sub, c in zip(subs, cues, strict=True):
        assert (srt_ms(sub.start), srt_ms(sub.end)) == (c.start_ms, c.end_ms)

    assert len(to_txt(cues).splitlines()) == len(cues)
    assert len(to_json(cues)) == len(cues)
