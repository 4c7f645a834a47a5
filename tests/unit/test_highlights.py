"""The event's highlights (hub.domain.highlights): published reports only, grouped by track,
each point linked to its session, with counts; Markdown, HTML and JSON."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from hub.domain import forum, highlights
from hub.domain.forum import ForumState
from hub.domain.programme import Organizer, ProgrammeRow
from hub.site.text import Words

HOUR = 3_600_000
T0 = 1_796_450_400_000  # 2026-12-05 06:00 UTC


def row(n: int, track: str, title: str | None = None) -> ProgrammeRow:
    return ProgrammeRow(line=n + 1, external_id=f"x{n}", title=title or f"Session {n}",
                        start=T0 + n * HOUR, end=T0 + n * HOUR + HOUR // 2, room="Room",
                        track=track, organizers=(Organizer("Ana", "ana@example.org"),))


def event(*rows: ProgrammeRow) -> ForumState:
    state = forum.new_forum("igf")
    forum.apply(state, forum.create({"title": "IGF 2026", "start": "2026-12-05",
                                     "end": "2026-12-07", "timezone": "UTC"}, now=1))
    forum.apply(state, forum.import_programme(state, list(rows), source="csv", by="t", now=2))
    return state


def report(state: ForumState, session: str, *, publish: bool, **body: Any) -> None:
    forum.apply(state, forum.save_report(state, session, body, publish=publish, closed=True,
                                         by="someone@example.org", now=3))


def test_only_published_reports_count_and_show() -> None:
    state = event(row(1, "AI"), row(2, "AI"), row(3, "Access"), row(4, "Access"))
    report(state, "igf-1", publish=True, takeaways=["Published point"], calls=["Act now"])
    report(state, "igf-2", publish=False, takeaways=["Draft only point"])
    report(state, "igf-3", publish=True, takeaways=["Withdrawn point"])
    forum.apply(state, forum.withdraw_report(state, "igf-3", by="t", now=4))
    report(state, "igf-4", publish=True, takeaways=["Then edited"])
    report(state, "igf-4", publish=False, takeaways=["Unpublished edit"])  # draft after

    built = highlights.build(state)
    data = highlights.to_json(built)
    texts = json.dumps(data)
    assert "Published point" in texts and "Act now" in texts and "Then edited" in texts
    for hidden in ("Draft only point", "Withdrawn point", "Unpublished edit", "example.org"):
        assert hidden not in texts
        assert hidden not in highlights.to_markdown(built)
        assert hidden not in highlights.to_html_page(built)
    assert data["counts"] == {"sessions": 4, "published": 2, "takeaways": 2, "calls": 1}
    by_track = {t["track"]: t for t in data["tracks"]}
    assert [t["track"] for t in data["tracks"]] == ["Access", "AI"]
    assert (by_track["AI"]["sessions"], by_track["AI"]["published"]) == (2, 1)
    assert (by_track["Access"]["sessions"], by_track["Access"]["published"]) == (2, 1)
    assert by_track["AI"]["takeaways"] == [{"text": "Published point", "session": "igf-1",
                                            "title": "Session 1", "path": "/e/igf/s/igf-1"}]
    assert by_track["AI"]["calls"][0]["text"] == "Act now"


def test_points_follow_the_programme_and_untracked_sessions_come_last() -> None:
    state = event(row(3, "Zeta"), row(1, ""), row(2, "alpha"), row(4, "Zeta"))
    for session in ("igf-1", "igf-2", "igf-3", "igf-4"):
        report(state, session, publish=True, takeaways=[f"From {session}"])
    built = highlights.build(state)
    assert [t.track for t in built.tracks] == ["alpha", "Zeta", ""]
    zeta = built.tracks[1]
    # igf-1 is the row with start T0 + 3h; igf-4 starts at T0 + 4h
    assert [p.session for p in zeta.takeaways] == ["igf-1", "igf-4"]
    assert "Other sessions" in highlights.to_markdown(built)
    assert built.published == built.sessions == 4


def test_a_publish_changes_the_next_build() -> None:
    state = event(row(1, "AI"))
    before = highlights.build(state)
    assert before.published == 0
    assert "No report is published yet" in highlights.to_markdown(before)
    report(state, "igf-1", publish=True, takeaways=["New"])
    after = highlights.build(state)
    assert (after.published, after.takeaways) == (1, 1)
    assert "No report is published yet" not in highlights.to_markdown(after)


def test_markdown_shows_texts_as_written_and_links_sessions() -> None:
    state = event(row(1, "AI", title="Data [and] *rights*"))
    report(state, "igf-1", publish=True, takeaways=["1. <script>x</script> & *bold* # not"])
    md = highlights.to_markdown(highlights.build(state), base="https://hub.example")
    line = next(ln for ln in md.splitlines() if ln.startswith("- "))
    assert line == ("- 1\\. \\<script\\>x\\</script\\> \\& \\*bold\\* \\# not (from "
                    "[Data \\[and\\] \\*rights\\*](<https://hub.example/e/igf/s/igf-1>))")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_and_links_each_point_keeping_the_query() -> None:
    state = event(row(1, "AI", title="<b>Title</b>"))
    report(state, "igf-1", publish=True, takeaways=["<img src=x onerror=alert(1)>"],
           calls=["Call & respond"])
    built = highlights.build(state)
    fragment = highlights.to_html_fragment(built, query="?lang=fr")
    parsed = _Collect()
    parsed.feed(fragment)
    assert "img" not in parsed.tags and "b" not in parsed.tags
    assert "<img src=x onerror=alert(1)>" in "".join(parsed.text)
    assert parsed.links == ["/e/igf/s/igf-1?lang=fr", "/e/igf/s/igf-1?lang=fr"]
    page = highlights.to_html_page(built, lang="ar", direction="rtl")
    assert page.startswith('<!doctype html>\n<html lang="ar" dir="rtl">')
    assert "<script" not in page and "style=" not in page


def test_labels_come_in_the_readers_language() -> None:
    state = event(row(1, ""))
    report(state, "igf-1", publish=True, takeaways=["Point"], calls=["Call"])
    built = highlights.build(state)
    for lang, expected in (("fr", "Appels à l'action"), ("ar", "الدعوات إلى العمل"),
                           ("zh", "行动呼吁"), ("ru", "Призывы к действию"),
                           ("es", "Llamados a la acción")):
        words = Words(lang).highlights()
        assert set(words) == set(highlights.LABELS)
        md = highlights.to_markdown(built, words)
        assert expected in md
        assert words["no_track"] in md
        assert words["title"] != highlights.LABELS["title"]
