"""The site's search page in a real Chromium: English, Arabic and Chinese
queries find their lines, with JavaScript off and on, axe-clean, under the hub's CSP, at
320px wide; a result opens its session at the line it found."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from hub import keys
from hub.app import create_app
from hub.config import Config
from hub.security import CSP
from tests.support.browser import LAPTOP, OpenPages, axe_violations, screenshot
from tests.support.harness import ADMIN_KEY, ahttp
from tests.support.inprocess import RunningHub
from tests.support.search_event import caption, programme, tokens

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect

NARROW = {"width": 320, "height": 640}
QUERIES = {  # reader's language -> (query, the marked words, the session it is in)
    "en": ("connectivity", "connectivity", "Meaningful connectivity"),
    "ar": ("الاصطناعي", "الاصطناعي", "AI in the public sector"),
    "zh": ("智能", "智能", "AI in the public sector"),
}


async def indexed(base: str, q: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        status, body, _ = await ahttp("GET", f"{base}/api/search?"
                                      + urllib.parse.urlencode({"q": q}))
        assert status == 200, body
        if body["total"] == count:
            return
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHub]:
    """igf2025: a closed English session with a transcript, a closed Arabic and Chinese one."""
    data = tmp_path_factory.mktemp("search-site") / "data"
    app = create_app(Config(data=str(data), admin_key=ADMIN_KEY))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    hub = RunningHub(app, base, base.replace("http://", "ws://"), Path(data))
    await programme(app[keys.FORUMS])
    first, second = await tokens(hub, "igf2025-1"), await tokens(hub, "igf2025-2")
    await caption(hub, "igf2025-1", first["captioner"], "Good morning and welcome", "en")
    await asyncio.sleep(1.1)  # the found line starts a second later
    await caption(hub, "igf2025-1", first["captioner"],
                  "Meaningful connectivity for every school", "en")
    await caption(hub, "igf2025-2", second["captioner"], "الذكاء الاصطناعي في القطاع العام", "ar")
    await caption(hub, "igf2025-2", second["captioner"], "人工智能在公共部门的应用", "zh")
    for sid in ("igf2025-1", "igf2025-2"):
        await ahttp("PATCH", f"{base}/api/sessions/{sid}", {"state": "closed"},
                    token=ADMIN_KEY)
    for q, _, _ in QUERIES.values():
        await indexed(base, q, 1)
    try:
        yield hub
    finally:
        await server.close()


async def open_site(open_page: OpenPages, url: str, *, js: bool,
                    viewport: dict[str, int] | None = None, name: str) -> tuple[Any, Any]:
    context = await open_page.browser.new_context(
        java_script_enabled=js, locale="en-US", viewport=viewport or LAPTOP,
        reduced_motion="reduce", service_workers="block")
    open_page.contexts.append(context)
    page = await context.new_page()
    open_page.watch(page, name)
    response = await page.goto(url)
    return page, response


def search_url(hub: RunningHub, lang: str, q: str) -> str:
    return f"{hub.base}/e/igf2025/search?" + urllib.parse.urlencode({"q": q, "lang": lang})


@pytest.mark.parametrize("js", [False, True])
@pytest.mark.parametrize("lang", ["en", "ar", "zh"])
async def test_queries_in_three_languages_find_their_lines(
    site: RunningHub, open_page: OpenPages, lang: str, js: bool
) -> None:
    q, marked, title = QUERIES[lang]
    name = f"search-{lang}-{'js' if js else 'nojs'}"
    page, response = await open_site(open_page, search_url(site, lang, q), js=js, name=name)
    assert response.status == 200
    assert response.headers["content-security-policy"].startswith(CSP.split("{connect}")[0])
    html = page.locator("html")
    await expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    await expect(page.locator("h1")).to_have_count(1)
    hits = page.locator("ol.hits > li")
    await expect(hits).to_have_count(1)
    await expect(hits.first.locator("mark")).to_have_text(marked)
    await expect(hits.first.get_by_role("link", name=title)).to_be_visible()
    await expect(page.locator("#q")).to_have_value(q)
    await expect(page.locator(".facets a").first).to_be_visible()
    if js:
        assert not await axe_violations(page, name), name
    await screenshot(page, name)
    assert not open_page.problems


@pytest.mark.parametrize("js", [False, True])
async def test_a_reader_searches_from_the_event_and_opens_the_moment(
    site: RunningHub, open_page: OpenPages, js: bool
) -> None:
    page, _ = await open_site(open_page, f"{site.base}/e/igf2025?lang=en", js=js,
                              name="search-walk")
    box = page.get_by_role("search").get_by_label("Search this event")
    await box.fill("connectivity")
    await box.press("Enter")
    await expect(page).to_have_url(f"{site.base}/e/igf2025/search?q=connectivity&lang=en")
    await expect(page.locator("p.total")).to_have_text("Results found: 1. Shown: 1 to 1.")
    await page.get_by_role("link", name="Meaningful connectivity").click()
    await expect(page).to_have_url(f"{site.base}/e/igf2025/s/igf2025-1?t=1&lang=en#here")
    here = page.locator("li.here")
    await expect(here).to_have_count(1)
    await expect(here).to_contain_text("Meaningful connectivity for every school")
    await expect(here).to_have_attribute("aria-current", "true")
    if js:
        assert not await axe_violations(page, "search-moment")
    # Every event, from the checkbox.
    await page.goto(f"{site.base}/e/igf2025/search?q=connectivity&lang=en")
    await page.get_by_label("Search every event, not only this one").check()
    await page.get_by_role("button", name="Search", exact=True).last.click()
    await expect(page).to_have_url(
        f"{site.base}/e/igf2025/search?q=connectivity&all=1&lang=en")
    await expect(page.locator("ol.hits > li")).to_have_count(1)
    assert not open_page.problems


@pytest.mark.parametrize("js", [False, True])
async def test_a_bad_query_says_why_and_keeps_the_form(
    site: RunningHub, open_page: OpenPages, js: bool
) -> None:
    open_page.allow(r"status of 400")  # the refusal's own load, not a problem of the page
    for lang, text in (("en", "The search has no words to look for"),
                       ("ar", "لا يحتوي البحث على كلمات")):
        name = f"search-bad-{lang}-{'js' if js else 'nojs'}"
        page, response = await open_site(open_page, search_url(site, lang, '*** "" :'),
                                         js=js, name=name)
        assert response.status == 400
        await expect(page.get_by_role("alert")).to_contain_text(text)
        await expect(page.locator("#q")).to_have_value('*** "" :')
        await expect(page.locator("#q")).to_have_attribute("aria-invalid", "true")
        if js:
            assert not await axe_violations(page, name), name
    assert not open_page.problems


@pytest.mark.parametrize("js", [False, True])
async def test_the_search_page_works_320px_wide_in_arabic(
    site: RunningHub, open_page: OpenPages, js: bool
) -> None:
    page, _ = await open_site(open_page, search_url(site, "ar", "الاصطناعي"), js=js,
                              viewport=NARROW, name="search-narrow")
    if js:
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"]
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.locator("ol.hits mark")).to_be_visible()
    await screenshot(page, f"search-narrow-{'js' if js else 'nojs'}")
