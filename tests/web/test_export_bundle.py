"""GET /api/events/{id}/export.zip: a static HTML bundle of an event's
published outputs that reads offline. Unzipped here: every link resolves to a file of the
bundle, nothing points at the hub, only published content; opened from file:// in a real
Chromium, axe-clean."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.config import Config
from tests.support.browser import OpenPages, axe_violations, screenshot
from tests.support.harness import ADMIN_KEY, ahttp
from tests.support.site_helpers import make_event, programme_rows, save_report

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

EVENT = "igf-zip"
SESSIONS = 8


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """An event of 8 sessions: the third closed with a transcript and a published report,
    the fourth closed with a saved draft only."""
    data = tmp_path_factory.mktemp("bundle") / "data"
    app = create_app(Config(data=str(data), admin_key=ADMIN_KEY))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    forum = await make_event(app, base, programme_rows(SESSIONS, "2025-06-23", 2, "UTC"),
                             event_id=EVENT, first_day="2025-06-23", days=2, zone="UTC",
                             title="IGF <offline> & archive")
    published, drafted = f"{EVENT}-3", f"{EVENT}-4"
    status, links, _ = await ahttp("GET", f"{base}/api/sessions/{published}/links",
                                   token=ADMIN_KEY)
    assert status == 200
    await ahttp("PATCH", f"{base}/api/sessions/{published}", {"state": "live"},
                token=ADMIN_KEY)
    status, _, _ = await ahttp(
        "POST", f"{base}/api/sessions/{published}/captions?token={links['tokens']['captioner']}",
        "Welcome to the offline archive.", content_type="text/plain")
    assert status == 200
    for sid in (published, drafted):
        await ahttp("PATCH", f"{base}/api/sessions/{sid}", {"state": "closed"},
                    token=ADMIN_KEY)
    await save_report(forum, published, {
        "takeaways": ["Archives must read offline"], "calls": ["Keep <b>links</b> relative"],
        "summary": "A summary in the bundle."}, publish=True)
    await save_report(forum, drafted, {"takeaways": ["Draftword never exported"]},
                      publish=False)
    try:
        yield {"base": base, "published": published, "drafted": drafted}
    finally:
        await server.close()


async def download(base: str, query: str = "") -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(
            f"{base}/api/events/{EVENT}/export.zip{query}") as response:
        return response.status, dict(response.headers), await response.read()


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


async def test_the_bundle_holds_the_event_and_links_only_inside(served: dict[str, Any]) -> None:
    status, headers, body = await download(served["base"])
    assert status == 200
    assert headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"] == f'attachment; filename="{EVENT}.zip"'
    files = unzip(body)
    names = set(files)
    expected = {f"{EVENT}/index.html", f"{EVENT}/highlights.html", f"{EVENT}/site.css"} | {
        f"{EVENT}/s-{EVENT}-{n}.html" for n in range(1, SESSIONS + 1)}
    assert names == expected
    for name, data in files.items():
        if not name.endswith(".html"):
            continue
        text = data.decode("utf-8")  # UTF-8, or this raises
        assert '<html lang="en" dir="ltr">' in text and '<meta charset="utf-8">' in text
        assert "<script" not in text.lower(), name
        assert "://" not in text, name  # no absolute URL, to the hub or anywhere
        assert "#token=" not in text and "@example.org" not in text, name
        assert "Draftword" not in text, name
        assert 'role="search"' not in text, name  # no search offline
        for target in re.findall(r'(?:href|src)="([^"]*)"', text):
            if target.startswith(("#", "data:")):
                continue
            assert not target.startswith("/"), (name, target)
            path = target.split("#")[0]
            assert "?" not in path, (name, target)
            resolved = str(PurePosixPath(name).parent / path)
            assert resolved in names, (name, target)
    index = files[f"{EVENT}/index.html"].decode()
    assert "IGF &lt;offline&gt; &amp; archive" in index
    for n in range(1, SESSIONS + 1):
        assert f'href="s-{EVENT}-{n}.html"' in index
    page = files[f"{EVENT}/s-{served['published']}.html"].decode()
    for text in ("Archives must read offline", "Keep &lt;b&gt;links&lt;/b&gt; relative",
                 "A summary in the bundle.", "Welcome to the offline archive."):
        assert text in page
    drafted = files[f"{EVENT}/s-{served['drafted']}.html"].decode()
    assert "The organizers have not published this session&#39;s report yet." in drafted
    highlights = files[f"{EVENT}/highlights.html"].decode()
    assert f'href="s-{served["published"]}.html"' in highlights
    assert "Archives must read offline" in highlights
    assert files[f"{EVENT}/site.css"].startswith(b"/* The public event site")


async def test_the_bundle_in_another_language(served: dict[str, Any]) -> None:
    status, _, body = await download(served["base"], "?lang=ar")
    assert status == 200
    files = unzip(body)
    for name, data in files.items():
        if name.endswith(".html"):
            assert '<html lang="ar" dir="rtl">' in data.decode(), name
    assert "أهم الاستنتاجات" in files[f"{EVENT}/s-{served['published']}.html"].decode()


async def test_an_unknown_event_is_a_404(served: dict[str, Any]) -> None:
    for event in ("nosuch", "..%2Fetc"):
        async with aiohttp.ClientSession() as http, http.get(
                f"{served['base']}/api/events/{event}/export.zip") as response:
            assert response.status == 404


@pytest.mark.browser
async def test_the_bundle_reads_offline_in_chromium(
    served: dict[str, Any], open_page: OpenPages, tmp_path: Path
) -> None:
    _, _, body = await download(served["base"])
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        bundle.extractall(tmp_path)
    index = (tmp_path / EVENT / "index.html").as_uri()
    # axe fetches style sheets to check them, which a file:// page may not: axe's, not ours.
    open_page.allow(r"CORS policy|preload assets|net::ERR_FAILED")
    page = await open_page(index, name="bundle-index")
    assert page.url.startswith("file://")
    await page.route("http*://**", lambda route: route.abort())  # offline: no network
    await pytest.importorskip("playwright.async_api").expect(
        page.get_by_role("heading", level=1)).to_have_text("IGF <offline> & archive")
    assert not await axe_violations(page, "bundle-index")
    color = await page.evaluate(
        "getComputedStyle(document.querySelector('a')).color")
    assert color == "rgb(31, 95, 139)"  # the bundle's style sheet applied
    await page.get_by_role("link", name="Session 3: topic 2").first.click()
    assert page.url.endswith(f"/s-{served['published']}.html")
    await pytest.importorskip("playwright.async_api").expect(
        page.locator("section.report")).to_contain_text("Archives must read offline")
    assert not await axe_violations(page, "bundle-session")
    await page.get_by_role("link", name="Back to the programme").click()
    assert page.url == index
    await page.get_by_role("link", name="Highlights").click()
    assert page.url.endswith("/highlights.html")
    assert not await axe_violations(page, "bundle-highlights")
    await screenshot(page, "bundle-highlights")
    assert not open_page.problems
