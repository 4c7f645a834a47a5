"""The programme parser (hub/domain/programme.py): CSV and iCalendar files to session rows,
all or nothing, with line-numbered problems."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.programme_data import ZONE, programme_csv, programme_ics, programme_sessions
from hub.domain.programme import (
    MAX_BYTES,
    MAX_ROWS,
    Organizer,
    Problem,
    ProgrammeError,
    ProgrammeRow,
    parse,
    parse_csv,
    parse_ics,
)

OSLO = ZoneInfo(ZONE)


def ms(text: str, zone: ZoneInfo = OSLO) -> int:
    """A wall-clock time in `zone` (or with its own offset) as ms since the epoch."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp()) * 1000


def refused_csv(text: str | bytes, timezone: str = ZONE) -> list[Problem]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ProgrammeError) as caught:
        parse_csv(data, timezone)
    return caught.value.problems


def refused_ics(text: str | bytes, timezone: str = ZONE) -> list[Problem]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ProgrammeError) as caught:
        parse_ics(data, timezone)
    return caught.value.problems


def where(problems: list[Problem]) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.field) for p in problems]


HEADER = "id,title,start,end,room,track,type,organizers,languages,description\n"


# -- CSV, good ------------------------------------------------------------------------------


def test_a_comma_csv_gives_every_field_with_times_in_utc() -> None:
    rows = parse_csv((
        HEADER
        + "W1,Open data for all,2026-06-23 09:00,2026-06-23 10:30,Room 1,Digital Inclusion,"
          "Workshop,Ana Rojas <ana@example.org>; Li Wei,en fr,Why open data\n"
        + 'W2,"Encryption, again",2026-06-23T11:00:30+03:00,2026-06-23T12:00Z,,,,,,\n'
    ).encode(), ZONE)
    assert rows == [
        ProgrammeRow(line=2, external_id="W1", title="Open data for all",
                     start=ms("2026-06-23 09:00"), end=ms("2026-06-23 10:30"), room="Room 1",
                     track="Digital Inclusion", kind="Workshop",
                     organizers=(Organizer("Ana Rojas", "ana@example.org"),
                                 Organizer("Li Wei")),
                     languages=("en", "fr"), description="Why open data"),
        ProgrammeRow(line=3, external_id="W2", title="Encryption, again",
                     start=ms("2026-06-23T11:00:30+03:00"), end=ms("2026-06-23T12:00+00:00")),
    ]


def test_a_semicolon_csv_with_a_bom_a_date_column_and_aliases() -> None:
    text = (
        "\ufeffSession ID;Title;Date;Start time;End time;Location;Theme;Session type;"
        "Organisers;Emails;Language;Abstract\r\n"
        "OF-7;Données ouvertes;2026-06-24;14:00;15:15;Salle B;AI governance;Open Forum;"
        '"Amina Diallo; Kwame Mensah";"amina@example.org;";fr, en\r\n'
        "\r\n"
        'OF-8;"Two\nlines";2026-06-24;16:00;17:00;;;;;;ar;"First\r\n\r\nthird line"\r\n'
        "OF-9;Last;2026-06-25;2026-06-25 09:00;10:00;;;;;;\r\n"
    )
    rows = parse_csv(text.encode(), ZONE)
    assert [(r.line, r.external_id) for r in rows] == [(2, "OF-7"), (4, "OF-8"), (8, "OF-9")]
    first = rows[0]
    assert (first.start, first.end) == (ms("2026-06-24 14:00"), ms("2026-06-24 15:15"))
    assert (first.room, first.track, first.kind) == ("Salle B", "AI governance", "Open Forum")
    assert first.organizers == (Organizer("Amina Diallo", "amina@example.org"),
                                Organizer("Kwame Mensah"))
    assert first.languages == ("fr", "en")
    assert rows[1].title == "Two lines" and rows[1].languages == ("ar",)
    assert rows[1].description == "First\n\nthird line"
    assert (rows[2].start, rows[2].end) == (ms("2026-06-25 09:00"), ms("2026-06-25 10:00"))


