"""The event-wide figures as JSON, CSV, accessible SVG charts and HTML fragments (issue 14).

Pure renderings of an `EventFigures` (hub.domain.event_figures): nothing is computed or
suppressed here, so every rendering shows exactly the protected figures. The texts people
read come from one `label(key)` function, English by default (`english`, built on the
session report's `group_label` and `origin_label`), so a server-rendered page can pass its
own in any language. Its keys:

- `group:<dimension>:<group>`: a group ("group:gender:woman" -> "Woman");
- `title:<section>:<dimension>`: a table's caption ("title:participants:gender");
- `section:<section>`, `dimension:<dimension>`, `cut:<kind>` (session, day, track, event);
- `word:<word>` for total, group, people, attendees, speakers, seconds, remote, everyone,
  share, suppressed, no_track, no_figures, no_share;
- `note` (the privacy note) and `as_of` (with `{moment}`).

User text (session titles, track names) is escaped for HTML and SVG, and neutralised in CSV
against spreadsheet formulas (`report.csv_text`). Suppressed cells are written "suppressed" in
CSV and JSON has no value for them, as in the session report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any, Final

from . import report
from .event_figures import (
    CUT_KINDS,
    DAY,
    DIMENSIONS,
    EVENT,
    REMOTE_DIMENSIONS,
    SECTIONS,
    SESSION,
    TRACK,
    Cut,
    CutFigures,
    EventFigures,
    remote_share,
)
from .stats import K, Table

__all__ = [
    "CHART_DIMENSIONS",
    "CSV_HEAD",
    "SUPPRESSED",
    "Label",
    "charts",
    "comparison_html",
    "cut_name",
    "english",
    "to_csv",
    "to_html",
    "to_json",
]

Label = Callable[[str], str]
"""Text for a key (see the module's docstring): English by default, any language given."""

SUPPRESSED: Final = "suppressed"
"""How CSV marks a suppressed figure: the session report's marker."""
CSV_HEAD: Final = (
    "section", "dimension", "cut_kind", "cut", "cut_title", "group", "label", "measure", "value",
)
CHART_DIMENSIONS: Final = ("stakeholder", "region", "economy", "gender", "youth")
"""The participant cuts drawn as charts, after attendance."""

_SECTION_NAMES: Final[Mapping[str, str]] = {
    "attendance": "Attendance",
    "participants": "Participants",
    "speakers": "Speakers",
    "speaking_time": "Speaking time",
    "remote": "Remote participants",
}
_DIMENSION_NAMES: Final[Mapping[str, str]] = {
    "attendance": "room, remote and hubs",
    "stakeholder": "stakeholder group",
    "region": "UN regional group",
    "economy": "economy (UN M49)",
    "gender": "gender",
    "youth": "youth",
    "origin": "where they joined from",
}
_CUT_NAMES: Final[Mapping[str, str]] = {
    SESSION: "Session",
    DAY: "Day",
    TRACK: "Track",
    EVENT: "Whole event",
}
_WORDS: Final[Mapping[str, str]] = {
    "total": "Total",
    "group": "Group",
    "people": "People",
    "attendees": "Attendees",
    "speakers": "Speakers",
    "seconds": "Speaking time",
    "remote": "Remote",
    "everyone": "All participants",
    "share": "Remote share",
    "suppressed": SUPPRESSED,
    "no_track": "No track",
    "no_figures": "no figures",
    "no_share": "not published",
}
_NOTE: Final = (
    f"Figures are self-declared and aggregate. A cell counting fewer than {K} people is "
    "suppressed, and so is any cell that would let it be worked out from a total, from the "
    "other sessions, days or tracks, or from another table. A person who took part in several "
    "sessions counts in each of them."
)


def english(key: str) -> str:
    """The English text of `key`; KeyError for a key nobody defined."""
    kind, _, rest = key.partition(":")
    if kind == "group":
        dimension, _, group = rest.partition(":")
        return report.origin_label(group) if dimension == "origin" else report.group_label(
            dimension, group)
    if kind == "title":
        section, _, dimension = rest.partition(":")
        if section == "attendance":
            return "Attendance: room, remote and hubs"
        if section == "remote":
            return f"Remote participation by {_DIMENSION_NAMES[dimension]}"
        if section in ("speakers", "speaking_time"):
            return f"Who had the floor, by {_DIMENSION_NAMES[dimension]}"
        return f"{_SECTION_NAMES[section]} by {_DIMENSION_NAMES[dimension]}"
    table: Mapping[str, str] | None = {
        "section": _SECTION_NAMES,
        "dimension": _DIMENSION_NAMES,
        "cut": _CUT_NAMES,
        "word": _WORDS,
    }.get(kind)
    if table is not None:
        return table[rest]
    if key == "note":
        return _NOTE
    if key == "as_of":
        return "Figures as of {moment} UTC."
    raise KeyError(f"no text for {key!r}")


def cut_name(cut: Cut, label: Label = english) -> str:
    """How a cut is named: a session's title, a day's date, a track's name, the event."""
    if cut.kind == SESSION:
        return cut.title or cut.key
    if cut.kind == TRACK and not cut.key:
        return label("word:no_track")
    if cut.kind == EVENT:
        return label("cut:event")
    return cut.key


# -- JSON -----------------------------------------------------------------------------------


def to_json(figures: EventFigures) -> dict[str, Any]:
    """The figures as JSON-ready dicts: the cut-off (ms), K, then every cut with its tables
    (suppressed cells have no value) and its remote share per group (None: not published)."""
    return {
        "as_of": figures.as_of,
        "k": K,
        "sessions": [_cut_json(c) for c in figures.sessions],
        "days": [_cut_json(c) for c in figures.days],
        "tracks": [_cut_json(c) for c in figures.tracks],
        "event": _cut_json(figures.event),
    }


def _cut_json(figures: CutFigures) -> dict[str, Any]:
    cut = figures.cut
    out: dict[str, Any] = {"kind": cut.kind, "key": cut.key, "title": cut.title,
                           "sessions": cut.sessions,
                           "attendance": report.table_json(figures.attendance)}
    for section in SECTIONS[1:]:
        out[section] = [report.table_json(t) for t in getattr(figures, section)]
    out["remote_share"] = {
        d: {g: None if s is None else round(s, 4) for g, s in remote_share(figures, d).items()}
        for d in REMOTE_DIMENSIONS
    }
    return out


# -- CSV ------------------------------------------------------------------------------------


def to_csv(figures: EventFigures, label: Label = english) -> str:
    """One CSV file: a row per cut, table and group (then the table's total); suppressed
    figures say "suppressed"; text a spreadsheet could run as a formula is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEAD)
    for kind in CUT_KINDS:
        for cut_figures in figures.cuts(kind):
            cut = cut_figures.cut
            for section, table in cut_figures.tables():
                for group, value in _csv_cells(table):
                    name = label("word:total") if group == "total" else label(
                        f"group:{table.dimension}:{group}")
                    row = [section, table.dimension, cut.kind, cut.key, cut_name(cut, label),
                           group, name, table.measure, value]
                    writer.writerow([report.csv_text(field) for field in row])
    return out.getvalue()


def _csv_cells(table: Table) -> list[tuple[str, str]]:
    def text(value: int | None) -> str:
        return SUPPRESSED if value is None else str(value)

    return [*((c.group, text(c.value)) for c in table.cells), ("total", text(table.total))]


# -- charts and HTML ------------------------------------------------------------------------


def _h(text: str) -> str:
    return escape(text, quote=True)


def _anchor(cut: Cut) -> str:
    """An id-safe, unique name for a cut (a track's name may hold any character)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", cut.key).strip("-")
    if slug != cut.key or not slug:
        slug = f"{slug}-{hashlib.sha256(cut.key.encode()).hexdigest()[:8]}".lstrip("-")
    return f"{cut.kind}-{slug}"


def _figure(value: int | None, measure: str, label: Label) -> str:
    if value is None:
        return label("word:suppressed")
    if measure == "seconds":
        hours, rest = divmod(value, 3600)
        return (f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
                else f"{rest // 60}:{rest % 60:02d}")
    return str(value)


def charts(figures: CutFigures, label: Label = english) -> str:
    """Accessible SVG bar charts of one cut (`report.bar_chart`: role="img", a title and a
    description that reads every figure): attendance, then participants by each cut of
    CHART_DIMENSIONS. The tables of `to_html` carry the same figures."""
    def group(dimension: str, name: str) -> str:
        return label(f"group:{dimension}:{name}")

    anchor = _anchor(figures.cut)
    drawn = [("attendance", figures.attendance)]
    drawn += [("participants", figures.table("participants", d)) for d in CHART_DIMENSIONS]
    return "".join(
        report.bar_chart(table, label(f"title:{section}:{table.dimension}"),
                         f"chart-{anchor}-{table.dimension}", group,
                         label("word:suppressed"), label("word:no_figures"))
        for section, table in drawn
    )


def _table_html(caption: str, head: list[str], rows: list[list[str]], label: Label) -> str:
    suppressed = label("word:suppressed")
    head_cells = "".join(f'<th scope="col">{_h(h)}</th>' for h in head)
    body = []
    for first, *rest in rows:
        cells = "".join(
            f'<td class="suppressed">{_h(c)}</td>' if c == suppressed else f"<td>{_h(c)}</td>"
            for c in rest
        )
        body.append(f'<tr><th scope="row">{_h(first)}</th>{cells}</tr>')
    return (f"<table><caption>{_h(caption)}</caption><thead><tr>{head_cells}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _people_rows(table: Table, label: Label) -> list[list[str]]:
    rows = [[label(f"group:{table.dimension}:{c.group}"), _figure(c.value, table.measure, label)]
            for c in table.cells]
    return [*rows, [label("word:total"), _figure(table.total, table.measure, label)]]


def _floor_rows(figures: CutFigures, dimension: str, label: Label) -> list[list[str]]:
    people = figures.table("speakers", dimension)
    time = figures.table("speaking_time", dimension)
    rows = [
        [label(f"group:{dimension}:{p.group}"), _figure(p.value, "people", label),
         _figure(t.value, "seconds", label)]
        for p, t in zip(people.cells, time.cells, strict=True)
    ]
    return [*rows, [label("word:total"), _figure(people.total, "people", label),
                    _figure(time.total, "seconds", label)]]


def _remote_rows(figures: CutFigures, dimension: str, label: Label) -> list[list[str]]:
    remote = figures.table("remote", dimension)
    everyone = figures.table("participants", dimension)
    shares = remote_share(figures, dimension)
    rows = []
    for cell in remote.cells:
        share = shares[cell.group]
        rows.append([label(f"group:{dimension}:{cell.group}"),
                     _figure(cell.value, "people", label),
                     _figure(everyone.value(cell.group), "people", label),
                     label("word:no_share") if share is None else f"{share:.0%}"])
    return rows


def to_html(
    figures: EventFigures,
    kind: str = EVENT,
    key: str = "",
    label: Label = english,
    level: int = 2,
) -> str:
    """An HTML fragment of one cut's figures for a page to embed: a `<section>` with a
    heading (`<h{level}>`), the privacy note and cut-off, the charts, and every table with a
    caption and `<th scope>` headers. KeyError for an unknown cut."""
    if not 1 <= level <= 5:
        raise ValueError(f"the heading level must be 1 to 5, not {level}")
    cut_figures = figures.cut(kind, key)
    cut = cut_figures.cut
    anchor = f"figures-{_anchor(cut)}"
    moment = datetime.fromtimestamp(figures.as_of / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    note = f"{label('note')} {label('as_of').format(moment=moment)}"
    parts = [f"<p>{_h(note)}</p>", charts(cut_figures, label)]
    people_head = [label("word:group"), label("word:people")]
    parts.append(_table_html(label("title:attendance:attendance"),
                             [label("word:group"), label("word:attendees")],
                             _people_rows(cut_figures.attendance, label), label))
    for dimension in DIMENSIONS:
        parts.append(_table_html(label(f"title:participants:{dimension}"), people_head,
                                 _people_rows(cut_figures.table("participants", dimension),
                                              label), label))
    for dimension in DIMENSIONS:
        parts.append(_table_html(
            label(f"title:speakers:{dimension}"),
            [label("word:group"), label("word:speakers"), label("word:seconds")],
            _floor_rows(cut_figures, dimension, label), label))
    for dimension in REMOTE_DIMENSIONS:
        parts.append(_table_html(
            label(f"title:remote:{dimension}"),
            [label("word:group"), label("word:remote"), label("word:everyone"),
             label("word:share")],
            _remote_rows(cut_figures, dimension, label), label))
    heading = f"{label(f'cut:{cut.kind}')}: {cut_name(cut, label)}" if kind != EVENT else (
        cut_name(cut, label))
    return (f'<section class="event-figures" id="{anchor}" aria-labelledby="{anchor}-h">'
            f'<h{level} id="{anchor}-h">{_h(heading)}</h{level}>{"".join(parts)}</section>')


def comparison_html(
    figures: EventFigures,
    kind: str,
    section: str = "participants",
    dimension: str = "stakeholder",
    label: Label = english,
) -> str:
    """One table comparing every cut of `kind` (e.g. each day) on one table's groups: a row
    per cut, a column per group and the total. KeyError for an unknown cut kind or table."""
    cuts = figures.cuts(kind)
    sample = figures.event.table(section, dimension)
    head = [label(f"cut:{kind}"), *(label(f"group:{dimension}:{c.group}") for c in sample.cells),
            label("word:total")]
    rows = []
    for cut_figures in cuts:
        table = cut_figures.table(section, dimension)
        rows.append([cut_name(cut_figures.cut, label),
                     *(_figure(c.value, table.measure, label) for c in table.cells),
                     _figure(table.total, table.measure, label)])
    caption = f"{label(f'title:{section}:{dimension}')} ({label(f'cut:{kind}')})"
    return _table_html(caption, head, rows, label)
