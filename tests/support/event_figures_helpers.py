"""Building events for the event figures' tests through the real domain, and auditing what
they publish as an attacker would: every relation between published figures, solved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from hub.domain import commands
from hub.domain.commands import Actor
from hub.domain.event_figures import (
    DIMENSIONS,
    REMOTE_DIMENSIONS,
    CutFigures,
    EventFigures,
    FigureSource,
)
from hub.domain.fact_kinds import apply
from hub.domain.session import SessionState, new_session
from hub.domain.stats import Table
from tests.support.domain_helpers import run

T0 = 1_750_000_000_000
MINUTE = 60_000
ORGANIZER = Actor("o1", "organizer", "Organizer")
MOD = Actor("m1", "moderator", "Moderator")


@dataclass
class Person:
    """One participant: their profile (empty: they ask a question instead, so they count),
    whether they are in the room, and how long they hold the floor (seconds, 0: never)."""

    profile: dict[str, Any] = field(default_factory=dict)
    in_room: bool = False
    speaks: int = 0


def people(count: int, in_room: bool = False, speaks: int = 0, **profile: Any) -> list[Person]:
    return [Person(dict(profile), in_room, speaks) for _ in range(count)]


def build_session(
    session_id: str,
    crowd: Sequence[Person],
    *,
    title: str = "",
    room_count: int | None = None,
    hubs: Mapping[str, int] | None = None,
    closed: bool = True,
    start: int = T0,
) -> SessionState:
    """A session run through commands: people join (declaring their profile) or ask, the
    moderator gives the floor in turn, hubs report their counts, the organizer closes it."""
    state = new_session(session_id)
    settings = {"room_count": room_count, "premoderation": True} if room_count else None
    apply(state, commands.create(title=title or f"Session {session_id}", languages=["en"],
                                 state="live", settings=settings, now=start))
    run(state, commands.join(state, MOD.id, MOD.role, MOD.name, None, False, start))
    run(state, commands.join(state, ORGANIZER.id, ORGANIZER.role, ORGANIZER.name, None, False,
                             start))
    now = start + MINUTE
    for n, person in enumerate(crowd):
        actor = Actor(f"p{n}", "participant", f"Participant {n}")
        run(state, commands.join(state, actor.id, actor.role, actor.name,
                                 person.profile or None, person.in_room, now))
        if not person.profile or person.speaks:
            item = run(state, commands.ask(state, actor, kind="question", text="A question?",
                                           key="k", lang=None, anonymous=False, on_behalf=None,
                                           now=now))["item"]
            if person.speaks:
                run(state, commands.moderate(state, MOD, item, "approve", now=now))
                run(state, commands.moderate(state, MOD, item, "live", now=now))
                now += person.speaks * 1000
                run(state, commands.moderate(state, MOD, item, "done", now=now))
        now += 1000
    for n, (name, count) in enumerate((hubs or {}).items()):
        hub = Actor(f"h{n}", "hub", name)
        run(state, commands.join(state, hub.id, hub.role, hub.name, None, False, now))
        run(state, commands.hub_status(state, hub, attendees=count, connected=True, now=now))
    if closed:
        run(state, commands.change_session(state, ORGANIZER, new_state="closed"))
    return state


def source(state: SessionState, day: str, track: str) -> FigureSource:
    return FigureSource(state.id, state.title, day, track, state)


# -- the attacker ---------------------------------------------------------------------------

Var = tuple[str, str, str, str, str]  # section, dimension, cut kind, cut key, group


def _canonical(var: Var, no_room_count: set[tuple[str, str]]) -> Var:
    """Figures two tables publish are one unknown (the module's rule 4), as a reader knows."""
    section, _dimension, kind, key, group = var
    if section in ("participants", "speakers", "speaking_time") and group == "total":
        return (section, "*", kind, key, "total")
    if section == "remote" and group == "total":
        return ("participants", "origin", kind, key, "remote")
    if section == "attendance" and group == "remote":
        return ("participants", "origin", kind, key, "remote")
    if section == "attendance" and group == "room" and (kind, key) in no_room_count:
        return ("participants", "origin", kind, key, "room")
    return var


def _tables(figures: CutFigures) -> list[tuple[str, Table]]:
    return figures.tables()


def equations(
    figures: EventFigures, sources: Sequence[FigureSource]
) -> list[tuple[dict[Var, int], int]]:
    """Every relation a reader knows between the published figures: within each table (the
    cells add up to the total), and across cuts (the sessions of a day add up to the day, of
    a track to the track, the days, the tracks and the sessions to the event; the programme
    says which session is on which day and track). Unknowns are the suppressed figures; each
    equation: sum of coefficient x unknown == constant."""
    counted = [s for s in sources if s.state.settings.room_count]
    no_room_count = {
        ("session", s.session) for s in sources if not s.state.settings.room_count
    } | {("day", d.cut.key) for d in figures.days if all(s.day != d.cut.key for s in counted)
         } | {("track", t.cut.key) for t in figures.tracks
              if all(s.track != t.cut.key for s in counted)}
    if not counted:
        no_room_count.add(("event", ""))
    values: dict[Var, int | None] = {}
    families: dict[tuple[str, str], list[str]] = {}
    for kind in ("session", "day", "track", "event"):
        for cut in figures.cuts(kind):
            for section, table in _tables(cut):
                families[section, table.dimension] = [c.group for c in table.cells]
                for cell in table.cells:
                    var = _canonical((section, table.dimension, kind, cut.cut.key, cell.group),
                                     no_room_count)
                    _note(values, var, cell.value)
                var = _canonical((section, table.dimension, kind, cut.cut.key, "total"),
                                 no_room_count)
                _note(values, var, table.total)
    by_day = {d.cut.key: [s.session for s in sources if s.day == d.cut.key]
              for d in figures.days}
    by_track = {t.cut.key: [s.session for s in sources if s.track == t.cut.key]
                for t in figures.tracks}
    out: list[tuple[dict[Var, int], int]] = []

    def relation(parts: list[Var], whole: Var) -> None:
        terms: dict[Var, int] = {}
        constant = 0
        for var, coefficient in [*((p, 1) for p in parts), (whole, -1)]:
            value = values[var]
            if value is None:
                terms[var] = terms.get(var, 0) + coefficient
            else:
                constant -= coefficient * value
        out.append(({v: c for v, c in terms.items() if c}, constant))

    for (section, dimension), groups in families.items():
        def at(kind: str, key: str, group: str, s: str = section, d: str = dimension) -> Var:
            return _canonical((s, d, kind, key, group), no_room_count)

        for kind in ("session", "day", "track", "event"):
            for cut in figures.cuts(kind):
                relation([at(kind, cut.cut.key, g) for g in groups],
                         at(kind, cut.cut.key, "total"))
        for group in [*groups, "total"]:
            for day, members in by_day.items():
                relation([at("session", s, group) for s in members], at("day", day, group))
            for track, members in by_track.items():
                relation([at("session", s, group) for s in members],
                         at("track", track, group))
            for kind in ("session", "day", "track"):
                relation([at(kind, c.cut.key, group) for c in figures.cuts(kind)],
                         at("event", "", group))
    return out


def _note(values: dict[Var, int | None], var: Var, value: int | None) -> None:
    known = values.get(var)
    if known is None or value is not None:
        values[var] = value if known is None else known


def determined(system: list[tuple[dict[Var, int], int]]) -> dict[Var, Fraction]:
    """The suppressed figures the equations pin to one value, by Gauss-Jordan elimination
    over fractions. Raises when the published figures contradict a relation."""
    rows: dict[Var, tuple[dict[Var, Fraction], Fraction]] = {}  # pivot -> (row, constant)
    for terms, constant in system:
        row = {v: Fraction(c) for v, c in terms.items()}
        rhs = Fraction(constant)
        for pivot in [v for v in row if v in rows]:
            factor = row.get(pivot, Fraction(0))
            if not factor:
                continue
            prow, prhs = rows[pivot]
            for v, c in prow.items():
                row[v] = row.get(v, Fraction(0)) - factor * c
            rhs -= factor * prhs
            row = {v: c for v, c in row.items() if c}
        row = {v: c for v, c in row.items() if c}
        if not row:
            if rhs:
                raise AssertionError(f"the published figures break a relation ({rhs})")
            continue
        pivot = min(row)
        scale = row[pivot]
        row = {v: c / scale for v, c in row.items()}
        rhs /= scale
        for other, (orow, orhs) in list(rows.items()):
            factor = orow.get(pivot)
            if factor:
                new = dict(orow)
                for v, c in row.items():
                    new[v] = new.get(v, Fraction(0)) - factor * c
                rows[other] = ({v: c for v, c in new.items() if c}, orhs - factor * rhs)
        rows[pivot] = (row, rhs)
    return {pivot: rhs for pivot, (row, rhs) in rows.items() if len(row) == 1}


def dimensions_of(section: str) -> tuple[str, ...]:
    return REMOTE_DIMENSIONS if section == "remote" else DIMENSIONS
