"""The session report, after IGF workshop report practice, and its renderings: one report,
the same content in Markdown, HTML, JSON and CSV.

`build_report` gathers plain inputs into a `Report`: session info, the key takeaways and calls
to action moderators flagged, participation figures from `hub.domain.stats` (already
suppressed), the questions raised (by origin and stakeholder group; a name only when the
author did not ask anonymously), speaking time by group, and the transcript as cues.
`to_markdown`, `to_html`, `to_json` and `to_csv` render it. All user text is escaped for the
target format: HTML and SVG by `html.escape`, Markdown by backslashes and entities, CSV
against spreadsheet formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any, Final

from . import regions
from . import transcript as tr
from .items import Item, hub_declared
from .ordering import HUB, NOT_DECLARED, REMOTE, ROOM
from .stats import DIMENSIONS, OTHER_COUNTRIES, K, ParticipationStats, Table
from .transcript import Cue

__all__ = [
    "CALL_TO_ACTION",
    "FLAG_KINDS",
    "SECTIONS",
    "TAKEAWAY",
    "Point",
    "Question",
    "RaisedItem",
    "Report",
    "ReportFlag",
    "SessionInfo",
    "bar_chart",
    "build_report",
    "csv_text",
    "group_label",
    "origin_label",
    "raised_from_item",
    "table_json",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
]

TAKEAWAY: Final = "takeaway"
CALL_TO_ACTION: Final = "call_to_action"
FLAG_KINDS: Final = (TAKEAWAY, CALL_TO_ACTION)
QUESTION_KINDS: Final = frozenset({"question", "comment"})
RAISED_STATUSES: Final = frozenset({"approved", "live", "done"})
ANSWERED_STATUSES: Final = frozenset({"live", "done"})
STYLESHEET: Final = "/static/css/report.css"

SECTIONS: Final = (
    ("session-info", "Session info"),
    ("key-takeaways", "Key takeaways"),
    ("calls-to-action", "Calls to action"),
    ("participation", "Participation"),
    ("questions", "Questions raised"),
    ("speaking-time", "Speaking time"),
    ("remote-interventions", "Remote interventions"),
    ("transcript", "Transcript appendix"),
)
"""Section anchors and headings, in IGF workshop report order."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What the report says about the session itself; `date` is an ISO date."""

    title: str
    date: str
    organizers: tuple[str, ...] = ()
    moderators: tuple[str, ...] = ()
    room_count: int | None = None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportFlag:
    """A takeaway or call to action a moderator flagged, from an item or a caption line.

    The caption line is found by its `seq` in the transcript's language, else by its time.
    """

    text: str
    kind: str
    item_id: str | None = None
    caption_seq: int | None = None
    caption_ts: int | None = None


@dataclass(frozen=True, slots=True)
class RaisedItem:
    """An item as the report needs it; `author` is the display name given when asking."""

    item_id: str
    kind: str
    text: str
    origin: str
    status: str
    anonymous: bool
    author: str
    created_ms: int
    stakeholder: str | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """A flagged takeaway or call to action as reported, with where it came from."""

    text: str
    kind: str
    source: str | None
    anchor: str | None


@dataclass(frozen=True, slots=True)
class Question:
    """A question or comment raised; `asked_by` only when it was not asked anonymously."""

    number: int
    item_id: str
    kind: str
    text: str
    origin: str
    stakeholder: str | None
    asked_by: str | None
    answered: bool


