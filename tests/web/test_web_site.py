"""The public event site in a real Chromium: with JavaScript off and on,
in English and Arabic (right to left), axe-clean, under the hub's CSP, at 320px wide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.config import Config
from hub.security import CSP
from tests.support.browser import LAPTOP, OpenPages, axe_violations, screenshot
from tests.support.harness import ADMIN_KEY, ahttp
from tests.support.inprocess import RunningHub
from tests.support.site_helpers import make_event, programme_rows, save_report, today_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect

ZONE = "Asia/Riyadh"
EVENT = "igf-web"
NARROW = {"width": 320, "height": 640}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """A hub serving an event of 30 sessions: one closed with its report published and a
    transcript, one closed with only a saved draft; the first one spans now."""
    data = tmp_path_factory.mktemp("site") / "data"
    app = create_app(Config(data=str(data), admin_key=ADMIN_KEY))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    hub = RunningHub(app, base, base.replace("http://", "ws://"), Path(data))
    day = today_in(ZONE)
    forum = await make_event(app, base, programme_rows(30, day, 3, ZONE, now_slot=True),
                             event_id=EVENT, first_day=day, days=3, zone=ZONE)
    published, drafted = f"{EVENT}-3", f"{EVENT}-4"
    status, links, _ = await ahttp("GET", f"{base}/api/sessions/{published}/links",
                                   token=ADMIN_KEY)
    assert status == 200
    await ahttp("PATCH", f"{base}/api/sessions/{published}", {"state": "live"},
                token=ADMIN_KEY)
    status, _, _ = await ahttp(
        "POST", f"{base}/api/sessions/{published}/captions?token={links['tokens']['captioner']}",
        "Good morning and welcome.\nLet us begin with access.", content_type="text/plain")
    assert status == 200
    for sid in (published, drafted):
        await ahttp("PATCH", f"{base}/api/sessions/{sid}", {"state": "closed"},
                    token=ADMIN_KEY)
    await save_report(forum, published, {
        "takeaways": ["Meaningful access needs local content", "Skills before devices"],
        "calls": ["Fund community networks"], "summary": "A lively exchange.",
        "gender": {"participants": 60, "women": 28, "discussed": True,
                   "how": "A panel on women's access"}}, publish=True)
    await save_report(forum, drafted, {"takeaways": ["Not for the public yet"]},
                      publish=False)
    try:
        yield {"hub": hub, "published": published, "drafted": drafted}
    finally:
        await server.close()


async def open_site(open_page: OpenPages, url: str, *, js: bool, locale: str = "en-US",
                    zone: str = "America/New_York", viewport: dict[str, int] | None = None,
                    name: str = "site") -> tuple[Any, Any]:
    """A page in a fresh context (JavaScript on or off, a time zone other than the
    event's); returns it and the navigation's response."""
    context = await open_page.browser.new_context(
        java_script_enabled=js, locale=locale, timezone_id=zone,
        viewport=viewport or LAPTOP, reduced_motion="reduce", service_workers="block")
    open_page.contexts.append(context)
    page = await context.new_page()
    open_page.watch(page, name)
    response = await page.goto(url)
    return page, response


PAGES = ("/e/{event}", "/e/{event}/s/{published}", "/e/{event}/highlights",
         "/e/{event}/s/{drafted}", "/e/{event}/s/{event}-2", "/e/nosuch")  # the 404 last


def expect_404(open_page: OpenPages, path: str) -> int:
    """The status a page answers; the 404 page's own load is not a problem of the page."""
    if "nosuch" in path:
        open_page.allow(r"status of 404")
        return 404
    return 200


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_every_page_reads_without_javascript(
    site: dict[str, Any], open_page: OpenPages, lang: str
) -> None:
    hub = site["hub"]
    for template in PAGES:
        path = template.format(event=EVENT, published=site["published"],
                               drafted=site["drafted"])
        name = f"site-nojs-{lang}-{path.strip('/').replace('/', '-')}"
        status = expect_404(open_page, path)
        page, response = await open_site(open_page, f"{hub.base}{path}?lang={lang}",
                                         js=False, name=name)
        assert response.status == status
        assert response.headers["content-security-policy"].startswith(
            CSP.split("{connect}")[0])
        html = page.locator("html")
        await expect(html).to_have_attribute("lang", lang)
        await expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        await expect(page.locator("h1")).to_have_count(1)
        await expect(page.locator(".yours")).to_have_count(0)  # the script did not run
        await page.keyboard.press("Tab")
        skip = page.locator("a.skip")
        await expect(skip).to_be_focused()
        await expect(skip).to_be_visible()
        await screenshot(page, name)
    assert not open_page.problems


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_pages_with_javascript_are_axe_clean_and_add_the_readers_time(
    site: dict[str, Any], open_page: OpenPages, lang: str
) -> None:
    hub = site["hub"]
    label = {"en": "Your time", "ar": "توقيتك"}[lang]
    for template in PAGES:
        path = template.format(event=EVENT, published=site["published"],
                               drafted=site["drafted"])
        name = f"site-js-{lang}-{path.strip('/').replace('/', '-')}"
        status = expect_404(open_page, path)
        page, response = await open_site(open_page, f"{hub.base}{path}?lang={lang}",
                                         js=True, name=name)
        assert response.status == status
        if path == f"/e/{EVENT}":
            first = page.locator(".programme p.when").first
            await expect(first.locator(".yours")).to_contain_text(f"{label}: ")
            await expect(first.locator(".yours")).to_contain_text("America/New_York")
        assert not await axe_violations(page, name), name
    # a reader in the event's own time zone is not told the same time twice
    page, _ = await open_site(open_page, f"{hub.base}/e/{EVENT}?lang={lang}", js=True,
                              zone=ZONE, name=f"site-js-{lang}-same-zone")
    await expect(page.locator(".programme p.when").first).to_be_visible()
    await expect(page.locator(".yours")).to_have_count(0)


@pytest.mark.parametrize("js", [False, True])
async def test_the_site_works_320px_wide_in_arabic(
    site: dict[str, Any], open_page: OpenPages, js: bool
) -> None:
    hub = site["hub"]
    for path in (f"/e/{EVENT}", f"/e/{EVENT}/s/{site['published']}"):
        page, _ = await open_site(open_page, f"{hub.base}{path}?lang=ar", js=js,
                                  viewport=NARROW, name="site-narrow")
        width = await page.evaluate("document.documentElement.scrollWidth") if js else None
        if width is not None:
            assert width <= NARROW["width"]
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await screenshot(page, f"site-narrow-{'js' if js else 'nojs'}-"
                               f"{path.strip('/').replace('/', '-')}")


async def test_a_reader_follows_the_programme_to_a_published_report(
    site: dict[str, Any], open_page: OpenPages
) -> None:
    hub = site["hub"]
    page, _ = await open_site(open_page, f"{hub.base}/e/{EVENT}", js=False, locale="ar",
                              name="site-walk")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await page.get_by_role("link", name="Cybersecurity", exact=True).click()
    await expect(page).to_have_url(f"{hub.base}/e/{EVENT}?track=Cybersecurity&lang=ar")
    await page.get_by_role("link", name="Session 3: topic 2").first.click()
    report = page.locator("section.report")
    await expect(report).to_contain_text("Meaningful access needs local content")
    await expect(report).to_contain_text("Fund community networks")
    transcript = page.locator("section.transcript")
    await expect(transcript).to_contain_text("Good morning and welcome.")
    await expect(page.get_by_role("heading", name="أهم الاستنتاجات")).to_be_visible()
    await page.get_by_role("link", name="English", exact=True).click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Key takeaways")).to_be_visible()
    await page.goto(f"{hub.base}/e/{EVENT}/s/{site['drafted']}?lang=en")
    await expect(page.locator("section.report")).to_contain_text(
        "The organizers have not published this session's report yet.")
    await expect(page.locator("body")).not_to_contain_text("Not for the public yet")
