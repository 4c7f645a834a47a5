"""The session report: a meeting with room, remote and two hubs, rendered four ways."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from typing import Any

import pytest

from hub.domain.captions import CaptionLine
from hub.domain.items import Item
from hub.domain.ordering import Turn
from hub.domain.report import (
    CALL_TO_ACTION,
    SECTIONS,
    TAKEAWAY,
    RaisedItem,
    Report,
    ReportFlag,
    SessionInfo,
    build_report,
    raised_from_item,
    to_csv,
    to_html,
    to_json,
    to_markdown,
)
from hub.domain.stats import Participant, participation
from hub.domain.transcript import build_cues

T0 = 1_700_000_000_000
XSS = '<script>alert("x")</script> & <b>'
HUB_A = "Nairobi Hub"
HUB_B = "São Paulo <img src=x onerror=alert(2)>"


def crowd(count: int, origin: str, **profile: Any) -> list[Participant]:
    return [Participant(origin, dict(profile)) for _ in range(count)]


# The meeting: 11 in the room on the app (40 counted by the organizer), 12 remote, two hubs.
PARTICIPANTS = [
    *crowd(6, "room", stakeholder="government", country="KE", gender="woman", youth=False),
    *crowd(5, "room", stakeholder="civil_society", country="FR", gender="man"),
    *crowd(7, "remote", stakeholder="civil_society", country="BR", gender="woman", youth=True),
    *crowd(2, "remote", stakeholder="private_sector", country="US", gender="man"),
    *crowd(3, "remote"),
]
HUBS = {HUB_A: 14, HUB_B: 9}
ROOM_COUNT = 40


def speaker(n: int, origin: str, seconds: int, start: int, **profile: Any) -> Turn:
    return Turn(
        f"t{n}",
        f"speaker{n}",
        origin,
        dict(profile),
        T0 + start * 1000,
        T0 + (start + seconds) * 1000,
    )


TURNS = [
    *[speaker(n, "room", 60, n * 100, stakeholder="government") for n in range(5)],
    *[speaker(10 + n, "remote", 90, 600 + n * 100, stakeholder="civil_society") for n in range(5)],
    speaker(20, f"hub:{HUB_A}", 120, 1200),
]


def item(
    n: int,
    origin: str,
    status: str,
    *,
    text: str | None = None,
    anonymous: bool = False,
    author: str = "someone",
    kind: str = "question",
    stakeholder: str | None = None,
) -> RaisedItem:
    return RaisedItem(
        f"i{n}",
        kind,
        text or f"Question {n}?",
        origin,
        status,
        anonymous,
        author,
        T0 + n * 1000,
        stakeholder,
    )


ITEMS = [
    item(1, "room", "done", author="Grace Mwangi", stakeholder="government"),
    item(2, "remote", "done", anonymous=True, author="Secret Person", stakeholder="civil_society"),
    item(3, f"hub:{HUB_A}", "approved", text=XSS, author=HUB_A),
    item(4, f"hub:{HUB_B}", "live", kind="comment", author="Ana"),
    item(5, "remote", "rejected", author="Troll"),
    item(6, "remote", "pending", author="Late"),
    item(7, "room", "done", kind="floor", author="Panelist"),
    item(8, "remote", "withdrawn", author="Shy"),
]

CAPTIONS = [
    CaptionLine(T0, "Welcome to the workshop.", "en", speaker="Lucía Pérez", seq=1),
    CaptionLine(
        T0 + 5_000,
        "Data must serve the communities it comes from.",
        "en",
        speaker="Grace Mwangi",
        seq=2,
    ),
    CaptionLine(T0 + 12_000, f"Someone typed {XSS}", "en", seq=3),
]

FLAGS = [
    ReportFlag("Local data stewardship needs funding.", TAKEAWAY, item_id="i1"),
    ReportFlag("Communities must benefit from their data.", TAKEAWAY, caption_seq=2),
    ReportFlag(f"Publish a toolkit {XSS}", CALL_TO_ACTION),
    ReportFlag("Fund hubs.", CALL_TO_ACTION, caption_ts=T0 + 13_000),
]

INFO = SessionInfo(
    title="Data governance & the <Global South>",
    date="2025-06-24",
    organizers=("Amina Diallo", "Jon Smith"),
    moderators=("Lucía Pérez", "Kenji Sato"),
    room_count=ROOM_COUNT,
    languages=("en", "fr"),
)


@pytest.fixture
def report() -> Report:
    stats = participation(PARTICIPANTS, TURNS, HUBS, ROOM_COUNT, now_ms=T0 + 2000 * 1000)
    return build_report(INFO, stats, flags=FLAGS, items=ITEMS, cues=build_cues(CAPTIONS, "en"))


# -- the model ------------------------------------------------------------------------------


def test_the_reports_figures_match_the_meeting(report: Report) -> None:
    stats = report.stats
    assert stats.attendance.value("room") == ROOM_COUNT
    assert stats.attendance.value("remote") == 12
    assert stats.attendance.value("hubs") == sum(HUBS.values()) == 23
    assert stats.attendance.total == 40 + 12 + 23
    assert stats.hubs.value(HUB_A) == 14 and stats.hubs.value(HUB_B) == 9

    stakeholder = stats.table("participants", "stakeholder")
    assert stakeholder.total == len(PARTICIPANTS) == 23
    assert stakeholder.value("government") == 6
    assert stakeholder.value("civil_society") == 12
    # 2 private sector and 3 undeclared: both under five, suppressed together (5 people).
    assert stakeholder.is_suppressed("private_sector")
    assert stakeholder.is_suppressed("not_declared")

    region = stats.table("participants", "region")
    assert region.value("weog") == 7 and region.value("latin_american_caribbean") == 7
    assert region.is_suppressed("not_declared") and region.is_suppressed("african")

    speakers = stats.table("speakers", "stakeholder")
    assert speakers.total == 11
    assert speakers.value("government") == 5
    assert speakers.is_suppressed("not_declared") and speakers.is_suppressed("civil_society")
    time = stats.table("speaking_time", "stakeholder")
    assert time.value("government") == 5 * 60
    assert time.total == 5 * 60 + 5 * 90 + 120


def test_questions_raised_are_public_ones_and_name_only_those_who_chose_to(
    report: Report,
) -> None:
    assert [q.item_id for q in report.questions] == ["i1", "i2", "i3", "i4"]
    assert [q.number for q in report.questions] == [1, 2, 3, 4]
    assert [q.answered for q in report.questions] == [True, True, False, True]
    assert [q.asked_by for q in report.questions] == ["Grace Mwangi", None, HUB_A, "Ana"]
    assert report.questions[1].stakeholder == "civil_society"
    assert report.questions[3].kind == "comment"


def test_flags_point_to_their_question_or_transcript_line(report: Report) -> None:
    first, second = report.takeaways
    assert (first.source, first.anchor) == ("question 1", "q-1")
    assert (second.source, second.anchor) == ("transcript 00:00:05", "cue-2")
    action, by_time = report.calls_to_action
    assert action.kind == CALL_TO_ACTION and action.source is None
    assert (by_time.source, by_time.anchor) == ("transcript 00:00:12", "cue-3")


def test_a_flag_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="flag kind"):
        build_report(INFO, participation([]), flags=[ReportFlag("x", "rumour")])


def test_a_queue_item_converts_for_the_report() -> None:
    queued = Item(
        id="i9",
        kind="question",
        text="Why?",
        status="done",
        origin="remote",
        author_id="p1",
        author="Kim",
        anonymous=True,
        lang="en",
        created=T0,
    )
    raised = raised_from_item(queued, "academia")
    assert raised == RaisedItem(
        "i9", "question", "Why?", "remote", "done", True, "Kim", T0, "academia"
    )


# -- Markdown -------------------------------------------------------------------------------


def test_markdown_has_every_section_in_order(report: Report) -> None:
    text = to_markdown(report)
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [title for _, title in SECTIONS]
    assert text.startswith("# Session report: Data governance &amp; the &lt;Global South&gt;\n")
    assert "| Government | 6 |" in text
    assert "| Private sector | suppressed |" in text
    assert "| Total | 75 |" in text
    assert "| 2 | Question 2? | Remote | Civil society | anonymous | yes |" in text
    assert "Secret Person" not in text
    assert "Troll" not in text
    assert "1. Local data stewardship needs funding. (from question 1)" in text


def test_markdown_escapes_user_text(report: Report) -> None:
    text = to_markdown(report)
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;' in text


def test_markdown_markup_in_user_text_stays_text() -> None:
    raised = [
        item(1, "remote", "done", text="- [click](javascript:x) **bold** | a_b"),
        item(2, "remote", "done", text="1. looks like a list"),
    ]
    text = to_markdown(build_report(INFO, participation([]), items=raised))
    rows = [
        line for line in text.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")
    ]
    assert rows[0].startswith("| 1 | \\- \\[click\\](javascript:x) \\*\\*bold\\*\\* \\| a\\_b |")
    assert rows[1].startswith("| 2 | 1\\. looks like a list |")
    assert rows[0].replace("\\|", "").count("|") == 7


# -- HTML -----------------------------------------------------------------------------------


class Page(HTMLParser):
    """Collects what the checks need: tags, ids, section headings, tables, SVG, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.ids: dict[str, str] = {}
        self.sections: list[tuple[str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.texts: list[str] = []
        self.svg_titles: dict[str, str] = {}
        self._caption: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._section: str | None = None
        self._h2: list[str] | None = None
        self._svg_text: list[str] | None = None
        self._svg_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag not in ("br", "meta", "link", "rect"):
            self.stack.append(tag)
        if attributes.get("id"):
            self.ids[str(attributes["id"])] = tag
        if tag == "section":
            self._section = attributes.get("id")
        elif tag == "h2":
            self._h2 = []
        elif tag == "caption":
            self._caption = ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("title", "desc") and "svg" in self.stack:
            self._svg_text, self._svg_id = [], attributes.get("id")

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        if tag == "h2" and self._h2 is not None and self._section is not None:
            self.sections.append((self._section, "".join(self._h2)))
            self._h2 = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._caption is not None:
            self.tables.setdefault(self._caption, []).append(self._row)
            self._row = None
        elif tag == "table":
            self._caption = None
        elif tag in ("title", "desc") and self._svg_text is not None and self._svg_id:
            self.svg_titles[self._svg_id] = "".join(self._svg_text)
            self._svg_text = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        for sink in (self._h2, self._cell, self._svg_text):
            if sink is not None:
                sink.append(data)
        if self._caption is not None and self._row is None:
            self._caption += data

    def table(self, caption: str) -> dict[str, list[str]]:
        return {row[0]: row[1:] for row in self.tables[caption]}


@pytest.fixture
def page(report: Report) -> Page:
    parser = Page()
    parser.feed(to_html(report))
    parser.close()
    return parser


def test_html_is_a_complete_document_linking_the_report_stylesheet(
    report: Report, page: Page
) -> None:
    html = to_html(report)
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    tags = [tag for tag, _ in page.tags]
    assert tags[:2] == ["html", "head"] and "body" in tags and "main" in tags
    links = [attrs for tag, attrs in page.tags if tag == "link"]
    assert links == [{"rel": "stylesheet", "href": "/static/css/report.css"}]
    # The server's CSP forbids inline styles and scripts.
    assert "style" not in tags and "script" not in tags
    assert all("style" not in attrs for _, attrs in page.tags)
    assert page.stack == []  # every element closed


def test_html_has_every_section_in_order(page: Page) -> None:
    assert page.sections == [(anchor, title) for anchor, title in SECTIONS]


def test_html_tables_carry_the_figures(page: Page) -> None:
    attendance = page.table("Attendance")
    assert attendance["Room"] == ["40"] and attendance["Total"] == ["75"]
    assert page.table("Hubs")[HUB_B] == ["9"]
    stakeholder = page.table("Participants by stakeholder group")
    assert stakeholder["Government"] == ["6"]
    assert stakeholder["Private sector"] == ["suppressed"]
    assert stakeholder["Total"] == ["23"]
    floor = page.table("Who had the floor, by stakeholder group")
    assert floor["Government"] == ["5", "5:00"]
    assert floor["Civil society"] == ["suppressed", "suppressed"]
    assert floor["Total"] == ["11", "14:30"]
    questions = page.table("Questions and comments raised")
    assert questions["2"] == ["Question 2?", "Remote", "Civil society", "anonymous", "yes"]
    assert questions["3"][0] == XSS
    assert page.ids["q-3"] == "tr"


def test_html_escapes_every_bit_of_user_text(page: Page) -> None:
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "img" not in tags
    assert tags.count("b") == 2  # the two named speakers of the transcript, not the payload
    text = "".join(page.texts)
    assert XSS in text
    assert f"Publish a toolkit {XSS}" in text
    assert HUB_B in text
    assert "Data governance & the <Global South>" in text


def test_html_has_an_accessible_svg_chart_of_participation_by_group(page: Page) -> None:
    charts = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert len(charts) == 2
    for attrs in charts:
        assert attrs["role"] == "img"
        assert attrs["xmlns"] == "http://www.w3.org/2000/svg"
        labelled = str(attrs["aria-labelledby"]).split()
        assert [page.ids[i] for i in labelled] == ["title", "desc"]
    assert page.svg_titles["chart-stakeholder-title"] == "Participants by stakeholder group"
    desc = page.svg_titles["chart-stakeholder-desc"]
    assert "Government: 6" in desc and "Private sector: suppressed" in desc
    assert "Media" not in desc  # empty groups are left out of the chart
    # Bars only for published figures: government and civil society, then the three
    # attendance bars (room, remote, hubs).
    assert sum(1 for tag, _ in page.tags if tag == "rect") == 2 + 3


def test_html_sources_link_to_their_anchors(page: Page) -> None:
    links = {attrs.get("href") for tag, attrs in page.tags if tag == "a"}
    assert {"#q-1", "#cue-2"} <= links
    assert page.ids["cue-2"] == "li"
    for anchor, _ in SECTIONS:
        assert f"#{anchor}" in links


# -- JSON and CSV ---------------------------------------------------------------------------


def test_json_is_plain_data_with_the_same_figures(report: Report) -> None:
    data = to_json(report)
    assert json.loads(json.dumps(data)) == data
    assert data["info"]["organizers"] == ["Amina Diallo", "Jon Smith"]
    assert data["participation"]["attendance"]["total"] == 75
    stakeholder = data["participation"]["participants"][0]
    assert stakeholder["dimension"] == "stakeholder"
    cells = {c["group"]: c for c in stakeholder["cells"]}
    assert cells["government"]["value"] == 6
    assert cells["private_sector"] == {"group": "private_sector", "value": None, "suppressed": True}
    assert [q["asked_by"] for q in data["questions"]] == ["Grace Mwangi", None, HUB_A, "Ana"]
    assert len(data["transcript"]) == 3
    assert data["takeaways"][0]["anchor"] == "q-1"


def test_csv_has_one_row_per_group_with_counts_or_suppressed(report: Report) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0] == ["section", "dimension", "group", "label", "measure", "value"]
    index = {(r[0], r[1], r[2]): r for r in rows[1:]}
    assert index[("participants", "stakeholder", "government")][3:] == ["Government", "people", "6"]
    assert index[("participants", "stakeholder", "private_sector")][5] == "suppressed"
    assert index[("participants", "stakeholder", "total")][5] == "23"
    assert index[("attendance", "attendance", "room")][5] == "40"
    assert index[("hubs", "hub", HUB_B)][5] == "9"
    assert index[("speaking_time", "stakeholder", "government")][4:] == ["seconds", "300"]
    assert index[("speakers", "origin", "hub")][5] == "suppressed"


def test_csv_neutralizes_spreadsheet_formulas_in_hub_names() -> None:
    stats = participation([], hub_attendees={'=HYPERLINK("http://x")': 8, "@SUM(1)": 6})
    text = to_csv(build_report(INFO, stats))
    groups = [row[2] for row in csv.reader(io.StringIO(text)) if row[0] == "hubs"]
    assert '\'=HYPERLINK("http://x")' in groups and "'@SUM(1)" in groups
    assert not any(group.startswith(("=", "@")) for group in groups)


def test_an_empty_session_still_renders_every_section() -> None:
    empty = build_report(SessionInfo("Quiet", "2025-01-01"), participation([]))
    text = to_markdown(empty)
    assert "None flagged." in text and "No questions were raised." in text
    assert "No transcript." in text
    parser = Page()
    parser.feed(to_html(empty))
    assert [anchor for anchor, _ in parser.sections] == [anchor for anchor, _ in SECTIONS]
    assert to_csv(empty).count("\n") > 10