@dataclass(frozen=True, slots=True)
class RemoteIntervention:
    """A remote speaker's turn on audio; `speaker` only when not asked anonymously."""

    number: int
    item_id: str
    speaker: str | None
    origin: str
    start_ms: int
    seconds: int
    audio: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteTime:
    """Remote interventions' speaking time by one cut (suppressed like the figures)."""

    speakers: Table
    seconds: Table


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a session report shows, ready to render."""

    info: SessionInfo
    takeaways: tuple[Point, ...]
    calls_to_action: tuple[Point, ...]
    stats: ParticipationStats
    questions: tuple[Question, ...]
    transcript: tuple[Cue, ...]
    as_of_ms: int | None = None  # the cut-off the figures stand at (`stats.cutoff`)
    interventions: tuple[RemoteIntervention, ...] = ()
    remote_time: tuple[RemoteTime, ...] = ()  # by origin, then by stakeholder group


def raised_from_item(item: Item, stakeholder: str | None = None) -> RaisedItem:
    """The report's view of a queue item; `stakeholder` comes from the author's profile."""
    return RaisedItem(
        item_id=item.id,
        kind=item.kind,
        text=item.text,
        origin=item.origin,
        status=item.status,
        anonymous=item.anonymous,
        author=_author(item),
        created_ms=item.created,
        stakeholder=stakeholder,
    )


def _author(item: Item) -> str:
    """The name as asked; a name a hub declared for an attendee says so (it is unchecked)."""
    if hub_declared(item):
        hub = item.origin.removeprefix("hub:")
        return f"{item.author} (forwarded by {hub} on behalf of an attendee)"
    return item.author


def build_report(
    info: SessionInfo,
    stats: ParticipationStats,
    *,
    flags: Sequence[ReportFlag] = (),
    items: Sequence[RaisedItem] = (),
    cues: Sequence[Cue] = (),
    as_of_ms: int | None = None,
    interventions: Sequence[RemoteIntervention] = (),
    remote_time: Sequence[RemoteTime] = (),
) -> Report:
    """The report: questions are the public questions and comments, oldest first; the
    figures stand as of `as_of_ms` (ms since the epoch), when given."""
    raised = sorted(
        (i for i in items if i.kind in QUESTION_KINDS and i.status in RAISED_STATUSES),
        key=lambda i: (i.created_ms, i.item_id),
    )
    questions = tuple(_question(number, item) for number, item in enumerate(raised, start=1))
    for flag in flags:
        if flag.kind not in FLAG_KINDS:
            raise ValueError(f"flag kind must be one of {', '.join(FLAG_KINDS)}, not {flag.kind!r}")
    points = [_point(flag, questions, cues) for flag in flags]
    return Report(
        info=info,
        takeaways=tuple(p for p in points if p.kind == TAKEAWAY),
        calls_to_action=tuple(p for p in points if p.kind == CALL_TO_ACTION),
        stats=stats,
        questions=questions,
        transcript=tuple(cues),
        as_of_ms=as_of_ms,
        interventions=tuple(interventions),
        remote_time=tuple(remote_time),
    )


def _question(number: int, item: RaisedItem) -> Question:
    return Question(
        number=number,
        item_id=item.item_id,
        kind=item.kind,
        text=item.text,
        origin=item.origin,
        stakeholder=item.stakeholder,
        asked_by=None if item.anonymous else item.author,
        answered=item.status in ANSWERED_STATUSES,
    )


def _point(flag: ReportFlag, questions: Sequence[Question], cues: Sequence[Cue]) -> Point:
    """Where a flag came from: the question's number, or the transcript time of its caption."""
    if flag.item_id is not None:
        for question in questions:
            if question.item_id == flag.item_id:
                return Point(
                    flag.text, flag.kind, f"question {question.number}", f"q-{question.number}"
                )
        return Point(flag.text, flag.kind, f"item {flag.item_id}", None)
    cue = _flagged_cue(flag, cues)
    if cue is not None:
        return Point(flag.text, flag.kind, f"transcript {_clock(cue.start_ms)}", f"cue-{cue.index}")
    return Point(flag.text, flag.kind, None, None)


def _flagged_cue(flag: ReportFlag, cues: Sequence[Cue]) -> Cue | None:
    """The cue of the flagged caption line: same `seq`, else the last one at or before its time."""
    if flag.caption_seq is not None:
        for cue in cues:
            if cue.seq == flag.caption_seq:
                return cue
    if flag.caption_ts is not None:
        earlier = [cue for cue in cues if cue.ts <= flag.caption_ts]
        if earlier:
            return earlier[-1]
    return None


# -- labels ---------------------------------------------------------------------------------

