"""A hub's event page in Chromium: the sessions its one link opens, by day, in English and
Arabic, axe-clean; its button opens a session's hub page that works with that link; a
retired link says so."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.browser import PHONE, OpenPages, axe_violations, screenshot
from tests.support.event_hubs_support import register, rows, seed_on_redis
from tests.support.harness import ADMIN_KEY, HubProcess, ahttp

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect
# User text inside translated sentences is wrapped in bidi isolates (U+2068, U+2069).
ISOLATED = "\u2068Kenya IGF\u2069"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def event_hub(tmp_path_factory: pytest.TempPathFactory,
                    redis_url: str) -> AsyncIterator[dict[str, Any]]:
    """A hub process on Redis with an event of four sessions over two days, and a hub
    following three of them."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("event-hub")
    server = HubProcess(root / "data", redis_url=redis_url, redis_prefix=prefix).start()
    try:
        programme = rows(2, prefix="D1", day=1) + rows(2, prefix="D2", day=2)
        sessions = await seed_on_redis(server.url, redis_url, prefix, root / "seed", "igf",
                                       0, programme)
        await ahttp("PATCH", f"{server.url}/api/sessions/{sessions[0]}", {"state": "live"},
                    token=ADMIN_KEY)
        hub = await register(server.url, "igf", name="Kenya IGF", city="Nairobi",
                             country="KE", sessions=[sessions[0], sessions[2], sessions[3]])
        yield {"server": server, "sessions": sessions, "hub": hub}
    finally:
        server.terminate()


def page_url(event_hub: dict[str, Any]) -> str:
    return f"{event_hub['server'].url}/e/igf/hub#token={event_hub['hub']['token']}"


@pytest.mark.timeout(90)
async def test_the_hubs_event_page_lists_its_sessions_and_opens_their_hub_pages(
    event_hub: dict[str, Any], open_page: OpenPages
) -> None:
    s1, _, s3, s4 = event_hub["sessions"]
    token = event_hub["hub"]["token"]
    page = await open_page(page_url(event_hub))
    await expect(page.locator("h1")).to_have_text(f"{ISOLATED} at the event")
    await expect(page.locator("#hub-where")).to_have_text(
        "National or regional IGF · \u2068Nairobi, KE\u2069")
    await expect(page.locator("#sessions-count")).to_have_text("3")
    days = page.locator("#days > section")
    await expect(days).to_have_count(2)
    await expect(days.nth(0).locator("li")).to_have_count(1)
    await expect(days.nth(1).locator("li")).to_have_count(2)
    first = days.nth(0).locator("li").first
    await expect(first.locator(".session-state")).to_have_text("Live")
    await expect(days.nth(1).locator(".session-state").first).to_have_text("Scheduled")
    buttons = page.get_by_role("link", name="Open the hub page: \u2068Workshop 1\u2069")
    await expect(buttons).to_have_count(2)  # the first of each day
    hrefs = await page.locator("#days a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    assert hrefs == [f"/s/{s}/hub#token={token}" for s in (s1, s3, s4)]
    digest = page.get_by_role("link", name="What your hub brought to the event: inputs and "
                                            "attendance")
    hub_id = event_hub["hub"]["hub"]["id"]
    await expect(digest).to_have_attribute(
        "href", f"/api/events/igf/hubs/{hub_id}/digest?format=html")
    await screenshot(page, "event-hub-en")
    assert await axe_violations(page, "event-hub-en") == []
    # The session's own hub page, with the event's link: the hub, its attendee link.
    await first.get_by_role("link").click()
    await expect(page).to_have_url(f"{event_hub['server'].url}/s/{s1}/hub#token={token}")
    await expect(page.locator("#hub-name")).to_have_text("Kenya IGF")
    await expect(page.locator("#attendee-link")).to_have_value(
        re.compile(f"/s/{s1}/participant#token=."))
    await page.locator("#attendees").fill("14")
    await page.locator("#attendance-form button[type=submit]").click()
    await expect(page.locator("#attendees-reported")).to_contain_text("14")


@pytest.mark.timeout(90)
async def test_the_hubs_event_page_in_arabic_reads_right_to_left(
    event_hub: dict[str, Any], open_page: OpenPages
) -> None:
    page = await open_page(locale="ar", viewport=PHONE)
    # A reader in Riyadh (UTC+3) of an event in UTC: both clocks.
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Riyadh"})
    await page.goto(page_url(event_hub))
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("#days li").first.locator(".meta-line").nth(1)).to_contain_text(
        "بتوقيتكم")
    await expect(page.locator("h1")).to_have_text(f"{ISOLATED} في الفعالية")
    await expect(page.locator("#days a").first).to_have_text("افتحوا صفحة المركز")
    await screenshot(page, "event-hub-ar")
    assert await axe_violations(page, "event-hub-ar") == []


@pytest.mark.timeout(90)
async def test_a_retired_link_says_so_on_the_event_page(
    event_hub: dict[str, Any], open_page: OpenPages
) -> None:
    server = event_hub["server"]
    created = await register(server.url, "igf", name="Pacific hub", kind="regional")
    hub_id = created["hub"]["id"]
    status, _, _ = await ahttp("POST", f"{server.url}/api/events/igf/hubs/{hub_id}/link",
                               token=ADMIN_KEY)
    assert status == 201
    open_page.allow("401")  # the page's own request, refused: the page says why
    page = await open_page(f"{server.url}/e/igf/hub#token={created['token']}")
    await expect(page.locator("#fatal")).to_have_text(
        "This link has been replaced by a new one. Ask the organizer for the current link.")
    await expect(page.locator("#app")).to_be_hidden()
    assert await axe_violations(page, "event-hub-retired") == []
