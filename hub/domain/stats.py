"""Participation figures, in aggregate only: who took part and who got the floor, never
what one person declared.

Profiles are self-declared and optional; figures only ever count people. Every figure goes
through one disclosure rule, so no published table can single anyone out:

Suppression rule (threshold K = 5), applied to each table of counts (cells and their total):

1. Primary: a cell counting 1 to 4 people is suppressed. Zero is published: it names nobody.
2. Secondary: while the suppressed cells together count fewer than K people, or no more
   people than there are suppressed cells, the smallest published non-zero cell (ties by
   group name) is suppressed too. So whenever the total is published, subtracting the
   published cells from it gives only the sum of two or more suppressed cells, that sum is
   at least K, and no suppressed cell is pinned to one value (each could hold 1 or more).
3. Totals: a total under K, or one the rule above cannot protect, is suppressed together with
   every cell of its table.

Cells are never listed for a group nobody declared, except the fixed groups of a dimension
(stakeholder groups, genders, ...): countries with fewer than K people are merged into one
"other_countries" cell before the rule runs, so a rare country never shows up even as a
suppressed row. Speaking time per group is published only where the matching count of
speakers is: the time table reuses its speaker table's suppression. Each table is protected
on its own.

Differencing rule: figures computed live would let a watcher who sees one person
join or ask diff two answers (6 -> 7 in two cells) and learn that person's profile. So the
figures of a session that is not closed are computed as of a cut-off, the start of the
current period of `EVERY_MS` (`cutoff`): they count the people counted by then and the floor
time until then, and do not move between two cut-offs, whatever happens in between. Who
counts at all is decided by the caller (`hub.domain.meeting`: people who acted or declared).

Inputs are plain: `Participant`s (one per person, without identity), floor `Turn`s from
`hub.domain.ordering` (their `author_id` is used only to count each speaker once), hub
attendee counts by hub name, and the room head count the organizer entered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from . import regions
from .ordering import HUB, NOT_DECLARED, REMOTE, ROOM, Turn, group_of, origin_class, turn_ms
from .session import GENDERS, STAKEHOLDERS

__all__ = [
    "DIMENSIONS",
    "EVERY_MS",
    "OTHER_COUNTRIES",
    "Cell",
    "K",
    "Participant",
    "ParticipationStats",
    "Table",
    "as_of",
    "attendance_counts",
    "count_table",
    "counts",
    "cutoff",
    "floor_counts",
    "masked_table",
    "ordered_groups",
    "participation",
    "suppression",
    "time_table",
]

K: Final = 5
"""The smallest number of people a published cell may count."""
EVERY_MS: Final = 5 * 60_000
"""The default period of the figures' cut-offs (`HUB_FIGURES_EVERY` sets it per hub)."""
OTHER_COUNTRIES: Final = "other_countries"
PEOPLE: Final = "people"
SECONDS: Final = "seconds"

DIMENSIONS: Final = ("stakeholder", "country", "region", "economy", "gender", "youth", "origin")
"""The cuts of participants and of speakers, in report order."""

_FIXED_GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "stakeholder": (*STAKEHOLDERS, NOT_DECLARED),
    "country": (OTHER_COUNTRIES, NOT_DECLARED),
    "region": (*regions.UN_GROUPS, regions.UNKNOWN, NOT_DECLARED),
    "economy": (*regions.ECONOMIES, regions.UNKNOWN, NOT_DECLARED),
    "gender": (*GENDERS, NOT_DECLARED),
    "youth": ("youth", "not_youth", NOT_DECLARED),
    "origin": (ROOM, REMOTE, HUB),
    "attendance": (ROOM, REMOTE, "hubs"),
}


@dataclass(frozen=True, slots=True)
class Participant:
    """One person who joined: where from ("room", "remote") and the profile they gave."""

    origin: str
    profile: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure: a group's count (or seconds); `value` is None when suppressed."""

    group: str
    value: int | None
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """One cut: cells in a stable order and their total (None when suppressed)."""

    dimension: str
    measure: str  # "people" or "seconds"
    cells: tuple[Cell, ...]
    total: int | None
    total_suppressed: bool = False

    def value(self, group: str) -> int | None:
        """The published value of `group`'s cell; None when suppressed or absent."""
        return next((c.value for c in self.cells if c.group == group), None)

    def is_suppressed(self, group: str) -> bool:
        """Whether `group`'s cell is suppressed."""
        return any(c.group == group and c.suppressed for c in self.cells)


