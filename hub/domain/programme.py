"""An event's programme, read from a CSV or iCalendar (.ics) file: pure, no I/O.

`parse(data, filename=..., content_type=..., timezone=...)` returns one `ProgrammeRow` per
session, or raises `ProgrammeError` carrying every `Problem` found (each with the line it
is on): all or nothing, never a partial list, and never any other exception, whatever the
bytes. Times are returned in ms since the epoch, UTC; a time written without an offset is
in the event's time zone (`timezone`, an IANA name such as "Europe/Oslo").

The format is the content's when it starts with BEGIN:VCALENDAR, else the file name's
extension (.csv, .ics/.ical/.ifb), else the content type (text/csv, text/calendar...).

CSV (hub/domain/programme_csv.py): UTF-8, a byte order mark is allowed; the delimiter is
`,` or `;` (Excel writes `;` where the decimal mark is a comma); the first line is the
header. Column names ignore case, spaces, `_` and `-`; the accepted names:

| field | column names |
|---|---|
| id (required) | id, external id, session id, uid, code |
| title (required) | title, name, session, session title, summary |
| start (required) | start, starts, start time, from, begin, dtstart |
| end (required) | end, ends, end time, to, finish, dtend |
| date | date, day (then start and end may be times of day, HH:MM) |
| room | room, location, venue |
| track | track, theme, topic |
| kind | type, session type, kind, format |
| organizers | organizers, organisers, organizer, organiser, speakers, hosts, chairs |
| emails | emails, email, organizer emails, organiser emails, contact |
| languages | languages, language, lang, langs |
| description | description, abstract, summary text, details |

Dates and times: ISO 8601, `2026-06-23 09:00` or `2026-06-23T09:00`, seconds optional, an
offset optional (`Z`, `+03:00`, `+0300`); with a `date` column (`2026-06-23`), `start` and
`end` may be `09:00`. Organizers: `;`-separated, each `Name <email>`, `Name` or an email;
or names in `organizers` and emails in `emails`, in the same order (an empty place for an
organizer without one). Languages: codes separated by `;`, `,` or spaces, checked with the
session rule (hub/domain/commands.py `check_languages`): the first is the floor language.

iCalendar (hub/domain/programme_ics.py): each VEVENT of the VCALENDAR is a session. UID is
the id, SUMMARY the title, DTSTART and DTEND (or DURATION) the times, LOCATION the room,
the first CATEGORIES the track, X-IGF-TYPE or X-SESSION-TYPE the kind, ORGANIZER (CN and
mailto) and each ATTENDEE with ROLE=CHAIR the organizers, X-LANGUAGES (codes as in CSV)
or else the LANGUAGE parameter of SUMMARY the languages, DESCRIPTION the description.
A TZID is an IANA name or, failing that, a VTIMEZONE of the file (its rules yearly, as
every real zone's are); times without TZID or Z are in the event's zone. All-day events,
events without times and recurring events (RRULE, RDATE, RECURRENCE-ID) are refused;
events with STATUS:CANCELLED are left out. VTODO, VJOURNAL and the like are not sessions
and are skipped; any other component inside the VCALENDAR (a typo) is refused.

Refused with a line-numbered problem (the line where the row or BEGIN:VEVENT starts):
empty required fields, bad dates, an end at or before the start, a session over 24 hours,
a local time that does not exist (the clocks went forward), an id used twice (both lines
named), text over its limit, control characters, invalid emails or language codes, and
cells that a spreadsheet would run as a formula: starting with `=`, `+`, `@`, a tab or a
carriage return, or `-` followed by anything but a space or a letter (the hub exports
these texts as CSV again, where such a cell would be a formula injection).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import HubError
from .commands import NAME_MAX, check_languages
from .names import BIDI_CONTROLS, NameProblem, clean_name

MAX_BYTES = 10 * 1024 * 1024  # a bigger file is refused whole
MAX_ROWS = 2000  # an IGF has about 300 sessions
MAX_PROBLEMS = 100  # reported; the rest are counted in one last problem
ID_MAX = 200
ROOM_MAX = 120
TRACK_MAX = 120
KIND_MAX = 80
DESCRIPTION_MAX = 10_000
EMAIL_MAX = 254
MAX_ORGANIZERS = 50
MAX_SESSION_MS = 24 * 3600 * 1000
YEARS: tuple[int, int] = (2000, 2100)  # a programme outside these is a typing mistake


@dataclass(frozen=True, slots=True)
class Organizer:
    name: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class ProgrammeRow:
    line: int  # 1-based line in the file where the row/VEVENT starts
    external_id: str  # CSV `id` column / ICS UID: re-imports update by it
    title: str
    start: int  # ms since epoch, UTC
    end: int  # ms, UTC, > start
    room: str = ""
    track: str = ""  # track / theme
    kind: str = ""  # session type (workshop, main session, open forum, ...)
    organizers: tuple[Organizer, ...] = ()
    languages: tuple[str, ...] = ()  # valid session languages, floor language first
    description: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None  # None for file-level problems (size, encoding, header)
    field: str | None
    message: str  # says what was found and what is expected

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}{f' ({self.field})' if self.field else ''}: {self.message}"


class ProgrammeError(Exception):
    """The programme cannot be imported; `problems` lists every problem found (at most
    MAX_PROBLEMS, then one saying how many more)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:3])
                         + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""))
        self.problems = problems


