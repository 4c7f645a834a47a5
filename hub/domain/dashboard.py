"""The Secretariat's dashboard of an event: every session's report state, the completion
rates per day and track, and the reminders to send to organizers whose report is late.

Pure: it takes the event's folded state, each session's standing (a digest: state and when
it closed) and the time, and returns data; the API serves it as JSON and the reminders as
a CSV a spreadsheet opens safely (UTF-8 with a byte order mark, so Excel reads Arabic or
Chinese names; no cell it would run as a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from .forum import DRAFT, NONE, PUBLISHED, ForumState, ProgrammeSession, session_data
from .report import csv_text
from .session import CLOSED, LIVE, SCHEDULED

DAY_MS: Final = 86_400_000
REPORT_STATES: Final = (NONE, DRAFT, PUBLISHED)
REMINDER_COLUMNS: Final = ("day", "session", "title", "organizers", "emails",
                           "days_since_closed", "report", "page")


class Standing(Protocol):
    """Where a session stands, as its digest says (hub.session_digest)."""

    @property
    def state(self) -> str: ...

    @property
    def closed_at(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Rate:
    """Reports published out of sessions closed, for one day, one track or the event."""

    sessions: int = 0
    closed: int = 0
    published: int = 0  # closed sessions whose report is published

    @property
    def rate(self) -> float | None:
        """The completion rate (0 to 1); None while no session has closed."""
        return self.published / self.closed if self.closed else None

    def plus(self, closed: bool, published: bool) -> Rate:
        return Rate(self.sessions + 1, self.closed + closed, self.published + published)

    def data(self) -> dict[str, Any]:
        rate = self.rate
        return {"sessions": self.sessions, "closed": self.closed,
                "published": self.published, "rate": None if rate is None else round(rate, 4)}


def page_path(forum_id: str, session_id: str) -> str:
    """A session's public page on the event site."""
    return f"/e/{forum_id}/s/{session_id}"


def days_since(closed_at: int | None, now: int) -> int | None:
    """Whole days since a session closed (0 on the day it closed)."""
    return None if closed_at is None else max(0, now - closed_at) // DAY_MS


def session_row(
    forum: ForumState, session: ProgrammeSession, standing: Standing | None, now: int
) -> dict[str, Any]:
    """One session as the dashboard lists it (organizers' emails included: staff only)."""
    data = session_data(forum, session)
    data.pop("description", None)
    state = standing.state if standing is not None else SCHEDULED
    closed_at = standing.closed_at if standing is not None and state == CLOSED else None
    report = forum.report(session.session)
    data.update({
        "state": state,
        "closed_at": closed_at,
        "days_since_closed": days_since(closed_at, now),
        "first_published": report.first_published or None,
        "page": page_path(forum.id, session.session),
    })
    return data


def dashboard(
    forum: ForumState, standings: Mapping[str, Standing | None], now: int
) -> dict[str, Any]:
    """The whole dashboard: sessions in programme order, rates per day and track and for
    the event, and counts."""
    rows = [session_row(forum, s, standings.get(s.session), now) for s in forum.programme()]
    days: dict[str, Rate] = {day: Rate() for day in forum.days()} if forum.start else {}
    tracks: dict[str, Rate] = {}
    overall = Rate()
    states = {name: 0 for name in (SCHEDULED, LIVE, CLOSED)}
    reports = {name: 0 for name in REPORT_STATES}
    reminders = 0
    for row in rows:
        closed = row["state"] == CLOSED
        published = closed and row["report"] == PUBLISHED
        days[row["day"]] = days.get(row["day"], Rate()).plus(closed, published)
        tracks[row["track"]] = tracks.get(row["track"], Rate()).plus(closed, published)
        overall = overall.plus(closed, published)
        states[row["state"]] = states.get(row["state"], 0) + 1
        reports[row["report"]] += 1
        reminders += closed and not published
    return {
        "event": {"id": forum.id, "title": forum.title, "start": forum.start,
                  "end": forum.end, "timezone": forum.timezone},
        "now": now,
        "sessions": rows,
        "rates": {
            "overall": overall.data(),
            "days": [{"day": day, **rate.data()} for day, rate in sorted(days.items())],
            "tracks": [{"track": track, **rate.data()}
                       for track, rate in sorted(tracks.items(), key=lambda kv: kv[0].casefold())],
        },
        "counts": {"sessions": len(rows), "states": states, "reports": reports,
                   "reminders": reminders},
    }


def reminders(board: dict[str, Any]) -> list[dict[str, Any]]:
    """The sessions closed without a published report, the most recently closed first."""
    due = [row for row in board["sessions"]
           if row["state"] == CLOSED and row["report"] != PUBLISHED]
    return sorted(due, key=lambda row: -(row["closed_at"] or 0))


def reminders_csv(board: dict[str, Any], base: str = "") -> bytes:
    """The reminders as CSV (UTF-8 with a byte order mark): one row per session, its
    organizers' names and emails each joined with "; " (a mail client's address list)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REMINDER_COLUMNS)
    for row in reminders(board):
        organizers = row["organizers"]
        days = row["days_since_closed"]
        writer.writerow([csv_text(str(field)) for field in (
            row["day"], row["session"], row["title"],
            "; ".join(o["name"] for o in organizers),
            "; ".join(o["email"] for o in organizers if o.get("email")),
            "" if days is None else days, row["report"], base + row["page"])])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