@dataclass(frozen=True, slots=True)
class ParticipationStats:
    """Every published figure of a session, ready for pages and reports."""

    attendance: Table
    hubs: Table
    participants: tuple[Table, ...]
    speakers: tuple[Table, ...]
    speaking_time: tuple[Table, ...]

    def table(self, section: str, dimension: str) -> Table:
        """The table of `dimension` in `section` ("participants", "speakers", "speaking_time")."""
        tables: tuple[Table, ...] = getattr(self, section)
        for table in tables:
            if table.dimension == dimension:
                return table
        raise KeyError(f"no {dimension!r} table in {section!r}")


def cutoff(now_ms: int, every_ms: int = EVERY_MS) -> int:
    """The moment figures are computed as of: the start of the current period of `every_ms`,
    counted from the Unix epoch, so every instance of a hub picks the same one."""
    if every_ms < 1:
        raise ValueError(f"the figures' period must be at least 1 ms, not {every_ms}")
    return now_ms - now_ms % every_ms


def as_of(turns: Sequence[Turn], cutoff_ms: int) -> list[Turn]:
    """The floor turns as they stood at `cutoff_ms`: later ones left out, one going on then
    still open (`participation` counts it until its `now_ms`, the cut-off)."""
    out = []
    for turn in turns:
        if turn.started_ms > cutoff_ms:
            continue
        if turn.ended_ms is not None and turn.ended_ms > cutoff_ms:
            turn = replace(turn, ended_ms=None)
        out.append(turn)
    return out


def suppression(
    counts: Mapping[str, int], k: int = K, hidden: Iterable[str] = ()
) -> tuple[frozenset[str], bool]:
    """The groups whose cells must be suppressed, and whether the total must be too.

    `hidden`: cells already suppressed for another reason (the same figure in a table across
    sessions, see `hub.domain.event_figures`); the rule protects them like its own."""
    total = sum(counts.values())
    if 0 < total < k:
        return frozenset(counts), True
    hidden = {group for group in hidden if group in counts}
    hidden |= {group for group, n in counts.items() if 0 < n < k}
    while hidden and not _safe(counts, hidden, k):
        rest = sorted((n, group) for group, n in counts.items() if n > 0 and group not in hidden)
        if not rest:
            return frozenset(counts), True
        hidden.add(rest[0][1])
    return frozenset(hidden), False


def _safe(counts: Mapping[str, int], hidden: set[str], k: int) -> bool:
    """Whether suppressed cells whose sum is known by subtraction stay unrecoverable."""
    # One suppressed cell alone is the total minus the others, whatever its size (one cell
    # of K or more is suppressed only when another table asked for it).
    hidden_sum = sum(counts[group] for group in hidden)
    return len(hidden) >= 2 and hidden_sum >= k and hidden_sum > len(hidden)


def ordered_groups(dimension: str, counts: Mapping[str, int]) -> list[str]:
    """The groups of a table of `dimension` in report order: its fixed groups (listed even
    when nobody is in them), and the other groups in `counts`."""
    fixed = _FIXED_GROUPS.get(dimension, ())
    extra = sorted(group for group in counts if group not in fixed)
    if dimension == "country":  # listed countries first, then the merged and undeclared cells
        return [*extra, *fixed]
    return [*fixed, *extra]


def count_table(dimension: str, counts: Mapping[str, int], k: int = K) -> Table:
    """A table of people counts with the suppression rule applied."""
    full = {group: counts.get(group, 0) for group in ordered_groups(dimension, counts)}
    hidden, total_hidden = suppression(full, k)
    return masked_table(dimension, PEOPLE, full, hidden, total_hidden)


def time_table(dimension: str, seconds: Mapping[str, int], speakers: Table) -> Table:
    """Seconds per group, suppressed wherever `speakers` (the matching people table) is."""
    values = {cell.group: seconds.get(cell.group, 0) for cell in speakers.cells}
    hidden = frozenset(cell.group for cell in speakers.cells if cell.suppressed)
    return masked_table(dimension, SECONDS, values, hidden, speakers.total_suppressed)


def masked_table(
    dimension: str,
    measure: str,
    values: Mapping[str, int],
    hidden: frozenset[str],
    total_hidden: bool,
) -> Table:
    """A table of `values` (in their order) with the cells in `hidden` suppressed, and the
    total too when `total_hidden`; the caller decided what to hide (`suppression`)."""
    cells = tuple(
        Cell(group, None, True) if group in hidden else Cell(group, value)
        for group, value in values.items()
    )
    total = None if total_hidden else sum(values.values())
    return Table(dimension, measure, cells, total, total_hidden)


# -- grouping people ------------------------------------------------------------------------


def _group(dimension: str, origin: str, profile: Mapping[str, Any]) -> str:
    if dimension == "country":
        country = regions.lookup(profile.get("country"))
        if country is None:
            return NOT_DECLARED if not profile.get("country") else OTHER_COUNTRIES
        return country.code
    if dimension == "economy":
        code = profile.get("country")
        return regions.economy(code) if code else NOT_DECLARED
    return group_of(dimension, origin, profile)


