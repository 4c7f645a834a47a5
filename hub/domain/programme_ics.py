"""A programme in iCalendar (.ics): the properties read are in hub/domain/programme.py's
docstring.

The `icalendar` library reads properties and values. This module first unfolds the lines
itself, keeping the physical line each starts on, and checks that BEGIN and END pair up:
that gives every VEVENT the line of its BEGIN:VEVENT, and a broken structure a line number
instead of a silent loss. Time zones are resolved here (an IANA name, else a VTIMEZONE of
this file), never from icalendar's process-wide cache of zones met in earlier files.
"""

from __future__ import annotations

import bisect
import re
import warnings
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]  # icalendar's own dependency
from icalendar import Calendar, vBroken, vText
from icalendar.cal import Component
from icalendar.parser import Contentline

from . import programme as pg
from .commands import TITLE_MAX

_NEWLINE = re.compile(r"\r?\n")
# What a VCALENDAR may hold besides events (RFC 5545, RFC 7953); they are not sessions.
_COMPONENTS = frozenset({"VEVENT", "VTIMEZONE", "VTODO", "VJOURNAL", "VFREEBUSY",
                         "VAVAILABILITY"})
TYPE_PROPERTIES = ("X-IGF-TYPE", "X-SESSION-TYPE")
RECURRENCE = ("RRULE", "RDATE", "RECURRENCE-ID")


def parse_ics(data: bytes, timezone: str) -> list[pg.ProgrammeRow]:
    """The programme in an iCalendar file, or ProgrammeError with every problem."""
    pg.check_size(data)
    text = pg.decode_text(data, "save it as UTF-8")
    zone = pg.event_zone(timezone)
    lines = _unfold(text)
    event_lines = _structure(lines)
    pg.check_row_count(len(event_lines))
    calendars = _calendars(lines)
    events = [sub for calendar in calendars for sub in calendar.subcomponents
              if sub.name == "VEVENT"]
    if len(events) != len(event_lines):  # _structure mirrors the library's parser
        raise pg.fail("the iCalendar structure could not be read; check BEGIN and END lines")
    if not events:
        raise pg.fail("the calendar has no events (VEVENT); expected one per session")
    zones = _Zones(calendars, zone)
    problems = pg.Problems()
    rows: list[pg.ProgrammeRow] = []
    for line, event in zip(event_lines, events, strict=True):
        row = _row(problems, line, event, zones)
        if row is not None:
            rows.append(row)
    if not rows and not problems:
        raise pg.fail("every event of the calendar is cancelled (STATUS:CANCELLED); there is "
                      "no session to import")
    return pg.check_rows(problems, rows, "UID")


def _unfold(text: str) -> list[tuple[int, str]]:
    """Content lines with the physical line each starts on; blanks at their ends and empty
    lines dropped ("BEGIN:VEVENT " is a VEVENT)."""
    lines: list[tuple[int, str]] = []
    for number, physical in enumerate(_NEWLINE.split(text), 1):
        if physical[:1] in (" ", "\t"):
            if lines:
                lines[-1] = (lines[-1][0], lines[-1][1] + physical[1:])
            elif physical.strip():
                lines.append((number, physical.lstrip(" \t")))
        elif physical:
            lines.append((number, physical))
    return [(number, kept) for number, line in lines if (kept := line.rstrip(" \t\r"))]


def _begin_end(line: str) -> tuple[str, str] | None:
    """("BEGIN" or "END", the component name) for such a line, else None."""
    if not line[:5].upper().startswith(("BEGIN", "END")):
        return None
    try:
        name, _params, value = Contentline(line).parts()  # type: ignore[no-untyped-call]
    except ValueError:
        return None
    name = name.upper()
    return (name, value.upper()) if name in ("BEGIN", "END") else None


