"""The Secretariat's dashboard and reminders (GET /api/events/{id}/dashboard and
/reminders.csv): every session's report state, days since it closed, completion rates per
day and track, the reminders as a CSV a spreadsheet opens safely; the admin key only."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest

from hub import keys
from hub.domain.dashboard import Rate, days_since
from hub.domain.report import csv_text as cell
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import HubFactory, RunningHub
from tests.support.secretariat_event import (
    ARABIC_NAME,
    DAY,
    EVENT,
    EVIL_NAME,
    EVIL_TITLE,
    DashEvent,
    seed_event,
)


@pytest.fixture
async def event(hub: RunningHub) -> DashEvent:
    return await seed_event(hub.app)


async def test_the_dashboard_lists_every_session_with_its_report_state(
    hub: RunningHub, event: DashEvent
) -> None:
    status, board, headers = await ahttp("GET", f"{hub.base}/api/events/{event.id}/dashboard",
                                         token=ADMIN_KEY)
    assert status == 200, board
    assert headers["Cache-Control"] == "no-store"
    rows = {row["session"]: row for row in board["sessions"]}
    assert [row["session"] for row in board["sessions"]] == event.sessions  # programme order
    published, draft = rows[event.published], rows[event.draft]
    nothing, scheduled = rows[event.nothing], rows[event.scheduled]
    assert (published["state"], published["report"]) == ("closed", "published")
    assert (draft["state"], draft["report"]) == ("closed", "draft")
    assert (nothing["state"], nothing["report"]) == ("closed", "none")
    assert (scheduled["state"], scheduled["report"]) == ("scheduled", "none")
    assert [rows[s]["days_since_closed"] for s in event.sessions] == [5, 3, 1, None]
    assert [rows[s]["closed_at"] for s in event.sessions[:3]] == [
        event.closed_at[s] for s in event.sessions[:3]]
    assert published["first_published"] is not None and draft["first_published"] is None
    assert draft["organizers"] == [{"name": ARABIC_NAME, "email": "leila@example.org"},
                                   {"name": EVIL_NAME, "email": "-bad@example.org"}]
    assert (draft["day"], draft["track"], draft["room"], draft["kind"]) == (
        "2026-12-01", "Access", "Room B", "Open forum")
    assert nothing["title"] == EVIL_TITLE
    assert scheduled["page"] == f"/e/{event.id}/s/{event.scheduled}"
    assert board["counts"] == {
        "sessions": 4, "states": {"scheduled": 1, "live": 0, "closed": 3},
        "reports": {"none": 2, "draft": 1, "published": 1}, "reminders": 2}


async def test_completion_rates_per_day_and_track(hub: RunningHub, event: DashEvent) -> None:
    _, board, _ = await ahttp("GET", f"{hub.base}/api/events/{event.id}/dashboard",
                              token=ADMIN_KEY)
    rates = board["rates"]
    assert rates["overall"] == {"sessions": 4, "closed": 3, "published": 1, "rate": 0.3333}
    assert rates["days"] == [
        {"day": "2026-12-01", "sessions": 2, "closed": 2, "published": 1, "rate": 0.5},
        {"day": "2026-12-02", "sessions": 2, "closed": 1, "published": 0, "rate": 0.0}]
    assert rates["tracks"] == [
        {"track": "Access", "sessions": 2, "closed": 1, "published": 0, "rate": 0.0},
        {"track": "AI", "sessions": 2, "closed": 2, "published": 1, "rate": 0.5}]


async def test_a_session_reopened_leaves_the_count_of_closed_ones(
    hub: RunningHub, event: DashEvent
) -> None:
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{event.nothing}",
                               {"state": "live"}, token=ADMIN_KEY)
    assert status == 200
    _, board, _ = await ahttp("GET", f"{hub.base}/api/events/{event.id}/dashboard",
                              token=ADMIN_KEY)
    row = next(r for r in board["sessions"] if r["session"] == event.nothing)
    assert (row["state"], row["closed_at"], row["days_since_closed"]) == ("live", None, None)
    assert board["rates"]["overall"]["closed"] == 2
    assert board["counts"]["reminders"] == 1


async def test_the_reminders_are_the_sessions_closed_without_a_published_report(
    hub: RunningHub, event: DashEvent
) -> None:
    status, text, headers = await ahttp(
        "GET", f"{hub.base}/api/events/{event.id}/reminders.csv", token=ADMIN_KEY)
    assert status == 200, text
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == f'attachment; filename="{event.id}-reminders.csv"'
    assert headers["Cache-Control"] == "no-store"
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8 (Arabic names)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["day", "session", "title", "organizers", "emails",
                       "days_since_closed", "report", "page"]
    # Newest close first: the one closed a day ago, then three days ago.
    assert [r[1] for r in rows[1:]] == [event.nothing, event.draft]
    nothing, draft = rows[1], rows[2]
    assert nothing == ["2026-12-02", event.nothing, "'" + EVIL_TITLE, "Chen Wei", "", "1",
                       "none", f"{hub.base}/e/{event.id}/s/{event.nothing}"]
    assert draft[3] == f"{ARABIC_NAME}; {EVIL_NAME}"  # a cell that only starts with text
    assert draft[4] == "leila@example.org; -bad@example.org"
    assert (draft[5], draft[6]) == ("3", "draft")


async def test_no_reminder_cell_starts_a_formula(hub: RunningHub, event: DashEvent) -> None:
    forum = await hub.app[keys.FORUMS].get(event.id)
    session = forum.state.sessions[event.draft]
    session.organizers.reverse()  # the formula-looking name first in the cell
    _, text, _ = await ahttp("GET", f"{hub.base}/api/events/{event.id}/reminders.csv",
                             token=ADMIN_KEY)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    draft = next(r for r in rows if r[1] == event.draft)
    assert draft[3] == f"'{EVIL_NAME}; {ARABIC_NAME}"
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_cells_and_figures() -> None:
    assert [cell(x) for x in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx", "ok", "")] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "ok", ""]
    assert Rate().rate is None and Rate().data()["rate"] is None
    assert Rate().plus(True, True).plus(True, False).plus(False, False).data() == {
        "sessions": 3, "closed": 2, "published": 1, "rate": 0.5}
    assert days_since(None, 10) is None
    assert days_since(0, DAY - 1) == 0 and days_since(0, 2 * DAY) == 2
    assert days_since(5 * DAY, 0) == 0  # a clock behind the close: not negative


@pytest.mark.parametrize("path", ["dashboard", "reminders.csv"])
async def test_only_the_secretariat_reads_them(hub: RunningHub, event: DashEvent,
                                               path: str) -> None:
    url = f"{hub.base}/api/events/{event.id}/{path}"
    status, body, _ = await ahttp("GET", url)
    assert status == 401, body
    # A session's organizer link is for that session: not the event's dashboard.
    organizer = hub.app[keys.SIGNER].mint(event.draft, "organizer", identity="org-1",
                                          name="Session organizer")
    status, body, _ = await ahttp("GET", url, token=organizer)
    assert status == 403, body
    assert body["error"]["code"] == "forbidden"
    moderator = hub.app[keys.SIGNER].mint(event.draft, "moderator")
    status, _, _ = await ahttp("GET", url, token=moderator)
    assert status == 403
    status, _, _ = await ahttp("GET", url, token="not-a-token")
    assert status == 401


async def test_an_unknown_event_is_not_found(hub: RunningHub) -> None:
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/nope-nope/dashboard",
                                  token=ADMIN_KEY)
    assert status == 404, body
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/a/dashboard",
                                  token=ADMIN_KEY)
    assert status == 404, body


async def test_an_event_without_a_programme_has_an_empty_dashboard(hub: RunningHub) -> None:
    status, created, _ = await ahttp("POST", f"{hub.base}/api/events", {
        "id": "empty-event", "title": "Empty", "start": "2026-12-01", "end": "2026-12-03",
        "timezone": "Africa/Addis_Ababa"}, token=ADMIN_KEY)
    assert status == 201, created
    _, board, _ = await ahttp("GET", f"{hub.base}/api/events/empty-event/dashboard",
                              token=ADMIN_KEY)
    assert board["sessions"] == [] and board["counts"]["sessions"] == 0
    assert [d["day"] for d in board["rates"]["days"]] == ["2026-12-01", "2026-12-02",
                                                          "2026-12-03"]
    assert board["rates"]["overall"]["rate"] is None
    _, text, _ = await ahttp("GET", f"{hub.base}/api/events/empty-event/reminders.csv",
                             token=ADMIN_KEY)
    assert text.removeprefix("\ufeff").splitlines() == [
        "day,session,title,organizers,emails,days_since_closed,report,page"]


async def test_a_deleted_session_counts_as_not_run(hub: RunningHub, event: DashEvent) -> None:
    status, _, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/{event.nothing}",
                               token=ADMIN_KEY)
    assert status == 200
    _, board, _ = await ahttp("GET", f"{hub.base}/api/events/{event.id}/dashboard",
                              token=ADMIN_KEY)
    row = next(r for r in board["sessions"] if r["session"] == event.nothing)
    assert (row["state"], row["closed_at"]) == ("scheduled", None)


async def _figures(base: str, query: str = "") -> tuple[int, Any, dict[str, str]]:
    return await ahttp("GET", f"{base}/api/events/{EVENT}/figures{query}")


async def test_the_event_figures_are_public_aggregate_and_suppressed(
    hub_factory: HubFactory,
) -> None:
    server = await hub_factory(figures_every=1)
    event = await seed_event(server.app)
    status, _, _ = await ahttp("PATCH", f"{server.base}/api/sessions/{event.scheduled}",
                               {"state": "live"}, token=ADMIN_KEY)
    assert status == 200
    links = await ahttp("GET", f"{server.base}/api/sessions/{event.scheduled}/links",
                        token=ADMIN_KEY)
    token = links[1]["tokens"]["participant"]
    groups = ["academia"] * 6 + ["technical"] * 7 + ["civil_society"] * 5 + ["government"] * 2
    people = [Client(server.ws_base, event.scheduled, token, name=f"P{n}",
                     profile={"stakeholder": group}) for n, group in enumerate(groups)]
    for person in people:
        await person.connect()
    try:
        # Figures move once per period (here a second): wait for the one that counts them.
        for _ in range(100):
            status, body, headers = await _figures(server.base)
            assert status == 200, body
            total = body["event"]["participants"][0]["total"]
            if total == len(groups):
                break
            await asyncio.sleep(0.1)
        assert total == len(groups)
    finally:
        for person in people:
            await person.close()
    assert body["k"] == 5 and body["as_of"] % 1000 == 0
    by_stakeholder = next(t for t in body["event"]["participants"]
                          if t["dimension"] == "stakeholder")
    cells = {c["group"]: c for c in by_stakeholder["cells"]}
    assert (cells["academia"]["value"], cells["technical"]["value"]) == (6, 7)
    assert cells["government"]["suppressed"] and cells["government"]["value"] is None
    assert cells["civil_society"]["suppressed"]  # else the total would give government away
    assert [d["key"] for d in body["days"]] == ["2026-12-01", "2026-12-02"]
    assert sorted(t["key"] for t in body["tracks"]) == ["AI", "Access"]
    assert {s["key"] for s in body["sessions"]} == set(event.sessions)
    assert "Leila" not in str(body) and "P1" not in str(body)  # no one named

    status, day, _ = await _figures(server.base, "?cut=day&key=2026-12-02")
    assert status == 200 and day["cut"] == "day"
    assert [c["key"] for c in day["cuts"]] == ["2026-12-02"]
    status, tracks, _ = await _figures(server.base, "?cut=track")
    assert sorted(c["key"] for c in tracks["cuts"]) == ["AI", "Access"]

    status, text, headers = await _figures(server.base, "?format=csv")
    assert status == 200
    assert headers["Content-Disposition"] == f'attachment; filename="{EVENT}-figures.csv"'
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:4] == ["section", "dimension", "cut_kind", "cut"]
    assert any(r[4] == "'" + EVIL_TITLE for r in rows)  # a title that looks like a formula
    assert any(r[-1] == "suppressed" for r in rows)
    status, text, _ = await _figures(server.base, "?format=csv&cut=track&key=AI")
    kinds = {(r[2], r[3]) for r in csv.reader(io.StringIO(text.removeprefix("\ufeff")))}
    assert kinds == {("cut_kind", "cut"), ("track", "AI")}


async def test_bad_figures_requests_are_told_why(hub: RunningHub, event: DashEvent) -> None:
    for query, code in [("?format=xlsx", 400), ("?cut=room", 400), ("?key=AI", 400),
                        ("?cut=day&key=2031-01-01", 404)]:
        status, body, _ = await _figures(hub.base, query)
        assert status == code, (query, body)
        assert body["error"]["message"]
    status, _, _ = await ahttp("GET", f"{hub.base}/api/events/nope-nope/figures")
    assert status == 404


async def test_the_figures_are_computed_once_per_period(hub: RunningHub,
                                                       event: DashEvent) -> None:
    cache = hub.app[keys.EVENT_FIGURES]
    forum = await hub.app[keys.FORUMS].get(event.id)
    first = await cache.of(forum, 1_000)
    assert await cache.of(forum, 1_000) is first
    assert await cache.of(forum, 2_000) is not first


async def test_suppressed_cells_are_recorded_in_the_events_log_for_every_instance(
    hub: RunningHub, event: DashEvent
) -> None:
    """Once served, the closed sessions' suppressed cells are in the event's log, so a
    fresh cache (a restart, another instance) starts from them: nothing hidden before is
    published later."""
    from hub.figures_api import EventFiguresCache
    from hub.session import now_ms

    await ahttp("PATCH", f"{hub.base}/api/sessions/{event.scheduled}", {"state": "live"},
                token=ADMIN_KEY)
    links = await ahttp("GET", f"{hub.base}/api/sessions/{event.scheduled}/links",
                        token=ADMIN_KEY)
    token = links[1]["tokens"]["participant"]
    people = [Client(hub.ws_base, event.scheduled, token, name=f"P{n}",
                     profile={"gender": "woman" if n < 3 else "man"}) for n in range(9)]
    for person in people:
        await person.connect()
    for person in people:
        await person.close()
    await ahttp("PATCH", f"{hub.base}/api/sessions/{event.scheduled}", {"state": "closed"},
                token=ADMIN_KEY)
    forum = await hub.app[keys.FORUMS].get(event.id)
    cutoff = now_ms() + 1000
    first = await hub.app[keys.EVENT_FIGURES].of(forum, cutoff)
    women = first.cut("session", event.scheduled).table("participants", "gender")
    assert women.is_suppressed("woman")
    kept = set(forum.state.figures_kept)
    assert ("participants", "gender", "session", event.scheduled, "woman") in kept
    offset = forum.state.offset
    fresh = EventFiguresCache(hub.app[keys.DIGESTS])
    assert await fresh.of(forum, cutoff) == first
    assert forum.state.offset == offset  # nothing new to record
