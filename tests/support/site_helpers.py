"""An event with a programme, made in-process (the CSV parser's branch lands separately):
the event through the API, its programme through `hub.domain.forum.import_programme`
on the app's Forum, its sessions made hub sessions, reports saved and published through
the Forum as the review API will."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hub import keys
from hub.domain import forum as forum_domain
from hub.domain.programme import Organizer, ProgrammeRow
from hub.forums import Forum
from hub.session import now_ms
from tests.support.harness import ADMIN_KEY, ahttp

ROOMS = ("Plenary", "Room 1", "Room 2", "Room 3", "Room 4", "Room 5")
TRACKS = ("Access & inclusion", "AI governance", "Cybersecurity", "Digital rights",
          "Sustainability")
KINDS = ("Workshop", "Open forum", "Lightning talk", "Main session")


def programme_rows(count: int, first_day: str, days: int, zone: str,
                   *, now_slot: bool = False) -> list[ProgrammeRow]:
    """`count` sessions spread over `days` days, 90-minute slots from 09:00 in `zone`,
    one per room per slot; with `now_slot`, the first session spans the present."""
    tz = ZoneInfo(zone)
    start_day = datetime.fromisoformat(first_day).replace(tzinfo=tz)
    per_day = -(-count // days)
    rows = []
    for n in range(count):
        day, index = divmod(n, per_day)
        slot, room = divmod(index, len(ROOMS))
        start = start_day + timedelta(days=day, hours=9, minutes=90 * slot)
        start_ms = int(start.timestamp() * 1000)
        end_ms = start_ms + 80 * 60 * 1000
        rows.append(ProgrammeRow(
            line=n + 2, external_id=f"WS{n + 1:03d}", title=f"Session {n + 1}: topic {n % 17}",
            start=start_ms, end=end_ms, room=ROOMS[room], track=TRACKS[n % len(TRACKS)],
            kind=KINDS[n % len(KINDS)],
            organizers=(Organizer(f"Organizer {n + 1}", f"org{n + 1}@example.org"),),
            languages=("en", "fr") if n % 3 == 0 else ("en",),
            description=f"What session {n + 1} is about."))
    if now_slot and rows:
        now = now_ms()
        # Started ten minutes ago, but never before the event's first day (just after
        # midnight there, ten minutes ago is the day before, which the import refuses).
        started = max(now - 600_000, int(start_day.timestamp() * 1000))
        rows[0] = ProgrammeRow(**{**_fields(rows[0]), "start": started,
                                  "end": now + 3_600_000})
    return rows


def _fields(row: ProgrammeRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ProgrammeRow.__slots__}


async def make_event(app: web.Application, base: str, rows: list[ProgrammeRow], *,
                     event_id: str, first_day: str, days: int, zone: str,
                     title: str = "Internet Governance Forum", materialize: bool = True,
                     languages: list[str] | None = None) -> Forum:
    """Create the event through the API and import `rows` as its programme."""
    last = (datetime.fromisoformat(first_day) + timedelta(days=days - 1)).date().isoformat()
    status, body, _ = await ahttp("POST", f"{base}/api/events", {
        "id": event_id, "title": title, "start": first_day, "end": last, "timezone": zone,
        "venue": "Conference centre", "languages": languages or ["en", "fr", "ar"]},
        token=ADMIN_KEY)
    assert status == 201, body
    forums = app[keys.FORUMS]
    forum = await forums.get(event_id)
    await forum.execute(lambda st: forum_domain.import_programme(
        st, rows, source="csv", by="test", now=now_ms()))
    if materialize:
        await forums.materialize(forum)
    return forum


async def save_report(forum: Forum, session: str, body: dict[str, Any], *,
                      publish: bool) -> None:
    """Save (or publish) a session's reviewed report, as the organizers' page does."""
    await forum.execute(lambda st: forum_domain.save_report(
        st, session, body, publish=publish, closed=True, by="test", now=now_ms()))


async def withdraw_report(forum: Forum, session: str) -> None:
    await forum.execute(lambda st: forum_domain.withdraw_report(
        st, session, by="test", now=now_ms()))


def today_in(zone: str) -> str:
    return datetime.now(ZoneInfo(zone)).date().isoformat()