def _structure(lines: list[tuple[int, str]]) -> list[int]:
    """The line of each BEGIN:VEVENT directly inside a VCALENDAR, or ProgrammeError when
    BEGIN and END lines do not pair up."""
    if lines and _begin_end(lines[0][1]) != ("BEGIN", "VCALENDAR"):
        raise pg.ProgrammeError([pg.Problem(lines[0][0], None, (
            f"the file starts with {lines[0][1][:40]!r}, not BEGIN:VCALENDAR; an iCalendar "
            f"file is BEGIN:VCALENDAR ... END:VCALENDAR"))])
    problems = pg.Problems()
    stack: list[tuple[str, int]] = []
    events: list[int] = []
    for number, line in lines:
        marker = _begin_end(line)
        if marker is None:
            if not stack:
                problems.add(number, None, f"{line[:40]!r} is outside the calendar; an "
                                           f"iCalendar file is BEGIN:VCALENDAR ... "
                                           f"END:VCALENDAR")
            continue
        kind, component = marker
        if kind == "BEGIN":
            if not stack and component != "VCALENDAR":
                problems.add(number, None, f"BEGIN:{component[:30]} is outside a calendar; "
                                           f"the file must start with BEGIN:VCALENDAR")
            if len(stack) == 1 and stack[0][0] == "VCALENDAR":
                if component == "VEVENT":
                    events.append(number)
                elif component not in _COMPONENTS and not component.startswith("X-"):
                    problems.add(number, None, f"BEGIN:{component[:30]} is not an iCalendar "
                                               f"component; a session is a VEVENT")
            stack.append((component, number))
        elif not stack:
            problems.add(number, None, f"END:{component[:30]} has no BEGIN:{component[:30]}")
        else:
            opened, at = stack.pop()
            if opened != component:
                problems.add(number, None, f"END:{component[:30]} closes BEGIN:{opened[:30]} "
                                           f"of line {at}; expected END:{opened[:30]}")
    for component, at in stack:
        problems.add(at, None, f"BEGIN:{component[:30]} is never closed with "
                               f"END:{component[:30]}")
    problems.raise_any()
    return events


def _calendars(lines: list[tuple[int, str]]) -> list[Component]:
    """The library's reading of the (already unfolded and checked) lines."""
    text = "\r\n".join(line for _, line in lines) + "\r\n"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # the library's refusals have no common class; report them
        raise pg.fail(f"the file is not valid iCalendar: {str(exc)[:200]}") from None
    return [calendar for calendar in found if calendar.name == "VCALENDAR"]


class _Zones:
    """TZIDs to zones: IANA names, then the VTIMEZONEs of this file (as `_Table`s)."""

    def __init__(self, calendars: list[Component], event_zone: tzinfo) -> None:
        self.event_zone = event_zone
        self.defined: dict[str, Component] = {}
        for calendar in calendars:
            for sub in calendar.subcomponents:
                if sub.name == "VTIMEZONE" and "TZID" in sub:
                    self.defined.setdefault(str(sub["TZID"]), sub)
        self.known: dict[str, tzinfo | _Table | str] = {}

    def get(self, tzid: str) -> tzinfo | _Table | str:
        """The zone, or a message saying why there is none."""
        if tzid not in self.known:
            found: tzinfo | _Table | str | None = pg.iana_zone(tzid)
            if found is None and tzid in self.defined:
                tables = sum(isinstance(zone, _Table) for zone in self.known.values())
                found = (f"the file uses more than {MAX_ZONES} time zones of its own"
                         if tables >= MAX_ZONES else _table(tzid, self.defined[tzid]))
            self.known[tzid] = found or (f"the time zone {tzid[:60]!r} is not an IANA time "
                                         f"zone and no VTIMEZONE of the file defines it")
        return self.known[tzid]


MAX_ZONES = 10  # VTIMEZONEs of its own a file may use (a programme uses one or two)
MAX_OBSERVANCES = 50  # STANDARD and DAYLIGHT parts of one
MAX_RDATES = 500
ZONE_YEARS = (pg.YEARS[0] - 1, pg.YEARS[1] + 1)  # transitions are computed for these years
_RULE_PARTS = frozenset({"FREQ", "INTERVAL", "UNTIL", "COUNT", "BYMONTH", "BYDAY",
                         "BYMONTHDAY", "BYSETPOS", "WKST"})


