"""What the public pages show, as plain data for the templates (no I/O).

Only what is public goes in: the programme's fields (organizers by name, never their
emails), the session's state, the *published* report (never a saved draft), the final
captions of the floor language. Nothing of the questions queue, people or drafts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ..domain import transcript
from ..domain.captions import CaptionLine
from ..domain.forum import ForumState, ProgrammeSession, ReviewedReport
from ..domain.session import CLOSED, LIVE, SCHEDULED
from .text import Words, language_name


@dataclass(frozen=True, slots=True)
class Links:
    """Builds the site's links; each keeps the reader's language."""

    event: str
    lang: str

    def url(self, path: str, **params: str) -> str:
        query = {k: v for k, v in params.items() if v}
        query["lang"] = self.lang
        return f"{path}?{urlencode(query)}"

    def home(self, **params: str) -> str:
        return self.url(f"/e/{self.event}", **params)

    def session(self, session: str) -> str:
        # ids are letters, digits, '-' and '_' (FORUM_ID, session ids): nothing to quote
        return f"/e/{self.event}/s/{session}?lang={self.lang}"

    def highlights(self) -> str:
        return self.url(f"/e/{self.event}/highlights")

    def search(self) -> str:
        """Where the search box sends its words (the form adds `q`)."""
        return f"/e/{self.event}/search"


def _clock(ms: int, zone: ZoneInfo | None) -> datetime:
    return datetime.fromtimestamp(ms / 1000, zone or UTC)


def when(state: ForumState, row: ProgrammeSession) -> dict[str, Any]:
    """A session's time: in the event's time zone and in UTC, machine-readable too."""
    zone = state.zone()
    start, end = _clock(row.start, zone), _clock(row.end, zone)
    ustart, uend = _clock(row.start, None), _clock(row.end, None)
    return {
        "start_ms": row.start, "end_ms": row.end,
        "start_iso": start.isoformat(timespec="minutes"),
        "end_iso": end.isoformat(timespec="minutes"),
        "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
        "utc": f"{ustart:%H:%M}\u2013{uend:%H:%M}",
    }


def session_summary(state: ForumState, row: ProgrammeSession, status: str | None,
                    links: Links) -> dict[str, Any]:
    """One line of the programme."""
    return {
        "id": row.session, "title": row.title, "url": links.session(row.session),
        "when": when(state, row), "room": row.room, "track": row.track, "kind": row.kind,
        "status": status, "published": state.report(row.session).published is not None,
    }


def status_of(row: ProgrammeSession, held: dict[str, str], now: int) -> str:
    """What a session is, as this process knows it: its hub session's state when it is
    held here, else the schedule's (live between its start and end, closed after)."""
    known = held.get(row.session)
    if known is not None:
        return known
    if row.start <= now < row.end:
        return LIVE
    return CLOSED if now >= row.end else SCHEDULED


def live_now(state: ForumState, held: dict[str, str], now: int) -> list[ProgrammeSession]:
    """Sessions live now: held here and live, or scheduled for now and not closed here
    (a session is often run without anyone setting it live)."""
    return [row for row in state.programme()
            if held.get(row.session) == LIVE
            or (row.start <= now < row.end and held.get(row.session) != CLOSED)]


def rooms(state: ForumState) -> list[str]:
    return sorted({r.room for r in state.sessions.values() if r.room}, key=str.casefold)


def tracks(state: ForumState) -> list[str]:
    return sorted({r.track for r in state.sessions.values() if r.track}, key=str.casefold)


def event_page(state: ForumState, words: Words, links: Links, *, held: dict[str, str],
               now: int) -> dict[str, Any]:
    """The event home's head: title, dates, venue, what is live now."""
    return {
        "event": state,
        "first_day": words.day(state.start), "last_day": words.day(state.end),
        "live": [session_summary(state, r, LIVE, links) for r in live_now(state, held, now)],
    }


def programme_part(state: ForumState, words: Words, links: Links, *, room: str,
                   track: str) -> dict[str, Any]:
    """The programme by day (filtered by room and track): from the event's state alone,
    so it changes only when the event does."""
    programme = state.programme()
    shown = [r for r in programme
             if (not room or r.room == room) and (not track or r.track == track)]
    by_day: dict[str, list[dict[str, Any]]] = {day: [] for day in state.days()}
    for row in shown:
        by_day.setdefault(state.day_of(row.start), []).append(
            session_summary(state, row, None, links))
    days = [{"iso": day, "label": words.day(day), "anchor": f"day-{day}", "sessions": rows}
            for day, rows in sorted(by_day.items())]
    return {
        "days": days,
        "rooms": [{"name": r, "url": links.home(room=r, track=track), "current": r == room}
                  for r in rooms(state)],
        "tracks": [{"name": t, "url": links.home(room=room, track=t), "current": t == track}
                   for t in tracks(state)],
        "all_rooms": links.home(track=track), "all_tracks": links.home(room=room),
        "room": room, "track": track, "shown": len(shown), "total": len(programme),
    }


def report_view(report: ReviewedReport | None) -> dict[str, Any] | None:
    """The published report as shown (who published it is not)."""
    if report is None:
        return None
    g = report.gender
    return {"takeaways": list(report.takeaways), "calls": list(report.calls),
            "summary": report.summary,
            "gender": {"participants": g.participants, "women": g.women,
                       "discussed": g.discussed, "how": g.how}}


def transcript_lines(captions: list[CaptionLine], lang: str,
                     at: int | None = None) -> list[dict[str, Any]]:
    """The transcript of `lang` as the txt download writes it: time from the start, the
    speaker when it changes, the text. With `at` (seconds from the start, a search
    result's `?t=`), the line being said at that moment is marked `here`."""
    out: list[dict[str, Any]] = []
    previous: str | None = None
    for cue in transcript.build_cues(captions, lang):
        seconds = cue.start_ms // 1000
        speaker = " ".join((cue.speaker or "").split()) or None
        out.append({"at": f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
                    "seconds": seconds, "here": False,
                    "speaker": speaker if speaker != previous else None,
                    "text": " ".join(cue.text.split())})
        previous = speaker
    if at is not None and out:
        said = [line["seconds"] for line in out if line["seconds"] <= at]
        second = said[-1] if said else out[0]["seconds"]
        # The first line of that second: the moment a search result names.
        next(line for line in out if line["seconds"] == second)["here"] = True
    return out


def session_page(state: ForumState, row: ProgrammeSession, words: Words, links: Links, *,
                 status: str, join: str | None, captions: list[CaptionLine] | None,
                 floor_language: str, at: int | None = None) -> dict[str, Any]:
    """One session's page: its programme entry, state, join link while it is not over,
    and after it closes its published report and its transcript."""
    published = state.report(row.session).published
    closed = status == CLOSED or published is not None  # published only once closed
    status = CLOSED if closed else status
    return {
        "event": state, "session": session_summary(state, row, status, links),
        "day": words.day(state.day_of(row.start)),
        "organizers": [o.name for o in row.organizers],
        "languages": [language_name(code) for code in row.languages],
        "description": row.description, "status": status,
        "join": join if not closed else None,
        "report": report_view(published),
        "transcript": transcript_lines(captions or [], floor_language, at) if closed else None,
        "floor_language": floor_language,
    }