_GROUP_LABELS: Final[Mapping[str, str]] = {
    "government": "Government",
    "civil_society": "Civil society",
    "private_sector": "Private sector",
    "technical": "Technical community",
    "academia": "Academia",
    "intergovernmental": "Intergovernmental organizations",
    "media": "Media",
    "other": "Other",
    "woman": "Woman",
    "man": "Man",
    "nonbinary": "Non-binary",
    "undisclosed": "Prefers not to say",
    "youth": "Youth",
    "not_youth": "Not youth",
    regions.DEVELOPED: "Developed",
    regions.DEVELOPING: "Developing",
    regions.UNKNOWN: "Unknown",
    NOT_DECLARED: "Not declared",
    OTHER_COUNTRIES: f"Other countries (fewer than {K} people each)",
    ROOM: "Room",
    REMOTE: "Remote",
    HUB: "Hubs",
    "hubs": "Hubs",
    **regions.UN_GROUP_NAMES,
}
_DIMENSION_LABELS: Final[Mapping[str, str]] = {
    "stakeholder": "stakeholder group",
    "country": "country",
    "region": "UN regional group",
    "economy": "economy (UN M49)",
    "gender": "gender",
    "youth": "youth",
    "origin": "where they joined from",
}
_SUPPRESSED: Final = "suppressed"
_SUPPRESSION_NOTE: Final = (
    f"Figures are self-declared and aggregate. A cell counting fewer than {K} people is "
    "suppressed, and so is any cell that would let it be worked out from a total."
)