class _Table:
    """A VTIMEZONE as a table of UTC transitions over ZONE_YEARS: local times are resolved
    by bisection, in time bounded by the table (never by expanding rules per lookup)."""

    def __init__(self, tzid: str, before: timedelta,
                 transitions: list[tuple[datetime, timedelta]]) -> None:
        self.tzid = tzid
        self.before = before  # the offset before the first transition
        self.transitions = transitions  # (UTC moment, offset from then on), sorted
        self.utc = [moment for moment, _ in transitions]
        self.offsets = sorted({before, *(offset for _, offset in transitions)})

    def offset_at(self, utc: datetime) -> timedelta:
        at = bisect.bisect_right(self.utc, utc)
        return self.transitions[at - 1][1] if at else self.before

    def epoch_ms(self, problems: pg.Problems, line: int, field: str,
                 local: datetime) -> int | None:
        """`local` (naive) in this zone, in ms; the earlier of two readings when the clocks
        go back, a problem when they skip it."""
        if not pg.check_year(problems, line, field, local):
            return None
        fits = [local - offset for offset in self.offsets
                if self.offset_at(local - offset) == offset]
        if not fits:
            problems.add(line, field, f"{local:%Y-%m-%d %H:%M} does not exist in "
                                      f"{self.tzid[:60]} (the clocks go forward then)")
            return None
        return pg.utc_ms(min(fits).replace(tzinfo=UTC))


def _table(tzid: str, component: Component) -> _Table | str:
    """The transitions a VTIMEZONE defines, or a message saying why it cannot be used."""
    observances = [sub for sub in component.subcomponents
                   if sub.name in ("STANDARD", "DAYLIGHT")]
    if not observances:
        return f"the VTIMEZONE {tzid[:60]!r} has no STANDARD or DAYLIGHT part"
    if len(observances) > MAX_OBSERVANCES:
        return (f"the VTIMEZONE {tzid[:60]!r} has {len(observances)} parts; the limit is "
                f"{MAX_OBSERVANCES} (use the IANA name, like Europe/Oslo, as TZID)")
    onsets: list[tuple[datetime, timedelta, timedelta]] = []  # (local, from, to)
    part: Any
    try:
        for part in observances:
            start = part["DTSTART"].dt
            start = datetime(start.year, start.month, start.day,
                             *((start.hour, start.minute, start.second)
                               if isinstance(start, datetime) else (0, 0, 0)))
            before, after = part["TZOFFSETFROM"].td, part["TZOFFSETTO"].td
            moments = [start, *_rule(part, start), *_rdates(part)]
            onsets += [(moment, before, after) for moment in moments]
    except (KeyError, AttributeError, TypeError, ValueError, OverflowError) as exc:
        return f"the VTIMEZONE {tzid[:60]!r} cannot be read ({str(exc)[:160]})"
    onsets.sort()
    transitions = [(local - before, after) for local, before, after in onsets]
    return _Table(tzid, onsets[0][1], sorted(transitions))


