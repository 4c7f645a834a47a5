"""Event-wide participation figures: per session, day, track and for the whole event.

The figures of every session of an event, side by side and added up: attendance (the room
head count the organizer entered, remote participants, the hubs' reported attendees),
participants by stakeholder group, UN regional group, developing/developed economy (UN M49),
gender, youth and where they joined from; who had the floor and for how long by the same
cuts; and the remote participants by region and economy, from which `remote_share` is drawn.
Pure: `event_figures` reads `SessionState`s (through `hub.domain.meeting`) and returns an
`EventFigures`; the renderers are in `hub.domain.event_figures_render`.

Privacy rules (each one has its test in tests/unit/test_event_figures.py):

1. Self-declared and aggregate. The inputs are the session figures' own: people who acted or
   declared a profile (`meeting.counted_participants`), the floor (`meeting.history`), the
   hubs' counts and the organizer's room count. No name, identity or single profile leaves
   this module; only counts per group, and seconds per group.
2. Who is counted across sessions. Identities are per session in this hub (each session's
   join link makes its own; nothing links two sessions' identities, by design), so the same
   person cannot be recognised in two sessions and is not deduplicated: the day, track and
   event figures count attendances (a person in three sessions counts three times), and the
   renderings' note says so. Within a session each person and each speaker counts once, as in
   the session report. Every day, track and event cell is therefore exactly the sum of its
   sessions' cells, which is what an attacker would use: rule 4 is built on it.
3. Every table is protected by the session rule (`stats.suppression`, K = 5): cells of 1 to
   4 suppressed, secondary suppression until the suppressed cells of a table sum to K or
   more, are at least two, and are not pinned by their number; a table whose total is under
   K is suppressed whole. Zeros are published. Speaking time is published only where the
   matching speaker count is (`stats.time_table`).
4. No differencing between sessions. The same rule is applied to every relation a reader
   can subtract along, not only within a table: for each group (and each table's total),
   the sessions of a day add up to the day, the sessions of a track to the track, the days
   to the event, the tracks to the event, all sessions to the event. If a session's (or a
   day's, a track's) cell is suppressed and the other cells of such a relation are
   published, another one is suppressed too (the smallest published non-zero one), until
   the suppressed cells of every relation again sum to K or more and are at least two; a
   relation with a total under K has all its non-zero cells and its total suppressed; and a
   suppressed total must not be the sum of published cells. Cells suppressed for another
   relation are re-checked in their own table (rule 3), until nothing changes. Figures that
   are the same number in two tables are one cell: every participant table's total, the
   remote participants' total, the origin table's "remote" cell and the attendance's
   "remote" cell (and its "room" cell when the organizer entered no head count, with
   attendance = participants + hubs as one more relation). Relations checked one at a time
   can still pin a cell when solved together (a chain through days and tracks crossing), so
   then all of them are solved together as a linear system, as a reader with a solver
   would (`linked_tables.pinned`), and while any suppressed cell comes out fixed to one
   value, one more cell near it is suppressed. The country table of the session report is
   not repeated here: across sessions a rare country would be named by the difference of
   two merged cells. The origin table has no "hub" row: a hub's attendees are its count,
   never participants.
5. No differencing over time. Every session's figures are taken as of one cut-off
   (`cutoff_ms`, `stats.cutoff` of now), like a live session's own figures: the people
   counted by then, the floor until then. A closed session's figures are final (nobody starts
   to count once it is closed), so after it closed they are its report's. Between two
   cut-offs nothing moves. A closed session's cell suppressed to protect another and
   published at a later cut-off (once another session's small cell joined the relation)
   would let the two cut-offs read together pin that other cell: given the figures of the
   cut-off before (`previous`), every cell of a closed session suppressed then stays so.

Residual risks the lead must keep in mind: rule 4 protects the figures this module publishes.
A session's own report computes its table alone (rule 3 only); where rule 4 suppressed one of
its cells to protect another session, a page that shows the report's figures next to the
event's undoes that. Public pages should show a session's figures from `EventFigures.cut`.
Rule 5 keeps closed sessions' cells suppressed only when the caller passes `previous` (keep
the last figures, persist them across restarts to be thorough); a live session's cells move
anyway between cut-offs, as its own figures do.

Cost: 300 sessions take one to three seconds of CPU (mostly `linked_tables.pinned`):
compute the figures once per cut-off, off the event loop, and serve that copy until the
next cut-off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from . import linked_tables, meeting, stats
from .linked_tables import Cell, Grid
from .ordering import HUB, REMOTE, ROOM
from .session import CLOSED, SessionState
from .stats import Table

__all__ = [
    "CUT_KINDS",
    "DAY",
    "DIMENSIONS",
    "EVENT",
    "REMOTE_DIMENSIONS",
    "SECTIONS",
    "SESSION",
    "TRACK",
    "Cut",
    "CutFigures",
    "EventFigures",
    "FigureSource",
    "event_figures",
    "remote_share",
]

SESSION: Final = "session"
DAY: Final = "day"
TRACK: Final = "track"
EVENT: Final = "event"
CUT_KINDS: Final = (SESSION, DAY, TRACK, EVENT)

DIMENSIONS: Final = ("stakeholder", "region", "economy", "gender", "youth", "origin")
"""The cuts of participants and of speakers (the session report's, without countries)."""
REMOTE_DIMENSIONS: Final = ("region", "economy")
"""The cuts of the remote participants, for the remote share."""
SECTIONS: Final = ("attendance", "participants", "speakers", "speaking_time", "remote")

_TOTAL: Final = "\x00total"  # a table's total, as a row of the relations across cuts
_DAY_FORMAT: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class FigureSource:
    """One session of the event as the figures need it."""

    session: str  # its id
    title: str
    day: str  # event-local date, YYYY-MM-DD
    track: str  # "" when the programme gives none
    state: SessionState


@dataclass(frozen=True, slots=True)
class Cut:
    """What a column of figures covers: one session, one day, one track or the event."""

    kind: str  # one of CUT_KINDS
    key: str  # the session id, the day (YYYY-MM-DD), the track; "" for the event
    title: str = ""  # a session's title; empty otherwise
    sessions: int = 1  # how many sessions it adds up


@dataclass(frozen=True, slots=True)
class CutFigures:
    """Every published figure of one cut, protected across cuts (see the module's rules)."""

    cut: Cut
    attendance: Table
    participants: tuple[Table, ...]  # by DIMENSIONS
    speakers: tuple[Table, ...]  # by DIMENSIONS
    speaking_time: tuple[Table, ...]  # by DIMENSIONS
    remote: tuple[Table, ...]  # remote participants by REMOTE_DIMENSIONS

    def table(self, section: str, dimension: str = "attendance") -> Table:
        """The table of `dimension` in `section` (one of SECTIONS); KeyError otherwise."""
        if section == "attendance" and dimension == "attendance":
            return self.attendance
        if section not in SECTIONS or section == "attendance":
            raise KeyError(f"no section {section!r} (known: {', '.join(SECTIONS)})")
        tables: tuple[Table, ...] = getattr(self, section)
        for table in tables:
            if table.dimension == dimension:
                return table
        raise KeyError(f"no {dimension!r} table in {section!r}")

    def tables(self) -> list[tuple[str, Table]]:
        """(section, table) for every table, in SECTIONS order."""
        out: list[tuple[str, Table]] = [("attendance", self.attendance)]
        for section in SECTIONS[1:]:
            out += [(section, table) for table in getattr(self, section)]
        return out


@dataclass(frozen=True, slots=True)
class EventFigures:
    """The event's figures as of one cut-off: every session, day, track and the total."""

    as_of: int  # the cut-off (ms since the Unix epoch)
    sessions: tuple[CutFigures, ...]  # in the order given
    days: tuple[CutFigures, ...]  # by date
    tracks: tuple[CutFigures, ...]  # by name
    event: CutFigures

    def cuts(self, kind: str) -> tuple[CutFigures, ...]:
        """Every cut of `kind` (one of CUT_KINDS)."""
        if kind == SESSION:
            return self.sessions
        if kind == DAY:
            return self.days
        if kind == TRACK:
            return self.tracks
        if kind == EVENT:
            return (self.event,)
        raise KeyError(f"no cut kind {kind!r} (known: {', '.join(CUT_KINDS)})")

    def cut(self, kind: str, key: str = "") -> CutFigures:
        """The figures of one session, day or track (by id, date, name), or of the event."""
        for figures in self.cuts(kind):
            if figures.cut.key == key:
                return figures
        raise KeyError(f"no {kind} {key!r} in these figures")


def remote_share(figures: CutFigures, dimension: str = "region") -> dict[str, float | None]:
    """Per group: the share of its participants who joined remotely (0 to 1), None where
    either count is suppressed or nobody is in the group."""
    remote = figures.table("remote", dimension)
    everyone = figures.table("participants", dimension)
    shares: dict[str, float | None] = {}
    for cell in remote.cells:
        whole = everyone.value(cell.group)
        known = cell.value is not None and whole
        shares[cell.group] = (cell.value or 0) / whole if known and whole else None
    return shares


# -- raw counts per session -----------------------------------------------------------------

# One table family: (section, dimension). A cell: (section, dimension, cut kind, cut key, group).
_Family = tuple[str, str]

_FAMILIES: Final[tuple[_Family, ...]] = (
    ("attendance", "attendance"),
    *(("participants", d) for d in DIMENSIONS),
    *(("speakers", d) for d in DIMENSIONS),
    *(("remote", d) for d in REMOTE_DIMENSIONS),
)


@dataclass(frozen=True, slots=True)
class _Raw:
    """One session's counts before any suppression, and its seconds on the floor."""

    counts: Mapping[_Family, Mapping[str, int]]
    seconds: Mapping[str, Mapping[str, int]]  # speaking time by dimension
    room_entered: bool


def _raw(state: SessionState, cutoff_ms: int) -> _Raw:
    people = meeting.counted_participants(state, cutoff_ms)
    pairs = [(p.origin, p.profile) for p in people]
    remote = [(o, p) for o, p in pairs if o != ROOM]
    turns = stats.as_of(meeting.history(state), cutoff_ms)
    room = state.settings.room_count or None
    counts: dict[_Family, Mapping[str, int]] = {
        ("attendance", "attendance"): stats.attendance_counts(
            people, meeting.hub_attendees(state), room),
    }
    seconds: dict[str, Mapping[str, int]] = {}
    for dimension in DIMENSIONS:
        counts["participants", dimension] = stats.counts(dimension, pairs)
        speakers, floor = stats.floor_counts(dimension, turns, cutoff_ms)
        counts["speakers", dimension] = speakers
        seconds[dimension] = floor
    for dimension in REMOTE_DIMENSIONS:
        counts["remote", dimension] = stats.counts(dimension, remote)
    return _Raw(counts, seconds, room is not None)


# -- the grid of cells and the relations between them ---------------------------------------


def _cuts_of(sources: Sequence[FigureSource]) -> tuple[list[Cut], list[Cut], list[Cut], Cut]:
    days: dict[str, int] = {}
    tracks: dict[str, int] = {}
    for source in sources:
        days[source.day] = days.get(source.day, 0) + 1
        tracks[source.track] = tracks.get(source.track, 0) + 1
    return (
        [Cut(SESSION, s.session, s.title) for s in sources],
        [Cut(DAY, day, "", n) for day, n in sorted(days.items())],
        [Cut(TRACK, track, "", n) for track, n in sorted(tracks.items())],
        Cut(EVENT, "", "", len(sources)),
    )


def _groups(family: _Family, raws: Iterable[_Raw]) -> list[str]:
    seen: dict[str, int] = {}
    for raw in raws:
        for group in raw.counts[family]:
            seen[group] = 1
    groups = stats.ordered_groups(family[1], seen)
    if family[1] == "origin":  # a hub's attendees are the hub's count, never participants
        return [g for g in groups if g != HUB]
    return groups


def _build(
    sources: Sequence[FigureSource], raws: Sequence[_Raw], groups: Mapping[_Family, list[str]]
) -> Grid:
    grid = Grid()
    sessions, days, tracks, event = _cuts_of(sources)
    members = {
        **{(DAY, c.key): [s for s, src in zip(sessions, sources, strict=True) if src.day == c.key]
           for c in days},
        **{(TRACK, c.key): [s for s, src in zip(sessions, sources, strict=True)
                            if src.track == c.key] for c in tracks},
        (EVENT, ""): list(sessions),
        **{(SESSION, c.key): [c] for c in sessions},
    }
    entered = {c.key for c, raw in zip(sessions, raws, strict=True) if raw.room_entered}
    uncounted = [c for c in [*sessions, *days, *tracks, event]
                 if not any(m.key in entered for m in members[c.kind, c.key])]
    _share_cells(grid, [*sessions, *days, *tracks, event], uncounted)
    for family in _FAMILIES:
        section, dimension = family
        rows = [*groups[family], _TOTAL]

        def at(cut: Cut, group: str, section: str = section, dimension: str = dimension) -> Cell:
            return (section, dimension, cut.kind, cut.key, group)

        for cut, raw in zip(sessions, raws, strict=True):
            counts = raw.counts[family]
            for group in groups[family]:
                grid.values[grid.cell(at(cut, group))] = counts.get(group, 0)
            grid.values[grid.cell(at(cut, _TOTAL))] = sum(counts.values())
        for kind, cuts in ((DAY, days), (TRACK, tracks)):
            for cut in cuts:
                for row in rows:
                    parts = [at(s, row) for s in members[kind, cut.key]]
                    grid.values[grid.cell(at(cut, row))] = sum(
                        grid.values[grid.cell(p)] for p in parts)
                    grid.line(parts, at(cut, row), own=False)
        for row in rows:
            grid.values[grid.cell(at(event, row))] = sum(
                grid.values[grid.cell(at(s, row))] for s in sessions)
            for level in (sessions, days, tracks):
                grid.line([at(c, row) for c in level], at(event, row), own=False)
        for cut in [*sessions, *days, *tracks, event]:
            grid.line([at(cut, g) for g in groups[family]], at(cut, _TOTAL), own=True)
    for cut in uncounted:  # attendance = participants + hubs: one more sum to subtract along
        grid.line([("participants", DIMENSIONS[0], cut.kind, cut.key, _TOTAL),
                   ("attendance", "attendance", cut.kind, cut.key, "hubs")],
                  ("attendance", "attendance", cut.kind, cut.key, _TOTAL), own=False)
    return grid


def _share_cells(grid: Grid, cuts: Sequence[Cut], uncounted: Sequence[Cut]) -> None:
    """One cell for each figure two tables publish (rule 4 of the module)."""
    for cut in cuts:
        remote = ("participants", "origin", cut.kind, cut.key, REMOTE)
        for section in ("participants", "speakers"):
            first = (section, DIMENSIONS[0], cut.kind, cut.key, _TOTAL)
            for dimension in DIMENSIONS[1:]:
                grid.same((section, dimension, cut.kind, cut.key, _TOTAL), first)
        for dimension in REMOTE_DIMENSIONS:
            grid.same(("remote", dimension, cut.kind, cut.key, _TOTAL), remote)
        grid.same(("attendance", "attendance", cut.kind, cut.key, REMOTE), remote)
    for cut in uncounted:  # no head count entered: the room is the participants in the room
        grid.same(("attendance", "attendance", cut.kind, cut.key, ROOM),
                  ("participants", "origin", cut.kind, cut.key, ROOM))


_ELIMINATION: Final = {SESSION: 0, DAY: 1, TRACK: 2, EVENT: 3}


def _elimination(cell: Cell) -> int:
    """Sessions' cells first: the order `linked_tables.pinned` solves in fastest."""
    return _ELIMINATION[cell[2]]


# -- the figures ----------------------------------------------------------------------------


def event_figures(
    sources: Sequence[FigureSource], cutoff_ms: int, previous: EventFigures | None = None,
    kept: Iterable[Cell] = (),
) -> EventFigures:
    """Every session's, day's, track's and the event's figures as of `cutoff_ms`, protected
    within and across cuts (see the module's rules). `previous`: the figures of the cut-off
    before, whose suppressed cells of closed sessions stay suppressed (rule 5); `kept`:
    such cells as every instance recorded them (`kept_cells`, in the event's log), so that
    a restart or another instance never publishes one. `ValueError` names a bad source."""
    _check(sources)
    raws = [_raw(source.state, cutoff_ms) for source in sources]
    groups = {family: _groups(family, raws) for family in _FAMILIES}
    grid = _build(sources, raws, groups)
    hidden = linked_tables.protect(grid, _elimination, [*_kept(sources, previous), *kept])
    sessions, days, tracks, event = _cuts_of(sources)

    def figures(cut: Cut) -> CutFigures:
        tables = {f: _table(grid, hidden, f, cut, groups[f]) for f in _FAMILIES}
        speakers = tuple(tables["speakers", d] for d in DIMENSIONS)
        seconds = _seconds(sources, raws, cut)
        return CutFigures(
            cut=cut,
            attendance=tables["attendance", "attendance"],
            participants=tuple(tables["participants", d] for d in DIMENSIONS),
            speakers=speakers,
            speaking_time=tuple(
                stats.time_table(d, seconds[d], people)
                for d, people in zip(DIMENSIONS, speakers, strict=True)
            ),
            remote=tuple(tables["remote", d] for d in REMOTE_DIMENSIONS),
        )

    return EventFigures(
        as_of=cutoff_ms,
        sessions=tuple(figures(c) for c in sessions),
        days=tuple(figures(c) for c in days),
        tracks=tuple(figures(c) for c in tracks),
        event=figures(event),
    )


def kept_cells(sources: Sequence[FigureSource], figures: EventFigures) -> list[Cell]:
    """The cells of closed sessions that `figures` suppressed: they stay suppressed at every
    later cut-off (rule 5), so the caller records them where every instance reads them."""
    return _kept(sources, figures)


def _kept(sources: Sequence[FigureSource], previous: EventFigures | None) -> list[Cell]:
    """The cells of closed sessions `previous` suppressed (rule 5)."""
    if previous is None:
        return []
    known = {figures.cut.key: figures for figures in previous.sessions}
    kept: list[Cell] = []
    for source in sources:
        figures = known.get(source.session)
        if figures is None or source.state.state != CLOSED:
            continue
        for section, table in figures.tables():
            if section == "speaking_time":  # follows its speakers' table
                continue
            at = (section, table.dimension, SESSION, source.session)
            kept += [(*at, c.group) for c in table.cells if c.suppressed]
            if table.total_suppressed:
                kept.append((*at, _TOTAL))
    return kept


def _table(grid: Grid, hidden: set[Cell], family: _Family, cut: Cut, groups: list[str]) -> Table:
    section, dimension = family

    def cell(group: str) -> Cell:
        return grid.cell((section, dimension, cut.kind, cut.key, group))

    values = {group: grid.values[cell(group)] for group in groups}
    masked = frozenset(group for group in groups if cell(group) in hidden)
    return stats.masked_table(dimension, stats.PEOPLE, values, masked, cell(_TOTAL) in hidden)


def _seconds(
    sources: Sequence[FigureSource], raws: Sequence[_Raw], cut: Cut
) -> dict[str, dict[str, int]]:
    """Seconds on the floor per dimension and group, summed over the cut's sessions."""
    out: dict[str, dict[str, int]] = {d: {} for d in DIMENSIONS}
    for source, raw in zip(sources, raws, strict=True):
        if not _in(source, cut):
            continue
        for dimension, seconds in raw.seconds.items():
            for group, value in seconds.items():
                out[dimension][group] = out[dimension].get(group, 0) + value
    return out


def _in(source: FigureSource, cut: Cut) -> bool:
    return (
        cut.kind == EVENT
        or (cut.kind == SESSION and source.session == cut.key)
        or (cut.kind == DAY and source.day == cut.key)
        or (cut.kind == TRACK and source.track == cut.key)
    )


def _check(sources: Sequence[FigureSource]) -> None:
    seen: set[str] = set()
    for n, source in enumerate(sources, 1):
        if not source.session:
            raise ValueError(f"source {n}: the session id is empty")
        if source.session in seen:
            raise ValueError(f"source {n}: session {source.session!r} is listed twice")
        seen.add(source.session)
        if not _DAY_FORMAT.fullmatch(source.day) or not _is_date(source.day):
            raise ValueError(
                f"source {n} ({source.session}): day {source.day!r} is not a date YYYY-MM-DD")


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True

