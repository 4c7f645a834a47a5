"""An event (an IGF, a national or regional IGF): its programme, hubs and published reports.

In the code an event is a *forum*, so that the word "event" keeps its one meaning there:
something put on a session's channel. The API and the pages say "event".

A forum has its own log (the same `EventLog` as sessions, under the id `forum.<id>`, which
no session id can be), folded here like a session's: decide (the functions below check a
request against the state and return the fact to append) -> append -> `apply`. Facts:

- `forum`: created (title, dates, time zone, venue, languages).
- `forum_changed`: some of those changed.
- `programme`: one import of a programme, whole: every row with the hub session it is
  (a new row gets the next `<forum>-<n>` id, a known external id keeps its session), so an
  import is applied all or nothing and re-importing the same file changes nothing.
- `forum_hub` / `forum_hub_removed`: a regional or national hub registered for the event.
- `report_saved` / `report_published` / `report_withdrawn`: a session's report as its
  organizers reviewed it (IGF template: up to three key takeaways, two calls to action,
  a summary, the gender questions).
- `figures_kept`: cells of the event's figures (closed sessions') once suppressed, which
  stay suppressed on every instance and after restarts (hub.domain.event_figures).

Times are ms since the Unix epoch, UTC; the event's time zone is for showing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import UNAUTHORIZED, HubError, bad_request, conflict, not_found
from .commands import check_languages, check_name, check_text
from .facts import (
    FiguresKeptFact,
    ForumChangedFact,
    ForumCreatedFact,
    ForumFact,
    ForumHubFact,
    ForumHubRemovedFact,
    ProgrammeFact,
    ReportPublishedFact,
    ReportSavedFact,
    ReportWithdrawnFact,
    UnknownFact,
)
from .profiles import check_profile  # the profile's country rule, one place
from .programme import Organizer, ProgrammeRow

LOG_PREFIX = "forum."
FORUM_ID = re.compile(r"[A-Za-z0-9_-]{3,40}")
FORUM_ID_RULE = "3 to 40 letters, digits, '-' or '_'"
MAX_DAYS = 31
TITLE_MAX = 200
VENUE_MAX = 200
TAKEAWAYS_MAX = 3  # the IGF report template's key takeaways
CALLS_MAX = 2  # and calls to action
POINT_MAX = 600  # characters per takeaway or call to action
SUMMARY_MAX = 3000
GENDER_HOW_MAX = 1500
HUB_KINDS = ("nri", "regional", "remote")  # national/regional IGF, regional hub, remote hub

NONE, DRAFT, PUBLISHED = "none", "draft", "published"  # a session's report, as listed
RETIRED_LINK = "retired_link"  # the refusal's reason, as for a session's retired join link


def log_id(forum_id: str) -> str:
    """The id of a forum's log in the event log store."""
    return LOG_PREFIX + forum_id


def is_forum_log(log_key: str) -> bool:
    return log_key.startswith(LOG_PREFIX)


def valid_forum_id(text: object) -> bool:
    return isinstance(text, str) and FORUM_ID.fullmatch(text) is not None


@dataclass(slots=True)
class ProgrammeSession:
    """One session of the programme and the hub session that runs it."""

    session: str  # the hub session's id
    external_id: str
    title: str
    start: int
    end: int
    room: str = ""
    track: str = ""
    kind: str = ""
    organizers: list[Organizer] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    description: str = ""
    imported: int = 0  # the import (1, 2, ...) that last set it


@dataclass(slots=True)
class ForumHub:
    """A regional, national or remote hub registered once for the event."""

    id: str
    name: str
    kind: str
    city: str = ""
    country: str = ""
    sessions: list[str] = field(default_factory=list)  # the sessions it follows; [] = all
    registered: int = 0
    generation: int = 0  # raised when its link is replaced: older links are refused

    def follows(self, session: str) -> bool:
        return not self.sessions or session in self.sessions


@dataclass(frozen=True, slots=True)
class Gender:
    """The IGF template's gender questions, as the session's organizers estimate them."""

    participants: int | None = None
    women: int | None = None  # women and gender-diverse people
    discussed: bool | None = None  # were gender issues discussed?
    how: str = ""  # if so, how


@dataclass(frozen=True, slots=True)
class ReviewedReport:
    """A session's report as its organizers reviewed it (saved or published)."""

    takeaways: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    summary: str = ""
    gender: Gender = field(default_factory=Gender)
    by: str = ""  # who saved (or published) it
    ts: int = 0