def _rule(part: Component, start: datetime) -> list[datetime]:
    """A yearly RRULE's onsets within ZONE_YEARS (ValueError for any other rule)."""
    rule = part.get("RRULE")
    if rule is None:
        return []
    if isinstance(rule, list):
        raise ValueError("more than one RRULE in a part")
    parts = {str(key).upper() for key in rule}
    frequency = [str(value).upper() for value in rule.get("FREQ", [])]
    if frequency != ["YEARLY"] or not parts <= _RULE_PARTS:
        raise ValueError(f"the rule {rule.to_ical().decode()[:60]} is not a yearly rule "
                         f"like FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
    if any(len(rule.get(key, [])) > 12 for key in ("BYMONTH", "BYDAY", "BYMONTHDAY")):
        raise ValueError("a rule with more than 12 values in one BY part")
    # Years before ZONE_YEARS only matter through their last onset: start the rule the year
    # before them, unless that changes what it gives (it counts its occurrences, skips
    # years, ends before then, or starts on a day some years lack).
    until = rule.get("UNTIL", [None])[0]
    if (start.year < ZONE_YEARS[0] - 1 and "COUNT" not in parts and start.day <= 28
            and int(rule.get("INTERVAL", [1])[0]) == 1
            and (until is None or until.year >= ZONE_YEARS[0])):
        start = start.replace(year=ZONE_YEARS[0] - 1)
    text = rule.to_ical().decode()
    if "UNTIL" in parts:  # compared with naive local onsets
        text = re.sub(r"(UNTIL=\d{8}T\d{6})Z", r"\1", text, flags=re.I)
    rrule = rrulestr(text, dtstart=start)
    limit = datetime(ZONE_YEARS[1], 12, 31)
    return list(rrule.between(start, limit, inc=True))


def _rdates(part: Component) -> list[datetime]:
    value = part.get("RDATE")
    moments: list[datetime] = []
    for group in value if isinstance(value, list) else [value] if value is not None else []:
        for item in group.dts:
            moment = item.dt
            if isinstance(moment, datetime):
                moments.append(moment.replace(tzinfo=None))
            elif isinstance(moment, date):
                moments.append(datetime(moment.year, moment.month, moment.day))
    if len(moments) > MAX_RDATES:
        raise ValueError(f"{len(moments)} RDATE values; the limit is {MAX_RDATES}")
    return moments


def _one(problems: pg.Problems, line: int, event: Component, name: str) -> Any:
    """The property `name` of `event` (None when absent); a problem when it is repeated or
    its value could not be read."""
    value = event.get(name)
    if isinstance(value, list):
        problems.add(line, name, f"{name} appears {len(value)} times; an event has one")
        return None
    if isinstance(value, vBroken):
        problems.add(line, name, f"{name} {str(value)[:40]!r} cannot be read: expected "
                                 f"{_EXPECTED.get(name, 'a valid value')}")
        return None
    return value


_EXPECTED = {
    "DTSTART": "a date and time like 20260623T090000 (with TZID or Z)",
    "DTEND": "a date and time like 20260623T103000 (with TZID or Z)",
    "DURATION": "a duration like PT1H30M",
}


def _text(value: Any) -> str:
    """A property's text, unescaped (X- properties come raw)."""
    if value is None:
        return ""
    if isinstance(value, vText):
        return str(value)
    return _ESCAPED.sub(lambda m: "\n" if m[1] in "nN" else m[1], str(value))


_ESCAPED = re.compile(r"\\([\\;,nN])")  # RFC 5545 TEXT escapes


def _row(problems: pg.Problems, line: int, event: Component,
         zones: _Zones) -> pg.ProgrammeRow | None:
    status = event.get("STATUS")
    if isinstance(status, str) and status.upper() == "CANCELLED":
        return None
    before = len(problems.kept) + problems.more
    for name in RECURRENCE:
        if name in event:
            problems.add(line, name, f"a recurring event ({name}); export each session as its "
                                     f"own event")

    def text(name: str, limit: int, *, required: bool = False, multiline: bool = False) -> str:
        value = _text(_one(problems, line, event, name))
        return pg.check_text(problems, line, name, value, limit, required=required,
                             multiline=multiline)

    external_id = text("UID", pg.ID_MAX, required=True)
    title = text("SUMMARY", TITLE_MAX, required=True)
    room = text("LOCATION", pg.ROOM_MAX)
    description = text("DESCRIPTION", pg.DESCRIPTION_MAX, multiline=True)
    track = pg.check_text(problems, line, "CATEGORIES", _first_category(event), pg.TRACK_MAX)
    kind = ""
    for name in TYPE_PROPERTIES:
        if name in event:
            kind = text(name, pg.KIND_MAX)
            break
    start = _moment(problems, line, event, "DTSTART", zones)
    end = _end(problems, line, event, start, zones)
    span = pg.check_span(problems, line, start, end,
                         "DTEND" if "DTEND" in event else "DURATION")
    organizers = pg.check_organizers(problems, line, "ORGANIZER", _people(event))
    languages = _languages(problems, line, event)
    if len(problems.kept) + problems.more > before or not span or start is None or end is None:
        return None
    return pg.ProgrammeRow(line=line, external_id=external_id, title=title, start=start,
                           end=end, room=room, track=track, kind=kind, organizers=organizers,
                           languages=languages, description=description)


def _moment(problems: pg.Problems, line: int, event: Component, name: str,
            zones: _Zones) -> int | None:
    prop = _one(problems, line, event, name)
    if prop is None:
        if name == "DTSTART" and name not in event:
            problems.add(line, name, "the event has no DTSTART; every session needs a start")
        return None
    moment = prop.dt
    if isinstance(moment, date) and not isinstance(moment, datetime):
        problems.add(line, name, f"{name} is a date without a time of day (an all-day "
                                 f"event); a session needs start and end times")
        return None
    if not isinstance(moment, datetime):
        problems.add(line, name, f"{name} is not a date and time; expected "
                                 f"{_EXPECTED[name]}")
        return None
    tzid = prop.params.get("TZID")
    if tzid:
        found = zones.get(str(tzid))
        if isinstance(found, str):
            problems.add(line, name, found)
            return None
        if isinstance(found, _Table):
            return found.epoch_ms(problems, line, name, moment.replace(tzinfo=None))
        return pg.epoch_ms(problems, line, name, moment.replace(tzinfo=None), found)
    # UTC (a Z) or floating (then in the event's zone)
    return pg.epoch_ms(problems, line, name, moment, zones.event_zone)


def _end(problems: pg.Problems, line: int, event: Component, start: int | None,
         zones: _Zones) -> int | None:
    if "DTEND" in event and "DURATION" in event:
        problems.add(line, "DURATION", "the event has both DTEND and DURATION; keep one")
        return None
    if "DTEND" in event:
        return _moment(problems, line, event, "DTEND", zones)
    if "DURATION" not in event:
        problems.add(line, "DTEND", "the event has no DTEND or DURATION; every session needs "
                                    "an end")
        return None
    prop = _one(problems, line, event, "DURATION")
    if prop is None:
        return None
    length = prop.dt
    if not isinstance(length, timedelta):
        problems.add(line, "DURATION", f"DURATION is not a duration; expected "
                                       f"{_EXPECTED['DURATION']}")
        return None
    if start is None:
        return None
    return start + length // timedelta(milliseconds=1)


def _first_category(event: Component) -> str:
    value = event.get("CATEGORIES")
    for group in value if isinstance(value, list) else [value]:
        for category in getattr(group, "cats", None) or []:
            if str(category).strip():
                return str(category)
    return ""


def _people(event: Component) -> list[tuple[str, str]]:
    """(name, email) of the ORGANIZER and of each ATTENDEE with ROLE=CHAIR."""
    found: list[Any] = []
    for name in ("ORGANIZER", "ATTENDEE"):
        value = event.get(name)
        for address in value if isinstance(value, list) else [value]:
            if address is None or isinstance(address, vBroken):
                continue
            role = str(address.params.get("ROLE", "")).upper() if hasattr(address,
                                                                          "params") else ""
            if name == "ORGANIZER" or role == "CHAIR":
                found.append(address)
    people: list[tuple[str, str]] = []
    for address in found:
        params = getattr(address, "params", {})
        common_name = str(params.get("CN", "")).strip().strip('"')
        uri = str(address).strip()
        email = uri[7:] if uri.lower().startswith("mailto:") else ""
        if common_name or email:
            people.append((common_name, email))
    return people


def _languages(problems: pg.Problems, line: int, event: Component) -> tuple[str, ...]:
    if "X-LANGUAGES" in event:
        value = _text(_one(problems, line, event, "X-LANGUAGES"))
        return pg.check_language_list(problems, line, "X-LANGUAGES", value)
    summary = event.get("SUMMARY")
    language = getattr(summary, "params", {}).get("LANGUAGE") if summary is not None else None
    if language:
        return pg.check_language_list(problems, line, "SUMMARY", str(language))
    return ()

