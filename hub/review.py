"""The report review: a session's organizers edit its report and publish it.

`GET /api/sessions/{id}/review` gives the draft to edit (the saved one, else one prefilled
from the session's generated report), the published version and where it stands; `PUT`
saves the draft, `POST …/review/publish` publishes it (the session closed, at least one key
takeaway), `DELETE …/review/publish` withdraws it. The session organizer of that session
or the Secretariat only (docs/protocol.md §21).

The reviewed report is the event's, not the session's: it is written to the event's log
(`hub.domain.forum.save_report` / `withdraw_report`), so a session that is in no event's
programme has none (404). Every instance serves the same one: a read (and a publish)
first catches up with the session's and the event's logs, so a page reloaded on another
instance sees what was just saved there, and a session closed there is closed here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import keys
from .api import allowed, http_actor, json_response, read_json
from .domain import forum as domain
from .domain import meeting, report
from .domain.roles import ORGANIZER
from .domain.session import CLOSED
from .errors import BAD_REQUEST, TOO_LARGE, UNAVAILABLE, HubError, not_found
from .forums import Forum
from .log import LogUnavailable
from .session import Session, now_ms

FIELDS = ("takeaways", "calls", "summary", "gender")
ORGANIZERS = frozenset({ORGANIZER})  # a session organizer of this session, or the admin key


async def _reviewed(request: web.Request) -> tuple[Session, Forum, str]:
    """The session (its organizer or the Secretariat asks), its event, and who acts."""
    session, grant = await allowed(request, ORGANIZERS)
    forum = await request.app[keys.FORUMS].of_session(session.id)
    if forum is None:
        raise not_found(f"session {session.id!r} is in no event's programme: reports are "
                        "reviewed and published for an event's sessions (the Secretariat "
                        "imports the programme with POST /api/events/{id}/programme)")
    return session, forum, http_actor(grant).id


def check_fields(body: dict[str, Any]) -> None:
    """Refuse bad input naming its field (`field` in the error), one field at a time, before
    anything is written; the domain's own checks (`forum.check_report`) say what is wrong."""
    for name in body:
        if name not in FIELDS:
            raise HubError(BAD_REQUEST, f"unknown field {name!r}: a report takes "
                           f"{', '.join(FIELDS)}", field=name)
    for name in FIELDS:
        if name not in body:
            continue
        try:
            domain.check_report({name: body[name]}, None)
        except HubError as exc:
            # A takeaway over its length is bad input, like any other (not a body too large).
            code = BAD_REQUEST if exc.code == TOO_LARGE else exc.code
            raise HubError(code, exc.message, field=name) from None


def prefilled(built: report.Report) -> domain.ReviewedReport:
    """The draft as the generated report has it: the first takeaways and calls to action
    the moderators flagged (as many as the IGF template takes) and the participants its
    figures count, where they are published (not suppressed)."""
    takeaways = tuple(p.text.strip()[:domain.POINT_MAX] for p in built.takeaways
                      if p.text.strip())[:domain.TAKEAWAYS_MAX]
    calls = tuple(p.text.strip()[:domain.POINT_MAX] for p in built.calls_to_action
                  if p.text.strip())[:domain.CALLS_MAX]
    attendance = built.stats.attendance
    participants = attendance.total if attendance.total else None
    return domain.ReviewedReport(takeaways, calls, "", domain.Gender(participants=participants))


def view(request: web.Request, session: Session, forum: Forum) -> dict[str, Any]:
    """Everything the review page shows."""
    state = session.state
    reviewed = forum.state.report(session.id)
    every_ms = request.app[keys.CONFIG].figures_every * 1000
    built = meeting.build_report(state, now_ms(), every_ms)
    draft = reviewed.draft if reviewed.draft is not None else prefilled(built)
    return {
        "session": session.id,
        "title": state.title,
        "event": forum.id,
        "event_title": forum.state.title,
        "state": state.state,
        "closed": state.state == CLOSED,
        "status": reviewed.status,
        "saved": reviewed.draft is not None,  # False: prefilled from the generated report
        "draft": domain.report_data(draft),
        "published": (domain.report_data(reviewed.published)
                      if reviewed.published is not None else None),
        "first_published": reviewed.first_published or None,
        "flagged": {"takeaways": [p.text for p in built.takeaways],
                    "calls": [p.text for p in built.calls_to_action]},
        "limits": {"takeaways": domain.TAKEAWAYS_MAX, "calls": domain.CALLS_MAX,
                   "point": domain.POINT_MAX, "summary": domain.SUMMARY_MAX,
                   "how": domain.GENDER_HOW_MAX},
    }


async def _caught_up(session: Session, forum: Forum) -> None:
    """Both logs as they stand now: a session closed, a report saved on another instance
    a moment ago are seen here."""
    try:
        await session.catch_up()
        await forum.catch_up()
    except LogUnavailable as exc:
        raise HubError(UNAVAILABLE, f"storage is unavailable ({exc})") from exc


async def get_review(request: web.Request) -> web.Response:
    session, forum, _ = await _reviewed(request)
    await _caught_up(session, forum)
    return json_response(view(request, session, forum))


async def _write(request: web.Request, *, publish: bool) -> web.Response:
    session, forum, by = await _reviewed(request)
    body = await read_json(request)
    check_fields(body)
    request.app[keys.LIMITS].check(session.id, by, "report")  # a staff write
    if publish:
        await _caught_up(session, forum)
    closed = session.state.state == CLOSED
    every_ms = request.app[keys.CONFIG].figures_every * 1000
    # Before a draft is saved, the fields not sent keep what the page showed: the prefill.
    prefill = prefilled(meeting.build_report(session.state, now_ms(), every_ms))
    await forum.execute(lambda st: domain.save_report(
        st, session.id, body, publish=publish, closed=closed, by=by, now=now_ms(),
        prefill=prefill))
    return json_response(view(request, session, forum))


async def save_review(request: web.Request) -> web.Response:
    """Save the draft (the fields given; the others keep what was saved)."""
    return await _write(request, publish=False)


async def publish_review(request: web.Request) -> web.Response:
    """Publish the draft with the fields given: the session closed, one takeaway at least."""
    return await _write(request, publish=True)


async def withdraw_review(request: web.Request) -> web.Response:
    """Take the published report off the public site; it stays as the draft."""
    session, forum, by = await _reviewed(request)
    request.app[keys.LIMITS].check(session.id, by, "report")
    await forum.execute(lambda st: domain.withdraw_report(st, session.id, by=by, now=now_ms()))
    return json_response(view(request, session, forum))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/sessions/{session_id}/review", get_review),
        web.put("/api/sessions/{session_id}/review", save_review),
        web.post("/api/sessions/{session_id}/review/publish", publish_review),
        web.delete("/api/sessions/{session_id}/review/publish", withdraw_review),
    ]
