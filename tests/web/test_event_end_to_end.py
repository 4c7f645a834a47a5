"""An event from its programme to its published outputs, with real `hub serve` processes on
one Redis and Chromium: the Secretariat imports the programme (CSV, then iCalendar by the
same ids), a national IGF's hub follows two sessions with its one link, both sessions run
and close, one session's organizer publishes the report and the other's stays a draft;
then the public site (JavaScript off and on, English and Arabic, axe-clean), the
highlights, the hubs' digest, the Secretariat's dashboard and reminders, and the event's
figures with small cells suppressed."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from tests.support.browser import OpenPages, axe_violations
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect

EVENT = "igf-e2e"
ZONE = "UTC"
TAKEAWAY = "Community networks need spectrum set aside"
DRAFT_ONLY = "A draft nobody published"
PENDING = "A question still waiting for the moderators"
REJECTED = "An off-topic remark the moderators turned down"
HUB_INPUT = "How do rural areas of Kenya get affordable access?"


def programme(day: str) -> tuple[str, str]:
    """The same four sessions as CSV, and as iCalendar with a fifth one (by the same ids)."""
    rows = [("WS1", "Meaningful connectivity", "09:00", "10:30", "Room A", "Digital inclusion",
             "Amina Diallo <amina@example.org>"),
            ("WS2", "AI and elections", "11:00", "12:00", "Room B", "AI governance",
             "Li Wei <li@example.org>"),
            ("WS3", "Cybersecurity capacity", "13:00", "14:00", "Room A", "Cybersecurity",
             "Omar Haddad <omar@example.org>"),
            ("WS4", "Youth voices", "15:00", "16:00", "Room B", "Digital inclusion",
             "Sofia Rojas <sofia@example.org>")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "title", "start", "end", "room", "track", "type", "organizers",
                     "languages"])
    for ext, title, start, end, room, track, who in rows:
        writer.writerow([ext, title, f"{day} {start}", f"{day} {end}", room, track,
                         "workshop", who, "en;fr;ar"])
    compact = day.replace("-", "")
    events = []
    for ext, title, start, end, room, track, who in [*rows, (
            "WS5", "Closing plenary", "17:00", "18:00", "Plenary", "Main", "")]:
        name, _, mail = who.partition(" <")
        organizer = [f"ORGANIZER;CN={name}:mailto:{mail.rstrip('>')}"] if who else []
        events += ["BEGIN:VEVENT", f"UID:{ext}", f"SUMMARY:{title}",
                   f"DTSTART:{compact}T{start.replace(':', '')}00Z",
                   f"DTEND:{compact}T{end.replace(':', '')}00Z", f"LOCATION:{room}",
                   f"CATEGORIES:{track}", "X-IGF-TYPE:workshop", "X-LANGUAGES:en;fr;ar",
                   *organizer, "END:VEVENT"]
    ics = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//e2e//EN", *events,
                       "END:VCALENDAR"]) + "\r\n"
    return out.getvalue(), ics


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[list[HubProcess]]:
    """Two `hub serve` processes on one Redis (figures cut every second)."""
    folder = tmp_path_factory.mktemp("e2e")
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    started = [HubProcess(folder / f"data{n}", redis_url=redis_url, redis_prefix=prefix,
                          env={"HUB_FIGURES_EVERY": "1"}).start() for n in range(2)]
    try:
        yield started
    finally:
        for hub in started:
            hub.terminate()


async def call(method: str, url: str, body: Any = None, token: str | None = ADMIN_KEY,
               expect_status: int = 200, **kw: Any) -> Any:
    status, answer, _ = await ahttp(method, url, body, token, **kw)
    assert status == expect_status, (method, url, status, answer)
    return answer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def event(hubs: list[HubProcess]) -> AsyncIterator[dict[str, Any]]:
    """The event run through: what the checks below read."""
    a, b = hubs[0].url, hubs[1].url
    day = datetime.now(UTC).date().isoformat()
    last = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    await call("POST", f"{a}/api/events", {"id": EVENT, "title": "IGF end to end",
                                           "start": day, "end": last, "timezone": ZONE,
                                           "languages": ["en", "fr", "ar"]},
               expect_status=201)
    as_csv, as_ics = programme(day)
    first = await call("POST", f"{a}/api/events/{EVENT}/programme", as_csv,
                       content_type="text/csv")
    assert (first["created"], first["updated"]) == (4, 0), first
    again = await call("POST", f"{b}/api/events/{EVENT}/programme", as_ics,
                       content_type="text/calendar")
    assert (again["created"], again["unchanged"]) == (1, 4), again  # matched by id
    s1, s2 = f"{EVENT}-1", f"{EVENT}-2"

    hub = await call("POST", f"{a}/api/events/{EVENT}/hubs", {
        "name": "Kenya IGF", "kind": "nri", "city": "Nairobi", "country": "KE",
        "sessions": [s1, s2]}, expect_status=201)
    links = {sid: await call("GET", f"{a}/api/sessions/{sid}/links") for sid in (s1, s2)}
    clients: list[Client] = []

    async def join(hub_process: HubProcess, sid: str, token: str, **hello: Any) -> Client:
        client = Client(hub_process.ws_url, sid, token, **hello)
        await client.connect()
        clients.append(client)
        return client

    try:
        items: dict[str, str] = {}
        for n, sid in enumerate((s1, s2)):
            await call("PATCH", f"{a}/api/sessions/{sid}", {"state": "live"})
            mod = await join(hubs[n], sid, links[sid]["tokens"]["moderator"], name="Chair")
            kenya = await join(hubs[1 - n], sid, hub["token"])
            await kenya.ok({"type": "hub_status", "attendees": 12})
            asked = await kenya.ok({"type": "ask", "kind": "question", "key": f"h{n}",
                                    "text": HUB_INPUT if n == 0 else REJECTED})
            person = await join(hubs[n], sid, links[sid]["tokens"]["participant"],
                                name=f"Remote {n}")
            waiting = await person.ok({"type": "ask", "kind": "question", "key": "p",
                                       "text": PENDING})
            items[sid] = waiting["item"]
            action = "approve" if n == 0 else "reject"
            await mod.ok({"type": "moderate", "item": asked["item"], "action": action})
            if n == 0:
                captions = links[sid]["captions_url"]
                await call("POST", captions, "Welcome to the workshop.\n" + TAKEAWAY + ".",
                           token=None, content_type="text/plain")
                await mod.ok({"type": "flag", "kind": "takeaway", "text": TAKEAWAY})
            await call("PATCH", f"{b}/api/sessions/{sid}", {"state": "closed"})

        organizer = {sid: links_of["tokens"]["organizer"] for sid, links_of in links.items()}
        review = await call("GET", f"{b}/api/sessions/{s1}/review", token=organizer[s1])
        assert review["draft"]["takeaways"] == [TAKEAWAY]  # prefilled from the flags
        await call("PUT", f"{a}/api/sessions/{s1}/review", {
            "calls": ["Regulators should publish spectrum maps"],
            "summary": "Four regions compared their community networks.",
            "gender": {"participants": 40, "women": 21, "discussed": True,
                       "how": "A panel on women's access"}}, token=organizer[s1])
        published = await call("POST", f"{b}/api/sessions/{s1}/review/publish", {},
                               token=organizer[s1])
        assert published["status"] == "published"
        await call("PUT", f"{a}/api/sessions/{s2}/review", {"takeaways": [DRAFT_ONLY]},
                   token=organizer[s2])
        done = int(time.time() * 1000)
        yield {"a": a, "b": b, "s1": s1, "s2": s2, "hub": hub, "pending": items, "done": done}
    finally:
        for client in clients:
            await client.close()


async def test_the_programme_and_report_states_on_every_instance(
    event: dict[str, Any],
) -> None:
    for base in (event["a"], event["b"]):
        listed = await call("GET", f"{base}/api/events/{EVENT}", token=None)
        states = {s["session"]: s["report"] for s in listed["programme"]}
        assert states == {event["s1"]: "published", event["s2"]: "draft",
                          f"{EVENT}-3": "none", f"{EVENT}-4": "none", f"{EVENT}-5": "none"}
        assert all("email" not in o for s in listed["programme"] for o in s["organizers"])


async def test_the_highlights_and_the_hubs_digest_hold_only_what_was_published(
    event: dict[str, Any],
) -> None:
    highlights = await call("GET", f"{event['b']}/api/events/{EVENT}/highlights?format=md",
                            token=None)
    assert TAKEAWAY in highlights and "spectrum maps" in highlights
    assert DRAFT_ONLY not in highlights
    digest = await call("GET", f"{event['a']}/api/events/{EVENT}/hubs/digest", token=None)
    texts = [i["text"] for s in digest["sessions"] for i in s["inputs"]]
    assert texts == [HUB_INPUT]  # the rejected one and the pending ones are not inputs
    assert digest["counts"]["hubs"] == 1


@pytest.mark.timeout(240)
@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_public_site_reads_without_javascript_and_is_axe_clean_with_it(
    event: dict[str, Any], browser: Any, lang: str
) -> None:
    pages = OpenPages(browser)
    paths = {"event": f"/e/{EVENT}", "s1": f"/e/{EVENT}/s/{event['s1']}",
             "s2": f"/e/{EVENT}/s/{event['s2']}", "highlights": f"/e/{EVENT}/highlights"}
    try:
        for javascript in (False, True):
            context = await browser.new_context(locale=lang, java_script_enabled=javascript)
            pages.contexts.append(context)
            page = await context.new_page()
            pages.watch(page, f"site-{lang}-{javascript}")
            for name, path in paths.items():
                base = event["a"] if name.startswith("s") else event["b"]
                await page.goto(f"{base}{path}")
                assert await page.get_attribute("html", "lang") == lang
                assert await page.get_attribute("html", "dir") == (
                    "rtl" if lang == "ar" else "ltr")
                body = await page.locator("main").inner_text()
                assert PENDING not in body and REJECTED not in body
                assert DRAFT_ONLY not in body and "@example.org" not in body
                if name == "event":
                    await expect(page.get_by_role("heading", level=1)).to_contain_text(
                        "IGF end to end")
                    assert "Meaningful connectivity" in body and "Closing plenary" in body
                if name in ("s1", "highlights"):
                    assert TAKEAWAY in body
                if name == "s1":
                    assert "Welcome to the workshop." in body  # the transcript
                if javascript:
                    assert await axe_violations(page, f"e2e-{name}-{lang}") == []
    finally:
        await pages.close()
    assert not pages.problems, pages.problems


async def test_the_dashboard_and_the_reminders_say_which_report_is_missing(
    event: dict[str, Any],
) -> None:
    board = await call("GET", f"{event['b']}/api/events/{EVENT}/dashboard")
    rows = {s["session"]: s for s in board["sessions"]}
    assert (rows[event["s1"]]["report"], rows[event["s1"]]["state"]) == ("published", "closed")
    assert (rows[event["s2"]]["report"], rows[event["s2"]]["state"]) == ("draft", "closed")
    assert rows[event["s2"]]["days_since_closed"] == 0
    assert rows[f"{EVENT}-3"]["state"] == "scheduled"
    assert board["rates"]["overall"] == {"sessions": 5, "closed": 2, "published": 1,
                                         "rate": 0.5}
    assert board["counts"]["reminders"] == 1
    status, text, headers = await ahttp("GET", f"{event['a']}/api/events/{EVENT}/reminders.csv",
                                        token=ADMIN_KEY)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    lines = text.lstrip("\ufeff").splitlines()
    assert len(lines) == 2 and event["s2"] in lines[1] and "li@example.org" in lines[1]
    organizer = (await call("GET", f"{event['a']}/api/sessions/{event['s2']}/links"))
    status, _, _ = await ahttp("GET", f"{event['a']}/api/events/{EVENT}/dashboard",
                               token=organizer["tokens"]["organizer"])
    assert status == 403  # a session's organizer sees their session, not the event's


async def test_the_event_figures_suppress_every_small_cell(event: dict[str, Any]) -> None:
    for _ in range(100):  # figures stand as of a cut-off (every second here): one after the run
        figures = await call("GET", f"{event['a']}/api/events/{EVENT}/figures", token=None)
        if figures["as_of"] > event["done"]:
            break
        await asyncio.sleep(0.1)
    tables = []
    for kind in ("sessions", "days", "tracks"):
        for cut in figures[kind]:
            tables.append(cut["attendance"])
            for section in ("participants", "speakers", "speaking_time", "remote"):
                tables += cut[section]
    cut = figures["event"]
    tables += [cut["attendance"], *cut["participants"], *cut["speakers"]]
    published = [c["value"] for t in tables for c in t["cells"]
                 if not c["suppressed"] and t["measure"] != "seconds"]
    assert all(v == 0 or v >= 5 for v in published), published
    remote = {c["group"]: c for c in cut["attendance"]["cells"]}["remote"]
    assert remote["suppressed"] and remote["value"] is None  # two people asked from afar
    assert any(c["suppressed"] for s in figures["sessions"] for c in s["attendance"]["cells"])
    status, text, _ = await ahttp("GET", f"{event['b']}/api/events/{EVENT}/figures?format=csv")
    assert status == 200 and text.lstrip("\ufeff").startswith("section,dimension,cut_kind")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("locale", ["en-US", "ar"])
async def test_the_dashboard_page_is_axe_clean(
    event: dict[str, Any], browser: Any, locale: str
) -> None:
    pages = OpenPages(browser)
    try:
        context = await browser.new_context(locale=locale)
        pages.contexts.append(context)
        page = await context.new_page()
        pages.watch(page, f"dashboard-{locale}")
        await page.goto(f"{event['b']}/secretariat?event={EVENT}")
        await page.locator("#admin-key").fill(ADMIN_KEY)
        await page.locator("#admin-key").press("Enter")
        await expect(page.locator("#sessions-body tr")).to_have_count(5)
        row = page.locator(f'#sessions-body tr[data-session="{event["s2"]}"]')
        await expect(row.locator(".sec-report")).to_have_text(
            "Draft" if locale == "en-US" else "مسودة")
        assert await page.evaluate("document.documentElement.dir") == (
            "rtl" if locale == "ar" else "ltr")
        assert await axe_violations(page, f"e2e-dashboard-{locale}") == []
    finally:
        await pages.close()
    assert not pages.problems, pages.problems


async def test_the_run_left_no_server_errors(hubs: list[HubProcess]) -> None:
    for hub in hubs:
        assert "Traceback" not in hub.output(), hub.output()[-3000:]