class Problems:
    """Collects problems while a file is read, keeping the first MAX_PROBLEMS."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.more = 0

    def add(self, line: int | None, field: str | None, message: str) -> None:
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(Problem(line, field, message))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.kept)

    def error(self) -> ProgrammeError:
        problems = sorted(self.kept, key=lambda p: -1 if p.line is None else p.line)
        if self.more:
            problems.append(Problem(None, None, f"... and {self.more} more problems"))
        return ProgrammeError(problems)

    def raise_any(self) -> None:
        if self.kept:
            raise self.error()


def fail(message: str) -> ProgrammeError:
    """A file-level refusal."""
    return ProgrammeError([Problem(None, None, message)])


def event_zone(timezone: str) -> ZoneInfo:
    """The event's time zone, or ProgrammeError naming the unknown one."""
    zone = iana_zone(timezone)
    if zone is None:
        raise fail(f"the event's time zone {timezone[:60]!r} is not a known IANA time zone "
                   f"(like Europe/Oslo or Asia/Riyadh)")
    return zone


def iana_zone(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, or None when there is no such zone."""
    if not name or len(name) > 80 or not name.isascii() or not name.isprintable():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise fail(f"the file has {len(data):,} bytes; the limit is {MAX_BYTES:,} "
                   f"(10 MB, about {MAX_ROWS} sessions)")
    if not data.strip():
        raise fail("the file is empty; expected a programme in CSV or iCalendar (.ics)")


def decode_text(data: bytes, advice: str) -> str:
    """`data` as UTF-8 text (a byte order mark dropped), or ProgrammeError saying where it
    is not, with `advice` (how to save the file right)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise fail(f"the file is UTF-16, not UTF-8; {advice} and import that")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ProgrammeError([Problem(line, None, f"this is not a text file (a NUL byte on "
                                                  f"line {line}); {advice}")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        hint = " (it looks like Latin-1 or Windows-1252)" if byte >= 0xA0 else ""
        raise ProgrammeError([Problem(
            line, None, f"the file is not UTF-8: byte 0x{byte:02X} on line {line}{hint}; "
                        f"{advice} and import that")]) from None


# -- cells ---------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "@")


def formula_reason(raw: str) -> str | None:
    """Why a spreadsheet would run `raw` as a formula, or None when it would not."""
    text = raw.strip(" ")
    if raw[:1] in ("\t", "\r"):
        return f"starts with a {'tab' if raw[0] == chr(9) else 'carriage return'}"
    if text[:1] in _FORMULA_START:
        return f"starts with {text[0]!r}"
    if text[:1] == "-" and len(text) > 1 and not (text[1] == " " or text[1].isalpha()):
        return f"starts with '-' followed by {text[1]!r}"
    return None


def formula_message(reason: str) -> str:
    return (f"the value {reason}, which a spreadsheet runs as a formula (formula injection); "
            f"remove that first character or put a space or a letter after a '-'")


def check_text(problems: Problems, line: int, field: str, value: str, limit: int, *,
               required: bool = False, multiline: bool = False,
               formula: bool = True) -> str:
    """`value` stripped, or "" after adding a problem: empty when `required`, over `limit`
    characters, control or direction characters, a formula (when `formula`)."""
    if formula and value:
        reason = formula_reason(value)
        if reason is not None:
            problems.add(line, field, formula_message(reason))
            return ""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    else:  # a line break typed in a spreadsheet cell (Alt+Enter) is a space here
        value = " ".join(value.split())
    text = value.strip()
    if not text:
        if required:
            problems.add(line, field, f"the {field} is empty; every session needs one")
        return ""
    for char in text:
        if char in BIDI_CONTROLS or (unicodedata.category(char) in ("Cc", "Cs")
                                     and not (multiline and char in "\n\t")):
            problems.add(line, field, f"the {field} contains the control character "
                                      f"U+{ord(char):04X}; remove it")
            return ""
    if len(text) > limit:
        problems.add(line, field, f"the {field} has {len(text)} characters; the limit is {limit}")
        return ""
    return text


_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+")


def check_email(problems: Problems, line: int, field: str, email: str) -> str:
    email = email.strip()
    if email.lower().startswith("mailto:"):
        email = email[7:]
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        problems.add(line, field, f"{email[:80]!r} is not an email address (like "
                                  f"name@example.org)")
        return ""
    return email


def check_organizers(problems: Problems, line: int, field: str,
                     people: Iterable[tuple[str, str]]) -> tuple[Organizer, ...]:
    """Organizers from (name, email) pairs: names cleaned like display names, emails checked
    lightly; a person without a name is named by the email; repeats dropped."""
    found: list[Organizer] = []
    seen: set[str] = set()
    for name, email in people:
        if email:
            email = check_email(problems, line, field, email)
            if not email:
                continue
        if name:
            reason = formula_reason(name)
            if reason is not None:
                problems.add(line, field, formula_message(reason))
                continue
            try:
                name = clean_name(name)
            except NameProblem as exc:
                message = exc.message.replace("the display name", "an organizer name")
                problems.add(line, field, message)
                continue
            if len(name) > NAME_MAX:
                problems.add(line, field, f"the organizer name {name[:40]!r}... has {len(name)} "
                                          f"characters; the limit is {NAME_MAX}")
                continue
        name = name or email
        if not name:
            continue
        key = (email or name).casefold()
        if key not in seen:
            seen.add(key)
            found.append(Organizer(name, email))
    if len(found) > MAX_ORGANIZERS:
        problems.add(line, field, f"{len(found)} organizers; the limit is {MAX_ORGANIZERS}")
        return ()
    return tuple(found)


_LANGUAGE_SPLIT = re.compile(r"[;,\s]+")


def check_language_list(problems: Problems, line: int, field: str,
                        text: str) -> tuple[str, ...]:
    """Language codes separated by `;`, `,` or spaces, checked by the session rule."""
    codes = [code for code in _LANGUAGE_SPLIT.split(text.strip()) if code]
    if not codes:
        return ()
    try:
        return tuple(check_languages(codes))
    except HubError as exc:
        problems.add(line, field, exc.message)
        return ()


# -- times ---------------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_year(problems: Problems, line: int, field: str, moment: datetime) -> bool:
    """Whether the year written is within YEARS."""
    if YEARS[0] <= moment.year <= YEARS[1]:
        return True
    problems.add(line, field, f"the year {moment.year} is not between {YEARS[0]} and "
                              f"{YEARS[1]}")
    return False


def utc_ms(moment: datetime) -> int:
    """An aware `moment` in ms since the epoch."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def epoch_ms(problems: Problems, line: int, field: str, moment: datetime,
             zone: tzinfo) -> int | None:
    """`moment` in ms since the epoch; a naive one is a wall-clock time in `zone`, refused
    when the clocks skip it."""
    if not check_year(problems, line, field, moment):
        return None
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=zone)
        back = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if back != moment:
            problems.add(line, field, f"{moment:%Y-%m-%d %H:%M} does not exist in {zone} "
                                      f"(the clocks go forward then); check the time")
            return None
        moment = local
    return utc_ms(moment)


def check_span(problems: Problems, line: int, start: int | None, end: int | None,
               field: str) -> bool:
    """Whether start and end make a session: end after start, at most 24 hours."""
    if start is None or end is None:
        return False
    if end <= start:
        problems.add(line, field, "the session ends at or before it starts; the end must be "
                                  "after the start")
        return False
    if end - start > MAX_SESSION_MS:
        hours = (end - start) / 3_600_000
        problems.add(line, field, f"the session lasts {hours:.1f} hours; the limit is 24 "
                                  f"(one row per session, not per day or event)")
        return False
    return True


# -- the whole file ------------------------------------------------------------------------


def check_rows(problems: Problems, rows: list[ProgrammeRow],
               id_field: str) -> list[ProgrammeRow]:
    """The rows, unless some problem was found or an id is used twice: ProgrammeError."""
    first_line: dict[str, int] = {}
    for row in rows:
        earlier = first_line.setdefault(row.external_id, row.line)
        if earlier != row.line:
            problems.add(row.line, id_field,
                         f"the id {row.external_id[:60]!r} is also used on line {earlier}; "
                         f"each session needs its own id (lines {earlier} and {row.line})")
    problems.raise_any()
    return rows


def check_row_count(count: int) -> None:
    if count > MAX_ROWS:
        raise fail(f"the file has {count} sessions; the limit is {MAX_ROWS}")


_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values",
                        "application/vnd.ms-excel", "text/x-csv", "application/x-csv"})
_ICS_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar",
                        "application/x-ical"})
_CSV_EXTENSIONS = frozenset({"csv"})
_ICS_EXTENSIONS = frozenset({"ics", "ical", "icalendar", "ifb", "vcs"})
_SPREADSHEETS = frozenset({"xlsx", "xls", "ods", "numbers"})


def detect_format(data: bytes, filename: str | None, content_type: str | None) -> str:
    """'csv' or 'ics', or ProgrammeError saying what was sent and what is accepted."""
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if head.startswith(b"BEGIN:VCALENDAR"):
        return "ics"
    extension = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if extension in _ICS_EXTENSIONS:
        return "ics"
    if extension in _CSV_EXTENSIONS:
        return "csv"
    if extension in _SPREADSHEETS or data[:4] == b"PK\x03\x04":
        raise fail("this is a spreadsheet workbook, not CSV; save it as 'CSV UTF-8' "
                   "(File > Save as) and import that file")
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in _ICS_TYPES:
        return "ics"
    if kind in _CSV_TYPES:
        return "csv"
    what = f"a file named {filename[:80]!r}" if filename else "a file"
    if kind:
        what += f" of type {kind[:60]!r}"
    raise fail(f"cannot tell the format of {what}: send a CSV file (.csv, text/csv) or an "
               f"iCalendar file (.ics, text/calendar)")


def parse(data: bytes, *, filename: str | None, content_type: str | None,
          timezone: str) -> list[ProgrammeRow]:
    """The programme in `data` (CSV or iCalendar, see `detect_format`)."""
    check_size(data)
    if detect_format(data, filename, content_type) == "ics":
        return parse_ics(data, timezone)
    return parse_csv(data, timezone)


from .programme_csv import parse_csv  # noqa: E402  (they build on the checks above)
from .programme_ics import parse_ics  # noqa: E402

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "Organizer",
    "Problem",
    "ProgrammeError",
    "ProgrammeRow",
    "parse",
    "parse_csv",
    "parse_ics",
]