@dataclass(slots=True)
class SessionReport:
    """Where one session's report stands: the draft being edited, the published one."""

    draft: ReviewedReport | None = None
    published: ReviewedReport | None = None
    first_published: int = 0  # when it was first published (ms)

    @property
    def status(self) -> str:
        if self.published is not None:
            return PUBLISHED
        return DRAFT if self.draft is not None else NONE


@dataclass(slots=True)
class ForumState:
    """An event as folded from its log."""

    id: str
    title: str = ""
    start: str = ""  # first day, YYYY-MM-DD in the event's time zone
    end: str = ""  # last day
    timezone: str = "UTC"
    venue: str = ""
    languages: list[str] = field(default_factory=lambda: ["en"])
    created: int = 0
    sessions: dict[str, ProgrammeSession] = field(default_factory=dict)  # by session id
    external: dict[str, str] = field(default_factory=dict)  # external id -> session id
    imports: int = 0
    numbered: int = 0  # the highest `<forum>-<n>` given
    hubs: dict[str, ForumHub] = field(default_factory=dict)
    reports: dict[str, SessionReport] = field(default_factory=dict)  # by session id
    # Figures of closed sessions suppressed once, kept so (hub.domain.event_figures rule 5)
    figures_kept: set[tuple[str, ...]] = field(default_factory=set)
    offset: int = 0
    epoch: str = ""

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def programme(self) -> list[ProgrammeSession]:
        """The sessions in the order of the programme: start, room, title."""
        return sorted(self.sessions.values(), key=lambda s: (s.start, s.room, s.title, s.session))

    def days(self) -> list[str]:
        """Every day of the event, YYYY-MM-DD."""
        first, last = date.fromisoformat(self.start), date.fromisoformat(self.end)
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    def day_of(self, ms: int) -> str:
        """The event-local day a time falls on."""
        return datetime.fromtimestamp(ms / 1000, self.zone()).date().isoformat()

    def report(self, session: str) -> SessionReport:
        return self.reports.get(session) or SessionReport()


def new_forum(forum_id: str) -> ForumState:
    return ForumState(id=forum_id)


# -- deciding -------------------------------------------------------------------------


