"""The Secretariat's dashboard page (/secretariat) in a real Chromium: signing in with the
admin key (sent in a header, never in a URL), every session's report state, the completion
rates, filtering and sorting, the reminders download; in English and in Arabic (right to
left), axe-clean, under the hub's CSP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.config import Config
from tests.support.browser import LAPTOP, PHONE, OpenPages, axe_violations, screenshot
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.secretariat_event import ARABIC_NAME, EVENT, EVIL_TITLE, DashEvent, seed_event

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect


@dataclass
class DashHub:
    base: str
    event: DashEvent


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dash_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DashHub]:
    """A hub on loopback (in this process, so the event is seeded straight into its log)."""
    data: Path = tmp_path_factory.mktemp("secretariat") / "data"
    app = create_app(Config(data=str(data), admin_key=ADMIN_KEY, figures_every=1))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        event = await seed_event(app)
        base = str(server.make_url("")).rstrip("/")
        await take_part(base, event.scheduled, STAKEHOLDERS)
        yield DashHub(base, event)
    finally:
        await server.close()


# Who takes part in the live session, by declared stakeholder group: two groups over the
# threshold, two under it (one suppressed for its size, one so it cannot be worked out).
STAKEHOLDERS = ["academia"] * 6 + ["technical"] * 7 + ["civil_society"] * 5 + ["government"] * 2


async def take_part(base: str, session: str, groups: list[str]) -> None:
    """Make `session` live, have one participant join per group given, and wait for the
    figures' period that counts them all."""
    status, _, _ = await ahttp("PATCH", f"{base}/api/sessions/{session}", {"state": "live"},
                               token=ADMIN_KEY)
    assert status == 200
    _, links, _ = await ahttp("GET", f"{base}/api/sessions/{session}/links", token=ADMIN_KEY)
    ws = base.replace("http://", "ws://")
    people = [Client(ws, session, links["tokens"]["participant"], name=f"P{n}",
                     profile={"stakeholder": group}) for n, group in enumerate(groups)]
    for person in people:
        await person.connect()
    for person in people:
        await person.close()
    for _ in range(100):
        _, body, _ = await ahttp("GET", f"{base}/api/events/{EVENT}/figures")
        if body["event"]["participants"][0]["total"] == len(groups):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the figures never counted them: {body['event']['participants']}")


async def signed_in(open_page: OpenPages, dash: DashHub, *, locale: str = "en-US",
                    viewport: dict[str, int] | None = None, name: str = "secretariat") -> Any:
    page = await open_page(locale=locale, viewport=viewport or LAPTOP, name=name)
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.urls = urls
    await page.goto(f"{dash.base}/secretariat?event={dash.event.id}")
    await page.locator("#admin-key").fill(ADMIN_KEY)
    await page.locator("#admin-key").press("Enter")
    await expect(page.locator("#sessions-body tr")).to_have_count(4)
    return page


