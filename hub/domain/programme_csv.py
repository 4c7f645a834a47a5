"""A programme in CSV: the columns and rules are in hub/domain/programme.py's docstring."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from . import programme as pg
from .commands import TITLE_MAX

# Column names, compared without case, spaces, `_` and `-`.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "externalid", "sessionid", "uid", "code"),
    "title": ("title", "name", "session", "sessiontitle", "summary"),
    "start": ("start", "starts", "starttime", "from", "begin", "dtstart"),
    "end": ("end", "ends", "endtime", "to", "finish", "dtend"),
    "date": ("date", "day"),
    "room": ("room", "location", "venue"),
    "track": ("track", "theme", "topic"),
    "kind": ("type", "sessiontype", "kind", "format"),
    "organizers": ("organizers", "organisers", "organizer", "organiser", "speakers", "hosts",
                   "chairs"),
    "emails": ("emails", "email", "organizeremails", "organiseremails", "contact"),
    "languages": ("languages", "language", "lang", "langs"),
    "description": ("description", "abstract", "summarytext", "details"),
}
REQUIRED = ("id", "title", "start", "end")
_FIELD_OF = {alias: field for field, aliases in ALIASES.items() for alias in aliases}


def column_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def parse_csv(data: bytes, timezone: str) -> list[pg.ProgrammeRow]:
    """The programme in a CSV file, or ProgrammeError with every problem."""
    pg.check_size(data)
    text = pg.decode_text(data, "save it as 'CSV UTF-8'")
    zone = pg.event_zone(timezone)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems = pg.Problems()
    rows: list[pg.ProgrammeRow] = []
    columns: _Columns | None = None
    line = 1
    count = 0
    try:
        for cells in reader:
            start_line, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(cells, start_line)
                continue
            count += 1
            pg.check_row_count(count)
            row = _row(problems, columns, cells, start_line, zone)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.add(reader.line_num, None, f"the CSV cannot be read here ({exc}); check "
                                            f"the quotes: a cell that starts with \" must "
                                            f"end with \"")
        raise problems.error() from None
    if columns is None:
        raise pg.fail("the file has no header line; the first line names the columns: "
                      + ", ".join(REQUIRED) + " (and optional ones)")
    if not rows and not problems:
        raise pg.fail("the file has a header but no sessions")
    return pg.check_rows(problems, rows, columns.label["id"])


def _delimiter(text: str) -> str:
    """`,` or `;`: the one that makes more known column names of the first line."""
    first = next((line for line in text.splitlines() if line.strip()), "")

    def score(delimiter: str) -> tuple[int, int]:
        try:
            cells = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:
            return (0, 0)
        known = sum(column_key(cell) in _FIELD_OF for cell in cells)
        return (known, len(cells))

    return ";" if score(";") > score(",") else ","


class _Columns:
    """Which cell of a row holds which field, and the header's name for it."""

    def __init__(self, index: dict[str, int], label: dict[str, str], unnamed: list[int],
                 width: int) -> None:
        self.index = index
        self.label = label
        self.unnamed = unnamed
        self.width = width


def _header(cells: list[str], line: int) -> _Columns:
    index: dict[str, int] = {}
    label: dict[str, str] = {}
    unknown: list[str] = []
    unnamed: list[int] = []
    problems = pg.Problems()
    for at, cell in enumerate(cells):
        name = cell.strip()
        if not name:
            unnamed.append(at)
            continue
        field = _FIELD_OF.get(column_key(name))
        if field is None:
            unknown.append(name)
        elif field in index:
            problems.add(line, name, f"the columns {label[field]!r} and {name!r} both give the "
                                     f"{field}; keep one")
        else:
            index[field] = at
            label[field] = name
    accepted = ", ".join(aliases[0] for aliases in ALIASES.values())
    if len(cells) == 1 and "\t" in cells[0]:
        raise pg.ProgrammeError([pg.Problem(line, None, "the columns are separated by tabs; "
                                                        "save the file as CSV (columns "
                                                        "separated by , or ;)")])
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:10])
        problems.add(line, None, f"unknown column{'s' if len(unknown) > 1 else ''} {shown}; "
                                 f"the accepted columns are {accepted} (aliases: theme for "
                                 f"track, session type for type, location for room...)")
    missing = [field for field in REQUIRED if field not in index]
    if missing:
        problems.add(line, None, f"the header has no {', '.join(missing)} column; required: "
                                 f"{', '.join(REQUIRED)}; the first line must name the columns")
    problems.raise_any()
    return _Columns(index, label, unnamed, len(cells))


