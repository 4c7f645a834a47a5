"""The session organizer's page in Chromium: opened from the organizer link, it shows that
session (its links, settings) and the report review; the organizer edits the prefilled
draft, is told to close the session first, closes it, publishes and withdraws; in English
and Arabic (right to left), on a phone's width, axe-clean. The Secretariat's console lists
each session's organizer link; a retired link says so."""

from __future__ import annotations

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
from tests.support.review_helpers import organizer_token, programme_event, set_state

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect

FLAGGED = ["Spectrum for community networks", "Local content first"]
CALL = "Publish spectrum maps by 2027"
WORDS = {
    "en": {"none": "Not started", "draft": "Draft", "published": "Published",
           "saved": "Draft saved.", "not_closed": "The session is not closed yet",
           "closed": "The session is closed", "published_msg": "Report published",
           "withdrawn": "Report withdrawn", "women_more": "is more than the participants"},
    "ar": {"none": "لم يبدأ", "draft": "مسودة", "published": "منشور",
           "saved": "حُفظت المسودة.", "not_closed": "لم تُغلق الجلسة بعد",
           "closed": "الجلسة مغلقة", "published_msg": "نُشر التقرير",
           "withdrawn": "سُحب التقرير", "women_more": "أكبر من عدد المشاركين"},
}


@dataclass
class ReviewHub:
    base: str
    sessions: list[str]
    tokens: dict[str, str]  # session id -> its organizer token

    def page(self, session_id: str, token: str | None = None) -> str:
        return f"{self.base}/s/{session_id}/organizer#token={token or self.tokens[session_id]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def review_hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReviewHub]:
    """A hub in this process (the programme goes in through its Forums: see
    tests/support/review_helpers.py) with an event of three sessions, each flagged in the
    meeting."""
    data = Path(tmp_path_factory.mktemp("review")) / "data"
    app = create_app(Config(data=str(data), admin_key=ADMIN_KEY, figures_every=1))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        sessions = await programme_event(app, sessions=3)
        tokens = {sid: await organizer_token(base, sid) for sid in sessions}
        for sid in sessions:
            await set_state(base, sid, "live", tokens[sid])
            organizer = Client(base.replace("http://", "ws://"), sid, tokens[sid],
                               name="Amina Diallo")
            await organizer.connect()
            for text in FLAGGED:
                await organizer.ok({"type": "flag", "kind": "takeaway", "text": text})
            await organizer.ok({"type": "flag", "kind": "call_to_action", "text": CALL})
            await organizer.close()
        yield ReviewHub(base, sessions, tokens)
    finally:
        await server.close()