async def test_the_dashboard_in_english(open_page: OpenPages, dash_hub: DashHub) -> None:
    page = await signed_in(open_page, dash_hub)
    event = dash_hub.event
    rows = page.locator("#sessions-body tr")
    row = page.locator(f'#sessions-body tr[data-session="{event.draft}"]')
    await expect(row.locator(".sec-report")).to_have_text("Draft")
    await expect(row.locator(".sec-days")).to_have_text("3 d")
    await expect(row).to_contain_text(ARABIC_NAME)
    await expect(row.locator('a[href="mailto:leila@example.org"]')).to_have_count(1)
    published = page.locator(f'#sessions-body tr[data-session="{event.published}"]')
    await expect(published.locator(".sec-report")).to_have_text("Published")
    link = page.locator(f'#sessions-body tr[data-session="{event.nothing}"] th a')
    await expect(link).to_have_text(EVIL_TITLE)  # user text stays text
    await expect(link).to_have_attribute("href", f"/e/{event.id}/s/{event.nothing}")
    scheduled = page.locator(f'#sessions-body tr[data-session="{event.scheduled}"]')
    await expect(scheduled.locator(".session-state")).to_have_text("Live")

    days = page.locator("#rates-days table")
    await expect(days.locator("caption")).to_have_text("Completion by day")
    await expect(days.locator("tbody tr").nth(0).locator("td.sec-rate")).to_have_text("50%")
    await expect(days.locator("tbody tr").nth(1).locator("td.sec-rate")).to_have_text("0%")
    await expect(days.locator("tfoot td.sec-rate")).to_have_text("33%")
    tracks = page.locator("#rates-tracks table tbody th")
    await expect(tracks).to_have_text(["Access", "AI"])
    await expect(page.locator("#summary")).to_contain_text("Reports published")
    await expect(page.locator("#reminders-help")).to_contain_text("2 sessions closed")

    await page.locator("#filter-report").select_option("none")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#sessions-count")).to_have_text("Showing 2 of 4 sessions.")
    await page.locator("#filter-day").select_option("2026-12-02")
    await expect(rows).to_have_count(2)  # the one closed with nothing, the scheduled one
    await page.locator("#filter-track").select_option("AI")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-session", event.nothing)
    for select in ("#filter-report", "#filter-day", "#filter-track"):
        await page.locator(select).select_option("*")
    await expect(rows).to_have_count(4)

    sort = page.locator('.sec-sort[data-column="days"]')
    await sort.click()  # ascending: never closed (no days), then 1, 3, 5
    await expect(page.locator("th:has(.sec-sort[data-column=days])")).to_have_attribute(
        "aria-sort", "ascending")
    order = [event.scheduled, event.nothing, event.draft, event.published]
    for index, session in enumerate(order):
        await expect(rows.nth(index)).to_have_attribute("data-session", session)
    await page.locator('.sec-sort[data-column="days"]').click()
    await expect(rows.first).to_have_attribute("data-session", event.published)

    async with page.expect_download() as waiting:
        await page.locator("#reminders").click()
    download = await waiting.value
    assert download.suggested_filename == f"{event.id}-reminders.csv"
    raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
    text = raw.decode("utf-8")
    assert text.startswith("\ufeff") and ARABIC_NAME in text
    lines = text.splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == [event.nothing, event.draft]
    await expect(page.locator("#reminders-message")).to_contain_text("Downloaded")

    figures = page.locator("#figures-card")
    await expect(figures.locator("#figures-cut option")).to_have_text(
        ["The whole event", "Day: Tue, Dec 1", "Day: Wed, Dec 2", "Track: Access", "Track: AI"])
    table = figures.locator("#figures-table table")
    await expect(table.locator("caption")).to_have_text("The whole event, by Stakeholder group")
    row = table.locator("tbody tr", has_text="Academia")
    await expect(row.locator("td").first).to_have_text("6")
    hidden = table.locator("tbody tr", has_text="Government")
    await expect(hidden.locator("td").first).to_have_text("not shown")
    chart = figures.locator("figure.sec-chart").nth(1)
    label = await chart.get_attribute("aria-label")
    assert label is not None and "Academia: 6" in label and "Government: not shown" in label
    await figures.locator("#figures-cut").select_option("track:Access")
    await expect(table.locator("caption")).to_have_text("Track: Access, by Stakeholder group")
    await figures.locator("#figures-by").select_option("region")
    await expect(table.locator("thead th")).to_have_count(5)  # with the remote participants
    csv_link = figures.locator("#figures-csv")
    await expect(csv_link).to_have_attribute("href", f"/api/events/{event.id}/figures?format=csv")

    assert not any(ADMIN_KEY in url for url in page.urls)  # in headers only
    assert await axe_violations(page, "secretariat-en") == []
    await screenshot(page, "secretariat-en")


async def test_the_dashboard_in_arabic_right_to_left(open_page: OpenPages,
                                                     dash_hub: DashHub) -> None:
    page = await signed_in(open_page, dash_hub, locale="ar", name="secretariat-ar")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert await page.evaluate("document.documentElement.lang") == "ar"
    await expect(page.locator("h1")).to_have_text("لوحة متابعة الأمانة")
    await expect(page.locator("#reminders")).to_have_text("تنزيل التذكيرات (CSV)")
    row = page.locator(f'#sessions-body tr[data-session="{dash_hub.event.published}"]')
    await expect(row.locator(".sec-report")).to_have_text("منشور")
    await expect(page.locator("#figures-title")).to_have_text("أرقام المشاركة")
    await expect(page.locator("#figures-table tbody tr", has_text="الأوساط الأكاديمية")
                 .locator("td").first).to_have_text("6")
    assert await axe_violations(page, "secretariat-ar") == []
    await screenshot(page, "secretariat-ar")


async def test_on_a_phone_and_signed_in_from_the_organizer_console(
    open_page: OpenPages, dash_hub: DashHub
) -> None:
    page = await open_page(locale="en-US", viewport=PHONE, name="secretariat-phone")
    # The organizer console keeps the key in this tab's sessionStorage: no second sign-in.
    await page.context.add_init_script(
        f"sessionStorage.setItem('igf.adminKey', {ADMIN_KEY!r});")
    await page.goto(f"{dash_hub.base}/secretariat")
    await expect(page.locator("#sessions-body tr")).to_have_count(4)
    await expect(page.locator("#signin")).to_be_hidden()
    assert await axe_violations(page, "secretariat-phone") == []
    await page.locator("#signout").click()
    await expect(page.locator("#admin-key")).to_be_focused()
    assert await page.evaluate("sessionStorage.getItem('igf.adminKey')") is None


async def test_a_wrong_key_is_refused(open_page: OpenPages, dash_hub: DashHub) -> None:
    open_page.allow(r"status of 401")  # the refusal, as Chromium logs it
    page = await open_page(f"{dash_hub.base}/secretariat", name="secretariat-wrong")
    await page.locator("#admin-key").fill("not-the-key-at-all-0123456789-abcdefgh")
    await page.locator("#admin-key").press("Enter")
    await expect(page.locator("#signin-message")).to_have_text(
        "This admin key was not accepted.")
    await expect(page.locator("#sec-app")).to_be_hidden()