def _row(problems: pg.Problems, columns: _Columns, cells: list[str], line: int,
         zone: tzinfo) -> pg.ProgrammeRow | None:
    before = len(problems.kept) + problems.more
    for at in [*columns.unnamed, *range(columns.width, len(cells))]:
        if at < len(cells) and cells[at].strip():
            problems.add(line, None, f"cell {at + 1} ({cells[at][:30]!r}) is in a column the "
                                     f"header does not name; name the column or remove it")
    values: dict[str, str] = {}
    for field, at in columns.index.items():
        raw = cells[at] if at < len(cells) else ""
        reason = pg.formula_reason(raw) if raw else None
        if reason is not None:
            problems.add(line, columns.label[field], pg.formula_message(reason))
            values[field] = "\0"  # refused: no second problem for this cell
        else:
            values[field] = raw

    def text(field: str, limit: int, *, required: bool = False,
             multiline: bool = False) -> str:
        value = values.get(field, "")
        if value == "\0":
            return ""
        return pg.check_text(problems, line, columns.label.get(field, field), value, limit,
                             required=required, multiline=multiline, formula=False)

    external_id = text("id", pg.ID_MAX, required=True)
    title = text("title", TITLE_MAX, required=True)
    room = text("room", pg.ROOM_MAX)
    track = text("track", pg.TRACK_MAX)
    kind = text("kind", pg.KIND_MAX)
    description = text("description", pg.DESCRIPTION_MAX, multiline=True)
    date = text("date", 20)
    start = _moment(problems, line, columns.label["start"], text("start", 40, required=True),
                    date, zone) if values["start"] != "\0" else None
    end = _moment(problems, line, columns.label["end"], text("end", 40, required=True),
                  date, zone) if values["end"] != "\0" else None
    span = pg.check_span(problems, line, start, end, columns.label["end"])
    organizers = _organizers(problems, line, columns, values)
    languages: tuple[str, ...] = ()
    if values.get("languages", "\0") != "\0":
        languages = pg.check_language_list(problems, line, columns.label["languages"],
                                           text("languages", 500))
    if len(problems.kept) + problems.more > before or not span or start is None or end is None:
        return None
    return pg.ProgrammeRow(line=line, external_id=external_id, title=title, start=start,
                           end=end, room=room, track=track, kind=kind, organizers=organizers,
                           languages=languages, description=description)


_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?")
_EXPECTED = "expected ISO 8601 like 2026-06-23 09:00 or 2026-06-23T09:00+03:00"


def _moment(problems: pg.Problems, line: int, field: str, value: str, date: str,
            zone: tzinfo) -> int | None:
    """A cell's date and time in ms since the epoch (UTC), or None after a problem."""
    if not value:
        return None
    try:
        if match := _DATETIME.fullmatch(value):
            year, month, day, hour, minute, second, offset = match.groups()
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                              int(second or 0), tzinfo=_offset(offset))
        elif match := _TIME.fullmatch(value):
            if not date:
                problems.add(line, field, f"{value!r} is a time without a date; add a date "
                                          f"column (2026-06-23) or write the date: {_EXPECTED}")
                return None
            day_match = _DATE.fullmatch(date)
            if day_match is None:
                problems.add(line, "date", f"{date[:40]!r} is not a date; expected "
                                           f"YYYY-MM-DD like 2026-06-23")
                return None
            year, month, day = day_match.groups()
            hour, minute, second = match.groups()
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                              int(second or 0))
        elif _DATE.fullmatch(value):
            problems.add(line, field, f"{value!r} has no time of day; {_EXPECTED}")
            return None
        else:
            problems.add(line, field, f"{value[:40]!r} is not a date and time; {_EXPECTED}")
            return None
    except ValueError as exc:
        problems.add(line, field, f"{value[:40]!r} is not a valid date and time ({exc}); "
                                  f"{_EXPECTED}")
        return None
    return pg.epoch_ms(problems, line, field, moment, zone)


def _offset(text: str | None) -> tzinfo | None:
    if text is None:
        return None
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError(f"the offset {text} is not between -14:00 and +14:00")
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_PERSON = re.compile(r"(.*?)\s*<([^<>]*)>")
_SPLIT_PEOPLE = re.compile(r"[;\n]")
_SPLIT_EMAILS = re.compile(r"[;,\n]")


def _organizers(problems: pg.Problems, line: int, columns: _Columns,
                values: dict[str, str]) -> tuple[pg.Organizer, ...]:
    names_cell, emails_cell = values.get("organizers", ""), values.get("emails", "")
    if "\0" in (names_cell, emails_cell):
        return ()
    field = columns.label.get("organizers", "organizers")
    people: list[tuple[str, str]] = []
    for entry in (part.strip() for part in _SPLIT_PEOPLE.split(names_cell)):
        if not entry:
            continue
        if match := _PERSON.fullmatch(entry):
            people.append((match.group(1).strip().strip('"'), match.group(2).strip()))
        elif "@" in entry and " " not in entry:
            people.append(("", entry))
        else:
            people.append((entry, ""))
    emails = [part.strip() for part in _SPLIT_EMAILS.split(emails_cell)]
    while emails and not emails[-1] and len(emails) > len(people):
        emails.pop()  # "a@x.org;" for two organizers: the second has none
    if not any(emails):
        emails = []
    if emails:
        email_field = columns.label["emails"]
        if not people:
            people = [("", email) for email in emails if email]
        elif len(emails) != len(people):
            problems.add(line, email_field, f"{len(people)} organizers but {len(emails)} "
                                            f"emails; give one email per organizer in the "
                                            f"same order (leave a place empty for none), or "
                                            f"write 'Name <email>' in {field}")
            return ()
        else:
            paired = []
            for (name, inline), email in zip(people, emails, strict=True):
                if inline and email and inline.lower() != email.lower():
                    problems.add(line, email_field, f"{name or inline!r} has the email "
                                                    f"{inline!r} in {field} and {email!r} "
                                                    f"in {email_field}; give one")
                    return ()
                paired.append((name, inline or email))
            people = paired
    return pg.check_organizers(problems, line, field, people)