async def fits_the_width(page: Any) -> bool:
    return bool(await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_session_organizer_reviews_and_publishes(
    lang: str, review_hub: ReviewHub, open_page: OpenPages
) -> None:
    open_page.allow(r"status of 409")  # publishing before the session is closed, as expected
    words = WORDS[lang]
    sid = review_hub.sessions[0 if lang == "en" else 1]
    page = await open_page(review_hub.page(sid), locale="ar-EG" if lang == "ar" else "en-GB",
                           viewport=PHONE, name=f"session-organizer-{lang}")
    html = page.locator("html")
    await expect(html).to_have_attribute("lang", lang)
    await expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    # The session's own card: its links (not the organizer's own), no Secretariat parts.
    card = page.locator(f'li[data-session="{sid}"]')
    await expect(card.locator('.link-row[data-role="moderator"] input')).to_be_visible()
    assert await card.locator('.link-row[data-role="organizer"]').count() == 0
    await expect(page.locator("#create-card")).to_be_hidden()
    await expect(page.locator("#signin")).to_be_hidden()
    # The review, prefilled from the generated report.
    await expect(page.locator("#review-card")).to_be_visible()
    await expect(page.locator("#review-takeaway-1")).to_have_value(FLAGGED[0])
    await expect(page.locator("#review-takeaway-2")).to_have_value(FLAGGED[1])
    await expect(page.locator("#review-call-1")).to_have_value(CALL)
    await expect(page.locator("#review-badge")).to_have_text(words["none"])
    await expect(page.locator("#review-note")).to_be_visible()
    await expect(page.locator("#review-discussed-unsaid")).to_be_checked()
    await page.locator("#review-flagged").evaluate("(ul) => ul.closest('details').open = true")
    await expect(page.locator("#review-flagged li")).to_have_count(3)
    assert await fits_the_width(page)
    await screenshot(page, f"session-organizer-{lang}")
    assert await axe_violations(page, f"session-organizer-{lang}") == []

    # Edit, with a mistake the page catches first.
    await page.locator("#review-takeaway-3").fill("Skills before devices")
    await page.locator("#review-summary").fill("Four regions compared their community networks.")
    await page.locator("#review-participants").fill("30")
    await page.locator("#review-women").fill("31")
    await page.locator("#review-save").click()
    await expect(page.locator("#review-message")).to_contain_text(words["women_more"])
    await expect(page.locator("#review-women")).to_be_focused()
    await page.locator("#review-women").fill("14")
    await page.locator("#review-discussed-yes").check()
    await page.locator("#review-how").fill("Women's access to devices and to spectrum.")
    await page.locator("#review-save").click()
    await expect(page.locator("#review-message")).to_have_text(words["saved"])
    await expect(page.locator("#review-badge")).to_have_text(words["draft"])

    # Publishing waits for the session to close.
    await page.locator("#review-publish").click()
    await expect(page.locator("#review-message")).to_contain_text(words["not_closed"])
    await card.locator(".state-choices button").nth(2).click()  # closed
    await expect(page.locator("#review-closed")).to_contain_text(words["closed"])
    await page.locator("#review-publish").click()
    await expect(page.locator("#review-message")).to_contain_text(words["published_msg"])
    await expect(page.locator("#review-badge")).to_have_text(words["published"])
    await expect(page.locator("#review-withdraw")).to_be_visible()
    status, body, _ = await ahttp("GET", f"{review_hub.base}/api/sessions/{sid}/review",
                                  token=ADMIN_KEY)
    assert status == 200 and body["status"] == "published"
    published = body["published"]
    assert published["takeaways"] == [*FLAGGED, "Skills before devices"]
    assert published["calls"] == [CALL]
    assert published["gender"] == {"participants": 30, "women": 14, "discussed": True,
                                   "how": "Women's access to devices and to spectrum."}
    assert await fits_the_width(page)
    await screenshot(page, f"session-organizer-published-{lang}")
    assert await axe_violations(page, f"session-organizer-published-{lang}") == []

    # Withdraw: a draft again, the form as it was.
    await page.locator("#review-withdraw").click()
    await expect(page.locator("#review-message")).to_contain_text(words["withdrawn"])
    await expect(page.locator("#review-badge")).to_have_text(words["draft"])
    await expect(page.locator("#review-withdraw")).to_be_hidden()
    await expect(page.locator("#review-takeaway-3")).to_have_value("Skills before devices")
    _, body, _ = await ahttp("GET", f"{review_hub.base}/api/events/igf26")
    assert body["programme"][0 if lang == "en" else 1]["report"] == "draft"


async def test_the_secretariat_console_lists_the_organizer_link_and_a_retired_one_says_so(
    review_hub: ReviewHub, open_page: OpenPages
) -> None:
    open_page.allow(r"status of 401")  # the retired link's look-ups, as expected
    sid = review_hub.sessions[2]
    console = await open_page(f"{review_hub.base}/", viewport=LAPTOP, name="console")
    await console.locator("#admin-key").fill(ADMIN_KEY)
    await console.locator("#admin-key").press("Enter")
    row = console.locator(f'li[data-session="{sid}"] .link-row[data-role="organizer"] input')
    await expect(row).to_have_value(review_hub.page(sid))
    await expect(console.locator("#review-card")).to_be_hidden()
    # The Secretariat retires it: the page opened with it says what to do.
    page = await open_page(review_hub.page(sid), name="retired")
    await expect(page.locator("#review-card")).to_be_visible()
    status, _, _ = await ahttp("PATCH", f"{review_hub.base}/api/sessions/{sid}",
                               {"rotate": ["organizer"]}, token=ADMIN_KEY)
    assert status == 200
    await page.reload()
    await expect(page.locator("#list-message")).to_contain_text("ask the Secretariat")
    await expect(page.locator("#review-card")).to_be_hidden()
    await expect(page.locator("#signin")).to_be_hidden()