def _figures_note(report: Report) -> str:
    """The suppression note, and the moment the figures stand at."""
    if report.as_of_ms is None:
        return _SUPPRESSION_NOTE
    moment = datetime.fromtimestamp(report.as_of_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    return f"{_SUPPRESSION_NOTE} Figures as of {moment} UTC."


def group_label(dimension: str, group: str) -> str:
    """The English label of a group; hub names and unknown codes are shown as given."""
    if dimension == "hub":
        return group
    if dimension == "country":
        country = regions.lookup(group) if len(group) == 2 else None
        if country is not None:
            return country.name
    return _GROUP_LABELS.get(group, group)


def origin_label(origin: str) -> str:
    """ "Room", "Remote" or "Hub: <name>"."""
    if origin.startswith(HUB + ":"):
        return f"Hub: {origin[len(HUB) + 1 :]}"
    return _GROUP_LABELS.get(origin, origin)


def _clock(ms: int) -> str:
    seconds = max(ms, 0) // 1000
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return _SUPPRESSED
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _figure(value: int | None, measure: str) -> str:
    if measure == "seconds":
        return _duration(value)
    return _SUPPRESSED if value is None else str(value)


def _rows(table: Table) -> list[tuple[str, str]]:
    """(label, figure) per cell, then the total."""
    rows = [
        (group_label(table.dimension, c.group), _figure(c.value, table.measure))
        for c in table.cells
    ]
    return [*rows, ("Total", _figure(table.total, table.measure))]


def _participation_tables(report: Report) -> list[tuple[str, Table]]:
    stats = report.stats
    titled = [("Attendance", stats.attendance), ("Hubs", stats.hubs)]
    titled += [(f"Participants by {_DIMENSION_LABELS[t.dimension]}", t) for t in stats.participants]
    return titled


def _floor_rows(report: Report, dimension: str) -> list[tuple[str, str, str]]:
    """(group, speakers, speaking time) for one cut, then the totals."""
    people = report.stats.table("speakers", dimension)
    time = report.stats.table("speaking_time", dimension)
    rows = [
        (group_label(dimension, p.group), _figure(p.value, "people"), _figure(t.value, "seconds"))
        for p, t in zip(people.cells, time.cells, strict=True)
    ]
    return [*rows, ("Total", _figure(people.total, "people"), _figure(time.total, "seconds"))]


def _info_rows(info: SessionInfo) -> list[tuple[str, str]]:
    room = "not entered" if info.room_count is None else str(info.room_count)
    return [
        ("Title", info.title),
        ("Date", info.date),
        ("Organizers", ", ".join(info.organizers) or "none listed"),
        ("Moderators", ", ".join(info.moderators) or "none listed"),
        ("People in the room (organizer's count)", room),
        ("Languages", ", ".join(info.languages) or "not listed"),
    ]


def _question_cells(q: Question) -> list[str]:
    return [
        str(q.number),
        q.text,
        origin_label(q.origin),
        group_label("stakeholder", q.stakeholder) if q.stakeholder else "not shown",
        q.asked_by or "anonymous",
        "yes" if q.answered else "no",
    ]


_QUESTION_HEAD: Final = ["#", "Question", "From", "Stakeholder group", "Asked by", "Answered"]


# -- Markdown -------------------------------------------------------------------------------

_MD_SPECIAL: Final = frozenset("\\`*_[]|#~")
_MD_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_LIST_START: Final = re.compile(r"([-+]|[0-9]+[.)])(?=\s|$)")


def _md(text: str) -> str:
    """User text as inert inline Markdown: one line, markup escaped, HTML as entities.

    Text always follows a prefix on its line, so only inline markup and list markers at its
    start (which would open a nested list) need escaping.
    """
    out = []
    for char in " ".join(text.split()):
        if char in _MD_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(_MD_ENTITIES.get(char, char))
    escaped = "".join(out)
    marker = _MD_LIST_START.match(escaped)
    if marker is None:
        return escaped
    return escaped[: marker.end() - 1] + "\\" + escaped[marker.end() - 1 :]


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _md_points(points: Sequence[Point]) -> list[str]:
    if not points:
        return ["None flagged.", ""]
    lines = []
    for number, point in enumerate(points, start=1):
        source = f" (from {_md(point.source)})" if point.source else ""
        lines.append(f"{number}. {_md(point.text)}{source}")
    return [*lines, ""]


def to_markdown(report: Report) -> str:
    """The report as Markdown, one `##` heading per section."""
    titles = dict(SECTIONS)
    lines = [f"# Session report: {_md(report.info.title)}", ""]
    lines += [f"## {titles['session-info']}", ""]
    lines += [f"- **{_md(label)}:** {_md(value)}" for label, value in _info_rows(report.info)]
    lines += ["", f"## {titles['key-takeaways']}", "", *_md_points(report.takeaways)]
    lines += [f"## {titles['calls-to-action']}", "", *_md_points(report.calls_to_action)]
    lines += [f"## {titles['participation']}", "", _md(_figures_note(report)), ""]
    for title, table in _participation_tables(report):
        measure = "Attendees" if table.dimension in ("attendance", "hub") else "People"
        lines += [f"### {_md(title)}", "", *_md_table(["Group", measure], _rows(table))]
    lines += [f"## {titles['questions']}", ""]
    if report.questions:
        lines += _md_table(_QUESTION_HEAD, (_question_cells(q) for q in report.questions))
    else:
        lines += ["No questions were raised.", ""]
    lines += [f"## {titles['speaking-time']}", ""]
    for dimension in DIMENSIONS:
        lines += [f"### By {_md(_DIMENSION_LABELS[dimension])}", ""]
        lines += _md_table(["Group", "Speakers", "Speaking time"], _floor_rows(report, dimension))
    lines += [f"## {titles['remote-interventions']}", "", *_md_remote(report)]
    lines += [f"## {titles['transcript']}", ""]
    lines += [
        f"- \\[{_clock(c.start_ms)}\\] {_md_speaker(c)}{_md(c.text)}" for c in report.transcript
    ] or ["No transcript."]
    return "\n".join(lines).rstrip() + "\n"


_REMOTE_HEAD: Final = ("#", "Item", "Speaker", "Origin", "Start", "Length", "Audio")


def _remote_cells(r: RemoteIntervention) -> list[str]:
    return [str(r.number), r.item_id, r.speaker or "(anonymous)", origin_label(r.origin),
            _clock_utc(r.start_ms), _duration(r.seconds), r.audio or "none"]


def _clock_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S UTC")


def _remote_rows(cut: RemoteTime) -> list[tuple[str, str, str]]:
    rows = [(group_label(cut.speakers.dimension, s.group), _figure(s.value, "people"),
             _figure(t.value, "seconds"))
            for s, t in zip(cut.speakers.cells, cut.seconds.cells, strict=True)]
    rows.append(("Total", _figure(cut.speakers.total, "people"),
                 _figure(cut.seconds.total, "seconds")))
    return rows


def _md_remote(report: Report) -> list[str]:
    if not report.interventions:
        return ["No remote interventions.", ""]
    lines = _md_table(_REMOTE_HEAD, (_remote_cells(r) for r in report.interventions))
    for cut in report.remote_time:
        lines += [f"### By {_md(_DIMENSION_LABELS[cut.speakers.dimension])}", ""]
        lines += _md_table(["Group", "Speakers", "Speaking time"], _remote_rows(cut))
    return lines


def _html_remote(report: Report) -> str:
    if not report.interventions:
        return "<p>No remote interventions.</p>"
    out = _html_table("Remote interventions", _REMOTE_HEAD,
                      (_remote_cells(r) for r in report.interventions))
    for cut in report.remote_time:
        out += _html_table(
            f"Remote speaking time, by {_DIMENSION_LABELS[cut.speakers.dimension]}",
            ["Group", "Speakers", "Speaking time"], _remote_rows(cut))
    return out


def _md_speaker(cue: Cue) -> str:
    return f"**{_md(cue.speaker)}:** " if cue.speaker else ""


# -- HTML -----------------------------------------------------------------------------------


def _h(text: str) -> str:
    return escape(text, quote=True)


def _html_table(caption: str, head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head_cells = "".join(f'<th scope="col">{_h(h)}</th>' for h in head)
    body = []
    for row in rows:
        first, *rest = row
        cells = "".join(_html_cell(cell) for cell in rest)
        body.append(f'<tr><th scope="row">{_h(first)}</th>{cells}</tr>')
    return (
        f"<table><caption>{_h(caption)}</caption><thead><tr>{head_cells}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _html_cell(text: str) -> str:
    if text == _SUPPRESSED:
        return f'<td class="suppressed">{_SUPPRESSED}</td>'
    return f"<td>{_h(text)}</td>"


def _html_points(points: Sequence[Point]) -> str:
    if not points:
        return "<p>None flagged.</p>"
    items = []
    for point in points:
        source = ""
        if point.source and point.anchor:
            source = f' <a class="source" href="#{_h(point.anchor)}">({_h(point.source)})</a>'
        elif point.source:
            source = f' <span class="source">({_h(point.source)})</span>'
        items.append(f"<li>{_h(point.text)}{source}</li>")
    return f"<ol>{''.join(items)}</ol>"


_BAR_HEIGHT: Final = 28
_LABEL_WIDTH: Final = 250
_BAR_WIDTH: Final = 330
_CHART_WIDTH: Final = _LABEL_WIDTH + _BAR_WIDTH + 110


def bar_chart(
    table: Table,
    title: str,
    chart_id: str,
    label: Callable[[str, str], str] = group_label,
    suppressed: str = _SUPPRESSED,
    empty: str = "no figures",
) -> str:
    """An accessible inline SVG bar chart of a people table; suppressed cells get no bar.
    `label` names a group (dimension, group) and `suppressed`/`empty` are the words shown,
    so a page can pass them in its language."""
    cells = [c for c in table.cells if c.value != 0 or c.suppressed]
    height = _BAR_HEIGHT * max(len(cells), 1) + 10
    top = max((c.value for c in cells if c.value is not None), default=0) or 1

    def figure(value: int | None) -> str:
        return suppressed if value is None else _figure(value, table.measure)

    summary = (
        "; ".join(f"{label(table.dimension, c.group)}: {figure(c.value)}" for c in cells)
        or empty
    )
    bars = [
        _bar(index, label(table.dimension, cell.group), cell.value, top, suppressed)
        for index, cell in enumerate(cells)
    ]
    return (
        f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {_CHART_WIDTH} '
        f'{height}" width="{_CHART_WIDTH}" height="{height}">'
        f'<title id="{chart_id}-title">{_h(title)}</title>'
        f'<desc id="{chart_id}-desc">{_h(summary)}</desc>{"".join(bars)}</svg>'
        f"<figcaption>{_h(title)}</figcaption></figure>"
    )


def _bar(index: int, label: str, value: int | None, top: int, suppressed: str) -> str:
    y = 5 + index * _BAR_HEIGHT
    text_y = y + _BAR_HEIGHT // 2 + 5
    parts = [f'<g class="bar"><text x="0" y="{text_y}" font-size="14">{_h(label)}</text>']
    if value is None:
        parts.append(
            f'<text class="suppressed" x="{_LABEL_WIDTH}" y="{text_y}" font-size="14" '
            f'font-style="italic">{_h(suppressed)}</text>'
        )
    else:
        width = round(_BAR_WIDTH * value / top)
        parts.append(
            f'<rect x="{_LABEL_WIDTH}" y="{y + 4}" width="{width}" '
            f'height="{_BAR_HEIGHT - 8}" fill="#1f5f8b"/>'
        )
        parts.append(
            f'<text x="{_LABEL_WIDTH + width + 6}" y="{text_y}" font-size="14">{value}</text>'
        )
    return "".join(parts) + "</g>"


def _section(anchor: str, body: str) -> str:
    title = dict(SECTIONS)[anchor]
    return (
        f'<section id="{anchor}" aria-labelledby="{anchor}-h">'
        f'<h2 id="{anchor}-h">{_h(title)}</h2>{body}</section>'
    )


def _html_participation(report: Report) -> str:
    stats = report.stats
    parts = [f"<p>{_h(_figures_note(report))}</p>"]
    parts.append(
        bar_chart(
            stats.table("participants", "stakeholder"),
            "Participants by stakeholder group",
            "chart-stakeholder",
        )
    )
    parts.append(
        bar_chart(stats.attendance, "Attendance: room, remote and hubs", "chart-attendance")
    )
    for title, table in _participation_tables(report):
        measure = "Attendees" if table.dimension in ("attendance", "hub") else "People"
        parts.append(_html_table(title, ["Group", measure], _rows(table)))
    return "".join(parts)


def _html_questions(report: Report) -> str:
    if not report.questions:
        return "<p>No questions were raised.</p>"
    rows = []
    for q in report.questions:
        number, *rest = _question_cells(q)
        cells = "".join(f"<td>{_h(cell)}</td>" for cell in rest)
        rows.append(f'<tr id="q-{q.number}"><th scope="row">{number}</th>{cells}</tr>')
    head = "".join(f'<th scope="col">{_h(h)}</th>' for h in _QUESTION_HEAD)
    return (
        f"<table><caption>Questions and comments raised</caption><thead><tr>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _html_transcript(report: Report) -> str:
    if not report.transcript:
        return "<p>No transcript.</p>"
    lines = []
    for cue in report.transcript:
        speaker = f'<b class="speaker">{_h(cue.speaker)}:</b> ' if cue.speaker else ""
        text = "<br>".join(_h(line) for line in cue.text.split("\n"))
        lines.append(
            f'<li id="cue-{cue.index}"><time>{_clock(cue.start_ms)}</time> {speaker}{text}</li>'
        )
    return f'<ol class="transcript">{"".join(lines)}</ol>'


def to_html(report: Report) -> str:
    """A complete HTML document: semantic, readable without CSS, styled by report.css."""
    info = report.info
    rows = "".join(f"<dt>{_h(label)}</dt><dd>{_h(value)}</dd>" for label, value in _info_rows(info))
    floor = "".join(
        _html_table(
            f"Who had the floor, by {_DIMENSION_LABELS[d]}",
            ["Group", "Speakers", "Speaking time"],
            _floor_rows(report, d),
        )
        for d in DIMENSIONS
    )
    toc = "".join(f'<li><a href="#{anchor}">{_h(title)}</a></li>' for anchor, title in SECTIONS)
    body = "".join(
        [
            _section("session-info", f"<dl>{rows}</dl>"),
            _section("key-takeaways", _html_points(report.takeaways)),
            _section("calls-to-action", _html_points(report.calls_to_action)),
            _section("participation", _html_participation(report)),
            _section("questions", _html_questions(report)),
            _section("speaking-time", f"<p>{_h(_figures_note(report))}</p>{floor}"),
            _section("remote-interventions", _html_remote(report)),
            _section("transcript", _html_transcript(report)),
        ]
    )
    title = _h(f"Session report: {info.title}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="{STYLESHEET}"></head>'
        f"<body><header><h1>{title}</h1><p>{_h(info.date)}</p>"
        f'<nav aria-label="Sections"><ol>{toc}</ol></nav></header>'
        f"<main>{body}</main></body></html>\n"
    )


# -- JSON and CSV ---------------------------------------------------------------------------


def table_json(table: Table) -> dict[str, Any]:
    """One figures table as JSON: suppressed cells have no value."""
    return {
        "dimension": table.dimension,
        "measure": table.measure,
        "total": table.total,
        "total_suppressed": table.total_suppressed,
        "cells": [
            {"group": c.group, "value": c.value, "suppressed": c.suppressed} for c in table.cells
        ],
    }


def _point_json(point: Point) -> dict[str, Any]:
    return {"text": point.text, "kind": point.kind, "source": point.source, "anchor": point.anchor}


def to_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready dicts and lists."""
    info = report.info
    stats = report.stats
    return {
        "info": {
            "title": info.title,
            "date": info.date,
            "organizers": list(info.organizers),
            "moderators": list(info.moderators),
            "room_count": info.room_count,
            "languages": list(info.languages),
        },
        "takeaways": [_point_json(p) for p in report.takeaways],
        "calls_to_action": [_point_json(p) for p in report.calls_to_action],
        "participation": {
            "as_of": report.as_of_ms,
            "attendance": table_json(stats.attendance),
            "hubs": table_json(stats.hubs),
            "participants": [table_json(t) for t in stats.participants],
        },
        "questions": [
            {
                "number": q.number,
                "item": q.item_id,
                "kind": q.kind,
                "text": q.text,
                "origin": q.origin,
                "stakeholder": q.stakeholder,
                "asked_by": q.asked_by,
                "answered": q.answered,
            }
            for q in report.questions
        ],
        "speaking": {
            "speakers": [table_json(t) for t in stats.speakers],
            "speaking_time": [table_json(t) for t in stats.speaking_time],
        },
        "remote_interventions": {
            "list": [{"number": r.number, "item": r.item_id, "speaker": r.speaker,
                      "origin": r.origin, "start": r.start_ms, "seconds": r.seconds,
                      "audio": r.audio} for r in report.interventions],
            "speakers": [table_json(c.speakers) for c in report.remote_time],
            "speaking_time": [table_json(c.seconds) for c in report.remote_time],
        },
        "transcript": tr.to_json(report.transcript),
    }


_CSV_HEAD: Final = ("section", "dimension", "group", "label", "measure", "value")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_rows(section: str, table: Table) -> list[list[str]]:
    rows = []
    for cell in table.cells:
        value = _SUPPRESSED if cell.value is None else str(cell.value)
        label = group_label(table.dimension, cell.group)
        rows.append([section, table.dimension, cell.group, label, table.measure, value])
    total = _SUPPRESSED if table.total is None else str(table.total)
    rows.append([section, table.dimension, "total", "Total", table.measure, total])
    return [[csv_text(field) for field in row] for row in rows]


def to_csv(report: Report) -> str:
    """The figures: one row per section, dimension and group; suppressed cells say so."""
    stats = report.stats
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_HEAD)
    sections: list[tuple[str, Table]] = [("attendance", stats.attendance), ("hubs", stats.hubs)]
    sections += [("participants", t) for t in stats.participants]
    sections += [("speakers", t) for t in stats.speakers]
    sections += [("speaking_time", t) for t in stats.speaking_time]
    sections += [("remote_speakers", c.speakers) for c in report.remote_time]
    sections += [("remote_speaking_time", c.seconds) for c in report.remote_time]
    for section, table in sections:
        writer.writerows(_csv_rows(section, table))
    return out.getvalue()
