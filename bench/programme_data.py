"""Realistic IGF-like programmes, as CSV and iCalendar, for the import benchmark and tests.

Five days, nine rooms, the IGF's tracks and session types, organizers from every region,
sessions in en/fr/es/ar/zh/ru. The same `n` and `seed` give the same sessions in both
formats, so a parser must read both to the same rows.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

ZONE = "Europe/Oslo"  # the IGF 2025 host; times are written in it, without offsets
FIRST_DAY = datetime(2026, 6, 22)
DAYS = 5
SLOTS = ((9, 0), (10, 30), (12, 0), (13, 30), (15, 0), (16, 30), (18, 0))  # local starts
LENGTHS = (60, 75, 90, 90, 120)  # minutes
ROOMS = ("Plenary Room 1", "Workshop Room 1", "Workshop Room 2", "Workshop Room 3",
         "Workshop Room 4", "Open Forum Room A", "Studio Room N", "Room K, level 2",
         "Lightning Talk Room B")  # each has "Room " (bench/programme_import.py moves them)
TRACKS = ("Digital Inclusion", "AI governance", "Human Rights & Freedoms",
          "Cybersecurity, Trust and Safety", "Sustainability & Environment",
          "Digital Cooperation", "Universal Access & Meaningful Connectivity",
          "Data Governance")
KINDS = ("Workshop", "Workshop", "Workshop", "Main Session", "Open Forum", "Lightning Talk",
         "Dynamic Coalition", "NRI Collaborative Session", "Town Hall", "Launch / Award Event")
NAMES = ("Amina Diallo", "Kwame Mensah", "Li Wei", "Priya Sharma", "María José García",
         "João Silva", "Olga Ivanova", "Fatima Al-Zahra", "Nguyễn Thị Lan", "Aroha Ngata",
         "Ahmed Hassan", "Chen Jing", "Tomás O'Brien", "Ingrid Solberg", "Keisha Thompson",
         "Rahul Verma", "Yuki Tanaka", "Sipho Ndlovu", "Leila Haddad", "Dmitri Petrov",
         "Ana Lucía Rojas", "Mohammed bin Salem", "Chloé Martin", "Tevita Fifita",
         "Gulnara Abenova", "Samuel Okafor", "Hana Kováčová", "Juan Pablo Ruiz")
DOMAINS = ("example.org", "example.net", "ngo.example", "univ.example.edu", "gov.example")
LANGUAGES = (("en",), ("en",), ("en",), ("en", "fr"), ("en", "es"), ("en", "ar"),
             ("fr", "en"), ("es", "en", "pt"), ("ar", "en", "fr"), ("zh", "en"),
             ("ru", "en"), ("en", "fr", "es", "ar", "zh", "ru"))
SUBJECTS = ("Community networks", "Generative AI", "Child online safety", "Undersea cables",
            "Digital public infrastructure", "Open data", "Internet fragmentation",
            "Disinformation", "E-waste", "Multilingual Internet", "Youth participation",
            "Encryption", "Digital identity", "Cross-border data flows", "Gender gaps")
ANGLES = ("lessons from the Global South", "what regulators need", "a multistakeholder view",
          "from principles to practice", "closing the gap by 2030", "who decides?",
          "voices from small island states", "risks, rights and remedies")


@dataclass(frozen=True)
class Session:
    id: str
    title: str
    start: datetime  # local time in ZONE
    end: datetime
    room: str
    track: str
    kind: str
    organizers: tuple[tuple[str, str], ...]  # (name, email)
    languages: tuple[str, ...]
    description: str


def _email(name: str, domain: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = ".".join(part.lower().replace("'", "") for part in ascii_name.split())
    return f"{local}@{domain}"


def programme_sessions(n: int, seed: int = 1) -> list[Session]:
    """`n` sessions spread over five days and nine rooms (rooms are reused past capacity)."""
    chance = random.Random(seed)
    sessions = []
    for number in range(n):
        slot, room = divmod(number, len(ROOMS))
        day, slot = divmod(slot, len(SLOTS))
        hour, minute = SLOTS[slot]
        start = FIRST_DAY + timedelta(days=day % DAYS, hours=hour, minutes=minute)
        length = chance.choice(LENGTHS) if room else 90
        people = chance.sample(NAMES, chance.randint(1, 4))
        subject, angle = chance.choice(SUBJECTS), chance.choice(ANGLES)
        kind = chance.choice(KINDS)
        sessions.append(Session(
            id=f"IGF26-{kind.split()[0][:2].upper()}-{number + 1:04d}",
            title=f"{subject}: {angle}" if number % 7 else f'"{subject}", {angle}',
            start=start,
            end=start + timedelta(minutes=length),
            room=ROOMS[room],
            track=chance.choice(TRACKS),
            kind=kind,
            organizers=tuple((name, _email(name, chance.choice(DOMAINS))) for name in people),
            languages=chance.choice(LANGUAGES),
            description=f"{subject} and {angle}. Organized by {' and '.join(people)}; "
                        f"remote participation welcome.",
        ))
    return sessions


def programme_csv(n: int, seed: int = 1, *, delimiter: str = ",", bom: bool = False) -> bytes:
    """The programme as a spreadsheet would export it: a header line, then one line per
    session (CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["ID", "Title", "Start", "End", "Room", "Theme", "Session type",
                     "Organizers", "Languages", "Description"])
    for s in programme_sessions(n, seed):
        writer.writerow([s.id, s.title, f"{s.start:%Y-%m-%d %H:%M}", f"{s.end:%Y-%m-%d %H:%M}",
                         s.room, s.track, s.kind,
                         "; ".join(f"{name} <{email}>" for name, email in s.organizers),
                         " ".join(s.languages), s.description])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Oslo
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _param(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ":;,") else text


def _fold(line: str) -> list[str]:
    """RFC 5545 folding: at most 75 octets a line, never inside a character."""
    parts, current = [], ""
    for char in line:
        if len((current + char).encode()) > (75 if not parts else 74):
            parts.append(current)
            current = ""
        current += char
    parts.append(current)
    return [parts[0], *(" " + part for part in parts[1:])]


def programme_ics(n: int, seed: int = 1) -> bytes:
    """The same programme as an iCalendar export: TZID times, folded lines, CRLF."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//IGF hub//programme bench//EN",
             *_VTIMEZONE.splitlines()]
    for s in programme_sessions(n, seed):
        first, *others = s.organizers
        lines += ["BEGIN:VEVENT", f"UID:{s.id}", "DTSTAMP:20260501T120000Z",
                  f"SUMMARY;LANGUAGE={s.languages[0]}:{_escape(s.title)}",
                  f"DTSTART;TZID={ZONE}:{s.start:%Y%m%dT%H%M%S}",
                  f"DTEND;TZID={ZONE}:{s.end:%Y%m%dT%H%M%S}",
                  f"LOCATION:{_escape(s.room)}", f"CATEGORIES:{_escape(s.track)}",
                  f"X-IGF-TYPE:{_escape(s.kind)}",
                  f"ORGANIZER;CN={_param(first[0])}:mailto:{first[1]}",
                  *(f"ATTENDEE;ROLE=CHAIR;CN={_param(name)}:mailto:{email}"
                    for name, email in others),
                  f"X-LANGUAGES:{','.join(s.languages)}",
                  f"DESCRIPTION:{_escape(s.description)}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _fold(line)).encode()