def test_a_dash_before_a_letter_or_space_is_text_not_a_formula() -> None:
    rows = parse_csv((HEADER + "X1,- panel,2026-06-23 09:00,2026-06-23 10:00,,-Lab,,,,"
                               "- first point\n").encode(), ZONE)
    assert (rows[0].title, rows[0].track, rows[0].description) == ("- panel", "-Lab",
                                                                   "- first point")


# -- CSV, bad -------------------------------------------------------------------------------

ROW = "{id},{title},{start},{end},,,,,,\n"


def row(id: str = "S1", title: str = "A session", start: str = "2026-06-23 09:00",
        end: str = "2026-06-23 10:00") -> str:
    return ROW.format(id=id, title=title, start=start, end=end)


def test_unknown_and_missing_columns_are_named_with_the_accepted_ones() -> None:
    problems = refused_csv("id,title,begins,end,speaker count\nS1,T,x,y,3\n")
    assert where(problems) == [(1, None), (1, None)]
    assert "'begins', 'speaker count'" in problems[0].message
    assert "accepted columns are id, title, start, end, date, room, track" in problems[0].message
    assert "no start column" in problems[1].message


def test_a_tab_separated_file_is_refused_with_what_to_do() -> None:
    problems = refused_csv("id\ttitle\tstart\tend\nS1\tT\t2026-06-23 09:00\t2026-06-23 10:00\n")
    assert where(problems) == [(1, None)]
    assert "separated by tabs" in problems[0].message


def test_a_csv_without_a_header_is_refused() -> None:
    problems = refused_csv("S1,A session,2026-06-23 09:00,2026-06-23 10:00\n")
    assert where(problems) == [(1, None), (1, None)]


def test_bad_dates_are_refused_on_their_lines() -> None:
    problems = refused_csv(HEADER + row() + row("S2", start="2026-02-30 09:00")
                           + row("S3", start="23/06/2026 09:00") + row("S4", end="10:00")
                           + row("S5", start="2026-06-23") + row("S6", start="")
                           + row("S7", start="2026-06-23 09:00+15:00")
                           + row("S8", start="1999-06-23 09:00"))
    assert where(problems) == [(3, "start"), (4, "start"), (5, "end"), (6, "start"),
                               (7, "start"), (8, "start"), (9, "start")]
    assert "day is out of range" in problems[0].message
    assert "'23/06/2026 09:00' is not a date and time; expected ISO 8601" in problems[1].message
    assert "a time without a date" in problems[2].message
    assert "no time of day" in problems[3].message
    assert "the start is empty" in problems[4].message


def test_an_end_at_or_before_the_start_or_a_day_later_is_refused() -> None:
    problems = refused_csv(HEADER + row("S1", end="2026-06-23 08:00")
                           + row("S2", end="2026-06-23 09:00")
                           + row("S3", end="2026-06-24 09:30") + row("S4"))
    assert where(problems) == [(2, "end"), (3, "end"), (4, "end")]
    assert "ends at or before it starts" in problems[0].message
    assert "lasts 24.5 hours; the limit is 24" in problems[2].message


def test_a_local_time_the_clocks_skip_is_refused() -> None:
    problems = refused_csv(HEADER + row(start="2026-03-29 02:30", end="2026-03-29 04:00"))
    assert where(problems) == [(2, "start")]
    assert "does not exist in Europe/Oslo" in problems[0].message


def test_an_unknown_event_time_zone_is_one_file_problem() -> None:
    for zone in ("Mars/Olympus", "", "../etc/passwd", "Europe/Oslo\0"):
        problems = refused_csv(HEADER + row(), timezone=zone)
        assert where(problems) == [(None, None)]
        assert "not a known IANA time zone" in problems[0].message