def _check_zone(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 64:
        raise bad_request("`timezone` takes an IANA time zone name, like Asia/Riyadh or UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"unknown time zone {name[:64]!r}: use an IANA name, like "
                          "Europe/Oslo or Africa/Addis_Ababa") from None
    return name


def _check_day(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"`{what}` takes a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(value).isoformat() if len(value) == 10 else _bad_day(what)
    except ValueError:
        return _bad_day(what)


def _bad_day(what: str) -> str:
    raise bad_request(f"`{what}` takes a date, YYYY-MM-DD")


def _event_fields(body: dict[str, Any], current: ForumState | None) -> dict[str, Any]:
    """The event fields in `body`, checked (with the current ones for the dates' order)."""
    out: dict[str, Any] = {}
    if "title" in body:
        if not isinstance(body["title"], str):
            raise bad_request("`title` must be a string")
        out["title"] = check_text(body["title"], TITLE_MAX, "the title")
    if "venue" in body:
        venue = body["venue"]
        if not isinstance(venue, str) or len(venue) > VENUE_MAX:
            raise bad_request(f"`venue` takes a text of at most {VENUE_MAX} characters")
        out["venue"] = venue.strip()
    if "timezone" in body:
        out["timezone"] = _check_zone(body["timezone"])
    if "languages" in body:
        out["languages"] = check_languages(body["languages"])
    for name in ("start", "end"):
        if name in body:
            out[name] = _check_day(body[name], name)
    start = out.get("start", current.start if current else None)
    end = out.get("end", current.end if current else None)
    if start and end:
        span = (date.fromisoformat(end) - date.fromisoformat(start)).days
        if span < 0:
            raise bad_request("`end` is before `start`")
        if span >= MAX_DAYS:
            raise bad_request(f"an event lasts at most {MAX_DAYS} days")
    return out


def create(body: dict[str, Any], *, now: int) -> ForumCreatedFact:
    """The first fact of a new event; `title`, `start` and `timezone` are required."""
    unknown = set(body) - {"id", "title", "start", "end", "timezone", "venue", "languages"}
    if unknown:
        raise bad_request(f"unknown field {sorted(unknown)[0]!r}")
    for required in ("title", "start", "timezone"):
        if required not in body:
            raise bad_request(f"`{required}` is required")
    fields = _event_fields({**body, "end": body.get("end", body["start"])}, None)
    return cast(ForumCreatedFact,
                {"kind": "forum", "languages": ["en"], "venue": "", **fields, "ts": now})


def change(state: ForumState, body: dict[str, Any], *, now: int) -> ForumChangedFact | None:
    """A `forum_changed` fact for the fields of `body` that differ; None when none do."""
    unknown = set(body) - {"title", "start", "end", "timezone", "venue", "languages"}
    if unknown:
        raise bad_request(f"unknown field {sorted(unknown)[0]!r}")
    fields = _event_fields(body, state)
    changed = {k: v for k, v in fields.items() if getattr(state, k) != v}
    if not changed:
        return None
    return cast(ForumChangedFact, {"kind": "forum_changed", **changed, "ts": now})


def row_data(row: ProgrammeRow) -> dict[str, Any]:
    """A programme row as a fact stores it."""
    return {
        "external_id": row.external_id, "title": row.title, "start": row.start,
        "end": row.end, "room": row.room, "track": row.track, "kind": row.kind,
        "organizers": [{"name": o.name, "email": o.email} for o in row.organizers],
        "languages": list(row.languages), "description": row.description,
    }


def import_programme(
    state: ForumState, rows: list[ProgrammeRow], *, source: str, by: str, now: int
) -> ProgrammeFact:
    """The `programme` fact of one import: each row with the session it updates (same
    external id) or the new session it makes. Rows are already checked (programme.parse);
    an empty programme is refused, so is a session outside the event's days."""
    if not rows:
        raise bad_request("the programme has no sessions")
    first, last = state.days()[0], state.days()[-1]
    for row in rows:
        day = state.day_of(row.start)
        if not first <= day <= last:
            raise HubError("bad_request", f"line {row.line}: the session starts on {day}, "
                           f"outside the event's days ({first} to {last})",
                           problems=[{"line": row.line, "field": "start",
                                      "message": f"starts on {day}, outside {first}..{last}"}])
    numbered = state.numbered
    out = []
    for row in rows:
        session = state.external.get(row.external_id)
        if session is None:
            numbered += 1
            session = f"{state.id}-{numbered}"
        out.append({"session": session, **row_data(row)})
    return {"kind": "programme", "sessions": out, "source": source, "by": by,
            "numbered": numbered, "ts": now}


def changed_sessions(state: ForumState, fact: ProgrammeFact) -> list[dict[str, Any]]:
    """The rows of a `programme` fact that are new or differ from what the state holds."""
    out = []
    for row in fact["sessions"]:
        known = state.sessions.get(row["session"])
        if known is None or _row_of(known) != {k: v for k, v in row.items() if k != "session"}:
            out.append(row)
    return out


def _row_of(session: ProgrammeSession) -> dict[str, Any]:
    return {
        "external_id": session.external_id, "title": session.title, "start": session.start,
        "end": session.end, "room": session.room, "track": session.track,
        "kind": session.kind,
        "organizers": [{"name": o.name, "email": o.email} for o in session.organizers],
        "languages": list(session.languages), "description": session.description,
    }


def programme_session(state: ForumState, session: str) -> ProgrammeSession:
    found = state.sessions.get(session)
    if found is None:
        raise not_found(f"no session {session!r} in event {state.id!r}")
    return found


def register_hub(
    state: ForumState, body: dict[str, Any], *, hub_id: str, now: int
) -> ForumHubFact:
    """A `forum_hub` fact: a hub (national/regional IGF, regional or remote hub) registered
    for the event, or one registered before changed (same `hub_id`)."""
    unknown = set(body) - {"name", "kind", "city", "country", "sessions"}
    if unknown:
        raise bad_request(f"unknown field {sorted(unknown)[0]!r}")
    known = state.hubs.get(hub_id)
    name = body.get("name", known.name if known else None)
    if not isinstance(name, str):
        raise bad_request("`name` is required: the hub's name, as people know it")
    kind = body.get("kind", known.kind if known else None)
    if kind not in HUB_KINDS:
        raise bad_request(f"`kind` must be one of {', '.join(HUB_KINDS)}")
    city = body.get("city", known.city if known else "")
    if not isinstance(city, str) or len(city) > 80:
        raise bad_request("`city` takes a text of at most 80 characters")
    country = body.get("country", known.country if known else "")
    if not isinstance(country, str):
        raise bad_request("`country` takes an ISO 3166 alpha-2 code")
    if country:
        country = check_profile({"country": country})["country"]
    sessions = body.get("sessions", known.sessions if known else [])
    if not isinstance(sessions, list) or not all(isinstance(s, str) for s in sessions):
        raise bad_request("`sessions` takes a list of the event's session ids ([] = all)")
    for session in sessions:
        programme_session(state, session)
    name = check_name(name)
    for other in state.hubs.values():  # the digest and the roll calls tell hubs by name
        if other.id != hub_id and other.name.casefold() == name.casefold():
            raise conflict(f"a hub named {name!r} is registered for this event already "
                           f"(id {other.id}): change that one, or choose another name")
    return {"kind": "forum_hub", "hub": {
        "id": hub_id, "name": name, "kind": kind,
        "city": check_name(city) if city.strip() else "", "country": country,
        "sessions": list(dict.fromkeys(sessions)),
        "registered": known.registered if known else now,
        "generation": known.generation if known else 0}, "ts": now}


def forum_hub(state: ForumState, hub_id: str) -> ForumHub:
    found = state.hubs.get(hub_id)
    if found is None:
        raise not_found(f"no hub {hub_id!r} registered for event {state.id!r}")
    return found


def replace_hub_link(state: ForumState, hub_id: str, *, now: int) -> ForumHubFact:
    """A `forum_hub` fact raising the hub's generation: its link so far is refused from
    then on, in every session and on every instance, and a new one is minted."""
    hub = forum_hub(state, hub_id)
    return {"kind": "forum_hub", "hub": {**hub_data(hub), "generation": hub.generation + 1},
            "ts": now}


def remove_hub(state: ForumState, hub_id: str, *, now: int) -> ForumHubRemovedFact:
    """A `forum_hub_removed` fact: the hub is no longer registered; its link is refused."""
    forum_hub(state, hub_id)
    return {"kind": "forum_hub_removed", "hub": hub_id, "ts": now}


def hub_data(hub: ForumHub) -> dict[str, Any]:
    """A hub as a `forum_hub` fact stores it."""
    return {"id": hub.id, "name": hub.name, "kind": hub.kind, "city": hub.city,
            "country": hub.country, "sessions": list(hub.sessions),
            "registered": hub.registered, "generation": hub.generation}


def followed(state: ForumState, hub: ForumHub) -> list[ProgrammeSession]:
    """The programme sessions a hub follows, in programme order (all for `sessions: []`)."""
    return [s for s in state.programme() if hub.follows(s.session)]


def hub_public(state: ForumState, hub: ForumHub) -> dict[str, Any]:
    """A hub as anyone may see it: who and where it is, what it follows; never its link."""
    return {"id": hub.id, "name": hub.name, "kind": hub.kind, "city": hub.city,
            "country": hub.country, "all_sessions": not hub.sessions,
            "sessions": [s.session for s in followed(state, hub)],
            "registered": hub.registered}


def hub_place(hub: ForumHub) -> dict[str, str]:
    """The hub's city and country, as a session records a hub's place."""
    return {k: v for k, v in (("city", hub.city), ("country", hub.country)) if v}


def hub_link_expiry(state: ForumState) -> int:
    """When an event's hub link expires (seconds since the epoch): the end of the day after
    the event's last day, in the event's time zone (a day to send on what is left)."""
    last = date.fromisoformat(state.end) + timedelta(days=2)
    return int(datetime(last.year, last.month, last.day, tzinfo=state.zone()).timestamp())


def check_hub_link(state: ForumState, hub_id: str, generation: int,
                   session: str | None = None) -> ForumHub:
    """The registered hub an event's hub link names, when that link is current (and, with
    `session`, valid there: a session of the event's programme the hub follows).
    `unauthorized` otherwise, saying why; a link no longer current says it was retired."""
    hub = state.hubs.get(hub_id)
    if hub is None:
        raise HubError(UNAUTHORIZED, "this hub link was retired: the hub is no longer "
                       f"registered for event {state.id!r}; ask the Secretariat",
                       reason=RETIRED_LINK)
    if generation != hub.generation:
        raise HubError(UNAUTHORIZED, "this hub link was retired: the Secretariat replaced "
                       "it; ask them for the new one", reason=RETIRED_LINK)
    if session is None:
        return hub
    if session not in state.sessions:
        raise HubError(UNAUTHORIZED, f"this hub link is for the sessions of event "
                       f"{state.id!r}; this session is not one of them")
    if not hub.follows(session):
        raise HubError(UNAUTHORIZED, f"hub {hub.name!r} does not follow this session: the "
                       "Secretariat adds it to the hub's sessions")
    return hub


def _points(value: Any, most: int, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"`{what}` takes a list of texts")
    points = tuple(v.strip() for v in value if v.strip())
    if len(points) > most:
        raise bad_request(f"the IGF report template has at most {most} {what}; got "
                          f"{len(points)}")
    for point in points:
        if len(point) > POINT_MAX:
            raise HubError("too_large", f"one of the {what} has {len(point)} characters; the "
                           f"limit is {POINT_MAX}")
    return points


def _count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
        raise bad_request(f"`{what}` takes a whole number from 0 (or null: not estimated)")
    return value


def check_report(body: dict[str, Any], previous: ReviewedReport | None) -> ReviewedReport:
    """A reviewed report from a request body; fields not given keep the previous ones."""
    unknown = set(body) - {"takeaways", "calls", "summary", "gender"}
    if unknown:
        raise bad_request(f"unknown field {sorted(unknown)[0]!r}")
    base = previous or ReviewedReport()
    takeaways = (_points(body["takeaways"], TAKEAWAYS_MAX, "takeaways")
                 if "takeaways" in body else base.takeaways)
    calls = _points(body["calls"], CALLS_MAX, "calls") if "calls" in body else base.calls
    summary = body.get("summary", base.summary)
    if not isinstance(summary, str) or len(summary.strip()) > SUMMARY_MAX:
        raise bad_request(f"`summary` takes a text of at most {SUMMARY_MAX} characters")
    gender = base.gender
    if "gender" in body:
        raw = body["gender"]
        if not isinstance(raw, dict) or set(raw) - {"participants", "women", "discussed", "how"}:
            raise bad_request("`gender` takes participants, women, discussed and how")
        participants = _count(raw.get("participants"), "gender.participants")
        women = _count(raw.get("women"), "gender.women")
        if participants is not None and women is not None and women > participants:
            raise bad_request("`gender.women` is more than `gender.participants`")
        discussed = raw.get("discussed")
        if discussed is not None and not isinstance(discussed, bool):
            raise bad_request("`gender.discussed` takes true, false or null")
        how = raw.get("how", "")
        if not isinstance(how, str) or len(how.strip()) > GENDER_HOW_MAX:
            raise bad_request(f"`gender.how` takes a text of at most {GENDER_HOW_MAX} characters")
        gender = Gender(participants, women, discussed, how.strip())
    return ReviewedReport(takeaways, calls, summary.strip(), gender)


def report_data(report: ReviewedReport) -> dict[str, Any]:
    g = report.gender
    return {"takeaways": list(report.takeaways), "calls": list(report.calls),
            "summary": report.summary,
            "gender": {"participants": g.participants, "women": g.women,
                       "discussed": g.discussed, "how": g.how},
            "by": report.by, "ts": report.ts}


def _report_of(data: dict[str, Any]) -> ReviewedReport:
    g = data.get("gender") or {}
    return ReviewedReport(tuple(data["takeaways"]), tuple(data["calls"]), data["summary"],
                          Gender(g.get("participants"), g.get("women"), g.get("discussed"),
                                 g.get("how", "")),
                          data.get("by", ""), data.get("ts", 0))


def save_report(
    state: ForumState, session: str, body: dict[str, Any], *, publish: bool, closed: bool,
    by: str, now: int, prefill: ReviewedReport | None = None,
) -> ReportSavedFact | ReportPublishedFact:
    """A `report_saved` (or `report_published`) fact: the organizers' edits to a session's
    report; fields not in `body` keep the saved draft's, or before any was saved the
    `prefill`'s (what the review page showed: the generated report's). Publishing needs
    the session closed and at least one key takeaway."""
    programme_session(state, session)
    current = state.report(session)
    base = current.draft or current.published or prefill
    reviewed = replace(check_report(body, base), by=by, ts=now)
    if publish:
        if not closed:
            raise conflict("the session is not closed yet: its report is published after it")
        if not reviewed.takeaways:
            raise bad_request("a published report has at least one key takeaway")
    if publish:
        return {"kind": "report_published", "session": session,
                "report": report_data(reviewed), "ts": now}
    return {"kind": "report_saved", "session": session, "report": report_data(reviewed),
            "ts": now}


def withdraw_report(state: ForumState, session: str, *, by: str, now: int
                    ) -> ReportWithdrawnFact:
    """Take a published report off the public site (it stays as the draft)."""
    programme_session(state, session)
    if state.report(session).published is None:
        raise conflict("this session's report is not published")
    return {"kind": "report_withdrawn", "session": session, "by": by, "ts": now}


def keep_figures(
    state: ForumState, cells: list[tuple[str, ...]], *, now: int
) -> FiguresKeptFact | None:
    """A `figures_kept` fact with the cells of the event's figures that are suppressed and
    must stay so, those the state does not hold yet (None when none is new)."""
    fresh = sorted({tuple(c) for c in cells} - state.figures_kept)
    if not fresh:
        return None
    return {"kind": "figures_kept", "cells": [list(c) for c in fresh], "ts": now}


# -- folding --------------------------------------------------------------------------


def _fold_created(state: ForumState, fact: ForumCreatedFact) -> None:
    state.created = fact["ts"]
    state.end = fact["start"]
    _set_fields(state, fact)


def _set_fields(state: ForumState, fact: ForumCreatedFact | ForumChangedFact) -> None:
    for name in ("title", "start", "end", "timezone", "venue", "languages"):
        if name in fact:
            setattr(state, name, fact[name])


def _fold_programme(state: ForumState, fact: ProgrammeFact) -> None:
    state.imports += 1
    state.numbered = max(state.numbered, fact["numbered"])
    for row in fact["sessions"]:
        session = ProgrammeSession(
            session=row["session"], external_id=row["external_id"], title=row["title"],
            start=row["start"], end=row["end"], room=row["room"], track=row["track"],
            kind=row["kind"],
            organizers=[Organizer(o["name"], o.get("email", "")) for o in row["organizers"]],
            languages=list(row["languages"]), description=row["description"],
            imported=state.imports)
        state.sessions[session.session] = session
        state.external[session.external_id] = session.session


def _fold_hub(state: ForumState, fact: ForumHubFact) -> None:
    hub = fact["hub"]
    state.hubs[hub["id"]] = ForumHub(**hub)


def _fold_hub_removed(state: ForumState, fact: ForumHubRemovedFact) -> None:
    state.hubs.pop(fact["hub"], None)


def _fold_report_saved(state: ForumState, fact: ReportSavedFact) -> None:
    report = state.reports.setdefault(fact["session"], SessionReport())
    report.draft = _report_of(fact["report"])


def _fold_report_published(state: ForumState, fact: ReportPublishedFact) -> None:
    report = state.reports.setdefault(fact["session"], SessionReport())
    reviewed = _report_of(fact["report"])
    report.draft = reviewed
    report.published = reviewed
    report.first_published = report.first_published or fact["ts"]


def _fold_report_withdrawn(state: ForumState, fact: ReportWithdrawnFact) -> None:
    state.reports.setdefault(fact["session"], SessionReport()).published = None


def _fold_figures_kept(state: ForumState, fact: FiguresKeptFact) -> None:
    state.figures_kept.update(tuple(cell) for cell in fact["cells"])


# Each kind of event fact -> its fold (the shapes: hub.domain.facts.ForumFact).
FOLDS: dict[str, Callable[[ForumState, Any], None]] = {
    "forum": _fold_created,
    "forum_changed": _set_fields,
    "programme": _fold_programme,
    "forum_hub": _fold_hub,
    "forum_hub_removed": _fold_hub_removed,
    "report_saved": _fold_report_saved,
    "report_published": _fold_report_published,
    "report_withdrawn": _fold_report_withdrawn,
    "figures_kept": _fold_figures_kept,
}


def apply(state: ForumState, fact: ForumFact) -> None:
    """Fold one fact into `state`. `UnknownFact` for a kind this version does not know
    (a newer instance wrote it): the forum is not served half-understood."""
    fold = FOLDS.get(fact["kind"])
    if fold is None:
        raise UnknownFact(fact["kind"], f"event {state.id!r}")
    fold(state, fact)


def data(state: ForumState) -> dict[str, Any]:
    """The event as the API shows it (without the programme)."""
    return {"id": state.id, "title": state.title, "start": state.start, "end": state.end,
            "timezone": state.timezone, "venue": state.venue, "languages": state.languages,
            "created": state.created, "sessions": len(state.sessions),
            "hubs": len(state.hubs), "imports": state.imports}


def session_data(state: ForumState, session: ProgrammeSession) -> dict[str, Any]:
    """One programme session as the API shows it (organizers' emails only to the staff:
    the caller drops them for the public)."""
    return {"session": session.session, **_row_of(session),
            "day": state.day_of(session.start),
            "report": state.report(session.session).status}