def counts(dimension: str, people: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, int]:
    """People per group of `dimension`, from (origin, profile) pairs, before suppression;
    countries under K people merged into "other_countries"."""
    found: dict[str, int] = {}
    for origin, profile in people:
        group = _group(dimension, origin, profile)
        found[group] = found.get(group, 0) + 1
    if dimension == "country":
        return _merge_small_countries(found)
    return found


def _merge_small_countries(counts: Mapping[str, int]) -> dict[str, int]:
    """Countries under K people go into one cell, so no rare country is ever named."""
    merged: dict[str, int] = {}
    for group, n in counts.items():
        small = group not in (NOT_DECLARED, OTHER_COUNTRIES) and n < K
        key = OTHER_COUNTRIES if small else group
        merged[key] = merged.get(key, 0) + n
    return merged


def _people_tables(people: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[Table, ...]:
    return tuple(count_table(d, counts(d, people)) for d in DIMENSIONS)


# -- the figures ----------------------------------------------------------------------------


def _speakers(turns: Sequence[Turn]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Each speaker once, by `author_id`, with the origin and profile of their latest turn."""
    latest: dict[str, Turn] = {}
    for turn in sorted(turns, key=lambda t: t.started_ms):
        latest[turn.author_id] = turn
    return {author: (turn.origin, turn.profile) for author, turn in latest.items()}


def _speaker_groups(
    dimension: str, speakers: Mapping[str, tuple[str, Mapping[str, Any]]]
) -> Callable[[str], str]:
    """For countries: a speaker's cell after small countries were merged."""
    groups = counts(dimension, speakers.values())

    def cell_of(author: str) -> str:
        group = _group(dimension, *speakers[author])
        return group if group in groups else OTHER_COUNTRIES

    return cell_of


def _seconds(
    dimension: str,
    turns: Sequence[Turn],
    speakers: Mapping[str, tuple[str, Mapping[str, Any]]],
    now_ms: int,
) -> dict[str, int]:
    cell_of = _speaker_groups(dimension, speakers)
    ms: dict[str, int] = {}
    for turn in turns:
        group = cell_of(turn.author_id)
        ms[group] = ms.get(group, 0) + turn_ms(turn, now_ms)
    return {group: round(value / 1000) for group, value in ms.items()}


def floor_counts(
    dimension: str, turns: Sequence[Turn], now_ms: int
) -> tuple[dict[str, int], dict[str, int]]:
    """Who had the floor per group of `dimension` before suppression: the speakers (each
    once) and their seconds on the floor, an open turn counted until `now_ms`."""
    speakers = _speakers(turns)
    return counts(dimension, speakers.values()), _seconds(dimension, turns, speakers, now_ms)


def _speaking_time(
    turns: Sequence[Turn],
    speakers: Mapping[str, tuple[str, Mapping[str, Any]]],
    speaker_tables: Sequence[Table],
    now_ms: int,
) -> tuple[Table, ...]:
    return tuple(
        time_table(dimension, _seconds(dimension, turns, speakers, now_ms), people)
        for dimension, people in zip(DIMENSIONS, speaker_tables, strict=True)
    )


def attendance_counts(
    participants: Sequence[Participant],
    hub_attendees: Mapping[str, int] | None = None,
    room_count: int | None = None,
) -> dict[str, int]:
    """Attendance before suppression: the room (the organizer's head count when given, else
    the participants who joined from the room), the remote participants, the hubs' counts."""
    in_room = sum(1 for p in participants if origin_class(p.origin) == ROOM)
    return {
        ROOM: in_room if room_count is None else room_count,
        REMOTE: sum(1 for p in participants if origin_class(p.origin) != ROOM),
        "hubs": sum((hub_attendees or {}).values()),
    }


def participation(
    participants: Sequence[Participant],
    turns: Sequence[Turn] = (),
    hub_attendees: Mapping[str, int] | None = None,
    room_count: int | None = None,
    now_ms: int = 0,
) -> ParticipationStats:
    """All published figures: attendance, hubs, participants and speakers by every cut.

    Room attendance is the organizer's head count when given, else the participants who
    joined from the room. Hub attendance is the hubs' own counts (`hub_status`).
    """
    hubs = dict(hub_attendees or {})
    attendance = attendance_counts(participants, hubs, room_count)
    speakers = _speakers(turns)
    speaker_tables = _people_tables(list(speakers.values()))
    return ParticipationStats(
        attendance=count_table("attendance", attendance),
        hubs=count_table("hub", hubs),
        participants=_people_tables([(p.origin, p.profile) for p in participants]),
        speakers=speaker_tables,
        speaking_time=_speaking_time(turns, speakers, speaker_tables, now_ms),
    )