def test_a_duplicate_id_names_both_lines() -> None:
    problems = refused_csv(HEADER + row("S1") + row("S2") + row("S1") + row("S1"))
    assert where(problems) == [(4, "id"), (5, "id")]
    assert "lines 2 and 4" in problems[0].message and "lines 2 and 5" in problems[1].message


@pytest.mark.parametrize("cell,reason", [
    ("=HYPERLINK(\"http://x\")", "starts with '='"),
    ("+1 555", "starts with '+'"),
    ("@SUM(A1)", "starts with '@'"),
    ("\t=1", "starts with a tab"),
    ("-2+3", "starts with '-' followed by '2'"),
    (" =cmd|' /C calc'!A0", "starts with '='"),
])
def test_formula_injection_cells_are_refused(cell: str, reason: str) -> None:
    quoted = '"' + cell.replace('"', '""') + '"'
    problems = refused_csv(HEADER + row() + row("S2", title=quoted)
                           + f"S3,Fine,2026-06-23 09:00,2026-06-23 10:00,{quoted},,,,,\n")
    assert where(problems) == [(3, "title"), (4, "room")]
    assert reason in problems[0].message and "formula injection" in problems[0].message


def test_a_formula_in_an_id_or_time_cell_is_named_once() -> None:
    problems = refused_csv(HEADER + row("=1", start="=NOW()"))
    assert where(problems) == [(2, "id"), (2, "start")]


def test_a_file_over_10_mb_is_refused_unread() -> None:
    data = (HEADER + row()).encode() + b"x" * MAX_BYTES
    for call in (lambda: parse_csv(data, ZONE), lambda: parse_ics(data, ZONE),
                 lambda: parse(data, filename="p.csv", content_type=None, timezone=ZONE)):
        with pytest.raises(ProgrammeError) as caught:
            call()
        assert where(caught.value.problems) == [(None, None)]
        assert "the limit is 10,485,760" in caught.value.problems[0].message


def test_more_than_max_rows_is_refused() -> None:
    text = HEADER + "".join(row(f"S{n}") for n in range(MAX_ROWS + 1))
    problems = refused_csv(text)
    assert where(problems) == [(None, None)]
    assert f"the limit is {MAX_ROWS}" in problems[0].message


@pytest.mark.parametrize("data", [b"", b"  \r\n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    problems = refused_csv(data)
    assert where(problems) == [(None, None)]


def test_a_header_without_rows_is_refused() -> None:
    assert "no sessions" in refused_csv(HEADER)[0].message


def test_binary_junk_is_refused() -> None:
    problems = refused_csv(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U")
    assert where(problems) == [(1, None)]
    assert "not a text file" in problems[0].message


def test_latin_1_bytes_are_refused_with_their_line() -> None:
    text = HEADER + row() + row("S2", title="Caf\xe9 du num\xe9rique")
    problems = refused_csv(text.encode("latin-1"))
    assert where(problems) == [(3, None)]
    assert "not UTF-8: byte 0xE9 on line 3 (it looks like Latin-1" in problems[0].message


def test_utf_16_is_refused() -> None:
    problems = refused_csv((HEADER + row()).encode("utf-16"))
    assert "UTF-16" in problems[0].message


def test_broken_quotes_are_refused_on_their_line() -> None:
    problems = refused_csv(HEADER + row() + 'S2,"Title" tail,2026-06-23 09:00,2026-06-23 10:00'
                                            ',,,,,,\n')
    assert where(problems) == [(3, None)]
    assert "check the quotes" in problems[0].message


def test_cells_outside_the_header_are_refused() -> None:
    problems = refused_csv(HEADER + row().rstrip("\n") + ",extra\n" + row("S2").rstrip("\n")
                           + ",,\n")
    assert where(problems) == [(2, None)]
    assert "'extra'" in problems[0].message


def test_text_limits_controls_emails_and_languages() -> None:
    lines = [
        row("S1", title="T" * 201),
        row("S2", title="Bell\x07"),
        row("S3", title="Name\u202etxt.exe"),
        "S4,T,2026-06-23 09:00,2026-06-23 10:00,,,,Ana <ana@>,,\n",
        "S5,T,2026-06-23 09:00,2026-06-23 10:00,,,,,english,\n",
        "S6,T,2026-06-23 09:00,2026-06-23 10:00,,,,,en fr EN,\n",
        "S7,T,2026-06-23 09:00,2026-06-23 10:00," + "R" * 121 + ",,,,,\n",
        "S8,,2026-06-23 09:00,2026-06-23 10:00,,,,,,\n",
        ",T,2026-06-23 09:00,2026-06-23 10:00,,,,,,\n",
    ]
    problems = refused_csv(HEADER + "".join(lines))
    assert where(problems) == [(2, "title"), (3, "title"), (4, "title"), (5, "organizers"),
                               (6, "languages"), (7, "languages"), (8, "room"), (9, "title"),
                               (10, "id")]
    assert "201 characters; the limit is 200" in problems[0].message
    assert "U+0007" in problems[1].message and "U+202E" in problems[2].message
    assert "'ana@' is not an email address" in problems[3].message
    assert "'english' is not a BCP 47 language tag" in problems[4].message
    assert "listed twice" in problems[5].message


def test_emails_in_their_own_column_must_match_the_organizers() -> None:
    header = "id,title,start,end,organizers,emails\n"
    good = parse_csv((header + "S1,T,2026-06-23 09:00,2026-06-23 10:00,A; B,a@x.org;b@x.org\n"
                      + "S2,T,2026-06-23 09:00,2026-06-23 10:00,,c@x.org\n").encode(), ZONE)
    assert good[0].organizers == (Organizer("A", "a@x.org"), Organizer("B", "b@x.org"))
    assert good[1].organizers == (Organizer("c@x.org", "c@x.org"),)
    problems = refused_csv(header + "S1,T,2026-06-23 09:00,2026-06-23 10:00,A; B,a@x.org\n"
                           + "S2,T,2026-06-23 09:00,2026-06-23 10:00,A <a@x.org>,z@x.org\n")
    assert where(problems) == [(2, "emails"), (3, "emails")]
    assert "2 organizers but 1 emails" in problems[0].message


def test_problems_are_capped_with_a_count_of_the_rest() -> None:
    problems = refused_csv(HEADER + "".join(row(f"S{n}", start="soon") for n in range(150)))
    assert len(problems) == 101
    assert problems[-1] == Problem(None, None, "... and 50 more problems")
    assert [p.line for p in problems[:100]] == list(range(2, 102))


# -- iCalendar ------------------------------------------------------------------------------

VTIMEZONE_LOCAL = """BEGIN:VTIMEZONE
TZID:IGF Local Time
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0300
TZOFFSETTO:+0300
TZNAME:AST
END:STANDARD
END:VTIMEZONE
"""


def calendar(*events: str, zones: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            + zones.replace("\n", "\r\n") + "".join(events) + "END:VCALENDAR\r\n")


def vevent(uid: str = "e1", *lines: str, start: str = "DTSTART:20260623T090000Z",
           end: str = "DTEND:20260623T100000Z", summary: str = "SUMMARY:A session") -> str:
    body = [f"UID:{uid}" if uid else "", summary, start, end, *lines]
    return "BEGIN:VEVENT\r\n" + "".join(f"{b}\r\n" for b in body if b) + "END:VEVENT\r\n"


def test_an_ics_with_tzid_utc_floating_and_duration_times() -> None:
    text = calendar(
        vevent("tz", "LOCATION:Hall\\, level 2", "CATEGORIES:AI governance,Ethics",
               "X-SESSION-TYPE:Main Session",
               'ORGANIZER;CN="Diallo, Amina":mailto:amina@example.org',
               "ATTENDEE;ROLE=CHAIR;CN=Li Wei:mailto:li@example.org",
               "ATTENDEE;ROLE=REQ-PARTICIPANT;CN=Guest:mailto:guest@example.org",
               "ATTENDEE;ROLE=CHAIR;CN=Amina:mailto:AMINA@example.org",
               "X-LANGUAGES:en\\,fr",
               "DESCRIPTION:Line one\\nline two",
               start="DTSTART;TZID=Europe/Oslo:20260623T090000",
               end="DTEND;TZID=Europe/Oslo:20260623T103000"),
        vevent("custom", start="DTSTART;TZID=IGF Local Time:20260623T090000",
               end="DURATION:PT1H15M", summary="SUMMARY;LANGUAGE=ar:جلسة"),
        vevent("utc"),
        vevent("floating", start="DTSTART:20260623T090000", end="DTEND:20260623T091500"),
        vevent("gone", "STATUS:CANCELLED"),
        zones=VTIMEZONE_LOCAL,
    )
    rows = parse_ics(text.encode(), ZONE)
    assert [(r.line, r.external_id) for r in rows] == [(13, "tz"), (28, "custom"), (34, "utc"),
                                                       (40, "floating")]
    first = rows[0]
    assert first == ProgrammeRow(
        line=13, external_id="tz", title="A session", start=ms("2026-06-23 09:00"),
        end=ms("2026-06-23 10:30"), room="Hall, level 2", track="AI governance",
        kind="Main Session",
        organizers=(Organizer("Diallo, Amina", "amina@example.org"),
                    Organizer("Li Wei", "li@example.org")),
        languages=("en", "fr"), description="Line one\nline two")
    assert (rows[1].start, rows[1].end) == (ms("2026-06-23T09:00+03:00"),
                                            ms("2026-06-23T10:15+03:00"))
    assert rows[1].languages == ("ar",) and rows[1].title == "جلسة"
    assert (rows[2].start, rows[2].end) == (ms("2026-06-23T09:00+00:00"),
                                            ms("2026-06-23T10:00+00:00"))
    assert (rows[3].start, rows[3].end) == (ms("2026-06-23 09:00"), ms("2026-06-23 09:15"))


def test_ics_lines_count_folded_lines_as_their_first() -> None:
    text = ("BEGIN:VCALENDAR\nVERSION:2.0\nX-WR-CALNAME:A long\n  calendar\n\tname\n"
            "BEGIN:VEVENT\nUID:a\nSUMMARY:Folded\n  title\nDTSTART:20260623T090000Z\n"
            "DTEND:20260623T100000Z\nEND:VEVENT\n\nBEGIN:VEV\n ENT \t\nUID:b\nSUMMARY:B\n"
            "DTSTART:20260623T090000Z\nDTEND:20260623T100000Z\nEND:VEVENT\nEND:VCALENDAR\n")
    rows = parse_ics(text.encode(), ZONE)
    assert [(r.line, r.title) for r in rows] == [(6, "Folded title"), (14, "B")]


def test_bad_ics_events_are_refused_on_their_begin_lines() -> None:
    text = calendar(
        vevent("ok"),  # line 4
        vevent("zone", start="DTSTART;TZID=Atlantis/Central:20260623T090000"),  # 10
        vevent("allday", start="DTSTART;VALUE=DATE:20260623", end=""),  # 16, no end either
        vevent("nostart", start=""),  # 21
        vevent("noend", end=""),  # 26
        vevent("weekly", "RRULE:FREQ=WEEKLY;COUNT=3"),  # 31
        vevent("back", end="DTEND:20260623T080000Z"),  # 38
        vevent("ok"),  # 44
        vevent(""),  # 50
        vevent("broken", start="DTSTART:tomorrow"),  # 55
        vevent("formula", summary="SUMMARY:=cmd|' /C calc'!A0"),  # 61
        vevent("both", "DURATION:PT1H"),  # 67
    )
    problems = refused_ics(text)
    assert where(problems) == [
        (10, "DTSTART"), (16, "DTSTART"), (16, "DTEND"), (21, "DTSTART"), (26, "DTEND"),
        (31, "RRULE"), (38, "DTEND"), (44, "UID"), (50, "UID"), (55, "DTSTART"),
        (61, "SUMMARY"), (67, "DURATION"),
    ]
    assert "'Atlantis/Central' is not an IANA time zone and no VTIMEZONE" in problems[0].message
    assert "all-day event" in problems[1].message
    assert "recurring event" in problems[5].message
    assert "lines 4 and 44" in problems[7].message
    assert "the UID is empty" in problems[8].message
    assert "'tomorrow' cannot be read" in problems[9].message
    assert "formula injection" in problems[10].message


@pytest.mark.parametrize("text,expected", [
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nEND:VCALENDAR\n",
     [(1, "BEGIN:VCALENDAR is never closed"),
      (4, "END:VCALENDAR closes BEGIN:VEVENT of line 2")]),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nEND:VEVENT\n",
     [(1, "BEGIN:VCALENDAR is never closed")]),
    ("BEGIN:VEVENT\nUID:a\nEND:VEVENT\n",
     [(1, "the file starts with 'BEGIN:VEVENT', not BEGIN:VCALENDAR")]),
    ("\n\nid,title,start,end\nS1,T,2026-06-23 09:00,2026-06-23 10:00\n",
     [(3, "the file starts with 'id,title,start,end', not BEGIN:VCALENDAR")]),
    ("BEGIN:VCALENDAR\nBEGIN:VEVNT\nUID:a\nEND:VEVNT\nEND:VCALENDAR\n",
     [(2, "BEGIN:VEVNT is not an iCalendar component")]),
    ("BEGIN:VCALENDAR\nEND:VCALENDAR\nEND:VEVENT\ntrailing junk\n",
     [(3, "END:VEVENT has no BEGIN"), (4, "outside the calendar")]),
])
def test_a_broken_ics_structure_is_refused_with_lines(
        text: str, expected: list[tuple[int, str]]) -> None:
    problems = refused_ics(text)
    assert [p.line for p in problems] == [line for line, _ in expected]
    for problem, (_, words) in zip(problems, expected, strict=True):
        assert words in problem.message


def test_an_ics_without_events_or_with_a_bad_property_is_refused() -> None:
    assert "no events" in refused_ics(calendar())[0].message
    assert "every event of the calendar is cancelled" in \
        refused_ics(calendar(vevent("x", "STATUS:CANCELLED")))[0].message
    problems = refused_ics("BEGIN:VCALENDAR\nno colon here\nEND:VCALENDAR\n")
    assert where(problems) == [(None, None)]
    assert "not valid iCalendar" in problems[0].message


OUTLOOK_ZONE = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""


def at(local: str, tzid: str = "W. Europe Standard Time") -> str:
    return f"DTSTART;TZID={tzid}:{local}"


def test_a_vtimezone_of_the_file_follows_its_daylight_saving_rules() -> None:
    text = calendar(
        vevent("summer", start=at("20260623T090000"), end="DURATION:PT1H"),  # line 19
        vevent("winter", start=at("20261202T090000"), end="DURATION:PT1H"),
        vevent("twice", start=at("20261025T023000"), end="DURATION:PT1H"),  # clocks go back
        vevent("utc", start="DTSTART:20260623T090000Z", end="DURATION:PT1H"),
        zones=OUTLOOK_ZONE,
    )
    rows = parse_ics(text.encode(), "UTC")
    assert [r.line for r in rows] == [19, 25, 31, 37]
    oslo = ZoneInfo("Europe/Oslo")  # the same rules
    assert rows[0].start == ms("2026-06-23 09:00", oslo)
    assert rows[1].start == ms("2026-12-02 09:00", oslo)
    assert rows[2].start == ms("2026-10-25T02:30+02:00")  # the first of the two readings
    assert rows[3].start == ms("2026-06-23T09:00+00:00")
    problems = refused_ics(calendar(vevent("gap", start=at("20260329T023000")),
                                    zones=OUTLOOK_ZONE))
    assert where(problems) == [(19, "DTSTART")]
    assert "does not exist in W. Europe Standard Time" in problems[0].message


@settings(max_examples=150, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_a_vtimezone_reads_local_times_as_the_iana_zone_with_its_rules(
        moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    oslo = ZoneInfo("Europe/Oslo")
    text = calendar(vevent("x", start=at(f"{moment:%Y%m%dT%H%M%S}"), end="DURATION:PT1H"),
                    zones=OUTLOOK_ZONE)
    exists = moment.replace(tzinfo=oslo).astimezone(UTC).astimezone(oslo).replace(
        tzinfo=None) == moment
    if exists:
        rows = parse_ics(text.encode(), ZONE)
        assert rows[0].start == int(moment.replace(tzinfo=oslo).timestamp() * 1000)
    else:
        assert "does not exist" in refused_ics(text)[0].message


def test_a_vtimezone_rule_that_ended_keeps_the_offset_it_left() -> None:
    zone = """BEGIN:VTIMEZONE
TZID:Former Summer Time
BEGIN:DAYLIGHT
DTSTART:16010325T020000
TZOFFSETFROM:+0300
TZOFFSETTO:+0400
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3;UNTIL=20100327T230000Z
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:16011028T030000
TZOFFSETFROM:+0400
TZOFFSETTO:+0300
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10;UNTIL=20101030T230000Z
END:STANDARD
END:VTIMEZONE
"""
    rows = parse_ics(calendar(
        vevent("now", start=at("20260623T090000", "Former Summer Time"), end="DURATION:PT1H"),
        vevent("then", start=at("20050623T090000", "Former Summer Time"), end="DURATION:PT1H"),
        zones=zone).encode(), ZONE)
    assert rows[0].start == ms("2026-06-23T09:00+03:00")
    assert rows[1].start == ms("2005-06-23T09:00+04:00")


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY", "FREQ=SECONDLY;BYMONTH=3",
                                  "FREQ=YEARLY;BYHOUR=1,2,3", "FREQ=DAILY;COUNT=99999999"])
def test_a_time_zone_rule_that_is_not_yearly_is_refused(rule: str) -> None:
    zone = OUTLOOK_ZONE.replace("FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", rule)
    problems = refused_ics(calendar(vevent("x", start=at("20260623T090000")), zones=zone))
    assert where(problems) == [(19, "DTSTART")]
    assert "is not a yearly rule like FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in problems[0].message


def test_a_tzid_from_another_file_is_not_remembered() -> None:
    parse_ics(calendar(vevent(start="DTSTART;TZID=IGF Local Time:20260623T090000"),
                       zones=VTIMEZONE_LOCAL).encode(), ZONE)
    problems = refused_ics(calendar(vevent(start="DTSTART;TZID=IGF Local Time:"
                                                 "20260623T090000")))
    assert where(problems) == [(4, "DTSTART")]


# -- formats --------------------------------------------------------------------------------


def test_parse_picks_the_format_by_content_extension_and_type() -> None:
    csv_data = (HEADER + row()).encode()
    ics_data = calendar(vevent()).encode()
    for data, filename, kind in [
        (ics_data, "programme.csv", None),  # the content says iCalendar
        (b"\xef\xbb\xbf" + ics_data, None, None),
        (csv_data, "Programme.CSV", "application/octet-stream"),
        (csv_data, None, "text/csv; charset=utf-8"),
        (csv_data, "export", "application/vnd.ms-excel"),
        (ics_data, None, "text/calendar"),
    ]:
        rows = parse(data, filename=filename, content_type=kind, timezone=ZONE)
        assert [r.external_id for r in rows] == ["e1" if data is not csv_data else "S1"]
    with pytest.raises(ProgrammeError) as caught:
        parse(csv_data, filename="programme.txt", content_type="text/plain", timezone=ZONE)
    assert "cannot tell the format of a file named 'programme.txt' of type 'text/plain'" in \
        caught.value.problems[0].message
    with pytest.raises(ProgrammeError) as caught:
        parse(b"PK\x03\x04rest", filename="programme.xlsx", content_type=None, timezone=ZONE)
    assert "save it as 'CSV UTF-8'" in caught.value.problems[0].message


# -- realistic programmes --------------------------------------------------------------------


@pytest.mark.parametrize("delimiter,bom", [(",", False), (";", True)])
def test_a_300_session_programme_reads_the_same_from_csv_and_ics(delimiter: str,
                                                                 bom: bool) -> None:
    from_csv = parse_csv(programme_csv(300, delimiter=delimiter, bom=bom), ZONE)
    ics = programme_ics(300)
    from_ics = parse(ics, filename="igf.ics", content_type="text/calendar", timezone=ZONE)
    sessions = programme_sessions(300)
    assert len(from_csv) == len(from_ics) == 300
    assert [r.line for r in from_csv] == [2 + n for n in range(300)]
    begins = [n for n, line in enumerate(ics.decode().split("\r\n"), 1) if line == "BEGIN:VEVENT"]
    assert [r.line for r in from_ics] == begins
    for got_csv, got_ics, session in zip(from_csv, from_ics, sessions, strict=True):
        assert dataclasses.replace(got_csv, line=0) == dataclasses.replace(got_ics, line=0)
        assert got_csv.external_id == session.id and got_csv.title == session.title
        assert got_csv.start == ms(session.start.isoformat())
        assert got_csv.end == ms(session.end.isoformat())
        assert got_csv.organizers == tuple(Organizer(n, e) for n, e in session.organizers)
        assert got_csv.languages == session.languages
        assert (got_csv.room, got_csv.track, got_csv.kind) == (session.room, session.track,
                                                               session.kind)


# -- any bytes ------------------------------------------------------------------------------

FRAGMENTS = [
    "BEGIN:VCALENDAR", "END:VCALENDAR", "BEGIN:VEVENT", "END:VEVENT", "BEGIN:VTIMEZONE",
    "END:VTIMEZONE", "UID:x", "SUMMARY:=x", "DTSTART:20260623T090000Z", "DTSTART;TZID=X:2026",
    "DTEND;VALUE=DATE:20260624", "DURATION:P1D", "DURATION:-PT1H", "TZID:X", "RRULE:FREQ=DAILY",
    "ORGANIZER;CN=\"a:b\":mailto:a@b.c", "ATTENDEE;ROLE=CHAIR:urn:x", "X-LANGUAGES:en,xx-",
    " folded", "\tfold", "", "CATEGORIES:", "DTSTART:99991231T235959", "TZOFFSETTO:+9999",
    "BEGIN:STANDARD", "END:STANDARD", "id;title;start;end", "a,b,\"c", "date,start,end",
    "1,t,2026-06-23 09:00,2026-06-23 10:00", "x,y,24:61,00:00", "\ufeffid,title,start,end",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "DTSTART;TZID=X:20260623T090000",
    "TZOFFSETFROM:+0100", "DTSTART:16010101T020000", "RDATE:20260101T000000",
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(
        lambda lines: "\r\n".join(lines).encode()),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(
        lambda lines: "\r\n".join(["BEGIN:VCALENDAR", *lines, "END:VCALENDAR"]).encode()),
    st.text(alphabet=st.sampled_from(list(",;\"\n\r=+-@ 0123456789:T-Zid")), max_size=200).map(
        lambda text: ("id,title,start,end,date\n" + text).encode()),
), filename=st.sampled_from([None, "p.csv", "p.ics", "p.xlsx", "p"]),
   content_type=st.sampled_from([None, "text/csv", "text/calendar", "x/y"]))
def test_any_bytes_give_rows_or_a_programme_error(data: bytes, filename: str | None,
                                                  content_type: str | None) -> None:
    try:
        rows = parse(data, filename=filename, content_type=content_type, timezone=ZONE)
    except ProgrammeError as exc:
        assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
        assert len(exc.problems) <= 101
    else:
        assert rows and all(r.end > r.start for r in rows)
